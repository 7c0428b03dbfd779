// The flow log: reads the datapath's events ring buffer, names both ends (pod `namespace/name`,
// service `namespace/name` for a VIP, or the node) from the agent's current resources, keeps a
// bounded buffer of recent flows, counts flows by verdict and drops by reason, and feeds followers
// (the admin API's /debug/flows?follow=1 stream).
import { RingBufferReader, type BpfMap } from '../bpf/libbpf.js';
import { events } from '../bpf/maps/index.js';
import type { Logger } from '../config/log.js';
import type { Resources } from './desired-state.js';
import type { AgentMetrics } from './metrics.js';

export interface FlowEnd {
  ip: string;
  port: number;
  /** `namespace/name` of a pod, when known. */
  pod?: string;
  /** `namespace/name` of the service whose VIP this is. */
  service?: string;
  identity: number;
}

export interface Flow {
  time: string;
  verdict: string;
  reason: string;
  source: string;
  proto: number;
  src: FlowEnd;
  dst: FlowEnd;
  /** The backend after DNAT, when translated. */
  backend?: FlowEnd;
  proxyPort: number;
}

/** Name lookups over the current resources, rebuilt when they change. */
class Names {
  #pods = new Map<string, string>();
  #vips = new Map<string, string>();
  #builtFor = -1;

  refresh(resources: Resources, generation: number): void {
    if (generation === this.#builtFor) return;
    this.#pods = new Map();
    this.#vips = new Map();
    for (const [key, w] of resources.workloads) for (const ip of w.ips) this.#pods.set(ip, key);
    for (const [key, s] of resources.services) for (const vip of s.vips) this.#vips.set(vip, key);
    this.#builtFor = generation;
  }

  end(ip: string, port: number, identity: number): FlowEnd {
    const end: FlowEnd = { ip, port, identity };
    const pod = this.#pods.get(ip);
    const service = this.#vips.get(ip);
    if (pod) end.pod = pod;
    if (service) end.service = service;
    return end;
  }
}

export interface FlowLogOptions {
  map: BpfMap;
  resources: () => { resources: Resources; generation: number };
  metrics: AgentMetrics;
  log: Logger;
  /** Recent flows kept (default 2048). */
  capacity?: number;
}

export class FlowLog {
  readonly #reader: RingBufferReader;
  readonly #recent: Flow[] = [];
  readonly #capacity: number;
  readonly #followers = new Set<(flow: Flow) => void>();
  readonly #names = new Names();
  readonly #options: FlowLogOptions;

  constructor(options: FlowLogOptions) {
    this.#options = options;
    this.#capacity = options.capacity ?? 2048;
    this.#reader = new RingBufferReader(options.map, (record) => this.#onRecord(record), (err) => {
      options.log.warn({ error: err.message }, 'flow events lost');
    });
  }

  #onRecord(record: Buffer): void {
    const e = events.decodeEvent(record);
    const { resources, generation } = this.#options.resources();
    this.#names.refresh(resources, generation);
    const translated = e.xlated.daddr !== e.orig.daddr || e.xlated.dport !== e.orig.dport;
    const flow: Flow = {
      time: new Date().toISOString(),
      verdict: e.verdictName,
      reason: e.reasonName,
      source: e.sourceName,
      proto: e.orig.proto,
      src: this.#names.end(e.orig.saddr, e.orig.sport, e.srcIdentity),
      dst: this.#names.end(e.orig.daddr, e.orig.dport, translated ? 0 : e.dstIdentity),
      proxyPort: e.proxyPort,
    };
    if (translated) flow.backend = this.#names.end(e.xlated.daddr, e.xlated.dport, e.dstIdentity);
    this.#options.metrics.flows.inc({ verdict: flow.verdict });
    if (flow.verdict === 'DROPPED') this.#options.metrics.drops.inc({ reason: flow.reason });
    this.#recent.push(flow);
    if (this.#recent.length > this.#capacity) this.#recent.splice(0, this.#recent.length - this.#capacity);
    for (const follower of this.#followers) follower(flow);
  }

  recent(limit = this.#capacity): Flow[] {
    return this.#recent.slice(-limit);
  }

  /** Calls fn with each new flow until the returned function is called. */
  follow(fn: (flow: Flow) => void): () => void {
    this.#followers.add(fn);
    return () => this.#followers.delete(fn);
  }

  close(): void {
    this.#reader.close();
    this.#followers.clear();
  }
}

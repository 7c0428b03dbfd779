// One simulated node running skiff's datapath, for tests with real packets: a node netns with pods
// (NetnsFixture), datapath.bpf.o loaded through the libbpf binding with its maps pinned under a
// per-run bpffs directory, from_pod/to_pod attached to every pod's host veth (from a child in the
// node's netns, see tc-attach.ts), the proxy policy route, typed map writers, and the flow events
// read from the ring buffer. This is the set-up a redirector does on a node, reduced to tests.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { BpfLink, BpfObject, ensureBpffs, RingBufferReader } from '../../bpf/libbpf.js';
import {
  backends,
  config,
  conntrack,
  CtScope,
  type DecodedTuple,
  endpoints,
  events,
  Identity,
  ipcache,
  lbSlots,
  loadDatapath,
  MARK_MASK,
  MARK_TO_PROXY,
  policy,
  PolicyVerdict,
  Programs,
  PROXY_ROUTE_TABLE,
  services,
} from '../../bpf/maps/index.js';
import { NODE_GATEWAY4, requireRoot, type NetnsFixture, type NetnsNode, type NetnsPod, type PodSpec } from './netns.js';
import { attachInNetns, linkPin } from './tc-attach.js';

export interface DatapathPodSpec extends PodSpec {
  identity: number;
}

export interface ServiceBackend {
  id: number;
  addr: string;
  port: number;
}

/** Small maps: the tests need few entries, and small maps load fast. */
const testSizes = {
  skf_services: 1024,
  skf_lb_slots: 4096,
  skf_backends: 1024,
  skf_ipcache: 1024,
  skf_endpoints: 1024,
  skf_policy: 4096,
  skf_ct: 16384,
  skf_events: 1 << 18,
};

export class DatapathNode {
  readonly fx: NetnsFixture;
  readonly node: NetnsNode;
  readonly pinRoot: string;
  object: BpfObject;
  readonly pods = new Map<string, NetnsPod & { identity: number; endpointId: number }>();
  readonly events: events.FlowEvent[] = [];
  readonly #maxEntries: typeof testSizes;
  #reader: RingBufferReader | undefined;

  private constructor(
    fx: NetnsFixture,
    node: NetnsNode,
    pinRoot: string,
    object: BpfObject,
    maxEntries: typeof testSizes,
  ) {
    this.fx = fx;
    this.node = node;
    this.pinRoot = pinRoot;
    this.object = object;
    this.#maxEntries = maxEntries;
    this.#reader = this.#readEvents();
  }

  /** Stops reading flow events (the ring fills up; the datapath counts what it cannot write). */
  pauseEvents(): void {
    this.#reader?.close();
    this.#reader = undefined;
  }

  resumeEvents(): void {
    this.#reader ??= this.#readEvents();
  }

  /** Events the datapath could not write because the ring was full (skf_ev_lost, all CPUs). */
  lostEvents(): bigint {
    const map = this.object.map(events.LOST_MAP_NAME);
    const value = map.lookup(Buffer.alloc(4));
    return value ? events.sumLost(map.perCpuValues(value)) : 0n;
  }

  #readEvents(): RingBufferReader {
    const reader = new RingBufferReader(this.object.map(events.MAP_NAME), (record) => {
      this.events.push(events.decodeEvent(record));
    });
    return reader.unref();
  }

  /** Pins the TC programs of the current object (replacing older pins). */
  #pinPrograms(): void {
    for (const name of [Programs.FROM_POD, Programs.TO_POD]) {
      const path = join(this.pinRoot, name);
      rmSync(path, { force: true });
      this.object.program(name).pin(path);
    }
  }

  /** What an agent restart does: drop the loaded object (the pinned maps and links stay and keep
   * forwarding), load it again reusing the pinned maps, and swap the new programs into the pinned
   * TCX links atomically (bpf_link_update). */
  restart(): void {
    this.close();
    this.object = loadDatapath({ pinRoot: this.pinRoot, maxEntries: this.#maxEntries });
    this.#pinPrograms();
    for (const pod of this.pods.values()) {
      for (const [direction, program] of [['ingress', Programs.FROM_POD], ['egress', Programs.TO_POD]] as const) {
        const link = BpfLink.fromPin(linkPin(this.pinRoot, pod.hostIf, direction));
        link.update(this.object.program(program));
        link.close();
      }
    }
    this.#reader = this.#readEvents();
  }

  /** Creates the node and its pods, loads and attaches the datapath; registers its cleanup. */
  static create(
    fx: NetnsFixture,
    name: string,
    podSpecs: DatapathPodSpec[],
    sizes: Partial<typeof testSizes> = {},
  ): DatapathNode {
    requireRoot('the datapath tests');
    ensureBpffs();
    const node = fx.createNode(name);
    const pinRoot = `/sys/fs/bpf/${fx.id}-${name}`;
    ensureBpffs(pinRoot);
    fx.onCleanup(() => rmSync(pinRoot, { recursive: true, force: true }));
    const maxEntries = { ...testSizes, ...sizes };
    const object = loadDatapath({ pinRoot, maxEntries });
    const dp = new DatapathNode(fx, node, pinRoot, object, maxEntries);
    fx.onCleanup(() => dp.close());
    dp.#pinPrograms();

    // the proxy's policy route: marked packets are local, so the assigned socket gets them
    const mark = `${MARK_TO_PROXY}/${MARK_MASK}`;
    for (const family of ['-4', '-6']) {
      fx.ip(node.netns, family, 'rule', 'add', 'fwmark', mark, 'lookup', String(PROXY_ROUTE_TABLE));
      const any = family === '-4' ? '0.0.0.0/0' : '::/0';
      fx.ip(node.netns, family, 'route', 'add', 'local', any, 'dev', 'lo', 'table', String(PROXY_ROUTE_TABLE));
    }
    dp.setIdentity(`${NODE_GATEWAY4}/32`, Identity.HOST);
    dp.setConfig({ proxyAddr4: '', proxyAddr6: '', flags: 0, hbonePort: 0 });

    podSpecs.forEach((spec, i) => {
      const pod = fx.addPod(node, spec);
      const endpointId = i + 1;
      dp.pods.set(spec.name, { ...pod, identity: spec.identity, endpointId });
      dp.setEndpoint(spec.name, 0);
      dp.setIdentity(`${spec.ip}/32`, spec.identity);
      if (spec.ip6) dp.setIdentity(`${spec.ip6}/128`, spec.identity);
    });
    attachInNetns(fx, node.netns, pinRoot, [...dp.pods.values()].map((p) => p.hostIf));
    return dp;
  }

  pod(name: string): NetnsPod & { identity: number; endpointId: number } {
    const pod = this.pods.get(name);
    if (!pod) throw new Error(`no pod ${name}`);
    return pod;
  }

  setConfig(value: config.ConfigValue): void {
    this.object.map(config.MAP_NAME).update(config.encodeKey(), config.encodeValue(value));
  }

  setIdentity(cidr: string, identity: number): void {
    this.object.map(ipcache.MAP_NAME).update(ipcache.encodeKey({ cidr }), ipcache.encodeValue({ identity, flags: 0 }));
  }

  /** (Re)writes the endpoint entries of a pod (both families) with flags (EndpointFlags). */
  setEndpoint(name: string, flags: number): void {
    const pod = this.pod(name);
    const value = endpoints.encodeValue({
      endpointId: pod.endpointId,
      identity: pod.identity,
      ifindex: pod.hostIfindex,
      flags,
    });
    for (const ip of [pod.ip, pod.ip6]) {
      if (ip) this.object.map(endpoints.MAP_NAME).update(endpoints.encodeKey(ip), value);
    }
  }

  /** Sets a service and its backends (slots 0..n-1, one per backend, in order). */
  setService(key: services.ServiceKey, revNatId: number, list: ServiceBackend[]): void {
    const slotsMap = this.object.map(lbSlots.MAP_NAME);
    for (const b of list) {
      this.object.map(backends.MAP_NAME).update(
        backends.encodeKey(b.id),
        backends.encodeValue({ addr: b.addr, port: b.port, proto: key.proto, flags: 0 }),
      );
    }
    list.forEach((b, slot) => slotsMap.update(lbSlots.encodeKey({ revNatId, slot }), lbSlots.encodeValue(b.id)));
    this.object.map(services.MAP_NAME).update(
      services.encodeKey(key),
      services.encodeValue({ revNatId, count: list.length, flags: 0 }),
    );
  }

  setPolicy(key: policy.PolicyKey, value: Partial<policy.PolicyValue> = {}): void {
    this.object.map(policy.MAP_NAME).update(
      policy.encodeKey(key),
      policy.encodeValue({ verdict: PolicyVerdict.ALLOW, flags: 0, proxyPort: 0, ...value }),
    );
  }

  deletePolicy(key: policy.PolicyKey): void {
    this.object.map(policy.MAP_NAME).delete(policy.encodeKey(key));
  }

  /** Conntrack entries of one scope. */
  conntrack(scope: number = CtScope.EGRESS): { key: DecodedTuple; value: conntrack.CtValue }[] {
    const found = [];
    for (const [k, v] of this.object.map(conntrack.MAP_NAME).entries()) {
      const key = conntrack.decodeKey(k);
      if (key.scope === scope) found.push({ key, value: conntrack.decodeValue(v, key.family) });
    }
    return found;
  }

  /** Waits until the ring buffer delivered an event matching pred (events arrive asynchronously). */
  async waitForEvent(pred: (e: events.FlowEvent) => boolean, timeoutMs = 2000): Promise<events.FlowEvent> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.events.find(pred);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seen = this.events.map((e) => `${e.sourceName} ${e.verdictName}/${e.reasonName} ${e.orig.saddr}:${e.orig.sport}->${e.orig.daddr}:${e.orig.dport}`);
    throw new Error(`no matching flow event within ${timeoutMs} ms; seen: ${seen.join(", ")}`);
  }

  close(): void {
    this.pauseEvents();
    this.object.close();
  }
}

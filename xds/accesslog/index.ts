// The control plane's Envoy access log receiver: envoy.service.accesslog.v3.AccessLogService
// (gRPC ALS, client-streaming StreamAccessLogs). Node proxies and waypoints send one HTTP access
// log entry per request (the translator configures HttpGrpcAccessLogConfig on their HCMs, pointed
// at the bootstrap's xDS cluster); the receiver keeps the most recent ones in a bounded ring, each
// with the node that sent it, for `/debug/accesslog` and `skiff observe`.
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Counter, type Registry } from 'prom-client';
import { logger } from '../../config/log.js';
import type { StreamCall } from '../grpc/handlers.js';
import type { GrpcServer } from '../grpc/server.js';
import { ENVOY_PROTO_DIRS } from '../proto-dirs.js';

const log = logger('accesslog');
export const ALS_PROTO = 'envoy/service/accesslog/v3/als.proto';
export const ALS_SERVICE = 'envoy.service.accesslog.v3.AccessLogService';
/** Entries kept when the receiver is built without a capacity. */
export const DEFAULT_CAPACITY = 10_000;

/** One L7 request line, as /debug/accesslog serves it (one JSON object per NDJSON line). */
export interface AccessLogEntry {
  /** Request start, ISO 8601 (the receive time when Envoy sent none). */
  time: string;
  /** Node id of the proxy that sent it (identifier.node.id of the stream's first message). */
  node: string;
  /** The log_name of the access logger (`skiff`). */
  logName: string;
  method: string;
  path: string;
  authority: string;
  code: number;
  src?: { ip: string; port: number };
  dst?: { ip: string; port: number };
  upstreamCluster: string;
  /** Envoy's response flags that are set, by field name (e.g. `no_route_found`). */
  responseFlags: string[];
}

type Msg = Record<string, unknown>;
const obj = (v: unknown): Msg => (v !== null && typeof v === 'object' ? (v as Msg) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function address(v: unknown): { ip: string; port: number } | undefined {
  const socket = obj(obj(v).socket_address);
  if (!socket.address) return undefined;
  return { ip: str(socket.address), port: Number(socket.port_value ?? 0) };
}

const METHODS = ['METHOD_UNSPECIFIED', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

function timeOf(ts: unknown): string | undefined {
  const t = obj(ts);
  if (t.seconds === undefined) return undefined;
  return new Date(Number(t.seconds) * 1000 + Math.floor(Number(t.nanos ?? 0) / 1e6)).toISOString();
}

/** An HTTPAccessLogEntry (decoded by proto-loader with keepCase, enums as strings) as an entry. */
export function toEntry(node: string, logName: string, e: Msg): AccessLogEntry {
  const common = obj(e.common_properties);
  const request = obj(e.request);
  const code = obj(obj(e.response).response_code).value;
  const method = typeof request.request_method === 'number' ? (METHODS[request.request_method] ?? '') : str(request.request_method);
  const flags = Object.entries(obj(common.response_flags))
    .filter(([, set]) => set === true)
    .map(([name]) => name);
  const src = address(common.downstream_remote_address);
  const dst = address(common.downstream_local_address);
  return {
    time: timeOf(common.start_time) ?? new Date().toISOString(),
    node,
    logName,
    method,
    path: str(request.path),
    authority: str(request.authority),
    code: Number(code ?? 0),
    ...(src ? { src } : {}),
    ...(dst ? { dst } : {}),
    upstreamCluster: str(common.upstream_cluster),
    responseFlags: flags,
  };
}

/** The class of a response code for the metric: `2xx`…`5xx`, or `none` (no response). */
export function codeClass(code: number): string {
  return code >= 100 && code < 600 ? `${Math.floor(code / 100)}xx` : 'none';
}

let definition: grpc.ServiceDefinition | undefined;

/** AccessLogService's definition, loaded from Envoy's protos once. */
export function accessLogServiceDefinition(): grpc.ServiceDefinition {
  if (definition) return definition;
  const pkg = protoLoader.loadSync(ALS_PROTO, { keepCase: true, longs: String, enums: String, defaults: false, includeDirs: ENVOY_PROTO_DIRS });
  definition = pkg[ALS_SERVICE] as grpc.ServiceDefinition;
  return definition;
}


/** The bounded ring of received entries, with followers for ?follow=1. */
export class AccessLogStore {
  readonly capacity: number;
  readonly #ring: AccessLogEntry[] = [];
  #next = 0;
  readonly #followers = new Set<(entry: AccessLogEntry) => void>();
  #counter?: Counter<'node' | 'code_class'>;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.capacity = capacity;
  }

  /** Counts entries in `registry` as skiff_accesslog_entries_total{node,code_class}. */
  countIn(registry: Registry): void {
    this.#counter = new Counter({
      name: 'skiff_accesslog_entries_total',
      help: 'HTTP access log entries received over gRPC ALS, by node and response code class',
      labelNames: ['node', 'code_class'],
      registers: [registry],
    });
  }

  add(entry: AccessLogEntry): void {
    if (this.#ring.length < this.capacity) this.#ring.push(entry);
    else this.#ring[this.#next] = entry;
    this.#next = (this.#next + 1) % this.capacity;
    this.#counter?.inc({ node: entry.node, code_class: codeClass(entry.code) });
    for (const follower of this.#followers) follower(entry);
  }

  /** Kept entries, oldest first; with `since` (ISO time), only those that started at or after it. */
  recent(since?: string): AccessLogEntry[] {
    const ordered = this.#ring.length < this.capacity ? [...this.#ring] : [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
    return since === undefined ? ordered : ordered.filter((e) => e.time >= since);
  }

  /** Calls `fn` for every new entry until the returned function is called. */
  follow(fn: (entry: AccessLogEntry) => void): () => void {
    this.#followers.add(fn);
    return () => this.#followers.delete(fn);
  }
}

/** Adds AccessLogService to a gRPC server (e.g. through XdsServer's addServices), filling `store`. */
export function addAccessLogService(server: GrpcServer, store: AccessLogStore): void {
  server.addService(accessLogServiceDefinition(), {
    StreamAccessLogs: (call: StreamCall<Msg>) =>
      new Promise<Msg>((resolve) => {
        let node = '';
        let logName = '';
        let ended = false;
        call.onMessage = (message) => {
          const identifier = obj(message.identifier);
          if (message.identifier) {
            node = str(obj(identifier.node).id);
            logName = str(identifier.log_name);
          }
          for (const e of (obj(message.http_logs).log_entry as Msg[] | undefined) ?? []) store.add(toEntry(node, logName, e));
        };
        call.onEnd = () => {
          ended = true;
          resolve({});
        };
        call.onClose = () => {
          if (!ended) log.debug({ node, err: 'the stream closed before the client ended it' }, 'access log stream failed');
        };
      }),
  });
}

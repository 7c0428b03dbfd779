// The xDS server: ADS and the per-type services over gRPC (SotW and Delta), the connected clients
// by class, pushes when a class's snapshot changes, /debug/syncz and config-dump views, and a
// graceful shutdown that ends every stream with UNAVAILABLE (clients retry and re-sync).
import type { Logger } from '../config/log.js';
import { logger } from '../config/log.js';
import type { SnapshotCache } from './cache.js';
import { configDump } from './config-dump.js';
import { type ClientView, type Connection, type ConnectionHost } from './connection.js';
import { DeltaConnection } from './delta-stream.js';
import type { DeltaDiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';
import type { DiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import { type ServiceHandlers, Status, type StreamCall } from './grpc/handlers.js';
import { GrpcServer } from './grpc/server.js';
import { XdsMetrics } from './metrics.js';
import { PushQueue } from './push-queue.js';
import { SERVICES } from './services.js';
import { SotwConnection } from './sotw-stream.js';

/** Pushes pause while more response bytes than this wait for the network (bounds memory in a reconnect storm). */
const SERVER_BUFFER_BUDGET = 128 * 1024 * 1024;

export interface XdsServerOptions {
  cache: SnapshotCache;
  log?: Logger;
  /** Wait this long after a change before pushing, to merge bursts (default 0: next tick). */
  debounceMs?: number;
  /** Adds other gRPC services to the same server and port (e.g. skiff's CertificateService). */
  addServices?: (server: GrpcServer) => void;
}

export class XdsServer implements ConnectionHost {
  readonly cache: SnapshotCache;
  readonly metrics: XdsMetrics;
  readonly log: Logger;
  private readonly queue: PushQueue;
  private readonly server: GrpcServer;
  /** Streams whose client has not identified itself yet (the others are in byClass). */
  private readonly pending = new Set<Connection>();
  private readonly byClass = new Map<string, Set<Connection>>();
  private readonly unsubscribe: () => void;
  private listening = false;
  /** Response bytes handed to streams and not yet written to the network, over all clients. */
  private unwritten = 0;

  constructor(options: XdsServerOptions) {
    this.cache = options.cache;
    this.log = options.log ?? logger('xds');
    this.queue = new PushQueue(options.debounceMs ?? 0, () => this.unwritten > SERVER_BUFFER_BUDGET);
    // Its default receive windows (64 MiB per connection, 4 MiB per stream) take bursts of SotW ACKs, which repeat every name.
    this.server = new GrpcServer({ log: this.log });
    this.metrics = new XdsMetrics(() => this.server.connections);
    for (const { definition, methods } of SERVICES) {
      const handlers: ServiceHandlers = {};
      for (const m of methods) {
        handlers[m.name] = m.delta
          ? (call: StreamCall<DeltaDiscoveryRequest__Output>) => this.open(new DeltaConnection(this, call, m.typeUrl))
          : (call: StreamCall<DiscoveryRequest__Output>) => this.open(new SotwConnection(this, call, m.typeUrl));
      }
      this.server.addService(definition, handlers);
    }
    options.addServices?.(this.server);
    this.unsubscribe = this.cache.onChange((classKey) => {
      this.metrics.rejectedSnapshots.set(this.cache.rejected);
      for (const connection of this.byClass.get(classKey) ?? []) this.schedule(connection);
    });
  }

  /** A new stream: pending until its first request names the client. */
  private open(connection: Connection): void {
    this.pending.add(connection);
  }

  /** Listens on HOST:PORT (`[v6]:port` too; port 0 picks one) and returns the bound port. */
  async listen(address: string): Promise<number> {
    const port = await this.server.listen(address);
    this.listening = true;
    this.log.info({ address, port }, 'xDS server listening');
    return port;
  }

  get ready(): boolean {
    return this.listening;
  }

  schedule(connection: Connection): void {
    this.queue.schedule(connection);
  }

  buffered(delta: number): void {
    this.unwritten += delta;
    if (delta < 0 && this.unwritten <= SERVER_BUFFER_BUDGET / 2) this.queue.resume();
  }

  attach(connection: Connection): void {
    this.pending.delete(connection);
    let set = this.byClass.get(connection.classKey);
    if (!set) {
      set = new Set();
      this.byClass.set(connection.classKey, set);
    }
    set.add(connection);
    this.metrics.clients.inc({ role: connection.info?.role ?? 'proxyless', mode: connection.mode });
    this.log.info({ client: connection.info?.id, role: connection.info?.role, class: connection.classKey, mode: connection.mode }, 'xDS client connected');
  }

  detach(connection: Connection): void {
    if (this.pending.delete(connection)) return;
    const set = this.byClass.get(connection.classKey);
    if (!set?.delete(connection)) return;
    if (set.size === 0) this.byClass.delete(connection.classKey);
    this.metrics.clients.dec({ role: connection.info?.role ?? 'proxyless', mode: connection.mode });
    this.log.info({ client: connection.info?.id, class: connection.classKey }, 'xDS client disconnected');
  }

  /** Connected clients that identified themselves. */
  connections(): Connection[] {
    return [...this.byClass.values()].flatMap((set) => [...set]);
  }

  /** The /debug/syncz document: every connected client and its per-type sync state. */
  syncz(): { clients: ClientView[] } {
    return { clients: this.connections().map((c) => c.view()) };
  }

  /** Envoy ConfigDump JSON of what the client with this node id was sent (latest stream), or undefined. */
  configDump(proxyId: string): ReturnType<typeof configDump> | undefined {
    const matches = this.connections().filter((c) => c.info?.id === proxyId);
    const latest = matches.sort((a, b) => b.streamId - a.streamId)[0];
    return latest ? configDump(latest.sentResources()) : undefined;
  }

  /**
   * Graceful shutdown: stop accepting streams, end every stream with UNAVAILABLE (clients retry on
   * it and keep their config meanwhile), then wait up to graceMs for the calls to finish.
   */
  async close(graceMs = 2000): Promise<void> {
    this.unsubscribe();
    this.queue.stop();
    this.listening = false;
    const stopped = this.server.shutdown(graceMs);
    for (const connection of [...this.pending, ...this.connections()]) connection.close({ code: Status.UNAVAILABLE, details: 'xDS server shutting down' });
    await stopped;
    this.log.info('xDS server stopped');
  }
}

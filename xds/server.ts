// The xDS server: ADS and the per-type services over gRPC (SotW and Delta), the connected clients
// by class, pushes when a class's snapshot changes, /debug/syncz and config-dump views, and a
// graceful shutdown that ends every stream with UNAVAILABLE (clients retry and re-sync).
import type { EventEmitter } from 'node:events';
import type { Http2Session } from 'node:http2';
import { type AddressInfo, type Server as NetServer, createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../config/log.js';
import { logger } from '../config/log.js';
import type { SnapshotCache } from './cache.js';
import { configDump } from './config-dump.js';
import { type ClientView, type Connection, type ConnectionHost } from './connection.js';
import { DeltaConnection } from './delta-stream.js';
import type { DeltaDiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';
import type { DiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import { XdsMetrics } from './metrics.js';
import { PushQueue } from './push-queue.js';
import { SERVICES } from './services.js';
import { SotwConnection } from './sotw-stream.js';

/** Pushes pause while more response bytes than this wait for the network (bounds memory in a reconnect storm). */
const SERVER_BUFFER_BUDGET = 128 * 1024 * 1024;
/** HTTP/2 receive windows: per connection, and per stream (see widenReceiveWindows). */
const RECEIVE_WINDOW = 64 * 1024 * 1024;
const STREAM_RECEIVE_WINDOW = 4 * 1024 * 1024;
/** Connections waiting to be accepted: thousands of proxies reconnect at once after a restart (the kernel caps it at net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

export interface XdsServerOptions {
  cache: SnapshotCache;
  log?: Logger;
  /** Wait this long after a change before pushing, to merge bursts (default 0: next tick). */
  debounceMs?: number;
  /** Extra grpc-js server options. */
  grpcOptions?: grpc.ServerOptions;
  /** Adds other gRPC services to the same server and port (e.g. skiff's CertificateService). */
  addServices?: (server: grpc.Server) => void;
}

export class XdsServer implements ConnectionHost {
  readonly cache: SnapshotCache;
  readonly metrics = new XdsMetrics();
  readonly log: Logger;
  private readonly queue: PushQueue;
  private readonly server: grpc.Server;
  private readonly streams = new Set<Connection>();
  private readonly byClass = new Map<string, Set<Connection>>();
  private readonly unsubscribe: () => void;
  private listening = false;
  private readonly listeners: NetServer[] = [];
  private readonly widened = new WeakSet<EventEmitter>();
  /** Response bytes handed to streams and not yet written to the network, over all clients. */
  private unwritten = 0;

  constructor(options: XdsServerOptions) {
    this.cache = options.cache;
    this.log = options.log ?? logger('xds');
    this.queue = new PushQueue(options.debounceMs ?? 0, () => this.unwritten > SERVER_BUFFER_BUDGET);
    // No channelz: its per-connection and per-call trackers cost every client memory, and nothing reads them.
    this.server = new grpc.Server({ 'grpc.max_concurrent_streams': 1 << 20, 'grpc.enable_channelz': 0, ...options.grpcOptions });
    for (const { definition, methods } of SERVICES) {
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const m of methods) {
        implementation[m.name] = m.delta
          ? (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest__Output, Buffer>) => this.open(new DeltaConnection(this, call, m.typeUrl), call)
          : (call: grpc.ServerDuplexStream<DiscoveryRequest__Output, Buffer>) => this.open(new SotwConnection(this, call, m.typeUrl), call);
      }
      this.server.addService(definition, implementation);
    }
    options.addServices?.(this.server);
    this.unsubscribe = this.cache.onChange((classKey) => {
      this.metrics.rejectedSnapshots.set(this.cache.rejected);
      for (const connection of this.byClass.get(classKey) ?? []) this.schedule(connection);
    });
  }

  private open(connection: Connection, call: grpc.ServerDuplexStream<unknown, Buffer>): void {
    this.streams.add(connection);
    const end = () => {
      this.streams.delete(connection);
      if (!connection.isClosed) connection.close();
    };
    call.on('end', end);
    call.on('cancelled', end);
    call.on('error', (error: Error) => {
      this.log.debug({ client: connection.info?.id, err: error.message }, 'stream error');
      end();
    });
    call.on('close', () => this.streams.delete(connection));
  }

  /**
   * Listens on HOST:PORT (`[v6]:port` too; port 0 picks one) and returns the bound port. The TCP
   * listener is ours so that sockets get TCP_NODELAY: pushes and ACKs are small writes that must
   * not wait for Nagle's algorithm.
   */
  async listen(address: string): Promise<number> {
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
    if (!match) throw new Error(`xDS listen address must be HOST:PORT, not '${address}'`);
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.widenReceiveWindows();
    const listener = createServer({ noDelay: true }, (socket) => injector.injectConnection(socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ port: Number(match[3]), host: match[1] ?? match[2], backlog: LISTEN_BACKLOG }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    this.listeners.push(listener);
    const port = (listener.address() as AddressInfo).port;
    this.listening = true;
    this.log.info({ address, port }, 'xDS server listening');
    return port;
  }

  /**
   * SotW requests repeat their resource names (an EDS ACK of 1,000 names is ~50 KB), so HTTP/2's
   * default 64 KB receive windows would throttle a burst of ACKs to one window per round trip.
   * grpc-js has no server option for this; its HTTP/2 servers are reached through its (private)
   * server map, and when that is not there the defaults simply stay.
   */
  private widenReceiveWindows(): void {
    const servers = (this.server as unknown as { http2Servers?: Map<EventEmitter, unknown> }).http2Servers;
    for (const http2Server of servers?.keys() ?? []) {
      if (this.widened.has(http2Server)) continue;
      this.widened.add(http2Server);
      http2Server.on('session', (session: Http2Session) => {
        try {
          session.setLocalWindowSize(RECEIVE_WINDOW);
          session.settings({ initialWindowSize: STREAM_RECEIVE_WINDOW });
        } catch (error) {
          this.log.debug({ err: (error as Error).message }, 'could not widen HTTP/2 receive windows');
        }
      });
    }
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
    for (const listener of this.listeners) listener.close();
    const drained = new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    for (const connection of [...this.streams]) connection.close({ code: grpc.status.UNAVAILABLE, details: 'xDS server shutting down' });
    this.streams.clear();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
    });
    await Promise.race([drained, timeout]);
    clearTimeout(timer);
    this.log.info('xDS server stopped');
  }
}

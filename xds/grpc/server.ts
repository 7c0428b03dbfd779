// skiff's gRPC server: gRPC over its own HTTP/2 (session.ts, call.ts) on plain TCP sockets, with
// prior knowledge (as istiod's 15010: no TLS, no upgrade). Services come as grpc-js definitions
// (paths, stream flags, serializers) with handlers by method name (handlers.ts). An idle proxy's
// connection costs a socket and a few small objects, not an nghttp2 session.
import { type AddressInfo, type Server as NetServer, type Socket, createServer } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../config/log.js';
import { type CallHost, GrpcCall, type Method, MethodKind } from './call.js';
import { DEFAULT_WINDOW, MAX_WINDOW, Setting, settingsFrame } from './frames.js';
import type { ServiceHandlers } from './handlers.js';
import { Session } from './session.js';

export interface GrpcServerOptions {
  log: Logger;
  /** Our HTTP/2 connection receive window (default 64 MiB: SotW ACKs repeat 1,000 names, ~50 KB each, and arrive in bursts). */
  connectionWindow?: number;
  /** Our SETTINGS_INITIAL_WINDOW_SIZE (default 4 MiB). */
  streamWindow?: number;
  /** Default 1,000 per connection. */
  maxConcurrentStreams?: number;
  /** Largest request message accepted (default 16 MiB; larger → RESOURCE_EXHAUSTED). */
  maxMessageBytes?: number;
  /** A connection that sends nothing of its preface and SETTINGS for this long is closed (default 10 s). */
  handshakeTimeoutMs?: number;
}

/** Connections waiting to be accepted: thousands of proxies reconnect at once after a restart (the kernel caps it at net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;
/** The largest header list we accept from a peer (SETTINGS_MAX_HEADER_LIST_SIZE). */
const MAX_HEADER_LIST_SIZE = 64 * 1024;

export class GrpcServer implements CallHost {
  readonly log: Logger;
  readonly settingsFrame: Buffer;
  readonly connectionWindow: number;
  readonly streamWindow: number;
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListSize = MAX_HEADER_LIST_SIZE;
  readonly maxMessageBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly methods = new Map<string, Method>();
  private readonly listeners: NetServer[] = [];
  private readonly sessions = new Set<Session>();
  /** Shutdowns waiting for the last session to go. */
  private readonly closeWaiters: Array<() => void> = [];

  constructor(options: GrpcServerOptions) {
    this.log = options.log;
    this.connectionWindow = windowOption(options.connectionWindow, 64 * 1024 * 1024, 'connectionWindow');
    this.streamWindow = windowOption(options.streamWindow, 4 * 1024 * 1024, 'streamWindow');
    this.maxConcurrentStreams = options.maxConcurrentStreams ?? 1000;
    this.maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.settingsFrame = settingsFrame([
      [Setting.HEADER_TABLE_SIZE, 0],
      [Setting.ENABLE_PUSH, 0],
      [Setting.MAX_CONCURRENT_STREAMS, this.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, this.streamWindow],
      [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST_SIZE],
    ]);
  }

  /** Open HTTP/2 connections (for metrics). */
  get connections(): number {
    return this.sessions.size;
  }

  /**
   * Serves a service: its methods' paths, stream flags, requestDeserialize and responseSerialize
   * come from the grpc-js definition; handlers by method name. Unknown paths get UNIMPLEMENTED.
   */
  addService(definition: grpc.ServiceDefinition, handlers: ServiceHandlers): void {
    for (const [name, handler] of Object.entries(handlers)) {
      const method = definition[name];
      if (method === undefined) throw new Error(`gRPC service has no method ${name}`);
      if (this.methods.has(method.path)) throw new Error(`gRPC method ${method.path} is served twice`);
      this.methods.set(method.path, {
        kind: methodKind(method.requestStream, method.responseStream),
        handler,
        requestDeserialize: method.requestDeserialize,
        responseSerialize: method.responseSerialize,
      });
    }
  }

  /**
   * Listens on HOST:PORT ([v6]:PORT too; port 0 picks one), TCP_NODELAY on every socket, listen
   * backlog 4096; returns the bound port. May be called more than once.
   */
  async listen(address: string): Promise<number> {
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
    if (!match) throw new Error(`gRPC listen address must be HOST:PORT, not '${address}'`);
    const listener = createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ port: Number(match[3]), host: match[1] ?? match[2], backlog: LISTEN_BACKLOG }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    this.listeners.push(listener);
    return (listener.address() as AddressInfo).port;
  }

  /**
   * Graceful: stop listening, GOAWAY (last stream id) to every connection, wait up to graceMs for
   * open calls to end, then destroy what is left. Resolves when every socket is gone.
   */
  async shutdown(graceMs: number): Promise<void> {
    for (const listener of this.listeners.splice(0)) listener.close();
    if (this.sessions.size === 0) return;
    const closed = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    for (const session of this.sessions) session.goAway();
    const timer = setTimeout(() => {
      for (const session of this.sessions) session.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  /** SessionHost: a new stream is a gRPC call. */
  openStream(session: Session, id: number, headers: Array<[string, string]>): void {
    new GrpcCall(this, session, id, headers);
  }

  /** SessionHost: a connection is gone. */
  sessionClosed(session: Session): void {
    this.sessions.delete(session);
    this.log.debug({ peer: session.peer }, 'gRPC connection closed');
    if (this.sessions.size === 0) {
      for (const resolve of this.closeWaiters.splice(0)) resolve();
    }
  }

  private accept(socket: Socket): void {
    const session = new Session(this, socket);
    this.sessions.add(session);
    this.log.debug({ peer: session.peer }, 'gRPC connection opened');
  }
}

function methodKind(requestStream: boolean, responseStream: boolean): MethodKind {
  if (!requestStream && !responseStream) return MethodKind.UNARY;
  if (requestStream && !responseStream) return MethodKind.CLIENT_STREAM;
  if (requestStream && responseStream) return MethodKind.BIDI;
  return MethodKind.UNSUPPORTED;
}

function windowOption(value: number | undefined, fallback: number, name: string): number {
  const window = value ?? fallback;
  if (!Number.isInteger(window) || window < DEFAULT_WINDOW || window > MAX_WINDOW) {
    throw new Error(`${name} must be an integer from ${DEFAULT_WINDOW} to ${MAX_WINDOW}, not ${window}`);
  }
  return window;
}

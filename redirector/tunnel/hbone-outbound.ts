// The HBONE outbound side: a transparent listener that receives the cross-node mesh flows the
// datapath steers to it (the accepted socket's local address is the original destination pod),
// and carries each over a pooled mutual-TLS HTTP/2 connection as a CONNECT stream to the
// destination node's HBONE port — or, when the destination uses a waypoint, to the waypoint's
// HBONE listener (the CONNECT :authority stays the original destination). The client certificate is
// the *source* workload's; the server must present the destination's (or the waypoint's) identity.
import { randomBytes } from 'node:crypto';
import type { ClientHttp2Stream } from 'node:http2';
import type { Server, Socket } from 'node:net';
import { logger, type Logger } from '../../config/log.js';
import { HBONE_OUTBOUND_PORT, HBONE_PORT, hostPort, plainIp, type HboneDirectory, type MeshWorkload } from './hbone.js';
import type { HbonePool, PoolTarget } from './hbone-pool.js';
import { listenTransparent } from './transparent.js';

export interface OutboundOptions {
  /** Listener address (default 0.0.0.0) and port (default HBONE_OUTBOUND_PORT; 0 picks one). */
  host?: string;
  port?: number;
  /** The remote nodes' HBONE port (default 15008). */
  hbonePort?: number;
  log?: Logger;
}

/** Where one flow goes: the TLS peer, the identity it must present, and the CONNECT authority. */
export interface OutboundRoute {
  address: string;
  port: number;
  identity: string;
  authority: string;
  viaWaypoint: boolean;
}

/** The outbound decision for a flow to dst:dport (exported for the waypoint tests). */
export function outboundRoute(destination: MeshWorkload, dst: string, dport: number, hbonePort = HBONE_PORT): OutboundRoute {
  const authority = hostPort(dst, dport);
  const waypoint = destination.waypoint;
  if (waypoint) return { address: waypoint.address, port: waypoint.port, identity: waypoint.spiffeId, authority, viaWaypoint: true };
  return { address: destination.nodeAddress, port: hbonePort, identity: destination.spiffeId, authority, viaWaypoint: false };
}

/** W3C traceparent of a new trace (sampled). */
function traceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

export class HboneOutbound {
  readonly #directory: HboneDirectory;
  readonly #pool: HbonePool;
  readonly #options: OutboundOptions;
  readonly #log: Logger;
  #server: Server | undefined;
  /** Flows carried, refused (no identity, TLS or CONNECT failure), and bytes each way. */
  readonly counters = { flows: 0, refused: 0, bytesOut: 0, bytesIn: 0 };

  constructor(directory: HboneDirectory, pool: HbonePool, options: OutboundOptions = {}) {
    this.#directory = directory;
    this.#pool = pool;
    this.#options = options;
    this.#log = options.log ?? logger('hbone-outbound');
  }

  /** Starts the transparent listener; resolves with its port. */
  async listen(): Promise<number> {
    this.#server = await listenTransparent(this.#options.host ?? '0.0.0.0', this.#options.port ?? HBONE_OUTBOUND_PORT, (socket) => {
      this.#handle(socket).catch((err: Error) => this.#refuse(socket, err.message));
    });
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  #refuse(socket: Socket, reason: string): void {
    this.counters.refused++;
    this.#log.info({ src: socket.remoteAddress, dst: `${socket.localAddress}:${socket.localPort}`, reason }, 'outbound flow refused');
    socket.resetAndDestroy();
  }

  async #handle(socket: Socket): Promise<void> {
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    socket.pause();
    const src = plainIp(socket.remoteAddress);
    const dst = plainIp(socket.localAddress);
    const dport = socket.localPort ?? 0;
    const source = this.#directory.workloadByIp(src);
    const destination = this.#directory.workloadByIp(dst);
    if (!source || !destination) return this.#refuse(socket, `not a mesh flow (${source ? 'destination' : 'source'} unknown)`);
    const cert = this.#directory.certificate(source.spiffeId);
    if (!cert) return this.#refuse(socket, `no certificate for ${source.spiffeId}`);
    const route = outboundRoute(destination, dst, dport, this.#options.hbonePort);
    const target: PoolTarget = { source: cert, identity: route.identity, address: route.address, port: route.port };
    const stream = await this.#pool.request(target, {
      ':authority': route.authority,
      baggage: `k8s.namespace.name=${source.namespace},k8s.pod.name=${source.name},service.name=${source.name}`,
      forwarded: `for=${src.includes(':') ? `"[${src}]"` : src}`,
      traceparent: traceparent(),
    });
    const status = await new Promise<number>((resolve, reject) => {
      stream.once('response', (headers) => resolve(Number(headers[':status'])));
      stream.once('error', reject);
      stream.once('close', () => resolve(stream.rstCode === 0 ? 0 : -stream.rstCode));
    });
    if (status !== 200) {
      stream.close();
      return this.#refuse(socket, `CONNECT ${route.authority} via ${hostPort(route.address, route.port)}: status ${status}`);
    }
    this.counters.flows++;
    this.#splice(socket, stream);
  }

  #splice(socket: Socket, stream: ClientHttp2Stream): void {
    socket.on('data', (d: Buffer) => (this.counters.bytesOut += d.length));
    stream.on('data', (d: Buffer) => (this.counters.bytesIn += d.length));
    stream.on('error', () => socket.destroy());
    stream.on('close', () => (stream.rstCode ? socket.destroy() : undefined)); // a reset (CANCEL emits no error)
    socket.on('close', (hadError) => (hadError ? stream.close(0x8 /* CANCEL */) : undefined));
    socket.pipe(stream);
    stream.pipe(socket);
    socket.resume();
  }

  close(): Promise<void> {
    const server = this.#server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}

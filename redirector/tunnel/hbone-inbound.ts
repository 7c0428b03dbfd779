// The HBONE inbound side: mutual TLS 1.3 + HTTP/2 on the node's HBONE port (15008). The server
// presents the certificate of the destination workload the client names by SNI (sniFor), requires
// a client certificate chained to that certificate's trust bundle (the SNI context's CA store is the
// one client certificates are verified against), and for each CONNECT stream: checks that
// :authority is a workload on this node with that identity, authorizes the client's SPIFFE ID (401
// on deny), connects to the pod (503 when it does not answer) and splices the stream to it.
//
// The connection to the pod keeps the client's address, as ztunnel does: it comes from the client
// pod's IP (the `forwarded` header's, or the TLS peer's own when it is a workload, and only when
// that address is a workload with the client certificate's SPIFFE ID; else 401), through an
// IP_TRANSPARENT socket (connectTransparent) marked as a proxy upstream with no identity
// (proxyUpstreamMark()). So the destination's datapath judges the flow by the client's identity
// from the ipcache, and its conntrack entry says the replies belong to a socket of this node:
// from_pod hands them to that socket (bpf_sk_assign and the proxy route), never to the wire.
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { createSecureServer, type Http2SecureServer, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { proxyUpstreamMark } from '../../bpf/maps/constants.js';
import { logger, type Logger } from '../../config/log.js';
import { HBONE_PORT, SESSION_WINDOW, STREAM_WINDOW, parseHostPort, plainIp, sniFor, spiffeIdOf, tlsOptions, type HboneDirectory, type TunnelCertificate } from './hbone.js';
import { connectTransparent } from './transparent.js';

export const RECENT_CONNECTS = 32;

/** The address a `forwarded` header (RFC 7239) names in its first element's `for=`: `for=10.1.0.10`,
 * `for="[fd00::10]"`, with or without a port; undefined when there is none. */
export function forwardedFor(header: string): string | undefined {
  const first = header.split(',')[0] ?? '';
  for (const pair of first.split(';')) {
    const [name, value = ''] = pair.trim().split('=', 2);
    if (name?.toLowerCase() !== 'for') continue;
    const node = value.replace(/^"|"$/g, '');
    const address = /^\[([^\]]+)\](?::\d+)?$/.exec(node)?.[1] ?? node.replace(/:\d+$/, '');
    return isIP(address) ? address : undefined;
  }
  return undefined;
}

export interface InboundConnect {
  client: string;
  authority: string;
  status: number;
  reason: string;
  forwarded: string;
  baggage: string;
  traceparent: string;
}

export interface InboundOptions {
  host?: string;
  /** Default HBONE_PORT; 0 picks one. */
  port?: number;
  /** The identities this node serves (its local workloads'): SNI names are derived from them. */
  identities: () => string[];
  /** How long the pod may take to accept (default 1000 ms) before the client gets 503. */
  connectTimeoutMs?: number;
  log?: Logger;
}

export class HboneInbound {
  readonly #directory: HboneDirectory;
  readonly #options: InboundOptions;
  readonly #log: Logger;
  readonly #server: Http2SecureServer;
  /** Secure contexts by certificate serial (rebuilt when a certificate rotates). */
  readonly #contexts = new Map<string, SecureContext>();
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly counters = { streams: 0, denied: 0, unavailable: 0, bytesIn: 0, bytesOut: 0 };
  /** The last RECENT_CONNECTS CONNECT requests and their answers, newest last. */
  readonly recent: InboundConnect[] = [];

  constructor(directory: HboneDirectory, options: InboundOptions) {
    this.#directory = directory;
    this.#options = options;
    this.#log = options.log ?? logger('hbone-inbound');
    this.#server = createSecureServer({
      allowHTTP1: false,
      minVersion: 'TLSv1.3',
      ALPNProtocols: ['h2'],
      requestCert: true,
      rejectUnauthorized: true,
      settings: { initialWindowSize: STREAM_WINDOW, enablePush: false },
      SNICallback: (servername, cb) => {
        const cert = this.#certificateBySni(servername);
        if (!cert) return cb(new Error(`no identity for SNI ${servername}`));
        cb(null, this.#context(cert));
      },
    });
    this.#server.on('session', (session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      session.setLocalWindowSize(SESSION_WINDOW);
      session.on('error', () => session.destroy());
    });
    this.#server.on('stream', (stream, headers) => this.#stream(stream, headers));
    this.#server.on('secureConnection', (socket: TLSSocket) => socket.setNoDelay(true));
    this.#server.on('tlsClientError', (err) => this.#log.info({ err: err.message }, 'HBONE TLS handshake refused'));
  }

  #certificateBySni(servername: string): TunnelCertificate | undefined {
    for (const id of this.#options.identities()) {
      if (sniFor(id) === servername) return this.#directory.certificate(id);
    }
    return undefined;
  }

  #context(cert: TunnelCertificate): SecureContext {
    let context = this.#contexts.get(cert.serial);
    if (!context) {
      context = createSecureContext(tlsOptions(cert));
      this.#contexts.clear(); // keep only the newest; rotated ones are not needed after their handshakes
      this.#contexts.set(cert.serial, context);
    }
    return context;
  }

  async listen(): Promise<number> {
    const port = this.#options.port ?? HBONE_PORT;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, this.#options.host ?? '0.0.0.0', () => resolve());
    });
    return (this.#server.address() as AddressInfo).port;
  }

  #record(headers: IncomingHttpHeaders, client: string | undefined, status: number, reason: string): void {
    const header = (name: string) => String(headers[name] ?? '');
    this.recent.push({ client: client ?? '', authority: header(':authority'), status, reason, forwarded: header('forwarded'), baggage: header('baggage'), traceparent: header('traceparent') });
    if (this.recent.length > RECENT_CONNECTS) this.recent.shift();
  }

  #reply(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, client: string | undefined, status: number, reason: string): void {
    this.#record(headers, client, status, reason);
    if (stream.destroyed) return;
    stream.respond({ ':status': status, 'x-skiff-reason': reason }, { endStream: true });
  }

  #stream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => stream.destroy());
    const tls = stream.session?.socket as TLSSocket | undefined;
    const client = spiffeIdOf(tls?.getPeerCertificate());
    const served = spiffeIdOf(tls?.getCertificate() as never);
    const reply = (status: number, reason: string) => this.#reply(stream, headers, client, status, reason);
    if (headers[':method'] !== 'CONNECT') return reply(405, 'only CONNECT');
    const target = parseHostPort(headers[':authority'] ?? '');
    if (!target) return reply(400, 'bad :authority');
    const destination = this.#directory.workloadByIp(target.host);
    if (!destination || destination.spiffeId !== served || !client) {
      return reply(400, `${target.host} is not a workload with the identity ${served ?? '(none)'} on this node`);
    }
    const verdict = this.#directory.authorize(client, destination, target.port);
    if (!verdict.allowed) {
      this.counters.denied++;
      this.#log.info({ client, destination: `${destination.namespace}/${destination.name}`, port: target.port, reason: verdict.reason }, 'HBONE CONNECT denied');
      return reply(401, verdict.reason);
    }
    const source = this.#clientAddress(headers, tls, client, target.host);
    if (!source) return reply(401, `the client address is not a workload with the identity ${client}`);
    const pending = connectTransparent({ localAddress: source, host: target.host, port: target.port, mark: proxyUpstreamMark(), timeoutMs: this.#options.connectTimeoutMs ?? 1000 });
    pending.then(
      (upstream) => {
        if (stream.destroyed) {
          upstream.destroy();
          return;
        }
        upstream.setNoDelay(true);
        this.counters.streams++;
        this.#record(headers, client, 200, 'connected');
        stream.respond({ ':status': 200 });
        this.#splice(stream, upstream);
      },
      (err: NodeJS.ErrnoException) => {
        this.counters.unavailable++;
        reply(503, err.code === 'ETIMEDOUT' ? 'the workload did not answer' : (err.code ?? err.message));
      },
    );
  }

  /** The client pod's address the connection to target comes from: the one `forwarded` names, or
   * the TLS peer's own (a waypoint's), whichever is a workload with
   * the client's SPIFFE ID and of target's family; undefined when neither is. */
  #clientAddress(headers: IncomingHttpHeaders, tls: TLSSocket | undefined, client: string, target: string): string | undefined {
    const candidates = [forwardedFor(String(headers.forwarded ?? '')), plainIp(tls?.remoteAddress)];
    return candidates.find((ip) => ip && isIP(ip) === isIP(target) && this.#directory.workloadByIp(ip)?.spiffeId === client);
  }

  #splice(stream: ServerHttp2Stream, upstream: Socket): void {
    upstream.on('error', () => stream.close(0x8));
    stream.on('close', () => (stream.rstCode ? upstream.destroy() : undefined));
    stream.on('data', (d: Buffer) => (this.counters.bytesIn += d.length));
    upstream.on('data', (d: Buffer) => (this.counters.bytesOut += d.length));
    stream.pipe(upstream);
    upstream.pipe(stream);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      for (const session of this.#sessions) session.destroy();
    });
  }
}

// Pooled HBONE connections: one HTTP/2 session over mutual TLS 1.3 per (source identity and its
// certificate serial, destination identity, destination address), shared by every CONNECT stream
// between them, with large flow-control windows and keepalive PINGs. The server must present the
// destination identity (URI SAN), chained to the source certificate's trust bundle. A rotated
// source certificate opens a new session; the old one is closed gracefully (its streams finish).
import { connect as http2Connect, type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { logger, type Logger } from '../../config/log.js';
import { KEEPALIVE_MS, SESSION_WINDOW, STREAM_WINDOW, hostPort, sniFor, spiffeIdOf, tlsOptions, type TunnelCertificate } from './hbone.js';

export interface PoolTarget {
  source: TunnelCertificate;
  /** The SPIFFE ID the server must present. */
  identity: string;
  address: string;
  port: number;
}

export interface PooledSessionStatus {
  source: string;
  destination: string;
  address: string;
  streams: number;
  /** Serial and expiry (ms since the epoch) of the source certificate the session presents. */
  sourceSerial: string;
  sourceNotAfterMs: number;
}

interface Entry {
  target: PoolTarget;
  session: Promise<ClientHttp2Session>;
  streams: number;
}

export class HbonePool {
  readonly #entries = new Map<string, Entry>();
  readonly #log: Logger;
  readonly #keepaliveMs: number;

  constructor(options: { log?: Logger; keepaliveMs?: number } = {}) {
    this.#log = options.log ?? logger('hbone-pool');
    this.#keepaliveMs = options.keepaliveMs ?? KEEPALIVE_MS;
  }

  /** A CONNECT stream with these headers over a pooled session to target. */
  async request(target: PoolTarget, headers: OutgoingHttpHeaders): Promise<ClientHttp2Stream> {
    const entry = this.#entry(target);
    const stream = (await entry.session).request({ ...headers, ':method': 'CONNECT' }, { endStream: false });
    entry.streams++;
    stream.once('close', () => entry.streams--);
    return stream;
  }

  #entry(target: PoolTarget): Entry {
    const route = `${target.source.spiffeId}|${target.identity}|${hostPort(target.address, target.port)}`;
    const key = `${route}|${target.source.serial}`;
    const existing = this.#entries.get(key);
    if (existing) return existing;
    for (const [other, old] of this.#entries) {
      if (other.startsWith(`${route}|`)) {
        this.#entries.delete(other);
        void old.session.then((s) => s.close(), () => undefined);
      }
    }
    const session = this.#open(target);
    const entry: Entry = { target, session, streams: 0 };
    this.#entries.set(key, entry);
    const forget = () => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    };
    session.then((s) => s.once('close', forget), forget);
    return entry;
  }

  #open(target: PoolTarget): Promise<ClientHttp2Session> {
    const authority = `https://${hostPort(target.address, target.port)}`;
    const session = http2Connect(authority, {
      settings: { initialWindowSize: STREAM_WINDOW, enablePush: false },
      createConnection: () =>
        tlsConnect({
          host: target.address,
          port: target.port,
          servername: sniFor(target.identity),
          ...tlsOptions(target.source),
          checkServerIdentity: (_host: string, cert: PeerCertificate) => {
            const presented = spiffeIdOf(cert);
            return presented === target.identity ? undefined : new Error(`HBONE peer presented ${presented ?? 'no SPIFFE ID'}, expected ${target.identity}`);
          },
        }).setNoDelay(true),
    });
    return new Promise((resolve, reject) => {
      session.once('error', reject);
      session.once('connect', () => {
        session.removeListener('error', reject);
        session.on('error', (err) => this.#log.warn({ err: err.message, peer: target.identity }, 'HBONE session error'));
        session.setLocalWindowSize(SESSION_WINDOW);
        // keepalive: a PING per period; one still unanswered a period later means the peer is gone
        let unanswered = false;
        const ping = setInterval(() => {
          if (unanswered) return session.destroy(new Error(`HBONE peer ${target.identity} did not answer a PING`));
          unanswered = session.ping((err) => (unanswered = Boolean(err)));
        }, this.#keepaliveMs).unref();
        session.once('close', () => clearInterval(ping));
        resolve(session);
      });
    });
  }

  status(): PooledSessionStatus[] {
    return [...this.#entries.values()].map(({ target, streams }) => ({
      source: target.source.spiffeId,
      destination: target.identity,
      address: hostPort(target.address, target.port),
      streams,
      sourceSerial: target.source.serial,
      sourceNotAfterMs: target.source.notAfterMs,
    }));
  }

  /** Closes every session (streams in flight are cut). */
  close(): void {
    for (const { session } of this.#entries.values()) void session.then((s) => s.destroy(), () => undefined);
    this.#entries.clear();
  }
}

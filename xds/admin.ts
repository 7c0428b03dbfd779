// The control plane's admin HTTP endpoint (node:http): /healthz, /readyz, /metrics (Prometheus
// text), /debug/syncz (every client's per-type sync state), /debug/config_dump?proxy=ID (Envoy
// ConfigDump JSON of what that client was sent), optional extra JSON pages (e.g. /debug/mesh) and
// optional feeds: a page that with ?follow=1 streams NDJSON, its recent items then each new one.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../config/log.js';
import { logger } from '../config/log.js';
import type { XdsServer } from './server.js';

export interface AdminOptions {
  xds: XdsServer;
  log?: Logger;
  /** Extra GET pages answered with the JSON the function returns, e.g. { '/debug/mesh': () => snapshot }. */
  pages?: Record<string, () => unknown>;
  /**
   * Extra pages that also stream: GET PATH answers { entries: recent() } as JSON; GET PATH?follow=1
   * answers NDJSON, the recent entries then each new one until the client goes away.
   */
  feeds?: Record<string, Feed>;
  /** Extra readiness condition (e.g. the first mesh snapshot is built). */
  ready?: () => boolean;
  /** This control plane's name in syncz (default: the host name). */
  id?: string;
  /** The mesh snapshot version the served resources were translated from, for syncz. */
  snapshotVersion?: () => string | undefined;
}

/** A page of entries that can be followed (e.g. the access log). */
export interface Feed {
  recent(): unknown[];
  /** Calls fn with each new entry; returns the function that stops it. */
  follow(fn: (entry: unknown) => void): () => void;
}

/** The control plane's identity in /debug/syncz. */
export interface ControlPlaneView {
  id: string;
  version: string;
  snapshotVersion?: string;
}

/** skiff's package version (package.json next to dist/). */
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

function sendText(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

function sendFeed(req: IncomingMessage, res: ServerResponse, feed: Feed, follow: boolean): void {
  if (!follow) return sendJson(res, 200, { entries: feed.recent() });
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  res.flushHeaders(); // a follower learns the stream is open even before the first entry
  for (const entry of feed.recent()) res.write(`${JSON.stringify(entry)}\n`);
  const stop = feed.follow((entry) => res.write(`${JSON.stringify(entry)}\n`));
  req.on('close', stop);
}

export class AdminServer {
  private readonly server: Server;
  private readonly log: Logger;

  constructor(private readonly options: AdminOptions) {
    this.log = options.log ?? logger('admin');
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) => {
        this.log.error({ err: error.message, url: req.url }, 'admin request failed');
        if (!res.headersSent) sendText(res, 500, `${error.message}\n`);
        else res.end();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET') return sendText(res, 405, 'only GET\n');
    const { xds } = this.options;
    switch (url.pathname) {
      case '/healthz':
        return sendText(res, 200, 'ok\n');
      case '/readyz': {
        const ready = xds.ready && (this.options.ready?.() ?? true);
        return sendText(res, ready ? 200 : 503, ready ? 'ready\n' : 'not ready\n');
      }
      case '/metrics':
        return sendText(res, 200, await xds.metrics.registry.metrics(), xds.metrics.registry.contentType);
      case '/debug/syncz': {
        const proxy = url.searchParams.get('proxy');
        const { clients } = xds.syncz();
        const snapshotVersion = this.options.snapshotVersion?.();
        const controlPlane: ControlPlaneView = { id: this.options.id ?? hostname(), version: PACKAGE_VERSION, ...(snapshotVersion ? { snapshotVersion } : {}) };
        return sendJson(res, 200, { controlPlane, clients: proxy ? clients.filter((c) => c.id === proxy) : clients });
      }
      case '/debug/config_dump': {
        const proxy = url.searchParams.get('proxy');
        if (!proxy) return sendJson(res, 400, { error: 'missing ?proxy=ID' });
        const dump = xds.configDump(proxy);
        return dump ? sendJson(res, 200, dump) : sendJson(res, 404, { error: `no connected client with node id ${proxy}` });
      }
      default: {
        const feed = this.options.feeds?.[url.pathname];
        if (feed) return sendFeed(req, res, feed, url.searchParams.get('follow') === '1');
        const page = this.options.pages?.[url.pathname];
        if (page) return sendJson(res, 200, page());
        return sendText(res, 404, 'not found\n');
      }
    }
  }

  /** Listens on HOST:PORT (port 0 picks one); returns the bound port. */
  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const bound = (this.server.address() as AddressInfo).port;
    this.log.info({ host, port: bound }, 'admin HTTP listening');
    return bound;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

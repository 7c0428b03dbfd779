// The agent's admin HTTP API (default 127.0.0.1:15021): /healthz, /readyz (the first reconcile is
// done), /metrics (Prometheus text), /debug/maps/<name> (a kernel map decoded with names;
// /debug/maps/ct?limit=N the conntrack table, at most N entries, default 1000),
// /debug/flows (recent flows as NDJSON; ?follow=1 keeps streaming new ones), /debug/state (xDS
// status per type, attached interfaces, the last reconcile), /debug/tunnel (the node tunnels).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Flow } from './flows.js';
import { type ConntrackView, VIEWABLE_MAPS } from './map-view.js';

/** Conntrack entries /debug/maps/ct returns without ?limit=. */
export const DEFAULT_CT_LIMIT = 1000;

export interface AdminHandlers {
  ready(): boolean;
  metrics(): Promise<string>;
  map(kind: (typeof VIEWABLE_MAPS)[string]): Record<string, unknown>[];
  /** The conntrack table, at most `limit` entries decoded (viewConntrack); /debug/maps/ct is 404 without it. */
  conntrack?(limit: number): ConntrackView;
  recentFlows(): Flow[];
  follow(fn: (flow: Flow) => void): () => void;
  state(): unknown;
  /** The node tunnels' status (TunnelStatus of tunnel/tunnel-status.ts). */
  tunnel(): Promise<unknown>;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

const json = (res: ServerResponse, body: unknown, status = 200): void => send(res, status, 'application/json', `${JSON.stringify(body, null, 2)}\n`);

export class AdminServer {
  readonly #server: Server;
  readonly #handlers: AdminHandlers;

  constructor(handlers: AdminHandlers) {
    this.#handlers = handlers;
    this.#server = createServer((req, res) => {
      this.#route(req, res).catch((err: Error) => json(res, { error: err.message }, 500));
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const h = this.#handlers;
    if (url.pathname === '/healthz') return send(res, 200, 'text/plain', 'ok\n');
    if (url.pathname === '/readyz') return h.ready() ? send(res, 200, 'text/plain', 'ready\n') : send(res, 503, 'text/plain', 'not ready\n');
    if (url.pathname === '/metrics') return send(res, 200, 'text/plain; version=0.0.4', await h.metrics());
    if (url.pathname === '/debug/state') return json(res, h.state());
    if (url.pathname === '/debug/tunnel') return json(res, await h.tunnel());
    if (url.pathname === '/debug/maps/ct' && h.conntrack) {
      const limit = Number(url.searchParams.get('limit') ?? DEFAULT_CT_LIMIT);
      if (!Number.isInteger(limit) || limit < 0) return json(res, { error: '?limit= takes a whole number' }, 400);
      const view = h.conntrack(limit);
      // The body stays a JSON array of entries like every map; the totals travel in headers.
      res.setHeader('x-skiff-total-entries', String(view.total));
      res.setHeader('x-skiff-truncated', view.truncated ? `true: ${view.entries.length} of ${view.total} entries shown; raise ?limit=` : 'false');
      return json(res, view.entries);
    }
    if (url.pathname.startsWith('/debug/maps/')) {
      const kind = VIEWABLE_MAPS[url.pathname.slice('/debug/maps/'.length)];
      if (!kind) return json(res, { error: `no such map; one of ${Object.keys(VIEWABLE_MAPS).join(', ')}` }, 404);
      return json(res, h.map(kind));
    }
    if (url.pathname === '/debug/flows') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.flushHeaders(); // a follower learns the stream is open even before the first flow
      for (const flow of h.recentFlows()) res.write(`${JSON.stringify(flow)}\n`);
      if (url.searchParams.get('follow') !== '1') {
        res.end();
        return;
      }
      const stop = h.follow((flow) => res.write(`${JSON.stringify(flow)}\n`));
      req.on('close', stop);
      return;
    }
    json(res, { error: 'not found' }, 404);
  }

  /** Listens on HOST:PORT (or unix:PATH); resolves with the port bound (0 for a socket path). */
  listen(address: string): Promise<number> {
    if (address.startsWith('unix:')) {
      const path = address.slice('unix:'.length);
      rmSync(path, { force: true });
      return new Promise((resolve, reject) => {
        this.#server.once('error', reject);
        this.#server.listen(path, () => resolve(0));
      });
    }
    const at = address.lastIndexOf(':');
    const host = address.slice(0, at).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(at + 1));
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve((this.#server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

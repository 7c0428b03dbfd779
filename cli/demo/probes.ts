// The client side of the demo's traffic, run inside a pod's namespace: a batch of requests of one
// kind (HTTP, gRPC ReserveStock, or a TCP exchange) to one target, each on a new connection (so
// the datapath decides every one afresh), summarized as who answered and how the rest failed.
import { request } from 'node:http';
import { connect } from 'node:net';
import type { ServerKind } from './servers.js';

export interface Probe {
  kind: ServerKind;
  /** HOST:PORT */
  target: string;
  count: number;
  concurrency: number;
  timeoutMs: number;
  /** HTTP */
  method?: string;
  path?: string;
  headers?: Record<string, string>;
}

export interface ProbeResult {
  sent: number;
  /** Requests that got an answer from a server (HTTP 2xx, gRPC OK, a TCP reply). */
  answered: number;
  /** Pod name → answers it gave. */
  servedBy: Record<string, number>;
  /** Why the others failed: `timeout`, `refused`, `reset`, `HTTP 403`, `gRPC PERMISSION_DENIED`… → count. */
  failures: Record<string, number>;
}

type Outcome = { pod: string } | { failure: string };

function failureName(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'refused';
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return 'reset';
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return 'unreachable';
  return err.code ?? err.message;
}

function splitTarget(target: string): { host: string; port: number } {
  const at = target.lastIndexOf(':');
  return { host: target.slice(0, at), port: Number(target.slice(at + 1)) };
}

function httpOnce(p: Probe): Promise<Outcome> {
  return new Promise((resolve) => {
    const { host, port } = splitTarget(p.target);
    const req = request({ host, port, method: p.method ?? 'GET', path: p.path ?? '/', headers: p.headers, agent: false, timeout: p.timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) return resolve({ failure: `HTTP ${status}` });
        try {
          resolve({ pod: String((JSON.parse(body) as { pod?: unknown }).pod) });
        } catch {
          resolve({ failure: 'bad answer' });
        }
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (err) => resolve({ failure: failureName(err) }));
    req.end();
  });
}

function tcpOnce(p: Probe): Promise<Outcome> {
  return new Promise((resolve) => {
    const { host, port } = splitTarget(p.target);
    const socket = connect({ host, port });
    socket.setEncoding('utf8');
    socket.setTimeout(p.timeoutMs, () => socket.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    socket.on('connect', () => socket.write('SELECT 1\n'));
    socket.once('data', (line: string) => {
      resolve({ pod: line.split(' ')[0] ?? '' });
      socket.end();
    });
    socket.on('error', (err) => resolve({ failure: failureName(err) }));
    socket.on('close', () => resolve({ failure: 'closed' }));
  });
}

async function grpcOnce(p: Probe): Promise<Outcome> {
  const grpc = await import('@grpc/grpc-js');
  const { inventoryService } = await import('./inventory.js');
  const Inventory = inventoryService();
  // a local subchannel pool: every call opens its own connection
  const client = new Inventory(p.target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  try {
    return await new Promise<Outcome>((resolve) => {
      client.ReserveStock({ sku: 'sku-1', quantity: 1 }, { deadline: Date.now() + p.timeoutMs }, (err: { code: number } | null, reply: { pod: string }) => {
        if (err) resolve({ failure: `gRPC ${grpc.status[err.code] ?? err.code}` });
        else resolve({ pod: reply.pod });
      });
    });
  } finally {
    client.close();
  }
}

const ONCE: Record<ServerKind, (p: Probe) => Promise<Outcome>> = { http: httpOnce, grpc: grpcOnce, tcp: tcpOnce };

export async function runProbe(p: Probe): Promise<ProbeResult> {
  const result: ProbeResult = { sent: 0, answered: 0, servedBy: {}, failures: {} };
  const once = ONCE[p.kind];
  const worker = async (): Promise<void> => {
    while (result.sent < p.count) {
      result.sent++;
      const outcome = await once(p);
      if ('pod' in outcome) {
        result.answered++;
        result.servedBy[outcome.pod] = (result.servedBy[outcome.pod] ?? 0) + 1;
      } else {
        result.failures[outcome.failure] = (result.failures[outcome.failure] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(p.concurrency, p.count)) }, worker));
  return result;
}

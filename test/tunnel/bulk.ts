// Bulk TCP transfers with end-to-end checksums for the tunnel tests, run inside pods as
// `node bulk.js <mode> ...` (startBulkServer and bulkSend start it through a NetnsFixture):
//   server PORT           per connection: SHA-256 of every byte received; at the client's FIN it
//                         replies "<bytes> <sha256>" and closes. Prints "listening".
//   send HOST PORT BYTES CONNS [PACE_MS]
//                         CONNS concurrent connections, each sending BYTES random bytes with
//                         PLAINTEXT_MARKER at every MARKER_EVERY bytes (PACE_MS between 64 KiB chunks, to stretch a
//                         transfer over time); each compares the server's reply with its own count
//                         and hash. Prints one JSON line {connections, ok, bytes, errors}.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { NetnsFixture } from '../helpers/netns.js';
import { LineReader } from '../helpers/tcp-peer.js';

const script = fileURLToPath(import.meta.url);
/** Written all through every transfer: a capture that contains it saw plaintext. */
export const PLAINTEXT_MARKER = 'SKIFF-PLAINTEXT-MARKER-7f3a9c';
/** In every TCP segment, so a capture that drops packets under load still holds the marker. */
const MARKER_EVERY = 1024;
const CHUNK = 64 * 1024;

function serve(port: number): void {
  const server = createServer((socket) => {
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (data: Buffer) => {
      bytes += data.length;
      hash.update(data);
    });
    socket.on('end', () => socket.end(`${bytes} ${hash.digest('hex')}\n`));
    socket.on('error', () => socket.destroy());
  });
  server.listen(port, '0.0.0.0', () => console.log('listening'));
}

async function sendOne(host: string, port: number, total: number, paceMs: number): Promise<void> {
  const socket = createConnection({ host, port });
  const hash = createHash('sha256');
  let reply = '';
  const done = new Promise<string>((resolve, reject) => {
    socket.on('data', (d: Buffer) => (reply += d.toString()));
    socket.on('end', () => resolve(reply.trim()));
    socket.on('error', reject);
  });
  done.catch(() => undefined); // awaited below; an early reset must not be an unhandled rejection
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let sent = 0;
  while (sent < total) {
    const chunk = randomBytes(Math.min(CHUNK, total - sent));
    for (let at = 0; at < chunk.length; at += MARKER_EVERY) chunk.write(PLAINTEXT_MARKER, at);
    hash.update(chunk);
    sent += chunk.length;
    if (socket.destroyed) break;
    if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), done.catch(() => undefined)]);
    if (paceMs) await sleep(paceMs);
  }
  socket.end();
  const expected = `${total} ${hash.digest('hex')}`;
  const got = await done;
  if (got !== expected) throw new Error(`server saw '${got}', sent '${expected}'`);
}

async function send(host: string, port: number, bytes: number, conns: number, paceMs: number): Promise<void> {
  const results = await Promise.allSettled(Array.from({ length: conns }, () => sendOne(host, port, bytes, paceMs)));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
  console.log(JSON.stringify({ connections: conns, ok: conns - errors.length, bytes: bytes * (conns - errors.length), errors: errors.slice(0, 3) }));
}

export interface BulkResult {
  connections: number;
  ok: number;
  bytes: number;
  errors: string[];
}

/** Starts the checksum server in netns; resolves once it listens. */
export async function startBulkServer(fx: NetnsFixture, netns: string, port: number): Promise<void> {
  const child = fx.spawn(netns, process.execPath, [script, 'server', String(port)]);
  const first = await new LineReader(child).next(5000);
  if (first !== 'listening') throw new Error(`bulk server did not start: ${first}`);
}

/** Runs the sender in netns; resolves with its result (rejects after timeoutMs). */
export async function bulkSend(fx: NetnsFixture, netns: string, host: string, port: number, bytes: number, conns: number, paceMs = 0, timeoutMs = 30_000): Promise<BulkResult> {
  const child = fx.spawn(netns, process.execPath, [script, 'send', host, String(port), String(bytes), String(conns), String(paceMs)]);
  const line = await new LineReader(child).next(timeoutMs);
  return JSON.parse(line) as BulkResult;
}

if (process.argv[1] === script) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'server') serve(Number(args[0]));
  else if (mode === 'send') await send(args[0] as string, Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4] ?? 0));
  else throw new Error(`bulk: unknown mode ${mode}`);
}

// A small HTTP GET client of the admin APIs (control plane, redirectors): HOST:PORT or unix:PATH
// addresses, JSON and NDJSON bodies, and one error type for "could not reach it" (exit code 3).
import { request, type IncomingMessage } from 'node:http';
import { EXIT_UNAVAILABLE } from '../command.js';

/** The admin API could not be reached, or answered with an error status. */
export class Unreachable extends Error {}

/** The admin API answered but has no such page (e.g. an older version lacking an endpoint). */
export class NotServed extends Unreachable {}

interface Target {
  host?: string;
  port?: number;
  socketPath?: string;
}

/** Parses HOST:PORT, [V6]:PORT or unix:PATH. */
export function parseAddress(address: string): Target {
  if (address.startsWith('unix:')) return { socketPath: address.slice('unix:'.length) };
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(address);
  if (!m) throw new Error(`'${address}' is not HOST:PORT or unix:PATH`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

const TIMEOUT_MS = 5000;

function open(address: string, path: string, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ ...parseAddress(address), path, method: 'GET', timeout: timeoutMs }, resolve);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new Unreachable(`${address}${path}: ${err.message}`)));
    req.end();
  });
}

async function body(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}

/** GET path; the body as text. Non-2xx answers are Unreachable (404: NotServed) with the body's message. */
export async function getText(address: string, path: string, timeoutMs = TIMEOUT_MS): Promise<string> {
  const res = await open(address, path, timeoutMs);
  const text = await body(res);
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) return text;
  let message = text.trim();
  try {
    message = String((JSON.parse(text) as { error?: unknown }).error ?? message);
  } catch {
    // a plain-text answer
  }
  const ErrorType = status === 404 ? NotServed : Unreachable;
  throw new ErrorType(`${address}${path}: HTTP ${status}: ${message}`);
}

export async function getJson<T>(address: string, path: string): Promise<T> {
  return JSON.parse(await getText(address, path)) as T;
}

/** Parses NDJSON text into objects (blank lines skipped). */
export function parseNdjson<T>(text: string): T[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

/** A followed NDJSON page: `done` settles when it ends; stop() ends it. */
export interface NdjsonStream {
  done: Promise<void>;
  stop: () => void;
}

/**
 * Streams an NDJSON page: calls onItem for each line as it arrives, until the server ends the body
 * or the returned stop() is called. The promise settles when the stream ends.
 */
export async function followNdjson<T>(address: string, path: string, onItem: (item: T) => void): Promise<NdjsonStream> {
  const res = await open(address, path, 0);
  if ((res.statusCode ?? 0) !== 200) throw new Unreachable(`${address}${path}: HTTP ${res.statusCode}: ${(await body(res)).trim()}`);
  res.setEncoding('utf8');
  let pending = '';
  res.on('data', (chunk: string) => {
    pending += chunk;
    let at: number;
    while ((at = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      if (line.trim() !== '') onItem(JSON.parse(line) as T);
    }
  });
  const done = new Promise<void>((resolve) => {
    res.on('end', resolve);
    res.on('close', resolve);
    res.on('error', () => resolve());
  });
  return { done, stop: () => res.destroy() };
}

/** Runs a command body; an Unreachable admin API becomes a message on stderr and exit code 3. */
export async function exitIfUnreachable(command: string, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof Unreachable)) throw err;
    process.stderr.write(`skiff ${command}: ${err.message}\n`);
    return EXIT_UNAVAILABLE;
  }
}

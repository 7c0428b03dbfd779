// Builds tools.c (the transparent relay, the accept-and-close server, the connection-rate client)
// with clang into a temporary directory removed by the fixture's cleanup, and runs processes in
// namespaces to completion.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetnsFixture } from '../../test/helpers/netns.js';

/** The C source, beside this module's TypeScript source (dist/bench/datapath -> bench/datapath). */
const source = fileURLToPath(new URL('../../../bench/datapath/tools.c', import.meta.url));

/** Compiles tools.c; returns the binary's path. */
export function buildTools(fx: NetnsFixture): string {
  const dir = mkdtempSync(join(tmpdir(), `${fx.id}-tools-`));
  fx.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const binary = join(dir, 'tools');
  const r = spawnSync('clang', ['-O2', '-Wall', '-pthread', '-o', binary, source], { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`clang ${source} failed: ${r.stderr.trim()}`);
  return binary;
}

/** Runs cmd in netns to its end (killed after timeoutMs); resolves with its stdout. */
export async function runToEnd(fx: NetnsFixture, netns: string, cmd: string, args: string[], timeoutMs: number): Promise<string> {
  const child = fx.spawn(netns, cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  if (code !== 0) {
    const why = signal ? `killed (${signal}) after ${timeoutMs} ms` : `exit ${code}`;
    throw new Error(`${cmd} ${args.join(' ')} in ${netns}: ${why}: ${(err || out).trim().slice(-500)}`);
  }
  return out;
}

/** Waits until something listens on TCP port in netns. */
export async function waitListening(fx: NetnsFixture, netns: string, port: number, child: ChildProcess, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (fx.exec(netns, 'ss', '-Hltn', `sport = :${port}`).trim() === '') {
    if (child.exitCode !== null) throw new Error(`the server on port ${port} in ${netns} exited (${child.exitCode})`);
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} in ${netns} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

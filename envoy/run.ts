// Starting a real `envoy` binary with a skiff bootstrap, where one is installed. There is never a
// stand-in: without an `envoy` on PATH (or at the path given), startEnvoy throws EnvoyNotFound.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export class EnvoyNotFound extends Error {
  constructor() {
    super('no envoy binary on PATH: install Envoy (https://www.envoyproxy.io/docs/envoy/latest/start/install) to run a proxy');
  }
}

/** The path of the `envoy` executable on PATH, or undefined. */
export function findEnvoy(path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'envoy');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export interface RunOptions {
  /** The envoy executable; default the one on PATH. */
  binary?: string;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** Envoy's --base-id, so several proxies can run on one host. */
  baseId?: number;
}

/** Writes the bootstrap to a private file and starts envoy with it; output is inherited. */
export function startEnvoy(bootstrap: object, options: RunOptions = {}): ChildProcess {
  const binary = options.binary ?? findEnvoy();
  if (!binary) throw new EnvoyNotFound();
  const dir = mkdtempSync(join(tmpdir(), 'skiff-envoy-'));
  const configPath = join(dir, 'bootstrap.json');
  writeFileSync(configPath, JSON.stringify(bootstrap), { mode: 0o600 });
  const args = ['--config-path', configPath, '--log-level', options.logLevel ?? 'info'];
  if (options.baseId !== undefined) args.push('--base-id', String(options.baseId));
  return spawn(binary, args, { stdio: 'inherit' });
}

// Starting the demo's long-running processes: each in its own process group (so a kept demo
// outlives `skiff demo`, and Ctrl-C in the terminal reaches only the demo, which tears them down),
// optionally inside a network namespace (nsenter --net, which keeps the mount namespace and so the
// bpffs pins), output to a log file under the demo's directory, and the demo's mark in the
// environment (state.ts finds and stops them by it).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_ENV, type Instance } from './instance.js';
import { netnsPath } from './ip.js';

export interface Launched {
  name: string;
  child: ChildProcess;
  log: string;
  /** The exit code or signal once it exited early, else undefined. */
  exited(): string | undefined;
}

export function launch(demo: Instance, name: string, netns: string | undefined, argv: readonly string[]): Launched {
  const logs = join(demo.dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const log = join(logs, `${name}.log`);
  const fd = openSync(log, 'a');
  const [cmd, ...args] = netns === undefined ? argv : ['nsenter', `--net=${netnsPath(netns)}`, ...argv];
  const child = spawn(cmd as string, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, [DEMO_ENV]: demo.dir },
  });
  closeSync(fd);
  child.unref();
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = signal ?? `exit code ${code}`));
  child.once('error', (err) => (exit = err.message));
  return { name, child, log, exited: () => exit };
}

/** The last lines of a process's log (for an error message). */
export function logTail(launched: Launched, lines = 15): string {
  try {
    return readFileSync(launched.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

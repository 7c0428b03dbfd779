// What a running demo owns, recorded on disk as it is created (so `skiff demo --down`, or the next
// `skiff demo`, can remove a kept or crashed demo), and the teardown that removes all of it:
// processes (each carries SKIFF_DEMO in its environment, so they are found even without a record
// and a reused pid is never killed), network namespaces (their veths go with them), root-namespace
// links, the bpffs pins and the state directory itself.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ip, listNetns } from './ip.js';

/** Everything of the demo outside the kernel lives here: the record, sockets, logs. */
export const DEMO_DIR = '/run/skiff-demo';
/** bpffs directory under which each node's redirector pins its maps and links. */
export const DEMO_PIN_ROOT = '/sys/fs/bpf/skiff-demo';
/** Every demo network namespace's name starts with this. */
export const NETNS_PREFIX = 'skiff-demo-';
/** The environment variable every demo process carries (its value: DEMO_DIR). */
export const DEMO_ENV = 'SKIFF_DEMO';

const RECORD = join(DEMO_DIR, 'state.json');

export interface DemoProcess {
  name: string;
  pid: number;
}

export interface DemoRecord {
  startedAt: string;
  /** The demo was started with --keep and handed over to the user. */
  kept: boolean;
  netns: string[];
  /** Links made in the root namespace (removed with their node's namespace; listed for safety). */
  rootLinks: string[];
  processes: DemoProcess[];
  /** Addresses for the other commands, once known. */
  endpoints: {
    controlPlaneAdmin?: string;
    xds?: string;
    redirectors: Record<string, string>;
  };
}

export function emptyRecord(): DemoRecord {
  return { startedAt: new Date().toISOString(), kept: false, netns: [], rootLinks: [], processes: [], endpoints: { redirectors: {} } };
}

export function readRecord(): DemoRecord | undefined {
  try {
    return JSON.parse(readFileSync(RECORD, 'utf8')) as DemoRecord;
  } catch {
    return undefined;
  }
}

export function writeRecord(record: DemoRecord): void {
  mkdirSync(DEMO_DIR, { recursive: true });
  writeFileSync(RECORD, `${JSON.stringify(record, null, 2)}\n`);
}

/** Whether pid is a live process started by a demo (its environment names the demo). */
export function isDemoProcess(pid: number): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    return environ.includes(`${DEMO_ENV}=${DEMO_DIR}`);
  } catch {
    return false;
  }
}

/** Every live demo process (children included), found by its environment; never this process. */
export function demoProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (Number.isInteger(pid) && pid !== process.pid && isDemoProcess(pid)) pids.push(pid);
  }
  return pids;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM to every demo process (and its group), SIGKILL to those still there after graceMs. */
async function stopProcesses(graceMs: number): Promise<void> {
  const alive = demoProcesses();
  for (const pid of alive) signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive.some(isDemoProcess)) await sleep(25);
  for (const pid of demoProcesses()) signalGroup(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline && demoProcesses().length > 0) await sleep(10);
}

/**
 * Removes everything a demo made: the record's processes and namespaces, plus any namespace named
 * like a demo's and the pins (so a crashed demo's leftovers go too). Returns what it could not
 * remove (empty when all is gone); never throws.
 */
export async function teardown(record: DemoRecord | undefined, graceMs = 2000): Promise<string[]> {
  const problems: string[] = [];
  await stopProcesses(graceMs);
  let existing: string[] = [];
  try {
    existing = listNetns();
  } catch (err) {
    problems.push((err as Error).message);
  }
  const netns = new Set([...(record?.netns ?? []), ...existing.filter((n) => n.startsWith(NETNS_PREFIX))]);
  for (const name of [...netns].reverse()) {
    if (!existing.includes(name)) continue;
    try {
      ip(undefined, 'netns', 'del', name);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  for (const link of record?.rootLinks ?? []) {
    try {
      ip(undefined, 'link', 'del', link);
    } catch {
      // gone with its peer's namespace
    }
  }
  for (const dir of [DEMO_PIN_ROOT, DEMO_DIR]) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      problems.push(`rm ${dir}: ${(err as Error).message}`);
    }
  }
  if (existsSync(DEMO_PIN_ROOT)) problems.push(`${DEMO_PIN_ROOT} is still there`);
  return problems;
}

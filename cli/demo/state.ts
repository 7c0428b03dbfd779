// What a running demo owns, recorded on disk as it is created (so `skiff demo --down`, or the next
// `skiff demo`, can remove a kept or crashed demo), and the teardown that removes all of it:
// processes (each carries the demo's mark in its environment, so they are found even without a
// record and a reused pid is never killed), network namespaces (their veths go with them),
// root-namespace links, the bpffs pins and the demo's directory itself.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Instance } from './instance.js';
import { ip, listNetns } from './ip.js';

/** The record's name of the control plane process (stopped last). */
export const CONTROL_PLANE_PROCESS = 'control-plane';

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
  /** The processes started (for people reading the record; teardown finds them by their mark). */
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

function recordPath(demo: Instance): string {
  return join(demo.dir, 'state.json');
}

export function readRecord(demo: Instance): DemoRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(demo), 'utf8')) as DemoRecord;
  } catch {
    return undefined;
  }
}

export function writeRecord(demo: Instance, record: DemoRecord): void {
  mkdirSync(demo.dir, { recursive: true });
  writeFileSync(recordPath(demo), `${JSON.stringify(record, null, 2)}\n`);
}

/** Whether pid is a live process of this demo (its environment carries the demo's mark). */
function isDemoProcess(demo: Instance, pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(demo.mark);
  } catch {
    return false;
  }
}

/** Every live process of this demo (children included), found by its mark; never this process. */
export function demoProcesses(demo: Instance): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (Number.isInteger(pid) && pid !== process.pid && isDemoProcess(demo, pid)) pids.push(pid);
  }
  return pids;
}

/** Whether anything of this demo exists: its record, a namespace or a process. */
export function demoExists(demo: Instance): boolean {
  return readRecord(demo) !== undefined || listNetns().some((n) => demo.owns(n)) || demoProcesses(demo).length > 0;
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

/** SIGTERM to the processes (and their groups), SIGKILL to those still there after graceMs. */
async function stop(demo: Instance, pids: readonly number[], graceMs: number): Promise<void> {
  const alive = (): number[] => pids.filter((pid) => isDemoProcess(demo, pid));
  for (const pid of alive()) signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive().length > 0) await sleep(25);
  for (const pid of alive()) signalGroup(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline && alive().length > 0) await sleep(10);
}

/**
 * Stops every process of the demo, the control plane last: its graceful shutdown waits for its
 * streams, which end at once when their clients are already gone.
 */
async function stopProcesses(demo: Instance, record: DemoRecord | undefined, graceMs: number): Promise<void> {
  const last = new Set(record?.processes.filter((p) => p.name === CONTROL_PLANE_PROCESS).map((p) => p.pid));
  const all = demoProcesses(demo);
  await stop(demo, all.filter((pid) => !last.has(pid)), graceMs);
  await stop(demo, demoProcesses(demo), graceMs);
}

/**
 * Removes everything of a demo: its processes and namespaces (those in the record, and any named
 * as the demo's, so a crashed demo's leftovers go too), root links, pins and directory. Returns
 * what it could not remove (empty when all is gone); never throws.
 */
export async function teardown(demo: Instance, record: DemoRecord | undefined, graceMs = 2000): Promise<string[]> {
  const problems: string[] = [];
  await stopProcesses(demo, record, graceMs);
  let existing: string[] = [];
  try {
    existing = listNetns();
  } catch (err) {
    problems.push((err as Error).message);
  }
  const netns = new Set([...(record?.netns ?? []), ...existing.filter((n) => demo.owns(n))]);
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
  for (const dir of [demo.pinRoot, demo.dir]) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      problems.push(`rm ${dir}: ${(err as Error).message}`);
    }
  }
  if (existsSync(demo.pinRoot)) problems.push(`${demo.pinRoot} is still there`);
  return problems;
}

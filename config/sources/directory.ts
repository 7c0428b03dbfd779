// The watched config directory, skiff's embedded default source: every *.yaml / *.yml file under
// it (recursively; dot-entries skipped, so a mounted ConfigMap's `..data` is not read twice), or one
// YAML file given instead of a directory, kept current through fs.watch with a polling fallback. A file that cannot be read or parsed (perhaps
// half-written) is reported and its last good version stays in force as a whole until it is fixed;
// in a file that parses, each invalid object is reported and keeps its last good version; a removed
// file removes its objects, but a directory that cannot be read keeps them; the same object in two
// files is reported and the first file by path wins. Nothing the files hold, and nothing the file system does, throws out of the watcher.
import { watch, type BigIntStats, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { logger } from '../log.js';
import { parseDocuments } from '../parse/yaml.js';
import { objectKey, type MeshObject } from '../resources.js';
import type { ConfigIssue, ConfigSource } from '../source.js';
import { validateObject } from '../validate/index.js';

const log = logger('config.directory');

export interface DirectorySourceOptions {
  /** How often the directory is re-scanned besides fs.watch events, ms (default 2000). */
  pollIntervalMs?: number;
  /** How long a burst of file events is gathered before one re-scan, ms (default 50). */
  debounceMs?: number;
  /** Use fs.watch besides polling (default true; off for file systems without inotify, e.g. NFS). */
  watch?: boolean;
  /** Files larger than this are rejected (their last good objects stay), bytes (default 64 MiB). */
  maxFileBytes?: number;
}

interface Placed {
  object: MeshObject;
  line: number;
}

interface FileState {
  /** What stat said when the file was last read: a change means read it again. */
  stamp: string;
  objects: Map<string, Placed>;
  issues: ConfigIssue[];
  /** JSON of objects and issues, computed when first compared. */
  fingerprint?: string;
}

/** A file's text, or why it could not be read. */
interface FileText {
  text?: string;
  issues: ConfigIssue[];
}

const MAX_DIRECTORY_DEPTH = 32;
/** Reads started ahead of the parser: at most this many files… */
const READ_AHEAD_FILES = 8;
/** …and this many bytes (by the sizes listed), besides the next file. */
const READ_AHEAD_BYTES = 8 * 1024 * 1024;
/** Directory entries stat'ed at once. */
const STAT_BATCH = 64;

export class DirectorySource implements ConfigSource {
  readonly name: string;
  private readonly pollIntervalMs: number;
  private readonly debounceMs: number;
  private readonly maxFileBytes: number;
  private readonly useWatch: boolean;
  private files = new Map<string, FileState>();
  private merged = new Map<string, MeshObject>();
  private mergedIssues: ConfigIssue[] = [];
  private readonly listeners: (() => void)[] = [];
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  /** Files named by fs.watch since the last scan: read even if their stat looks unchanged. */
  private readonly dirty = new Set<string>();
  /** Files that became empty, and when: a writer may have truncated them to rewrite them. */
  private readonly emptied = new Map<string, { stamp: string; at: number }>();
  private directoryIssues: ConfigIssue[] = [];
  private scanning: Promise<void> | undefined;
  private rescanRequested = false;
  private running = false;

  constructor(
    private readonly dir: string,
    options: DirectorySourceOptions = {},
  ) {
    this.name = `dir:${dir}`;
    this.pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.debounceMs = options.debounceMs ?? 50;
    this.maxFileBytes = options.maxFileBytes ?? 64 * 1024 * 1024;
    this.useWatch = options.watch ?? true;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.scan();
    const errors = this.mergedIssues.filter((i) => i.severity === 'error').length;
    log.info({ dir: this.dir, files: this.files.size, objects: this.merged.size, errors, warnings: this.mergedIssues.length - errors }, 'config directory loaded');
    this.pollTimer = setInterval(() => this.schedule(0), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.pollTimer);
    clearTimeout(this.debounceTimer);
    this.watcher?.close();
    this.watcher = undefined;
    await this.scanning;
  }

  objects(): ReadonlyMap<string, MeshObject> {
    return this.merged;
  }

  issues(): readonly ConfigIssue[] {
    return this.mergedIssues;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Re-scans now (after pending events); resolves when the directory's current state is loaded. */
  async refresh(): Promise<void> {
    await this.scanning;
    await this.scan();
  }

  private schedule(delayMs: number): void {
    if (!this.running || this.debounceTimer) return;
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      void this.scan();
    }, delayMs);
  }

  private ensureWatcher(): void {
    if (this.watcher || !this.running || !this.useWatch) return;
    try {
      this.watcher = watch(this.dir, { recursive: true, persistent: false }, (_event, filename) => {
        if (filename) this.dirty.add(join(this.dir, filename.toString()));
        this.schedule(this.debounceMs);
      });
      this.watcher.on('error', (err) => {
        log.warn({ dir: this.dir, err: err.message }, 'directory watch failed; polling instead');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      log.debug({ dir: this.dir, err: (err as Error).message }, 'cannot watch directory yet; polling');
    }
  }

  /** One pass over the directory; concurrent requests fold into one extra pass. */
  private scan(): Promise<void> {
    if (this.scanning) {
      this.rescanRequested = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.rescanRequested = false;
        try {
          await this.scanOnce();
        } catch (err) {
          log.error({ dir: this.dir, err: (err as Error).message }, 'directory scan failed; keeping the last good state');
        }
      } while (this.rescanRequested && this.running);
    })().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    this.ensureWatcher();
    const dirIssues: ConfigIssue[] = [];
    const unreadable: string[] = [];
    const found = await this.listFiles(dirIssues, unreadable);
    if (unreadable.includes(this.dir)) {
      // Watching a directory that went away watches nothing; watch it anew once it is back.
      this.watcher?.close();
      this.watcher = undefined;
    }
    const dirty = new Set(this.dirty);
    this.dirty.clear();
    const next = new Map<string, FileState>();
    let changed = false;
    const unchanged = (path: string, stamp: string) => this.files.get(path)?.stamp === stamp && !dirty.has(path);
    const read = this.readAhead([...found].filter(([path, stamp]) => !unchanged(path, stamp)));
    for (const [path, stamp] of found) {
      const previous = this.files.get(path);
      if (previous && unchanged(path, stamp)) {
        next.set(path, previous);
        continue;
      }
      const state = this.loadFile(path, stamp, previous, await read(path));
      if (previous && this.justEmptied(path, state, previous)) {
        next.set(path, previous);
        continue;
      }
      if (previous && fingerprint(previous) === fingerprint(state)) {
        // Rewritten with the same content: keep the objects already handed out.
        next.set(path, { ...previous, stamp });
        continue;
      }
      changed = true;
      next.set(path, state);
    }
    for (const [path, previous] of this.files) {
      if (found.has(path)) continue;
      if (unreadable.some((dir) => path === dir || path.startsWith(`${dir}${sep}`))) {
        // A directory that cannot be read (gone, remounting, no permission) is not an empty one.
        next.set(path, previous);
        continue;
      }
      this.emptied.delete(path);
      changed = true;
      log.info({ file: path }, 'file removed; its objects are gone');
    }
    const dirFingerprint = JSON.stringify(dirIssues);
    if (dirFingerprint !== JSON.stringify(this.directoryIssues)) changed = true;
    this.directoryIssues = dirIssues;
    this.files = new Map([...next].sort((a, b) => this.compareFiles(a[0], b[0])));
    if (!changed) return;
    this.merge();
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'config change listener failed');
      }
    }
  }

  /**
   * Whether a file that had objects has just become empty: then its objects stay for a moment, as
   * an editor or `kubectl` may truncate a file before writing it; still empty later, it is empty.
   */
  private justEmptied(path: string, state: FileState, previous: FileState): boolean {
    if (state.objects.size > 0 || state.issues.length > 0 || previous.objects.size === 0) {
      this.emptied.delete(path);
      return false;
    }
    const settleMs = Math.max(4 * this.debounceMs, 100);
    const seen = this.emptied.get(path);
    if (seen && seen.stamp === state.stamp && Date.now() - seen.at >= settleMs) {
      this.emptied.delete(path);
      return false;
    }
    if (!seen || seen.stamp !== state.stamp) this.emptied.set(path, { stamp: state.stamp, at: Date.now() });
    setTimeout(() => this.schedule(0), settleMs).unref();
    return true;
  }

  /** Every YAML file under the directory with its stat stamp, in path order; directories it cannot read go to `unreadable`. */
  private async listFiles(issues: ConfigIssue[], unreadable: string[]): Promise<Map<string, string>> {
    const found: [string, string][] = [];
    const visited = new Set<string>(); // directories by device and inode: symlink loops are walked once
    const walk = async (dir: string, depth: number): Promise<void> => {
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch (err) {
        issues.push({ severity: 'error', source: dir, message: `cannot read directory: ${(err as Error).message}` });
        unreadable.push(dir);
        return;
      }
      const names = entries.filter((entry) => !entry.startsWith('.')).sort(compareText);
      const infos = await statAll(names.map((entry) => join(dir, entry)));
      for (const [index, entry] of names.entries()) {
        const path = join(dir, entry);
        const info = infos[index];
        if (!info) continue; // removed meanwhile, or a dangling link
        if (info.isDirectory()) {
          const id = `${info.dev}:${info.ino}`;
          if (visited.has(id) || depth >= MAX_DIRECTORY_DEPTH) continue;
          visited.add(id);
          await walk(path, depth + 1);
        } else if (info.isFile() && /\.ya?ml$/i.test(entry)) {
          found.push([path, stampOf(info)]);
        }
      }
    };
    const top = await stat(this.dir, { bigint: true }).catch(() => undefined);
    if (top?.isFile()) return new Map([[this.dir, stampOf(top)]]); // a single file given as the config
    if (top) visited.add(`${top.dev}:${top.ino}`);
    await walk(this.dir, 0);
    found.sort((a, b) => this.compareFiles(a[0], b[0]));
    return new Map(found);
  }

  /** Path order under the directory: the order in which duplicates are decided. */
  private compareFiles(a: string, b: string): number {
    return compareText(relative(this.dir, a), relative(this.dir, b));
  }

  /**
   * Reads the files to load a few ahead of the one being parsed (at most READ_AHEAD_FILES files and
   * READ_AHEAD_BYTES bytes by their listed size, and always the next one), so that parsing overlaps
   * the reads; `read(path)` takes the files in the order given.
   */
  private readAhead(files: [path: string, stamp: string][]): (path: string) => Promise<FileText> {
    const pending = new Map<string, { read: Promise<FileText>; bytes: number }>();
    let bytes = 0;
    let next = 0;
    const fill = () => {
      while (next < files.length && (pending.size === 0 || (pending.size < READ_AHEAD_FILES && bytes < READ_AHEAD_BYTES))) {
        const [path, stamp] = files[next++] as [string, string];
        const size = sizeOfStamp(stamp);
        pending.set(path, { read: this.readText(path), bytes: size });
        bytes += size;
      }
    };
    return (path) => {
      fill();
      const ahead = pending.get(path);
      pending.delete(path);
      bytes -= ahead?.bytes ?? 0;
      fill();
      return ahead?.read ?? this.readText(path);
    };
  }

  private loadFile(path: string, stamp: string, previous: FileState | undefined, read: FileText): FileState {
    const issues: ConfigIssue[] = [...read.issues];
    const objects = new Map<string, Placed>();
    const text = read.text;
    // A file that cannot be read or parsed may be half-written: none of its new content is trusted.
    let unreadable = text === undefined;
    if (text !== undefined) {
      const parsed = parseDocuments(text, path);
      issues.push(...parsed.issues);
      unreadable = parsed.issues.some((i) => i.severity === 'error');
      for (const doc of parsed.documents) {
        const result = validateObject(doc.raw, { source: path, line: doc.line, lineOf: doc.lineOf });
        issues.push(...result.issues);
        if (!result.object) continue;
        const { kind, metadata } = result.object;
        const key = objectKey(kind, metadata.namespace, metadata.name);
        const first = objects.get(key);
        if (first) {
          issues.push(duplicateIssue(path, doc.line, key, path, first.line));
          continue;
        }
        objects.set(key, { object: result.object, line: doc.line });
      }
    }
    const errors = issues.filter((i) => i.severity === 'error').length;
    if (errors === 0 || !previous) {
      if (errors > 0) log.warn({ file: path, errors, objects: objects.size }, 'file loaded in part');
      else if (previous) log.info({ file: path, objects: objects.size, warnings: issues.length }, 'file reloaded');
      else log.debug({ file: path, objects: objects.size, warnings: issues.length }, 'file loaded');
      return { stamp, objects, issues };
    }
    if (unreadable) {
      issues.push({ severity: 'warning', source: path, message: `the file does not parse: keeping the last good version of its ${previous.objects.size} object(s) until it is fixed` });
      log.warn({ file: path, errors, kept: previous.objects.size }, 'file rejected; last good version kept');
      return { stamp, objects: previous.objects, issues };
    }
    // Valid YAML with invalid objects: the valid ones apply, each invalid one keeps its last good version.
    let kept = 0;
    for (const [key, placed] of previous.objects) {
      if (objects.has(key)) continue;
      objects.set(key, placed);
      kept++;
    }
    if (kept > 0) issues.push({ severity: 'warning', source: path, message: `keeping the last good version of ${kept} object(s) from this file until it is fixed` });
    log.warn({ file: path, errors, kept }, 'file rejected in part; last good objects kept');
    return { stamp, objects, issues };
  }

  private async readText(path: string): Promise<FileText> {
    try {
      const info = await stat(path);
      if (info.size <= this.maxFileBytes) return { text: await readFile(path, 'utf8'), issues: [] };
      return { issues: [{ severity: 'error', source: path, message: `file is ${info.size} bytes, more than the limit of ${this.maxFileBytes}` }] };
    } catch (err) {
      return { issues: [{ severity: 'error', source: path, message: `cannot read file: ${(err as Error).message}` }] };
    }
  }

  /** Folds every file's objects into one map, first file by path winning, and gathers the issues. */
  private merge(): void {
    const merged = new Map<string, MeshObject>();
    const winners = new Map<string, { path: string; line: number }>();
    const issues: ConfigIssue[] = [...this.directoryIssues];
    for (const [path, state] of this.files) {
      issues.push(...state.issues);
      for (const [key, placed] of state.objects) {
        const winner = winners.get(key);
        if (winner) {
          issues.push(duplicateIssue(path, placed.line, key, winner.path, winner.line));
          continue;
        }
        winners.set(key, { path, line: placed.line });
        merged.set(key, placed.object);
      }
    }
    this.merged = merged;
    this.mergedIssues = issues;
  }
}

function duplicateIssue(path: string, line: number, key: string, winnerPath: string, winnerLine: number): ConfigIssue {
  const object = key.replace('//', '/'); // as validation names objects: Node/node-a, Service/shop/web
  return {
    severity: 'error',
    source: path,
    line,
    object,
    message: `duplicate object: ${object} is also defined at ${winnerPath}:${winnerLine}, which is the one used`,
  };
}

/** What a file contributes, to tell an effective change from a rewrite with the same content. */
function fingerprint(state: FileState): string {
  state.fingerprint ??= JSON.stringify([[...state.objects.entries()], state.issues]);
  return state.fingerprint;
}

function stampOf(info: BigIntStats): string {
  return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

/** stat of each path (undefined where it fails), STAT_BATCH at a time rather than one after another. */
async function statAll(paths: string[]): Promise<(BigIntStats | undefined)[]> {
  const out: (BigIntStats | undefined)[] = [];
  for (let i = 0; i < paths.length; i += STAT_BATCH) {
    const batch = paths.slice(i, i + STAT_BATCH).map((path) => stat(path, { bigint: true }).catch(() => undefined));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

function sizeOfStamp(stamp: string): number {
  return Number(stamp.split(':')[1]);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

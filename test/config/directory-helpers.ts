// Shared by the config loader tests: the example mesh's location, temporary config directories
// that are removed afterwards, a seeded random generator, and loading YAML text through parse + validate as a source does.
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocuments } from '../../config/parse/yaml.js';
import type { MeshObject } from '../../config/resources.js';
import type { ConfigIssue } from '../../config/source.js';
import { validateObject } from '../../config/validate/index.js';

/** examples/mesh in the source tree (tests run from dist/test/config). */
export const EXAMPLE_DIR = fileURLToPath(new URL('../../../examples/mesh/', import.meta.url));

export function exampleFiles(): string[] {
  return readdirSync(EXAMPLE_DIR).filter((f) => f.endsWith('.yaml')).sort();
}

/** mulberry32: a small, fast, seeded PRNG. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}
export type Rng = ReturnType<typeof rng>;

/** Makes a temporary directory, runs `body` in it, and removes it whatever happens. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-config-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Parses and validates YAML text as a config source does: the valid objects and every issue. */
export function load(text: string, source = 'test.yaml'): { objects: MeshObject[]; issues: ConfigIssue[] } {
  const parsed = parseDocuments(text, source);
  const objects: MeshObject[] = [];
  const issues = [...parsed.issues];
  for (const doc of parsed.documents) {
    const result = validateObject(doc.raw, { source, line: doc.line, lineOf: doc.lineOf });
    issues.push(...result.issues);
    if (result.object) objects.push(result.object);
  }
  return { objects, issues };
}

/** Waits until `predicate` holds, polling every 10 ms, or fails after `timeoutMs`. */
export async function eventually(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

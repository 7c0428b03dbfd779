// The snapshot builder never throws, whatever shape the objects have: the example mesh with random
// fields removed or replaced by values of the wrong type still folds into a snapshot (issues, not
// crashes), in full and incremental builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { MeshObject } from '../../config/resources.js';
import { DirectorySource } from '../../config/sources/directory.js';
import { buildSnapshot } from '../../config/snapshot/index.js';
import { rng } from './snapshot-objects.js';

const examples = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));

const ODD_VALUES: unknown[] = [undefined, null, 0, -1, 70000, '', 'x', [], {}, [null], { a: 1 }, true];

/** A deep copy with one random field (never kind or metadata.name/namespace) replaced. */
function mutate(value: unknown, r: () => number, depth = 0): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0) return value;
    const copy = [...value];
    const i = Math.floor(r() * copy.length);
    copy[i] = r() < 0.3 ? ODD_VALUES[Math.floor(r() * ODD_VALUES.length)] : mutate(copy[i], r, depth + 1);
    return copy;
  }
  if (value && typeof value === 'object') {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy).filter((k) => !(depth === 0 && (k === 'kind' || k === 'apiVersion')) && !(depth === 1 && (k === 'name' || k === 'namespace')));
    if (keys.length === 0) return copy;
    const key = keys[Math.floor(r() * keys.length)] as string;
    copy[key] = r() < 0.3 ? ODD_VALUES[Math.floor(r() * ODD_VALUES.length)] : mutate(copy[key], r, depth + 1);
    return copy;
  }
  return ODD_VALUES[Math.floor(r() * ODD_VALUES.length)];
}

test('mutated objects never make the builder throw', async () => {
  const source = new DirectorySource(examples, { watch: false, pollIntervalMs: 3_600_000 });
  await source.start();
  await source.stop();
  const good = new Map(source.objects());
  const keys = [...good.keys()];
  const r = rng(42);
  let snapshot = buildSnapshot(good);
  let failures = 0;
  for (let round = 0; round < 300; round++) {
    const objects = new Map(good);
    const changed: string[] = [];
    for (let j = 0; j < 1 + Math.floor(r() * 3); j++) {
      const key = keys[Math.floor(r() * keys.length)] as string;
      objects.set(key, mutate(objects.get(key), r) as MeshObject);
      changed.push(key);
    }
    try {
      snapshot = buildSnapshot(objects, snapshot, { changedKeys: changed });
      buildSnapshot(objects);
    } catch (err) {
      failures++;
      assert.fail(`round ${round} (${changed.join(', ')}): ${String(err)}`);
    }
  }
  assert.equal(failures, 0);
});

// Identity allocation: deterministic whatever the order or batching of label sets, unique even
// where hashes collide, and stable for the label sets a change does not touch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityAllocator, identitySlot } from '../../config/snapshot/identity-allocator.js';
import { MAX_CLUSTER_IDENTITY_EXCLUSIVE, MIN_CLUSTER_IDENTITY } from '../../config/snapshot/index.js';

const KEYS = Array.from({ length: 30_000 }, (_, i) => `ns-${i % 40}\u0000app=svc-${i}`);

function allocate(batches: string[][]): Map<string, number> {
  const allocator = new IdentityAllocator();
  for (const batch of batches) {
    for (const key of batch) allocator.acquire(key, { app: key });
    allocator.commit();
  }
  return new Map(KEYS.map((k) => [k, allocator.idOf(k) as number]));
}

test('30,000 label sets get unique ids in range, whatever the order or batching (collisions included)', () => {
  const primaries = new Set(KEYS.map((k) => identitySlot(k, 0)));
  assert.ok(primaries.size < KEYS.length, 'the set is large enough that some primary slots collide');
  const once = allocate([KEYS]);
  const reversed = allocate([[...KEYS].reverse()]);
  const batched = allocate(Array.from({ length: 30 }, (_, b) => KEYS.filter((_, i) => i % 30 === b)));
  assert.deepEqual(reversed, once);
  assert.deepEqual(batched, once);
  const ids = [...once.values()];
  assert.equal(new Set(ids).size, KEYS.length);
  assert.ok(ids.every((id) => id >= MIN_CLUSTER_IDENTITY && id < MAX_CLUSTER_IDENTITY_EXCLUSIVE));
});

test('releasing and re-acquiring label sets reproduces a fresh allocation; untouched ids stay', () => {
  const allocator = new IdentityAllocator();
  for (const key of KEYS) allocator.acquire(key, { app: key });
  allocator.commit();
  const before = new Map(KEYS.map((k) => [k, allocator.idOf(k)]));
  const gone = KEYS.filter((_, i) => i % 7 === 0);
  for (const key of gone) allocator.release(key);
  const changes = allocator.commit();
  assert.equal(changes.removed.length >= gone.length, true);
  const remaining = KEYS.filter((_, i) => i % 7 !== 0);
  const fresh = new IdentityAllocator();
  for (const key of remaining) fresh.acquire(key, { app: key });
  fresh.commit();
  for (const key of remaining) assert.equal(allocator.idOf(key), fresh.idOf(key));
  if (!changes.remapped) for (const key of remaining) assert.equal(allocator.idOf(key), before.get(key));
  // Reference counting: a label set shared by two pods keeps its id until both are gone.
  allocator.acquire('x', { a: '1' });
  allocator.acquire('x', { a: '1' });
  allocator.commit();
  const id = allocator.idOf('x');
  allocator.release('x');
  allocator.commit();
  assert.equal(allocator.idOf('x'), id);
  allocator.release('x');
  allocator.commit();
  assert.equal(allocator.idOf('x'), undefined);
});

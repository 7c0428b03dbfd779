// MeshStore: merging sources (later wins, conflicts reported), debouncing bursts into one snapshot,
// incremental folding, never throwing on a misbehaving source, and a real watched directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MeshObject } from '../../config/resources.js';
import { objectKey } from '../../config/resources.js';
import type { ConfigIssue, ConfigSource } from '../../config/source.js';
import { MeshStore } from '../../config/store.js';
import { DirectorySource } from '../../config/sources/directory.js';
import type { MeshSnapshot } from '../../config/snapshot/index.js';
import { pod, service } from './snapshot-objects.js';

/** A source whose objects the test sets directly (the in-process equivalent of a directory). */
class MemorySource implements ConfigSource {
  private current = new Map<string, MeshObject>();
  private readonly listeners: (() => void)[] = [];
  failObjects = false;
  constructor(readonly name: string) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  objects(): ReadonlyMap<string, MeshObject> {
    if (this.failObjects) throw new Error('backend gone');
    return this.current;
  }
  issues(): readonly ConfigIssue[] {
    return [];
  }
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
  /** Changes the map in place, as the Kubernetes informers do. */
  set(object: MeshObject): void {
    this.current.set(objectKey(object.kind, object.metadata.namespace, object.metadata.name), object);
    for (const l of this.listeners) l();
  }
  remove(object: MeshObject): void {
    this.current.delete(objectKey(object.kind, object.metadata.namespace, object.metadata.name));
    for (const l of this.listeners) l();
  }
}

test('a burst of changes within the debounce window becomes one snapshot', async () => {
  const source = new MemorySource('memory');
  const store = new MeshStore([source], { debounceMs: 40 });
  await store.start();
  const seen: MeshSnapshot[] = [];
  store.onSnapshot((s) => seen.push(s));
  for (let i = 0; i < 20; i++) source.set(pod('shop', `web-${i}`, `10.0.0.${i + 1}`, { app: 'web' }));
  assert.equal(seen.length, 0, 'nothing is built before the window closes');
  await sleep(150);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]?.workloads.size, 20);
  assert.equal(store.current(), seen[0]);
  source.remove(pod('shop', 'web-3', '10.0.0.4', { app: 'web' }));
  await sleep(150);
  assert.equal(seen.length, 2);
  assert.equal(store.current().workloads.size, 19);
  assert.ok(Number(store.current().version) > Number(seen[0]?.version));
  await store.stop();
});

test('a later source wins a key both hold, and the conflict is reported', async () => {
  const first = new MemorySource('first');
  const second = new MemorySource('second');
  first.set(service('shop', 'web', '10.96.0.1', [{ port: 80 }], { app: 'web' }));
  first.set(service('shop', 'api', '10.96.0.3', [{ port: 80 }], { app: 'api' }));
  second.set(service('shop', 'web', '10.96.0.2', [{ port: 80 }], { app: 'web' }));
  const store = new MeshStore([first, second], { debounceMs: 10 });
  await store.start();
  assert.deepEqual(store.current().services.get('shop/web')?.vips, ['10.96.0.2']);
  assert.deepEqual(store.current().services.get('shop/api')?.vips, ['10.96.0.3']);
  const conflict = store.issues().find((i) => i.object === 'Service/shop/web');
  assert.equal(conflict?.severity, 'warning');
  assert.match(conflict?.message ?? '', /first and second; the one from second is in force/);
  second.remove(service('shop', 'web', '10.96.0.2', [{ port: 80 }]));
  await sleep(60);
  assert.deepEqual(store.current().services.get('shop/web')?.vips, ['10.96.0.1']);
  assert.equal(store.issues().find((i) => i.object === 'Service/shop/web'), undefined);
  await store.stop();
});

test('a source that throws does not break the store; the last snapshot stays in force', async () => {
  const source = new MemorySource('flaky');
  source.set(pod('shop', 'web-1', '10.0.0.1', { app: 'web' }));
  const store = new MeshStore([source], { debounceMs: 10 });
  await store.start();
  const before = store.current();
  source.failObjects = true;
  source.set(pod('shop', 'web-2', '10.0.0.2', { app: 'web' }));
  await sleep(60);
  assert.equal(store.current(), before);
  source.failObjects = false;
  source.set(pod('shop', 'web-3', '10.0.0.3', { app: 'web' }));
  await sleep(60);
  assert.equal(store.current().workloads.size, 3);
  await store.stop();
});

test("a single source's first objects are copied into the store, and a source failing at start is read again on its next change", async () => {
  const source = new MemorySource('memory');
  source.failObjects = true;
  const store = new MeshStore([source], { debounceMs: 10 });
  await store.start();
  assert.equal(store.current().objects.size, 0);
  source.failObjects = false;
  source.set(pod('shop', 'web-1', '10.0.0.1', { app: 'web' }));
  await sleep(60);
  const first = store.current();
  assert.equal(first.workloads.size, 1);
  // The source changes its map in place without telling: the snapshot's objects stay as they were.
  const web2 = pod('shop', 'web-2', '10.0.0.2', { app: 'web' });
  (source.objects() as Map<string, MeshObject>).set(objectKey('Pod', 'shop', 'web-2'), web2);
  assert.equal(first.objects.size, 1);
  source.set(pod('shop', 'web-3', '10.0.0.3', { app: 'web' }));
  await sleep(60);
  assert.equal(store.current().workloads.size, 3);
  assert.equal(first.objects.size, 1);
  await store.stop();
});

test('the store follows a watched directory, one snapshot per change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-store-'));
  const file = join(dir, 'mesh.yaml');
  const yaml = (ip: string) => `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: ${ip}
  selector: {app: web}
  ports: [{port: 80}]
`;
  writeFileSync(file, yaml('10.96.0.1'));
  const store = new MeshStore([new DirectorySource(dir, { pollIntervalMs: 100, debounceMs: 10 })], { debounceMs: 20 });
  try {
    await store.start();
    assert.deepEqual(store.current().services.get('shop/web')?.vips, ['10.96.0.1']);
    const next = new Promise<MeshSnapshot>((resolve) => store.onSnapshot(resolve));
    writeFileSync(file, yaml('10.96.0.9'));
    // The source's watchers do not keep the process alive; the timeout does, and bounds the wait.
    const snapshot = await Promise.race([next, sleep(5000).then(() => assert.fail('no snapshot after the file changed'))]);
    assert.deepEqual(snapshot.services.get('shop/web')?.vips, ['10.96.0.9']);
    writeFileSync(file, 'kind: [unclosed');
    await sleep(400);
    assert.deepEqual(store.current().services.get('shop/web')?.vips, ['10.96.0.9'], 'the last good objects stay in force');
    assert.ok(store.issues().some((i) => i.severity === 'error' && i.source.endsWith('mesh.yaml')));
  } finally {
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

// The example shop mesh (examples/mesh) loaded through the DirectorySource into a snapshot: the
// facts the rest of skiff and `skiff demo` rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { DirectorySource } from '../../config/sources/directory.js';
import { buildSnapshot, needsL7, servicePortKey, type MeshSnapshot } from '../../config/snapshot/index.js';

const examples = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));

async function load(): Promise<MeshSnapshot> {
  const source = new DirectorySource(examples, { watch: false, pollIntervalMs: 3_600_000 });
  await source.start();
  await source.stop();
  assert.deepEqual(source.issues(), []);
  return buildSnapshot(source.objects());
}

function workload(snap: MeshSnapshot, prefix: string): string {
  const key = [...snap.workloads.keys()].sort().find((k) => k.startsWith(`shop/${prefix}`));
  assert.ok(key, `a workload shop/${prefix}*`);
  return key;
}

test('the example mesh resolves without issues: services, nodes, mesh config', async () => {
  const snap = await load();
  assert.deepEqual(snap.issues, []);
  assert.equal(snap.nodes.get('node-a')?.internalIP, '172.30.0.11');
  assert.deepEqual(snap.nodes.get('node-b')?.podCIDRs, ['10.244.2.0/24']);
  assert.equal(snap.meshConfig.trustDomain, 'cluster.local');
  const orders = snap.services.get('shop/orders');
  assert.equal(orders?.endpointSource, 'selector');
  assert.equal(orders?.ports[0]?.endpoints.length, 3);
  assert.equal(snap.services.get('shop/orders-v1')?.endpointSource, 'EndpointSlice');
  assert.equal(snap.services.get('shop/inventory')?.ports[0]?.isGrpc, true);
  // Pods of one version share an identity; v1 and v2 differ.
  const v1 = [...snap.workloads.values()].filter((w) => w.labels.version === 'v1' && w.labels.app === 'orders');
  assert.equal(v1.length, 2);
  assert.equal(v1[0]?.identity, v1[1]?.identity);
  assert.notEqual(v1[0]?.identity, snap.workloads.get(workload(snap, 'orders-v2'))?.identity);
});

test('the orders canary splits 90/10 and the gRPC route attaches to inventory', async () => {
  const snap = await load();
  const orders = snap.attachments.get(servicePortKey('shop/orders', 8080, 'TCP'));
  assert.ok(orders);
  const fallback = orders.http[orders.http.length - 1];
  assert.deepEqual(fallback?.backends.map((b) => [b.service, b.weight, b.resolved]), [
    ['shop/orders-v1', 90, true],
    ['shop/orders-v2', 10, true],
  ]);
  assert.equal(orders.http[0]?.headers[0]?.name, 'x-canary');
  const inventory = snap.attachments.get(servicePortKey('shop/inventory', 50051, 'TCP'));
  assert.equal(inventory?.grpc[0]?.method?.method, 'ReserveStock');
});

test('L7 where the example asks for it, the fast path everywhere else', async () => {
  const snap = await load();
  const frontend = snap.workloads.get(workload(snap, 'frontend'));
  const ordersV1 = workload(snap, 'orders-v1');
  assert.equal(needsL7(snap, ordersV1, 8080, 'TCP'), true);
  const l7Rule = snap.workloadPolicies.get(ordersV1)?.ingress.rules.find((r) => r.http.length > 0);
  assert.deepEqual(l7Rule?.peers.identities, [frontend?.identity]);
  assert.deepEqual(l7Rule?.http[0]?.methods.map((m) => m.value), ['POST']);
  assert.deepEqual(l7Rule?.http[0]?.paths.map((m) => m.value), ['/orders']);
  assert.equal(needsL7(snap, workload(snap, 'inventory'), 50051, 'TCP'), true);
  assert.equal(needsL7(snap, workload(snap, 'payments'), 8080, 'TCP'), true);
  // postgres has only an L3/L4 NetworkPolicy: default deny, decided in the kernel.
  const postgres = workload(snap, 'postgres');
  assert.equal(needsL7(snap, postgres, 5432, 'TCP'), false);
  assert.equal(snap.workloadPolicies.get(postgres)?.ingress.selected, true);
  assert.equal(needsL7(snap, workload(snap, 'frontend'), 8080, 'TCP'), false);
  assert.equal(snap.workloadPolicies.get(workload(snap, 'frontend'))?.ingress.selected, false);
});

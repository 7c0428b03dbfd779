// What the snapshot builder shares to keep a large snapshot small: L7 entries shared between a
// service's result and the needs-L7 set (and merged when several things mark one workload port),
// indexes keeping one value as it is (and label pairs only for the label keys looked up),
// exact-size frozen lists, and output maps adopted without a copy. Each must give the answers a plain build would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CiliumNetworkPolicy, MeshObject, NetworkPolicy } from '../../config/resources.js';
import { buildSnapshot, LayeredMap, workloadPortKey } from '../../config/snapshot/index.js';
import { EMPTY_LIST, frozenList } from '../../config/snapshot/frozen.js';
import { LazyLabelPairIndex, SetIndex } from '../../config/snapshot/set-index.js';
import { httpRoute, keyed, pod, service } from './snapshot-objects.js';

const orders = pod('shop', 'orders-1', '10.0.0.10', { app: 'orders' }, { ports: [{ name: 'http', containerPort: 8080 }] });

function reasonsOf(objects: Map<string, MeshObject>, workload: string, port: number): string[] {
  return buildSnapshot(objects).l7.get(workloadPortKey(workload, port, 'TCP'))?.reasons.map((r) => r.detail) ?? [];
}

test('two ports of a service on one container port give one L7 entry with both routes, and a waypoint once', () => {
  const objects = keyed(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'istio.io/use-waypoint': 'waypoint' } } },
    orders,
    service('shop', 'orders', '10.96.0.20', [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'http-alt', port: 8000, targetPort: 8080 }], { app: 'orders' }),
    httpRoute('shop', 'main', { name: 'orders', port: 80 }, [{ backendRefs: [{ name: 'orders', port: 80 }] }]),
    httpRoute('shop', 'alt', { name: 'orders', port: 8000 }, [{ backendRefs: [{ name: 'orders', port: 8000 }] }]),
  );
  assert.deepEqual(reasonsOf(objects, 'shop/orders-1', 8080), [
    'HTTPRoute/shop/main attaches to shop/orders:80',
    'shop/orders uses waypoint shop/waypoint (waypoint not found)',
    'HTTPRoute/shop/alt attaches to shop/orders:8000',
  ]);
});

test('a workload port marked by two services and an L7 policy lists the services in key order, then the policy', () => {
  const cnp: CiliumNetworkPolicy = {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'orders-l7', namespace: 'shop' },
    spec: {
      endpointSelector: { matchLabels: { app: 'orders' } },
      ingress: [{ toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }] }],
    },
  };
  const objects = keyed(
    orders,
    service('shop', 'orders-b', '10.96.0.22', [{ port: 80, targetPort: 8080 }], { app: 'orders' }),
    service('shop', 'orders-a', '10.96.0.21', [{ port: 80, targetPort: 8080 }], { app: 'orders' }),
    httpRoute('shop', 'b', { name: 'orders-b', port: 80 }, [{ backendRefs: [{ name: 'orders-b', port: 80 }] }]),
    httpRoute('shop', 'a', { name: 'orders-a', port: 80 }, [{ backendRefs: [{ name: 'orders-a', port: 80 }] }]),
    cnp,
  );
  assert.deepEqual(reasonsOf(objects, 'shop/orders-1', 8080), [
    'HTTPRoute/shop/a attaches to shop/orders-a:80',
    'HTTPRoute/shop/b attaches to shop/orders-b:80',
    'CiliumNetworkPolicy/shop/orders-l7 spec.ingress[0].toPorts[0] has L7 rules',
  ]);
  // Without the policy and one of the services, the entry is the one service's own.
  objects.delete('CiliumNetworkPolicy/shop/orders-l7');
  objects.delete('Service/shop/orders-b');
  const snap = buildSnapshot(objects);
  const entry = snap.l7.get(workloadPortKey('shop/orders-1', 8080, 'TCP'));
  assert.deepEqual(entry?.reasons.map((r) => r.source), ['HTTPRoute/shop/a']);
  assert.ok(Object.isFrozen(entry) && Object.isFrozen(entry?.reasons));
});

test('selectors keyed short or by JSON never share a cache entry unless they select the same pods', () => {
  const policy = (name: string, matchLabels: Record<string, string>): NetworkPolicy => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: 'shop' },
    spec: { podSelector: { matchLabels } },
  });
  const objects = keyed(
    pod('shop', 'one-1', '10.0.0.1', { x: 'a', b: 'c' }),
    pod('shop', 'two-1', '10.0.0.2', { x: 'a\u0000b\u0000c' }),
    policy('split', { x: 'a', b: 'c' }),
    policy('joined', { x: 'a\u0000b\u0000c' }),
    policy('split-again', { x: 'a', b: 'c' }),
  );
  const snap = buildSnapshot(objects);
  assert.deepEqual(snap.policies.get('NetworkPolicy/shop/split')?.selectedWorkloads, ['shop/one-1']);
  assert.deepEqual(snap.policies.get('NetworkPolicy/shop/joined')?.selectedWorkloads, ['shop/two-1']);
  assert.deepEqual(snap.policies.get('NetworkPolicy/shop/split-again')?.selectedWorkloads, ['shop/one-1']);
});

test('SetIndex keeps one value, then a few in order, then a Set, and gives them back in the order added', () => {
  const index = new SetIndex<string, number>();
  assert.equal(index.get('k'), undefined);
  index.add('k', 3);
  index.add('k', 3);
  assert.deepEqual([...(index.get('k') ?? [])], [3]);
  assert.equal(index.only('k'), 3);
  for (let v = 10; v > 0; v--) index.add('k', v);
  assert.deepEqual([...(index.get('k') ?? [])], [3, 10, 9, 8, 7, 6, 5, 4, 2, 1]);
  for (let v = 1; v <= 10; v++) index.delete('k', v);
  assert.equal(index.get('k'), undefined);
  index.add('k', 1);
  index.add('k', 2);
  index.delete('k', 1);
  assert.deepEqual([...(index.get('k') ?? [])], [2]);
  assert.equal(index.only('k'), 2);
  index.add('k', 7);
  assert.equal(index.only('k'), undefined);
  index.delete('k', 7);
  index.delete('k', 2);
  assert.equal(index.get('k'), undefined);
  index.add('k', 5);
  index.add('k', 6);
  index.clear('k');
  assert.equal(index.get('k'), undefined);
});

test('LazyLabelPairIndex indexes a label key from all items on its first lookup, then follows adds and deletes', () => {
  const items = new Map<string, { scope: string; labels: Record<string, string> }>();
  const index = new LazyLabelPairIndex<string>((visit) => items.forEach((item, key) => visit(item.scope, item.labels, key)));
  const put = (key: string, scope: string, labels: Record<string, string>) => {
    const before = items.get(key);
    if (before) index.delete(before.scope, before.labels, key);
    items.set(key, { scope, labels });
    index.add(scope, labels, key);
  };
  put('a', 'ns', { app: 'web', tier: 'front' });
  put('b', 'ns', { app: 'web' });
  put('c', 'other', { app: 'web', tier: 'front' });
  assert.deepEqual([...(index.get('ns', 'app', 'web') ?? [])], ['a', 'b']);
  put('b', 'ns', { app: 'api', tier: 'front' });
  assert.deepEqual([...(index.get('ns', 'app', 'web') ?? [])], ['a']);
  assert.deepEqual([...(index.get('ns', 'app', 'api') ?? [])], ['b']);
  // 'tier' was never looked up while a, b and c were put: its first lookup finds them all.
  assert.deepEqual([...(index.get('ns', 'tier', 'front') ?? [])], ['a', 'b']);
  assert.deepEqual([...(index.get('other', 'tier', 'front') ?? [])], ['c']);
  put('a', 'ns', { app: 'web' });
  assert.deepEqual([...(index.get('ns', 'tier', 'front') ?? [])], ['b']);
  // Keys a label map only inherits are not labels.
  assert.equal(index.get('ns', 'constructor', 'x'), undefined);
});

test('a service selecting by a label key no service used before finds its pods in an incremental build', () => {
  const web = pod('shop', 'web-1', '10.0.0.1', { app: 'web', tier: 'front' });
  const api = pod('shop', 'api-1', '10.0.0.2', { app: 'api', tier: 'back' });
  const objects = keyed(web, api, service('shop', 'web', '10.96.0.1', [{ port: 80 }], { app: 'web' }));
  const first = buildSnapshot(objects);
  const front = service('shop', 'front', '10.96.0.2', [{ port: 80 }], { tier: 'front' });
  const next = new Map(objects).set('Service/shop/front', front);
  const incremental = buildSnapshot(next, first, { changedKeys: ['Service/shop/front'] });
  assert.deepEqual(incremental.services.get('shop/front')?.workloads, ['shop/web-1']);
  assert.deepEqual(incremental.workloads.get('shop/web-1')?.services, ['shop/front', 'shop/web']);
  assert.deepEqual(incremental.services.get('shop/front'), buildSnapshot(next).services.get('shop/front'));
});

test('frozen lists are exact frozen copies, and every empty one is the same', () => {
  const built = [1, 2];
  const list = frozenList(built);
  built.push(3);
  assert.deepEqual(list, [1, 2]);
  assert.ok(Object.isFrozen(list));
  assert.equal(frozenList([]), EMPTY_LIST);
  assert.ok(Object.isFrozen(EMPTY_LIST));
});

test('LayeredMap.updateWith adopts the map handed over when empty; update copies it', () => {
  const handed = new Map<string, number | undefined>([
    ['a', 1],
    ['gone', undefined],
  ]);
  const adopted = LayeredMap.empty<string, number>().updateWith(handed);
  assert.deepEqual([...adopted], [['a', 1]]);
  assert.equal(adopted.size, 1);
  const changes = new Map<string, number | undefined>([['b', 2]]);
  const copied = LayeredMap.empty<string, number>().update(changes);
  changes.clear();
  assert.deepEqual([...copied], [['b', 2]]);
  const next = copied.updateWith(new Map([['b', undefined], ['c', 3]]));
  assert.deepEqual([...next], [['c', 3]]);
  assert.equal(next.get('b'), undefined);
  assert.equal(next.has('c'), true);
  assert.deepEqual([...copied], [['b', 2]], 'a version never changes');
});

// The control plane's side: the example mesh translated to each node's redirector resources, as
// the agent decodes them; the needs-L7 set folded into the sources' egress where the datapath
// decides; the publisher's classes in the snapshot cache; and the committed generated types
// matching redirector.proto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MeshObject } from '../../config/resources.js';
import { buildSnapshot } from '../../config/snapshot/index.js';
import { decodeRedirectorResource, RedirectorType, type EndpointPolicy__Output, type Service__Output } from '../../proto/skiff/v1alpha1/wire.js';
import { SnapshotCache } from '../../xds/index.js';
import { RedirectorPublisher, redirectorClassKey, redirectorClassResources, translateRedirectors } from '../../xds/translate/redirector.js';
import { meshObjects } from './harness.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

function exampleMesh(): Map<string, MeshObject> {
  const dir = join(repo, 'examples/mesh');
  const text = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('\n---\n');
  return meshObjects(text);
}

function decoded<T>(input: Record<string, readonly { name?: string; value?: Uint8Array }[]>, typeUrl: string): Map<string, T> {
  return new Map((input[typeUrl] ?? []).map((r) => [r.name as string, decodeRedirectorResource(typeUrl as typeof RedirectorType.workload, r.value as Uint8Array) as T]));
}

test('each node gets its config, every workload, service and identity, and its own workloads\' policies', () => {
  const snapshot = buildSnapshot(exampleMesh());
  const classes = translateRedirectors(snapshot);
  assert.deepEqual([...classes.keys()], ['node-a', 'node-b']);
  const a = classes.get('node-a') ?? {};
  const nodeConfig = decoded<{ node_name: string; proxy_port: number; nodes: { name: string; internal_ip: string }[] }>(a, RedirectorType.nodeConfig).get('node-a');
  assert.equal(nodeConfig?.proxy_port, 15001);
  assert.deepEqual(nodeConfig?.nodes.map((n) => [n.name, n.internal_ip]), [['node-a', '172.30.0.11'], ['node-b', '172.30.0.12']]);
  assert.equal(decoded(a, RedirectorType.workload).size, snapshot.workloads.size);
  assert.equal(decoded(a, RedirectorType.identity).size, snapshot.identities.size);
  const services = decoded<{ ports: { port: number; needs_l7: boolean }[] }>(a, RedirectorType.service);
  assert.equal(services.get('shop/orders')?.ports[0]?.needs_l7, true, 'a route attaches to orders');
  assert.equal(services.get('shop/postgres')?.ports[0]?.needs_l7, false);
  const policies = decoded<EndpointPolicy__Output>(a, RedirectorType.endpointPolicy);
  const local = [...snapshot.workloads.values()].filter((w) => w.nodeName === 'node-a').map((w) => w.key).sort();
  assert.deepEqual([...policies.keys()].sort(), local);
});

test('the needs-L7 set becomes egress allow entries with the proxy port, only where egress policy allows', () => {
  const snapshot = buildSnapshot(exampleMesh());
  const a = translateRedirectors(snapshot).get('node-a') ?? {};
  const policies = decoded<EndpointPolicy__Output>(a, RedirectorType.endpointPolicy);
  const frontend = [...policies.values()].find((p) => p.workload.startsWith('shop/frontend'));
  assert.ok(frontend);
  const orders = [...snapshot.workloads.values()].filter((w) => w.labels.app === 'orders');
  const postgres = [...snapshot.workloads.values()].find((w) => w.labels.app === 'postgres');
  const l7 = (frontend.egress?.entries ?? []).filter((e) => e.proxy_port === 15001);
  for (const o of orders) {
    assert.ok(l7.some((e) => e.identities.includes(o.identity) && e.port === 8080 && e.verdict === 'ALLOW'), `orders ${o.key}:8080 needs L7`);
  }
  assert.ok(!l7.some((e) => postgres && e.identities.includes(postgres.identity)), 'postgres stays on the fast path');
  // postgres is selected by an ingress NetworkPolicy: enforced, with the orders allowed on 5432
  const pg = decoded<EndpointPolicy__Output>(translateRedirectors(snapshot).get('node-b') ?? {}, RedirectorType.endpointPolicy).get(postgres?.key ?? '');
  assert.equal(pg?.ingress?.enforced, true);
  assert.ok(pg?.ingress?.entries.some((e) => e.port === 5432 && e.verdict === 'ALLOW' && orders.every((o) => e.identities.includes(o.identity))));
});

test('the publisher serves redirector/<node> classes and removes the class of a node that left', () => {
  const cache = new SnapshotCache();
  const publisher = new RedirectorPublisher(cache);
  const objects = exampleMesh();
  let snapshot = buildSnapshot(objects);
  assert.deepEqual(publisher.publish(snapshot).sort(), [redirectorClassKey('node-a'), redirectorClassKey('node-b')]);
  const without = new Map([...objects].filter(([, o]) => !(o.kind === 'Node' && o.metadata.name === 'node-b') && !(o.kind === 'Pod' && (o as { spec: { nodeName?: string } }).spec.nodeName === 'node-b')));
  snapshot = buildSnapshot(without, snapshot);
  publisher.publish(snapshot);
  assert.deepEqual(cache.classes().filter((c) => c.startsWith('redirector/')), [redirectorClassKey('node-a')]);
});

test('the committed generated types match redirector.proto', () => {
  const out = mkdtempSync(join(tmpdir(), 'skiff-proto-'));
  try {
    execFileSync(process.execPath, [join(repo, 'proto/gen-types.mjs'), out], { cwd: repo, stdio: 'pipe' });
    const committed = join(repo, 'proto/skiff/v1alpha1/generated/skiff/v1alpha1');
    const fresh = join(out, 'skiff/v1alpha1');
    assert.deepEqual(readdirSync(fresh).sort(), readdirSync(committed).sort());
    for (const file of readdirSync(fresh)) {
      assert.equal(readFileSync(join(fresh, file), 'utf8'), readFileSync(join(committed, file), 'utf8'), `${file} is stale: run node proto/gen-types.mjs`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('a small mesh change re-encodes only what it touched', () => {
  const objects = exampleMesh();
  const first = buildSnapshot(objects);
  const before = redirectorClassResources(first, 'node-a');
  const changed = new Map(objects);
  const key = [...objects.keys()].find((k) => k.startsWith('Pod/shop/payments')) as string;
  const pod = objects.get(key) as MeshObject & { metadata: { labels?: Record<string, string> } };
  changed.set(key, { ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, tier: 'gold' } } } as MeshObject);
  const second = buildSnapshot(changed, first);
  const after = redirectorClassResources(second, 'node-a');
  const same = (typeUrl: string) => {
    const old = new Map((before[typeUrl] ?? []).map((r) => [r.name, r.value]));
    return (after[typeUrl] ?? []).filter((r) => old.get(r.name) === r.value).length;
  };
  const workloads = after[RedirectorType.workload] ?? [];
  assert.equal(same(RedirectorType.workload), workloads.length - 1, 'only the relabelled workload is re-encoded');
  assert.equal(same(RedirectorType.service), (after[RedirectorType.service] ?? []).length, 'no service changed');
  assert.deepEqual(translateRedirectors(second).get('node-a'), after);
});

test('a service using a waypoint carries the waypoint workload\'s address, HBONE port and identity; its L7 entries are via_waypoint', () => {
  const objects = exampleMesh();
  const waypointObjects = meshObjects(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: waypoint, namespace: shop }
spec:
  gatewayClassName: skiff-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]
---
apiVersion: v1
kind: Pod
metadata:
  name: waypoint-5c8d7f9b6-q2w3e
  namespace: shop
  labels: { gateway.networking.k8s.io/gateway-name: waypoint }
spec: { nodeName: node-b, serviceAccountName: waypoint, containers: [{ name: proxy, image: envoy }] }
status:
  phase: Running
  podIP: 10.244.2.90
  podIPs: [{ ip: 10.244.2.90 }]
  conditions: [{ type: Ready, status: "True" }]
`);
  for (const [k, v] of waypointObjects) objects.set(k, v);
  for (const name of ['payments', 'postgres']) {
    const service = structuredClone(objects.get(`Service/shop/${name}`)) as MeshObject;
    service.metadata.labels = { ...service.metadata.labels, 'istio.io/use-waypoint': 'waypoint' };
    objects.set(`Service/shop/${name}`, service);
  }
  const snapshot = buildSnapshot(objects);
  const a = translateRedirectors(snapshot).get('node-a') ?? {};
  const services = decoded<Service__Output>(a, RedirectorType.service);
  assert.deepEqual(services.get('shop/postgres')?.waypoint, { gateway: 'shop/waypoint', address: '10.244.2.90', port: 15008, spiffe_id: 'spiffe://cluster.local/ns/shop/sa/waypoint' });
  assert.equal(services.get('shop/orders')?.waypoint, null, 'orders uses no waypoint');
  const frontend = [...decoded<EndpointPolicy__Output>(a, RedirectorType.endpointPolicy).values()].find((p) => p.workload.startsWith('shop/frontend'));
  const entries = (frontend?.egress?.entries ?? []).filter((e) => e.proxy_port === 15001);
  const to = (app: string) => {
    const pod = [...snapshot.workloads.values()].find((w) => w.labels.app === app);
    return entries.filter((e) => pod && e.identities.includes(pod.identity));
  };
  assert.ok(to('postgres').length > 0 && to('postgres').every((e) => e.via_waypoint), 'postgres needs L7 only because of its waypoint');
  assert.ok(to('payments').length > 0 && to('payments').every((e) => !e.via_waypoint), 'payments needs L7 for its L7 AuthorizationPolicy too: the node proxy');
  assert.ok(to('orders').length > 0 && to('orders').every((e) => !e.via_waypoint), 'orders needs L7 because of its route');
  assert.equal(entries.filter((e) => e.via_waypoint).length, to('postgres').length);

  // no ready waypoint workload: the service still names its waypoint, with no address (its flows are refused)
  const gone = new Map([...objects].filter(([k]) => k !== 'Pod/shop/waypoint-5c8d7f9b6-q2w3e'));
  const without = decoded<Service__Output>(translateRedirectors(buildSnapshot(gone, snapshot)).get('node-a') ?? {}, RedirectorType.service);
  assert.deepEqual(without.get('shop/postgres')?.waypoint, { gateway: 'shop/waypoint', address: '', port: 15008, spiffe_id: '' });
});

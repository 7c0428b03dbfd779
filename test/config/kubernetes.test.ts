// The Kubernetes source against a fixture API server speaking the real list/watch protocol:
// first list of every kind, watch events, invalid objects (last good version kept), bookmarks,
// 410 Gone (HTTP and ERROR event) with re-list, back-off on 5xx and refused connections, a missing
// CRD, abrupt watch closes, namespace scoping, and stop().
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { KubernetesSource, type KubernetesSourceOptions } from '../../config/sources/kubernetes.js';
import { objectKey } from '../../config/resources.js';
import { KubeApiServer, type KubeObject } from '../fixtures/kube-apiserver.js';

const FAST = { backoff: { initialMs: 20, maxMs: 200 }, unavailableRetryMs: 100 };
const KINDS = 13;

const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } };
const node: KubeObject = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'node-a' },
  spec: { podCIDR: '10.244.1.0/24' },
  status: { addresses: [{ type: 'InternalIP', address: '172.30.0.11' }] },
};
function service(name: string, port = 80, namespace = 'shop'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort: 8080, protocol: 'TCP' }] },
  };
}
function pod(name: string, ip: string, namespace = 'shop'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: 'orders' } },
    spec: { nodeName: 'node-a', containers: [{ name: 'app', image: 'shop/orders:1', ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: ip },
  };
}
const slice: KubeObject = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'orders-abcde', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'orders' } },
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true }, nodeName: 'node-a' }],
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
};
const gateway: KubeObject = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'waypoint', namespace: 'shop' },
  spec: { gatewayClassName: 'skiff-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
};
const httpRoute: KubeObject = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'orders', namespace: 'shop' },
  spec: {
    parentRefs: [{ group: '', kind: 'Service', name: 'orders', port: 80 }],
    rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'orders', port: 80 }] }],
  },
};
const grpcRoute: KubeObject = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'GRPCRoute',
  metadata: { name: 'inventory', namespace: 'shop' },
  spec: {
    parentRefs: [{ group: '', kind: 'Service', name: 'inventory', port: 9090 }],
    rules: [{ matches: [{ method: { service: 'shop.Inventory' } }], backendRefs: [{ name: 'inventory', port: 9090 }] }],
  },
};
const referenceGrant: KubeObject = {
  apiVersion: 'gateway.networking.k8s.io/v1beta1',
  kind: 'ReferenceGrant',
  metadata: { name: 'from-web', namespace: 'shop' },
  spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'web' }], to: [{ group: '', kind: 'Service' }] },
};
const networkPolicy: KubeObject = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'orders-ingress', namespace: 'shop' },
  spec: {
    podSelector: { matchLabels: { app: 'orders' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
  },
};
const ciliumPolicy: KubeObject = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'orders-l7', namespace: 'shop' },
  spec: {
    endpointSelector: { matchLabels: { app: 'orders' } },
    ingress: [
      {
        fromEndpoints: [{ matchLabels: { app: 'frontend' } }],
        toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }], rules: { http: [{ method: 'POST', path: '/orders' }] } }],
      },
    ],
  },
};
const authorizationPolicy: KubeObject = {
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'orders-allow', namespace: 'shop' },
  spec: {
    selector: { matchLabels: { app: 'orders' } },
    action: 'ALLOW',
    rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/frontend'] } }], to: [{ operation: { methods: ['POST'], paths: ['/orders'] } }] }],
  },
};
const meshConfig: KubeObject = {
  apiVersion: 'skiff.io/v1alpha1',
  kind: 'MeshConfig',
  metadata: { name: 'mesh', namespace: 'default' },
  spec: { trustDomain: 'cluster.local', encryption: 'hbone' },
};

/** One object of every kind skiff watches. */
const EVERY_KIND: KubeObject[] = [
  ns,
  node,
  service('orders'),
  pod('orders-1', '10.244.1.5'),
  slice,
  gateway,
  httpRoute,
  grpcRoute,
  referenceGrant,
  networkPolicy,
  ciliumPolicy,
  authorizationPolicy,
  meshConfig,
];

function keyOf(o: KubeObject): string {
  return objectKey(o.kind, o.metadata.namespace, o.metadata.name);
}

async function until(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

interface Running {
  api: KubeApiServer;
  source: KubernetesSource;
  /** onChange calls so far. */
  changes: () => number;
}

/** A fixture API server holding `objects`, and a source on it (not started unless `start`). */
async function setUp(t: TestContext, objects: KubeObject[], options: Partial<KubernetesSourceOptions> = {}): Promise<Running> {
  const api = await KubeApiServer.start();
  for (const object of objects) api.apply(object);
  const source = new KubernetesSource({ kubeConfig: api.kubeConfig(), ...FAST, ...options });
  t.after(async () => {
    await source.stop();
    await api.close();
  });
  let changes = 0;
  source.onChange(() => changes++);
  return { api, source, changes: () => changes };
}

async function started(t: TestContext, objects: KubeObject[], options: Partial<KubernetesSourceOptions> = {}): Promise<Running> {
  const running = await setUp(t, objects, options);
  await running.source.start();
  await until('every watch open', () => running.api.openWatches() === running.source.status().length);
  return running;
}

function lists(api: KubeApiServer, path: string): number {
  return api.requests.filter((r) => !r.watch && r.path === path).length;
}

function watchesOf(api: KubeApiServer, path: string) {
  return api.requests.filter((r) => r.watch && r.path === path);
}

function portOf(source: KubernetesSource, key: string): unknown {
  const object = source.objects().get(key);
  return object?.kind === 'Service' ? object.spec.ports?.[0]?.port : undefined;
}

test('start() resolves once every kind is listed; list items get apiVersion/kind, watches ask for bookmarks from the list rv', async (t) => {
  const { api, source } = await started(t, EVERY_KIND);
  assert.deepEqual([...source.objects().keys()].sort(), EVERY_KIND.map(keyOf).sort());
  assert.deepEqual(source.issues(), []);
  const svc = source.objects().get('Service/shop/orders');
  assert.equal(svc?.apiVersion, 'v1');
  assert.equal(svc?.kind, 'Service');
  assert.equal((svc?.metadata as unknown as Record<string, unknown>).managedFields, undefined, 'managedFields are dropped');
  assert.equal(source.status().length, KINDS);
  const listRv = api.resourceVersion;
  for (const status of source.status()) {
    assert.equal(status.state, 'synced', status.path);
    assert.equal(status.resourceVersion, listRv, status.path);
    const [watch] = watchesOf(api, status.path);
    assert.ok(watch, `a watch on ${status.path}`);
    assert.equal(watch.query.get('resourceVersion'), listRv);
    assert.equal(watch.query.get('allowWatchBookmarks'), 'true');
  }
});

test('the example mesh, applied as a user would, loads unchanged and without issues', async (t) => {
  const dir = fileURLToPath(new URL('../../../examples/mesh/', import.meta.url));
  const objects: KubeObject[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(dir + file, 'utf8'))) {
      if (doc.contents !== null) objects.push(doc.toJS() as KubeObject);
    }
  }
  assert.ok(objects.length > 10);
  const { source } = await started(t, objects);
  assert.deepEqual(source.issues(), []);
  assert.deepEqual([...source.objects().keys()].sort(), objects.map(keyOf).sort());
  for (const object of objects) {
    const loaded = source.objects().get(keyOf(object)) as unknown as KubeObject;
    assert.deepEqual(loaded.spec, object.spec, keyOf(object));
  }
});

test('watch events add, modify and delete objects', async (t) => {
  const { api, source, changes } = await started(t, [ns, service('orders')]);
  const before = changes();
  api.apply(pod('orders-1', '10.244.1.5'));
  await until('pod added', () => source.objects().has('Pod/shop/orders-1'));
  api.apply(service('orders', 8080));
  await until('service modified', () => portOf(source, 'Service/shop/orders') === 8080);
  api.remove('v1', 'Pod', 'shop', 'orders-1');
  await until('pod deleted', () => !source.objects().has('Pod/shop/orders-1'));
  assert.ok(changes() >= before + 3, 'onChange called for each change');
  assert.equal(lists(api, '/api/v1/pods'), 1, 'no re-list');
});

test('an invalid object is reported by Kubernetes name and field; its last good version stays in force', async (t) => {
  const { api, source } = await started(t, [ns, service('orders')]);
  api.apply(service('orders', 70000));
  await until('issue reported', () => source.issues().length > 0);
  const [issue] = source.issues();
  assert.equal(issue.severity, 'error');
  assert.equal(issue.source, 'kubernetes:v1/Service');
  assert.equal(issue.object, 'Service/shop/orders');
  assert.match(issue.field ?? '', /ports/);
  assert.equal(portOf(source, 'Service/shop/orders'), 80, 'last good version in force');

  // An object that was never valid is reported and absent; deleting it clears its issue.
  const broken = pod('broken', '10.244.1.9');
  (broken.spec as { containers: unknown }).containers = 'not-a-list';
  api.apply(broken);
  await until('second issue', () => source.issues().some((i) => i.object === 'Pod/shop/broken'));
  assert.equal(source.objects().has('Pod/shop/broken'), false);

  api.apply(service('orders', 81));
  await until('fixed service in force', () => portOf(source, 'Service/shop/orders') === 81);
  assert.equal(source.issues().some((i) => i.object === 'Service/shop/orders'), false, 'issue cleared once fixed');
  api.remove('v1', 'Pod', 'shop', 'broken');
  await until('issues cleared', () => source.issues().length === 0);
});

test('a bookmark moves the resourceVersion on without a change, and the next watch resumes from it', async (t) => {
  const { api, source, changes } = await started(t, EVERY_KIND);
  const before = changes();
  const listsBefore = api.requests.filter((r) => !r.watch).length;
  const rv = api.bookmark();
  await until('bookmark seen by every informer', () => source.status().every((s) => s.resourceVersion === rv));
  assert.equal(changes(), before, 'a bookmark is no change');
  assert.equal(source.objects().size, KINDS);

  const watchesBefore = watchesOf(api, '/api/v1/pods').length;
  api.closeWatches();
  await until('pods watch reopened', () => watchesOf(api, '/api/v1/pods').length > watchesBefore && api.openWatches('/api/v1/pods') === 1);
  assert.equal(watchesOf(api, '/api/v1/pods').at(-1)?.query.get('resourceVersion'), rv);
  assert.equal(api.requests.filter((r) => !r.watch).length, listsBefore, 'no re-list');
});

for (const as of ['event', 'http'] as const) {
  test(`410 Gone (as ${as === 'event' ? 'an ERROR watch event' : 'HTTP 410'}) after a disconnect: re-list, and objects deleted meanwhile are removed`, async (t) => {
    const { api, source } = await started(t, [ns, service('orders'), service('payments'), pod('orders-1', '10.244.1.5')]);
    await api.goDown();
    api.remove('v1', 'Service', 'shop', 'payments');
    api.apply(service('orders', 8080));
    api.apply(service('inventory'));
    api.expire({ as });
    const oldRv = source.status().find((s) => s.kind === 'Service')?.resourceVersion;
    const since = api.requests.length;
    await api.comeUp();
    await until('state converged', () => {
      const keys = source.objects();
      const converged = keys.has('Service/shop/inventory') && !keys.has('Service/shop/payments') && portOf(source, 'Service/shop/orders') === 8080;
      return converged && api.openWatches('/api/v1/services') === 1;
    });
    assert.ok(source.objects().has('Pod/shop/orders-1'), 'the pod survives its own re-list');
    const [resume, relist, rewatch] = api.requests.slice(since).filter((r) => r.path === '/api/v1/services');
    assert.equal(resume.watch, true, 'first tries to resume the watch');
    assert.equal(resume.query.get('resourceVersion'), oldRv);
    assert.equal(resume.status, as === 'http' ? 410 : 200);
    assert.equal(relist.watch, false, 'then re-lists');
    assert.equal(rewatch.query.get('resourceVersion'), api.resourceVersion, 'and watches from the new list');
    assert.deepEqual(source.issues(), []);
  });
}

test('410 as an ERROR event on an open watch: re-list and keep watching', async (t) => {
  const { api, source } = await started(t, [ns, service('orders')]);
  api.expire({ openWatches: true });
  await until('re-listed', () => lists(api, '/api/v1/services') === 2 && api.openWatches('/api/v1/services') === 1);
  assert.equal(source.objects().size, 2);
  api.apply(service('inventory'));
  await until('later change seen', () => source.objects().has('Service/shop/inventory'));
});

test('5xx answers: back off with growing delays, then recover and catch up', async (t) => {
  const { api, source } = await started(t, [ns, service('orders')]);
  const failures = 4;
  api.failNext(failures, 500, '/api/v1/services');
  const since = api.requests.length;
  api.closeWatches();
  api.apply(service('inventory'));
  await until('recovered', () => source.objects().has('Service/shop/inventory'));
  const attempts = api.requests.slice(since).filter((r) => r.path === '/api/v1/services');
  assert.deepEqual(
    attempts.slice(0, failures).map((r) => r.status),
    Array(failures).fill(500),
  );
  assert.equal(attempts[failures].status, 200);
  // Each retry waits at least half of initialMs·2^n (equal jitter), so the gaps grow.
  for (let i = 1; i <= failures; i++) {
    const gap = attempts[i].at - attempts[i - 1].at;
    const floor = (FAST.backoff.initialMs * 2 ** (i - 1)) / 2;
    assert.ok(gap >= floor - 2, `retry ${i} came after ${gap} ms, expected at least ${floor} ms`);
  }
});

test('connection refused and 503s at start: start() waits, then loads everything', async (t) => {
  const { api, source } = await setUp(t, EVERY_KIND);
  await api.goDown();
  let done = false;
  const starting = source.start().then(() => (done = true));
  await delay(100);
  assert.equal(done, false, 'start() waits for the first list');
  api.failNext(3, 503);
  await api.comeUp();
  await starting;
  assert.equal(source.objects().size, KINDS);
  assert.ok(api.requests.some((r) => r.status === 503));
});

test('a CRD that is not installed is reported once as a warning; the other kinds load; it is picked up once installed', async (t) => {
  const { api, source, changes } = await setUp(t, EVERY_KIND.filter((o) => o.kind !== 'CiliumNetworkPolicy'));
  api.uninstall('cilium.io');
  await source.start();
  assert.equal(source.objects().size, KINDS - 1);
  const [warning, ...others] = source.issues();
  assert.deepEqual(others, []);
  assert.equal(warning.severity, 'warning');
  assert.equal(warning.source, 'kubernetes:cilium.io/v2/CiliumNetworkPolicy');
  assert.match(warning.message, /\/apis\/cilium\.io\/v2\/ciliumnetworkpolicies.*not installed/);
  assert.equal(source.status().find((s) => s.kind === 'CiliumNetworkPolicy')?.state, 'unavailable');

  const before = changes();
  await delay(4 * FAST.unavailableRetryMs);
  assert.ok(lists(api, '/apis/cilium.io/v2/ciliumnetworkpolicies') >= 3, 'retried');
  assert.equal(source.issues().length, 1, 'still reported once');
  assert.equal(changes(), before, 'retries change nothing');

  api.install('cilium.io');
  api.apply(ciliumPolicy);
  await until('CRD picked up', () => source.objects().has(keyOf(ciliumPolicy)));
  assert.deepEqual(source.issues(), []);
});

test('a watch refused with 403 while its list is allowed is reported once, keeps the listed objects, and clears when allowed', async (t) => {
  const { api, source, changes } = await setUp(t, [ns, pod('orders-1', '10.244.1.5')]);
  api.failNext(3, 403, '/api/v1/pods?watch=true');
  const before = changes();
  await source.start();
  await until('403 reported', () => source.issues().length === 1);
  const [warning] = source.issues();
  assert.equal(warning.severity, 'warning');
  assert.match(warning.message, /not allowed/);
  assert.ok(source.objects().has('Pod/shop/orders-1'), 'listed objects stay');
  await until('watch allowed again', () => api.openWatches('/api/v1/pods') === 1 && source.issues().length === 0);
  assert.equal(lists(api, '/api/v1/pods'), 1, 'retries resume the watch, no re-list');
  // the two listed objects, the warning appearing once and clearing once
  assert.equal(changes() - before, 4);
});

test('lists are read in pages from one snapshot; an expired continue token starts the list over', async (t) => {
  const services = ['a', 'b', 'c', 'd', 'e'].map((name) => service(name));
  const { api, source } = await setUp(t, services, { listPageSize: 2 });
  let pages = 0;
  api.onRequest = (path, query) => {
    if (path !== '/api/v1/services' || query.has('watch')) return;
    pages++;
    // While the first list is between its pages, a Service changes and history is compacted.
    if (pages === 2) {
      api.apply(service('f'));
      api.expire();
    }
  };
  await source.start();
  const servicePages = api.requests.filter((r) => r.path === '/api/v1/services' && !r.watch);
  assert.deepEqual(
    servicePages.map((r) => [r.query.get('limit'), r.query.has('continue'), r.status]),
    [
      ['2', false, 200],
      ['2', true, 410],
      ['2', false, 200],
      ['2', true, 200],
      ['2', true, 200],
    ],
  );
  assert.deepEqual([...source.objects().keys()].filter((k) => k.startsWith('Service/')).sort(), [...services, service('f')].map(keyOf).sort());
  assert.deepEqual(source.issues(), []);
});

test('an abrupt watch close resumes from the last resourceVersion without a re-list', async (t) => {
  const { api, source } = await started(t, [ns, service('orders')]);
  const rv = api.apply(pod('orders-1', '10.244.1.5'));
  await until('pod seen', () => source.objects().has('Pod/shop/orders-1'));
  const listsBefore = api.requests.filter((r) => !r.watch).length;
  const watchesBefore = watchesOf(api, '/api/v1/pods').length;
  assert.equal(api.closeWatches(), KINDS);
  api.apply(pod('orders-2', '10.244.1.6'));
  await until('pod change after the cut seen', () => source.objects().has('Pod/shop/orders-2'));
  const resumed = watchesOf(api, '/api/v1/pods')[watchesBefore];
  assert.equal(resumed.query.get('resourceVersion'), rv);
  assert.equal(api.requests.filter((r) => !r.watch).length, listsBefore, 'no re-list');
});

test('with namespaces, namespaced kinds are watched only there; cluster-scoped kinds everywhere', async (t) => {
  const { api, source } = await started(t, [ns, node, service('orders'), service('billing', 80, 'finance'), pod('orders-1', '10.244.1.5')], {
    namespaces: ['shop'],
  });
  assert.deepEqual([...source.objects().keys()].sort(), ['Namespace//shop', 'Node//node-a', 'Pod/shop/orders-1', 'Service/shop/orders']);
  assert.equal(lists(api, '/api/v1/namespaces/shop/services'), 1);
  assert.equal(lists(api, '/api/v1/services'), 0);
  api.apply(service('ledger', 80, 'finance'));
  api.apply(service('cart'));
  await until('shop change seen', () => source.objects().has('Service/shop/cart'));
  assert.equal(source.objects().has('Service/finance/ledger'), false);
});

test('stop() closes every watch and start() of a stopped source returns', async (t) => {
  const { api, source } = await started(t, [ns]);
  await source.stop();
  await until('all watches closed', () => api.openWatches() === 0);
  const requests = api.requests.length;
  await delay(100);
  assert.equal(api.requests.length, requests, 'nothing is retried after stop');

  const pending = await setUp(t, []);
  await pending.api.goDown();
  const starting = pending.source.start();
  await delay(50);
  await pending.source.stop();
  await starting;
});

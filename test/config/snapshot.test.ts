// The mesh snapshot built from objects written in code: services and endpoints, identities,
// route attachment and status, policies, and the needs-L7 set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationPolicy, CiliumNetworkPolicy, MeshObject, NetworkPolicy, ReferenceGrant } from '../../config/resources.js';
import { buildSnapshot, needsL7, servicePortKey, workloadPortKey, MIN_CLUSTER_IDENTITY, MAX_CLUSTER_IDENTITY_EXCLUSIVE } from '../../config/snapshot/index.js';
import type { AttachedHttpMatch } from '../../config/snapshot/index.js';
import { httpRoute, keyed, pod, service, slice } from './snapshot-objects.js';

test('endpoints come from EndpointSlices, with pods from targetRef or by IP', () => {
  const snap = buildSnapshot(
    keyed(
      pod('shop', 'web-1', '10.0.0.1', { app: 'web' }),
      pod('shop', 'web-2', '10.0.0.2', { app: 'web' }),
      service('shop', 'web', '10.96.0.1', [{ name: 'http', port: 80, targetPort: 8080 }], { app: 'web' }),
      slice('shop', 'web', 'web-abc', [{ name: 'http', port: 8080 }], [
        { ip: '10.0.0.2', node: 'node-b', zone: 'z1' },
        { ip: '10.0.0.1', pod: 'web-1', ready: false },
      ]),
    ),
  );
  const web = snap.services.get('shop/web');
  assert.ok(web);
  assert.equal(web.fqdn, 'web.shop.svc.cluster.local');
  assert.deepEqual(web.vips, ['10.96.0.1']);
  assert.equal(web.endpointSource, 'EndpointSlice');
  const port = web.ports[0];
  assert.ok(port);
  assert.equal(port.targetPort, 8080);
  assert.equal(port.isHttp, true);
  assert.equal(port.isGrpc, false);
  assert.deepEqual(
    port.endpoints.map((e) => [e.address, e.port, e.pod, e.ready, e.nodeName, e.zone]),
    [
      ['10.0.0.1', 8080, 'shop/web-1', false, undefined, undefined],
      ['10.0.0.2', 8080, 'shop/web-2', true, 'node-b', 'z1'],
    ],
  );
  assert.deepEqual(web.workloads, ['shop/web-1', 'shop/web-2']);
  assert.equal(snap.servicesByVip.get('10.96.0.1'), 'shop/web');
});

test('without a slice, endpoints come from Running pods the selector matches, named targetPort resolved per pod', () => {
  const snap = buildSnapshot(
    keyed(
      pod('shop', 'api-1', '10.0.0.1', { app: 'api' }, { ports: [{ name: 'grpc', containerPort: 9000 }] }),
      pod('shop', 'api-2', '10.0.0.2', { app: 'api' }, { ports: [{ name: 'grpc', containerPort: 9001 }] }),
      pod('shop', 'api-3', '10.0.0.3', { app: 'api' }, { phase: 'Pending', ports: [{ name: 'grpc', containerPort: 9000 }] }),
      pod('shop', 'other', '10.0.0.4', { app: 'other' }, { ports: [{ name: 'grpc', containerPort: 9000 }] }),
      service('shop', 'api', '10.96.0.2', [{ name: 'grpc-api', port: 50051, targetPort: 'grpc' }], { app: 'api' }),
    ),
  );
  const api = snap.services.get('shop/api');
  assert.ok(api);
  assert.equal(api.endpointSource, 'selector');
  const port = api.ports[0];
  assert.ok(port);
  assert.equal(port.targetPort, undefined);
  assert.equal(port.targetPortName, 'grpc');
  assert.equal(port.isGrpc, true);
  assert.equal(port.isHttp2, true);
  assert.deepEqual(port.endpoints.map((e) => `${e.address}:${e.port}`), ['10.0.0.1:9000', '10.0.0.2:9001']);
  assert.deepEqual(snap.workloads.get('shop/api-1')?.services, ['shop/api']);
  assert.deepEqual(snap.workloads.get('shop/other')?.services, []);
});

test('hostNetwork pods and pods without IP are not workloads; workloads carry SPIFFE id and identity', () => {
  const snap = buildSnapshot(
    keyed(
      pod('shop', 'web-1', '10.0.0.1', { app: 'web' }, { sa: 'web' }),
      pod('kube-system', 'agent', '172.30.0.11', { app: 'agent' }, { hostNetwork: true }),
      { ...pod('shop', 'starting', '', { app: 'web' }), status: { phase: 'Pending' } },
    ),
  );
  assert.deepEqual([...snap.workloads.keys()], ['shop/web-1']);
  const web = snap.workloads.get('shop/web-1');
  assert.ok(web);
  assert.equal(web.spiffeId, 'spiffe://cluster.local/ns/shop/sa/web');
  assert.ok(web.identity >= MIN_CLUSTER_IDENTITY && web.identity < MAX_CLUSTER_IDENTITY_EXCLUSIVE);
  assert.equal(snap.identities.get(web.identity)?.workloads[0], 'shop/web-1');
  assert.equal(snap.identities.get(2)?.reserved, 'world');
  assert.equal(snap.identities.get(1)?.reserved, 'host');
  assert.equal(snap.workloadsByIp.get('10.0.0.1'), 'shop/web-1');
});

test('identities are per (namespace, label set), stable across builds and independent of input order', () => {
  const objects: MeshObject[] = [];
  for (let i = 0; i < 300; i++) {
    objects.push(pod(`ns${i % 7}`, `p${i}`, `10.1.${i >> 8}.${i & 255}`, { app: `a${i % 50}`, 'pod-template-hash': `h${i}` }, { sa: 'sa' }));
  }
  const a = buildSnapshot(keyed(...objects));
  const b = buildSnapshot(keyed(...[...objects].reverse()));
  const ids = (s: typeof a) => [...s.workloads.values()].map((w) => `${w.key}=${w.identity}`).sort();
  assert.deepEqual(ids(a), ids(b));
  // Same namespace and labels (pod-template-hash aside) share one identity; different namespaces do not.
  const p0 = a.workloads.get('ns0/p0')?.identity;
  const p7 = a.workloads.get('ns0/p7')?.identity;
  assert.notEqual(p0, p7);
  const sameLabels = [...a.workloads.values()].filter((w) => w.namespace === 'ns1' && w.labels.app === 'a1');
  assert.ok(sameLabels.length >= 1);
  assert.equal(new Set(sameLabels.map((w) => w.identity)).size, 1);
  const distinct = new Set([...a.workloads.values()].map((w) => `${w.namespace}/${w.labels.app}`));
  assert.equal(new Set([...a.workloads.values()].map((w) => w.identity)).size, distinct.size);
});

function rule(path: { type: 'Exact' | 'PathPrefix'; value: string }, extra: Record<string, unknown> = {}, backend = 'web') {
  return { matches: [{ path, ...extra }], backendRefs: [{ name: backend, port: 80 }] };
}

test('HTTPRoute matches on one Service port are ordered by Gateway API precedence', () => {
  const snap = buildSnapshot(
    keyed(
      service('shop', 'web', '10.96.0.1', [{ name: 'http', port: 80 }], { app: 'web' }),
      httpRoute('shop', 'b-newer', { name: 'web', port: 80 }, [rule({ type: 'PathPrefix', value: '/api' })], '2024-02-01T00:00:00Z'),
      httpRoute('shop', 'a-older', { name: 'web', port: 80 }, [rule({ type: 'PathPrefix', value: '/api' })], '2024-01-01T00:00:00Z'),
      httpRoute('shop', 'c-same-time', { name: 'web' }, [rule({ type: 'PathPrefix', value: '/api' })], '2024-01-01T00:00:00Z'),
      httpRoute('shop', 'exact', { name: 'web' }, [rule({ type: 'Exact', value: '/' })], '2025-01-01T00:00:00Z'),
      httpRoute('shop', 'longer', { name: 'web' }, [rule({ type: 'PathPrefix', value: '/api/v1' })], '2025-01-01T00:00:00Z'),
      httpRoute('shop', 'method', { name: 'web' }, [
        rule({ type: 'PathPrefix', value: '/api' }, { headers: [{ name: 'a', value: '1' }, { name: 'b', value: '2' }] }),
        rule({ type: 'PathPrefix', value: '/api' }, { method: 'GET' }),
        rule({ type: 'PathPrefix', value: '/api' }, { headers: [{ name: 'a', value: '1' }] }),
        rule({ type: 'PathPrefix', value: '/api' }, { headers: [{ name: 'a', value: '1' }], queryParams: [{ name: 'q', value: '1' }] }),
      ], '2025-01-01T00:00:00Z'),
    ),
  );
  const attached = snap.attachments.get(servicePortKey('shop/web', 80, 'TCP'));
  assert.ok(attached);
  const order = attached.http.map((m: AttachedHttpMatch) => `${m.route.split('/')[2]}#${m.ruleIndex}`);
  assert.deepEqual(order, ['exact#0', 'longer#0', 'method#1', 'method#0', 'method#3', 'method#2', 'a-older#0', 'c-same-time#0', 'b-newer#0']);
  const status = snap.routes.get('HTTPRoute/shop/exact')?.parents[0]?.conditions.map((c) => `${c.type}=${c.status}`);
  assert.deepEqual(status, ['Accepted=True', 'ResolvedRefs=True']);
});

test('backendRefs that do not resolve give Gateway API conditions, never a crash', () => {
  const grant: ReferenceGrant = {
    apiVersion: 'gateway.networking.k8s.io/v1beta1',
    kind: 'ReferenceGrant',
    metadata: { name: 'allow-shop', namespace: 'granted' },
    spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'shop' }], to: [{ group: '', kind: 'Service' }] },
  };
  const objects = keyed(
    service('shop', 'web', '10.96.0.1', [{ name: 'http', port: 80 }], { app: 'web' }),
    service('other', 'remote', '10.96.0.2', [{ port: 80 }], { app: 'remote' }),
    service('granted', 'remote', '10.96.0.3', [{ port: 80 }], { app: 'remote' }),
    httpRoute('shop', 'cross', { name: 'web' }, [{ backendRefs: [{ name: 'remote', namespace: 'other', port: 80 }] }]),
    httpRoute('shop', 'granted', { name: 'web' }, [{ backendRefs: [{ name: 'remote', namespace: 'granted', port: 80 }] }]),
    httpRoute('shop', 'missing', { name: 'web' }, [{ backendRefs: [{ name: 'nope', port: 80 }, { name: 'web', port: 80, weight: 3 }] }]),
    httpRoute('shop', 'bad-port', { name: 'web' }, [{ backendRefs: [{ name: 'web', port: 81 }] }]),
    httpRoute('shop', 'kind', { name: 'web' }, [{ backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'b' }] }]),
    httpRoute('shop', 'no-parent', { name: 'ghost' }, [{ backendRefs: [{ name: 'web', port: 80 }] }]),
    httpRoute('shop', 'wrong-port', { name: 'web', port: 9999 }, [{ backendRefs: [{ name: 'web', port: 80 }] }]),
    grant,
  );
  const snap = buildSnapshot(objects);
  const conditions = (name: string) =>
    snap.routes.get(`HTTPRoute/shop/${name}`)?.parents[0]?.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);
  assert.deepEqual(conditions('cross'), ['Accepted=True/Accepted', 'ResolvedRefs=False/RefNotPermitted']);
  assert.deepEqual(conditions('granted'), ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']);
  assert.deepEqual(conditions('missing'), ['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']);
  assert.deepEqual(conditions('bad-port'), ['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']);
  assert.deepEqual(conditions('kind'), ['Accepted=True/Accepted', 'ResolvedRefs=False/InvalidKind']);
  assert.deepEqual(conditions('no-parent'), ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs']);
  assert.deepEqual(conditions('wrong-port'), ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs']);
  const missing = snap.attachments.get(servicePortKey('shop/web', 80, 'TCP'))?.http.find((m) => m.route === 'HTTPRoute/shop/missing');
  assert.deepEqual(missing?.backends.map((b) => [b.resolved, b.weight, b.service, b.reason]), [
    [false, 1, undefined, 'BackendNotFound'],
    [true, 3, 'shop/web', undefined],
  ]);
  const granted = snap.attachments.get(servicePortKey('shop/web', 80, 'TCP'))?.http.find((m) => m.route === 'HTTPRoute/shop/granted');
  assert.equal(granted?.backends[0]?.fqdn, 'remote.granted.svc.cluster.local');
  assert.ok(snap.issues.some((i) => i.object === 'HTTPRoute/shop/cross' && /RefNotPermitted/.test(i.message)));
  assert.ok(snap.issues.some((i) => i.object === 'HTTPRoute/shop/no-parent' && /NoMatchingParent/.test(i.message)));
});

const frontend = pod('shop', 'frontend-1', '10.0.0.10', { app: 'frontend' }, { sa: 'frontend' });
const orders = pod('shop', 'orders-1', '10.0.0.20', { app: 'orders' }, { sa: 'orders', ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }] });
const payments = pod('shop', 'payments-1', '10.0.0.30', { app: 'payments' }, { sa: 'payments', ports: [{ name: 'http', containerPort: 8080 }] });

test('a NetworkPolicy makes the pods it selects default deny in its directions; others stay open', () => {
  const policy: NetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'orders-from-frontend', namespace: 'shop' },
    spec: {
      podSelector: { matchLabels: { app: 'orders' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }, { ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }], ports: [{ port: 'http' }] }],
    },
  };
  const snap = buildSnapshot(keyed(frontend, orders, payments, policy));
  const frontendId = snap.workloads.get('shop/frontend-1')?.identity as number;
  const ordersPolicy = snap.workloadPolicies.get('shop/orders-1');
  assert.ok(ordersPolicy);
  assert.equal(ordersPolicy.ingress.selected, true);
  assert.equal(ordersPolicy.egress.selected, false);
  assert.deepEqual(ordersPolicy.ingress.policies, ['NetworkPolicy/shop/orders-from-frontend']);
  const r = ordersPolicy.ingress.rules[0];
  assert.ok(r);
  assert.deepEqual(r.peers.identities, [frontendId]);
  assert.deepEqual(r.peers.cidrs, [{ cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] }]);
  assert.deepEqual(r.ports, [{ protocol: 'TCP', port: 8080, endPort: 8080 }]);
  assert.equal(r.verdict, 'allow');
  assert.equal(snap.workloadPolicies.get('shop/payments-1')?.ingress.selected, false);
  assert.deepEqual(snap.policies.get('NetworkPolicy/shop/orders-from-frontend')?.selectedWorkloads, ['shop/orders-1']);
  // L3/L4 policy alone never needs L7.
  assert.equal(snap.l7.size, 0);
});

test('a CiliumNetworkPolicy L7 rule marks only the policed port as needing L7', () => {
  const cnp: CiliumNetworkPolicy = {
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
      ingressDeny: [{ fromEntities: ['world'] }],
    },
  };
  const snap = buildSnapshot(keyed(frontend, orders, payments, cnp));
  assert.equal(needsL7(snap, 'shop/orders-1', 8080, 'TCP'), true);
  assert.equal(needsL7(snap, 'shop/orders-1', 9090, 'TCP'), false);
  assert.equal(needsL7(snap, 'shop/payments-1', 8080, 'TCP'), false);
  const mark = snap.l7.get(workloadPortKey('shop/orders-1', 8080, 'TCP'));
  assert.deepEqual(mark?.reasons.map((r) => r.kind), ['l7-policy']);
  const rules = snap.workloadPolicies.get('shop/orders-1')?.ingress.rules ?? [];
  const allow = rules.find((r) => r.verdict === 'allow');
  assert.deepEqual(allow?.http[0]?.methods, [{ type: 'regex', value: 'POST' }]);
  assert.deepEqual(allow?.http[0]?.paths, [{ type: 'regex', value: '/orders' }]);
  const deny = rules.find((r) => r.verdict === 'deny');
  assert.deepEqual(deny?.peers.identities, [2]);
});

test('an AuthorizationPolicy with operations is L7; one with principals only stays L3/L4', () => {
  const l7: AuthorizationPolicy = {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'payments', namespace: 'shop' },
    spec: {
      selector: { matchLabels: { app: 'payments' } },
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/orders'] } }], to: [{ operation: { methods: ['POST'], paths: ['/charge*'], ports: ['8080'] } }] }],
    },
  };
  const l4: AuthorizationPolicy = {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'orders', namespace: 'shop' },
    spec: { selector: { matchLabels: { app: 'orders' } }, rules: [{ from: [{ source: { namespaces: ['shop'] } }] }] },
  };
  const snap = buildSnapshot(keyed(frontend, orders, payments, l7, l4));
  const ordersId = snap.workloads.get('shop/orders-1')?.identity as number;
  const pay = snap.workloadPolicies.get('shop/payments-1');
  assert.equal(pay?.authorization.selected, true);
  assert.equal(pay?.ingress.selected, false);
  const r = pay?.authorization.rules[0];
  assert.deepEqual(r?.peers.identities, [ordersId]);
  assert.deepEqual(r?.peers.principals, [{ type: 'exact', value: 'spiffe://cluster.local/ns/shop/sa/orders' }]);
  assert.deepEqual(r?.http[0]?.paths, [{ type: 'prefix', value: '/charge' }]);
  assert.equal(needsL7(snap, 'shop/payments-1', 8080, 'TCP'), true);
  assert.equal(needsL7(snap, 'shop/orders-1', 8080, 'TCP'), false);
  assert.equal(snap.workloadPolicies.get('shop/orders-1')?.authorization.rules[0]?.peers.identities.length, 3);
});

test('a route attached to a Service marks its backends on the target port, and the service port', () => {
  const snap = buildSnapshot(
    keyed(
      orders,
      payments,
      service('shop', 'orders', '10.96.0.20', [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'metrics', port: 9090 }], { app: 'orders' }),
      httpRoute('shop', 'orders', { name: 'orders', port: 80 }, [{ backendRefs: [{ name: 'orders', port: 80 }] }]),
    ),
  );
  assert.equal(needsL7(snap, 'shop/orders-1', 8080, 'TCP'), true);
  assert.equal(needsL7(snap, 'shop/orders-1', 9090, 'TCP'), false);
  assert.deepEqual(snap.serviceL7.get(servicePortKey('shop/orders', 80, 'TCP'))?.vips, ['10.96.0.20']);
  assert.equal(snap.serviceL7.has(servicePortKey('shop/orders', 9090, 'TCP')), false);
});

test('a waypoint label on a namespace marks its services when the waypoint Gateway exists', () => {
  const snap = buildSnapshot(
    keyed(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'istio.io/use-waypoint': 'waypoint' } } },
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'waypoint', namespace: 'shop' }, spec: { gatewayClassName: 'skiff-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] } },
      payments,
      service('shop', 'payments', '10.96.0.30', [{ port: 80, targetPort: 8080 }], { app: 'payments' }),
    ),
  );
  assert.equal(snap.services.get('shop/payments')?.waypoint?.found, true);
  assert.deepEqual(snap.l7.get(workloadPortKey('shop/payments-1', 8080, 'TCP'))?.reasons.map((r) => r.kind), ['waypoint']);
});

test('MeshConfig defaults are filled in', () => {
  const snap = buildSnapshot(new Map());
  assert.deepEqual(
    { ...snap.meshConfig },
    { trustDomain: 'cluster.local', encryption: 'none', proxyPort: 15001, hbonePort: 15008, clusterDomain: 'cluster.local', certificateTTL: '24h' },
  );
  assert.ok(Object.isFrozen(snap));
  assert.equal(snap.version, '1');
  assert.equal(buildSnapshot(new Map(), snap).version, '2');
});

test('GRPCRoute matches order by service, then method, then headers; a consumer route (another namespace) is refused, not served to every client', () => {
  const grpc = (name: string, namespace: string, method: { service?: string; method?: string } | undefined, headers = 0) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GRPCRoute' as const,
    metadata: { name, namespace },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'inventory', namespace: 'shop' }],
      rules: [
        {
          matches: [{ ...(method ? { method } : {}), headers: Array.from({ length: headers }, (_, i) => ({ name: `h${i}`, value: 'v' })) }],
          backendRefs: [{ name: 'inventory', namespace: 'shop', port: 50051 }],
        },
      ],
    },
  });
  const grant: ReferenceGrant = {
    apiVersion: 'gateway.networking.k8s.io/v1beta1',
    kind: 'ReferenceGrant',
    metadata: { name: 'grpc-from-web', namespace: 'shop' },
    spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'GRPCRoute', namespace: 'web' }], to: [{ group: '', kind: 'Service', name: 'inventory' }] },
  };
  const snap = buildSnapshot(
    keyed(
      service('shop', 'inventory', '10.96.0.30', [{ name: 'grpc', port: 50051 }], { app: 'inventory' }),
      grpc('any', 'shop', undefined, 2),
      grpc('service', 'shop', { service: 'shop.Inventory' }),
      grpc('method', 'shop', { service: 'shop.Inventory', method: 'Reserve' }),
      grpc('headers', 'shop', { service: 'shop.Inventory', method: 'Reserve' }, 1),
      grpc('consumer', 'web', { service: 'shop.Inventory' }),
      grant,
    ),
  );
  const attached = snap.attachments.get(servicePortKey('shop/inventory', 50051, 'TCP'));
  assert.deepEqual(attached?.grpc.map((m) => m.route), [
    'GRPCRoute/shop/headers',
    'GRPCRoute/shop/method',
    'GRPCRoute/shop/service',
    'GRPCRoute/shop/any',
  ]);
  const consumer = snap.routes.get('GRPCRoute/web/consumer')?.parents[0]?.conditions[0];
  assert.deepEqual([consumer?.type, consumer?.status, consumer?.reason], ['Accepted', 'False', 'UnsupportedValue']);
  assert.match(consumer?.message ?? '', /consumer routes .* not supported: attach the route in namespace shop/);
  assert.deepEqual(snap.routes.get('GRPCRoute/web/consumer')?.attachedTo, []);
  assert.ok(snap.issues.some((i) => i.object === 'GRPCRoute/web/consumer' && i.field === 'spec.parentRefs[0]' && /^UnsupportedValue/.test(i.message)));
  assert.equal(snap.services.get('shop/inventory')?.ports[0]?.isGrpc, true);
});

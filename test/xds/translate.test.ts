// The translator on the example shop mesh: what each client class is served, that every resource
// passes the rule checker and the cross-references, what the RBAC filters let through, that a
// resource failing its checks is withheld (the last good one stays, the issue names the mesh
// object), and that a change re-translates only what it touches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointSlice, Gateway, HTTPRoute, MeshObject } from '../../config/resources.js';
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  INVALID_BACKEND_CLUSTER,
  LISTENER_TYPE,
  PROXY_UPSTREAM_MARK,
  ROUTE_TYPE,
  SECRET_TYPE,
  SO_MARK,
} from '../../xds/translate/constants.js';
import { Translator, routeRefs, type Translation } from '../../xds/translate/translator.js';
import { typeOf } from '../../xds/translate/encode.js';
import { TRANSPARENT_LISTENER } from '../../xds/translate/listeners.js';
import type { Json } from '../../xds/translate/types.js';
import { validateResource } from '../../xds/validate/index.js';
import { EXAMPLE_MESH, message, objectsFromDirectory, served, snapshotOf } from './translate-fixtures.js';
import { rbacAllows } from './translate-rbac-eval.js';

type Obj = { [k: string]: unknown };

const base = objectsFromDirectory(EXAMPLE_MESH);

function translateExample(objects: ReadonlyMap<string, MeshObject> = base): Translation {
  return new Translator().translate(snapshotOf(objects));
}

function hcmOf(chain: Obj): Obj {
  return ((chain.filters as Obj[])[0] as Obj).typed_config as Obj;
}

function chainsOf(t: Translation, node: string): Obj[] {
  return message(t, `node-proxy/${node}`, LISTENER_TYPE, TRANSPARENT_LISTENER).filter_chains as Obj[];
}

/** A served resource decoded from its bytes (enums by name): builders may hand over parts as protobufjs messages. */
function servedObject(t: Translation, classKey: string, typeUrl: string, name: string): Obj {
  const type = typeOf(typeUrl);
  return type.toObject(type.decode(served(t, classKey, typeUrl, name).value), { enums: String, longs: Number });
}

/** Checks every served resource of every class again, independently of the translator. */
function assertAllServedValid(t: Translation): void {
  for (const [key, c] of t.classes) {
    for (const [typeUrl, resources] of c.resources) {
      for (const [name, built] of resources) {
        assert.deepEqual(validateResource(typeUrl, built.value), [], `${key} ${typeUrl} ${name} breaks a rule`);
        // The translator checks the encoded message; the builder's plain object must have had
        // nothing for protobufjs's fromObject to drop (a misspelt field, an unknown enum name).
        assert.deepEqual(validateResource(typeUrl, built.message), [], `${key} ${typeUrl} ${name}: its builder wrote something the encoder dropped`);
        assert.ok(built.value.length > 0);
      }
    }
  }
}

test('example mesh: node proxies, proxyless clients; every served resource passes the checker', () => {
  const t = translateExample();
  assert.deepEqual([...t.classes.keys()].sort(), ['node-proxy/node-a', 'node-proxy/node-b', 'proxyless']);
  assert.deepEqual(t.issues, []);
  assertAllServedValid(t);
  const proxyless = t.classes.get('proxyless')?.resources;
  assert.ok(proxyless?.get(LISTENER_TYPE)?.has('inventory.shop.svc.cluster.local:50051'));
  assert.ok(proxyless?.get(LISTENER_TYPE)?.has('orders.shop.svc.cluster.local:8080'));
  assert.equal(proxyless?.get(SECRET_TYPE), undefined, 'proxyless clients get no SDS secrets');
  assert.deepEqual([...(t.classes.get('node-proxy/node-a')?.resources.get(SECRET_TYPE)?.keys() ?? [])].sort(), ['ROOTCA', 'default']);
});

test('a misspelt field in a builder would fail the served-resource check, though the encoder drops it silently', () => {
  const t = translateExample();
  const built = t.classes.get('node-proxy/node-a')?.resources.get(CLUSTER_TYPE)?.get('outbound|8080||orders-v1.shop.svc.cluster.local');
  assert.ok(built);
  const misspelt = { ...built.message, conect_timeout: { seconds: 1 } };
  const type = typeOf(CLUSTER_TYPE);
  assert.deepEqual(type.encode(type.fromObject(misspelt)).finish(), built.value, 'fromObject drops the unknown key');
  assert.ok(validateResource(CLUSTER_TYPE, misspelt).some((v) => v.rule === 'unknown_field' && v.path === 'conect_timeout'));
  assert.throws(() => assertAllServedValid({ ...t, classes: new Map([['x', { key: 'x', client: { role: 'proxyless' }, resources: new Map([[CLUSTER_TYPE, new Map([[built.name, { ...built, message: misspelt }]])]]) }]]) }));
});

test('cross-references hold in every class: route clusters exist, RDS names served, every EDS cluster has endpoints', () => {
  const t = translateExample();
  for (const [key, c] of t.classes) {
    const clusters = c.resources.get(CLUSTER_TYPE) ?? new Map();
    const routes = c.resources.get(ROUTE_TYPE) ?? new Map();
    const endpoints = c.resources.get(ENDPOINT_TYPE) ?? new Map();
    for (const rc of routes.values()) {
      const virtualHosts = rc.message.virtual_hosts as Obj[];
      for (const ref of routeRefs(virtualHosts.flatMap((v) => v.routes as Json[]))) {
        assert.ok(ref === INVALID_BACKEND_CLUSTER || clusters.has(ref), `${key}: ${rc.name} names missing cluster ${ref}`);
      }
    }
    for (const listener of c.resources.get(LISTENER_TYPE)?.values() ?? []) {
      for (const name of listener.refs) assert.ok(routes.has(name), `${key}: listener ${listener.name} needs RDS ${name}`);
    }
    for (const cluster of clusters.values()) {
      if (cluster.message.type === 'EDS') assert.ok(endpoints.has(cluster.name), `${key}: no endpoints for ${cluster.name}`);
    }
  }
});

test('node proxy: one transparent listener, a chain per L7 destination (VIPs, and pods on every node), passthrough default', () => {
  const t = translateExample();
  const listener = message(t, 'node-proxy/node-a', LISTENER_TYPE, TRANSPARENT_LISTENER);
  assert.deepEqual((listener.address as Obj).socket_address, { address: '0.0.0.0', port_value: 15001 });
  assert.deepEqual(listener.transparent, { value: true });
  assert.equal(((listener.listener_filters as Obj[])[0] as Obj).name, 'envoy.filters.listener.original_dst');
  const names = (n: string) => chainsOf(t, n).map((c) => c.name).sort();
  const all = ['pod|10.244.1.20:8080', 'pod|10.244.1.40:8080', 'pod|10.244.2.20:8080', 'pod|10.244.2.21:8080', 'pod|10.244.2.30:50051', 'vip|10.96.0.20:8080', 'vip|10.96.0.30:50051'];
  assert.deepEqual(names('node-a'), all);
  assert.deepEqual(names('node-b'), all);
  const orders = chainsOf(t, 'node-a').find((c) => c.name === 'vip|10.96.0.20:8080') as Obj;
  assert.deepEqual(orders.filter_chain_match, { prefix_ranges: [{ address_prefix: '10.96.0.20', prefix_len: { value: 32 } }], destination_port: { value: 8080 } });
  const hcm = hcmOf(orders);
  assert.equal(hcm.codec_type, 'AUTO');
  assert.equal((hcm.rds as Obj).route_config_name, 'orders.shop.svc.cluster.local:8080');
  assert.equal(((hcm.http_filters as Obj[]).at(-1) as Obj).name, 'envoy.filters.http.router');
  const fallback = listener.default_filter_chain as Obj;
  assert.equal((((fallback.filters as Obj[])[0] as Obj).typed_config as Obj).cluster, 'PassthroughCluster');
});

test('every node proxy has the chain of every L7 pod on the other nodes, with its RBAC (the source node steers the flow)', () => {
  const snapshot = snapshotOf(base);
  const t = new Translator().translate(snapshot);
  const listenerType = typeOf(LISTENER_TYPE);
  const decoded = (node: string) => {
    const bytes = t.classes.get(`node-proxy/${node}`)?.resources.get(LISTENER_TYPE)?.get(TRANSPARENT_LISTENER)?.value as Uint8Array;
    return listenerType.toObject(listenerType.decode(bytes), { longs: Number, enums: String }).filter_chains as Obj[];
  };
  const matching = (chains: Obj[], ip: string, port: number) =>
    chains.filter((c) => {
      const match = c.filter_chain_match as Obj;
      const ranges = match.prefix_ranges as Obj[];
      return (match.destination_port as Obj).value === port && ranges.some((r) => r.address_prefix === ip);
    });
  let remote = 0;
  for (const [node, other] of [['node-a', 'node-b'], ['node-b', 'node-a']] as const) {
    const served = decoded(node);
    for (const l7 of snapshot.l7.values()) {
      const workload = snapshot.workloads.get(l7.workload);
      if (workload?.nodeName !== other) continue;
      for (const ip of workload.ips) {
        const found = matching(served, ip, l7.port);
        assert.equal(found.length, 1, `${node}: one chain for ${l7.workload} at ${ip}:${l7.port} (on ${other})`);
        const home = matching(decoded(other), ip, l7.port);
        assert.deepEqual(hcmOf(found[0] as Obj).http_filters, hcmOf(home[0] as Obj).http_filters, `${node}: the RBAC of ${l7.workload} as on its own node`);
        remote++;
      }
    }
  }
  assert.equal(remote, 5, 'two L7 pods on node-a, three on node-b');
  // Payments runs on node-a; a flow from an orders pod on node-b is judged by node-b's proxy.
  const payments = hcmOf(chainsOf(t, 'node-b').find((c) => c.name === 'pod|10.244.1.40:8080') as Obj).http_filters as Obj[];
  assert.ok(payments.some((f) => f.name !== 'envoy.filters.http.router'), 'an RBAC filter before the router');
  assert.equal(rbacAllows(payments, { sourceIp: '10.244.2.20', method: 'POST', path: '/v1/charges' }), true);
  assert.equal(rbacAllows(payments, { sourceIp: '10.244.1.10', method: 'POST', path: '/v1/charges' }), false, 'frontend may not charge');
});

test('RBAC: orders accepts only POST /orders from frontend; payments only the orders service account charge/refund calls', () => {
  const t = translateExample();
  const filtersOf = (node: string, chain: string) => hcmOf(chainsOf(t, node).find((c) => c.name === chain) as Obj).http_filters as Obj[];
  const orders = filtersOf('node-a', 'vip|10.96.0.20:8080');
  assert.equal(rbacAllows(orders, { sourceIp: '10.244.1.10', method: 'POST', path: '/orders' }), true);
  assert.equal(rbacAllows(orders, { sourceIp: '10.244.1.10', method: 'GET', path: '/orders' }), false);
  assert.equal(rbacAllows(orders, { sourceIp: '10.244.1.10', method: 'POST', path: '/orders/1' }), false, 'Cilium paths are whole-path regexes');
  assert.equal(rbacAllows(orders, { sourceIp: '10.244.2.30', method: 'POST', path: '/orders' }), false, 'inventory is not frontend');
  const ordersPod = filtersOf('node-a', 'pod|10.244.1.20:8080');
  assert.equal(rbacAllows(ordersPod, { sourceIp: '10.244.1.10', method: 'POST', path: '/orders' }), true);
  assert.equal(rbacAllows(ordersPod, { sourceIp: '10.244.1.10', method: 'DELETE', path: '/orders' }), false);
  const payments = filtersOf('node-a', 'pod|10.244.1.40:8080');
  assert.equal(rbacAllows(payments, { sourceIp: '10.244.2.20', method: 'POST', path: '/v1/charges' }), true, 'an orders pod by address');
  assert.equal(rbacAllows(payments, { sourceIp: '192.0.2.1', principal: 'spiffe://cluster.local/ns/shop/sa/orders', method: 'POST', path: '/v1/refunds/42' }), true, 'by SPIFFE principal over mTLS');
  assert.equal(rbacAllows(payments, { sourceIp: '10.244.2.20', method: 'GET', path: '/v1/charges' }), false);
  assert.equal(rbacAllows(payments, { sourceIp: '10.244.1.10', method: 'POST', path: '/v1/charges' }), false, 'frontend may not charge');
  const inventory = filtersOf('node-a', 'vip|10.96.0.30:50051');
  assert.deepEqual(inventory.map((f) => f.name), ['envoy.filters.http.router'], 'no L7 policy on inventory: routing only');
});

test('clusters: EDS per Service port, HTTP/2 for gRPC, breakers and outlier detection, upstream SO_MARK, one cluster shared by all classes', () => {
  const t = translateExample();
  const inventory = message(t, 'node-proxy/node-a', CLUSTER_TYPE, 'outbound|50051||inventory.shop.svc.cluster.local');
  assert.equal(inventory.type, 'EDS');
  // as served: the builder's object holds the constant parts as converted messages (constant.ts)
  const servedCluster = servedObject(t, 'node-proxy/node-a', CLUSTER_TYPE, 'outbound|50051||inventory.shop.svc.cluster.local');
  assert.deepEqual(servedCluster.eds_cluster_config, { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'outbound|50051||inventory.shop.svc.cluster.local' });
  assert.deepEqual(servedCluster.connect_timeout, { seconds: 5, nanos: 0 });
  const options = (inventory.typed_extension_protocol_options as Obj)['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'] as Obj;
  assert.deepEqual(options.explicit_http_config, { http2_protocol_options: {} });
  const mark = ((servedCluster.upstream_bind_config as Obj).socket_options as Obj[])[0] as Obj;
  assert.equal(mark.name, SO_MARK);
  assert.equal(mark.int_value, PROXY_UPSTREAM_MARK);
  assert.ok(inventory.circuit_breakers && inventory.outlier_detection);
  const orders = message(t, 'node-proxy/node-a', CLUSTER_TYPE, 'outbound|8080||orders-v1.shop.svc.cluster.local');
  assert.equal(orders.typed_extension_protocol_options, undefined, 'HTTP/1.1 upstream for an http port');
  const shared = t.classes.get('proxyless')?.resources.get(CLUSTER_TYPE)?.get('outbound|50051||inventory.shop.svc.cluster.local');
  assert.equal(shared, t.classes.get('node-proxy/node-a')?.resources.get(CLUSTER_TYPE)?.get('outbound|50051||inventory.shop.svc.cluster.local'), 'one encoded cluster for every class (gRPC ignores the bind config)');
  assert.equal(t.classes.get('proxyless')?.resources.get(CLUSTER_TYPE)?.has('PassthroughCluster'), false, 'no ORIGINAL_DST cluster for gRPC clients');
});

test('endpoints: health from EndpointSlice conditions, locality by zone', () => {
  const slice = structuredClone(base.get('EndpointSlice/shop/orders-v1-7xk2p')) as EndpointSlice;
  const [a, b] = slice.endpoints as [EndpointSlice['endpoints'][0], EndpointSlice['endpoints'][0]];
  a.zone = 'zone-a';
  b.zone = 'zone-b';
  b.conditions = { ready: false, serving: true, terminating: true };
  const objects = new Map(base).set('EndpointSlice/shop/orders-v1-7xk2p', slice);
  const cla = servedObject(translateExample(objects), 'proxyless', ENDPOINT_TYPE, 'outbound|8080||orders-v1.shop.svc.cluster.local');
  const byZone = Object.fromEntries((cla.endpoints as Obj[]).map((e) => [((e.locality as Obj).zone as string) ?? '', (e.lb_endpoints as Obj[]).map((l) => l.health_status)]));
  assert.deepEqual(byZone, { 'zone-a': ['HEALTHY'], 'zone-b': ['DRAINING'] });
});

test('a resource that fails its checks is withheld: the last good version stays and the issue names the route', () => {
  const translator = new Translator();
  const first = snapshotOf(base);
  const good = translator.translate(first);
  const route = structuredClone(base.get('HTTPRoute/shop/orders-canary')) as HTTPRoute;
  const match = route.spec.rules?.[0]?.matches?.[0];
  assert.ok(match);
  match.path = { type: 'RegularExpression', value: '/orders(?=/)' };
  const broken = translator.translate(snapshotOf(new Map(base).set('HTTPRoute/shop/orders-canary', route), first));
  const name = 'orders.shop.svc.cluster.local:8080';
  for (const c of ['node-proxy/node-a', 'proxyless']) {
    assert.equal(broken.classes.get(c)?.resources.get(ROUTE_TYPE)?.get(name), good.classes.get(c)?.resources.get(ROUTE_TYPE)?.get(name));
  }
  assert.ok(broken.issues.length > 0);
  for (const issue of broken.issues) {
    assert.equal(issue.object, 'HTTPRoute/shop/orders-canary');
    assert.deepEqual(issue.resource, { typeUrl: ROUTE_TYPE, name });
    assert.match(issue.message, /RE2/);
  }
  const fixed = translator.translate(snapshotOf(base));
  assert.deepEqual(fixed.issues, [], 'fixing the route clears the issue');
});

test('an L7 VIP whose route configuration was never served is denied, not passed through (fail closed)', () => {
  const route = structuredClone(base.get('HTTPRoute/shop/orders-canary')) as HTTPRoute;
  const match = route.spec.rules?.[0]?.matches?.[0];
  assert.ok(match);
  match.path = { type: 'RegularExpression', value: '/orders(?=/)' };
  const t = translateExample(new Map(base).set('HTTPRoute/shop/orders-canary', route));
  assert.equal(t.classes.get('node-proxy/node-a')?.resources.get(ROUTE_TYPE)?.has('orders.shop.svc.cluster.local:8080'), false);
  for (const node of ['node-a', 'node-b']) {
    const chain = chainsOf(t, node).find((c) => c.name === 'vip|10.96.0.20:8080');
    assert.ok(chain, `${node}: the VIP keeps a chain`);
    const filters = hcmOf(chain).http_filters as Obj[];
    assert.equal(rbacAllows(filters, { sourceIp: '10.244.1.10', method: 'POST', path: '/orders' }), false);
    assert.equal(rbacAllows(filters, { sourceIp: '10.244.2.20', method: 'GET', path: '/' }), false);
  }
  assert.ok(t.issues.some((i) => i.object === 'Service/shop/orders' && /denies every request/.test(i.message)));
});

test('incremental: an endpoint change rebuilds only its load assignment', () => {
  const translator = new Translator();
  const s1 = snapshotOf(base);
  const t1 = translator.translate(s1);
  const slice = structuredClone(base.get('EndpointSlice/shop/orders-v2-9fd3c')) as EndpointSlice;
  (slice.endpoints[0] as { conditions: object }).conditions = { ready: false, serving: false, terminating: false };
  const s2 = snapshotOf(new Map(base).set('EndpointSlice/shop/orders-v2-9fd3c', slice), s1);
  const t2 = translator.translate(s2);
  assert.equal(t2.stats.built, 1, `only the orders-v2 ClusterLoadAssignment: built ${t2.stats.built}`);
  const a1 = t1.classes.get('node-proxy/node-a')?.resources;
  const a2 = t2.classes.get('node-proxy/node-a')?.resources;
  for (const type of [CLUSTER_TYPE, LISTENER_TYPE, ROUTE_TYPE, SECRET_TYPE]) assert.equal(a2?.get(type), a1?.get(type), `${type} map unchanged`);
  const cla = servedObject(t2, 'node-proxy/node-a', ENDPOINT_TYPE, 'outbound|8080||orders-v2.shop.svc.cluster.local');
  assert.equal((((cla.endpoints as Obj[])[0] as Obj).lb_endpoints as Obj[])[0]?.health_status, 'UNHEALTHY');
});

test('incremental: a route change rebuilds only its route configurations (and the chain naming them)', () => {
  const translator = new Translator();
  const s1 = snapshotOf(base);
  const a2 = translator.translate(s1).classes.get('node-proxy/node-a')?.resources;
  const route = structuredClone(base.get('HTTPRoute/shop/orders-canary')) as HTTPRoute;
  const weights = route.spec.rules?.[1]?.backendRefs ?? [];
  weights.forEach((b) => (b.weight = 50));
  const t3 = translator.translate(snapshotOf(new Map(base).set('HTTPRoute/shop/orders-canary', route), s1));
  const a3 = t3.classes.get('node-proxy/node-a')?.resources;
  assert.equal(a3?.get(CLUSTER_TYPE), a2?.get(CLUSTER_TYPE));
  assert.equal(a3?.get(ENDPOINT_TYPE), a2?.get(ENDPOINT_TYPE));
  const changed = [...(a3?.get(ROUTE_TYPE) ?? new Map())].filter(([n, b]) => a2?.get(ROUTE_TYPE)?.get(n) !== b).map(([n]) => n);
  assert.deepEqual(changed, ['orders.shop.svc.cluster.local:8080']);
  assert.ok(t3.stats.built <= 6, `route change rebuilt ${t3.stats.built} resources`);
});

test('proxyless routes: element-wise prefixes become regexes gRPC accepts; redirects are left out with a warning', () => {
  const route = structuredClone(base.get('HTTPRoute/shop/orders-canary')) as HTTPRoute;
  route.spec.rules?.push({
    matches: [{ path: { type: 'PathPrefix', value: '/old' } }],
    filters: [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } } }],
  });
  const t = translateExample(new Map(base).set('HTTPRoute/shop/orders-canary', route));
  const routes = ((message(t, 'proxyless', ROUTE_TYPE, 'orders.shop.svc.cluster.local:8080').virtual_hosts as Obj[])[0] as Obj).routes as Obj[];
  assert.equal(routes.length, 2, 'the redirect rule is left out');
  assert.equal((routes[1]?.match as Obj).prefix, '/');
  assert.deepEqual((routes[0]?.match as Obj).safe_regex, { regex: '/orders(/.*)?' });
  assert.ok(t.issues.some((i) => i.object === 'HTTPRoute/shop/orders-canary' && !i.resource && /proxyless/.test(i.message)));
  const proxy = ((message(t, 'node-proxy/node-a', ROUTE_TYPE, 'orders.shop.svc.cluster.local:8080').virtual_hosts as Obj[])[0] as Obj).routes as Obj[];
  assert.ok(proxy.some((r) => r.redirect), 'the node proxy keeps the redirect');
});

test('waypoint: HBONE listener terminating CONNECT per destination, internal listeners with routes and RBAC, HBONE upstream; mTLS by SDS', () => {
  const gateway: Gateway = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'waypoint', namespace: 'shop' },
    spec: { gatewayClassName: 'skiff-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  };
  const objects = new Map(base).set('Gateway/shop/waypoint', gateway);
  const payments = structuredClone(objects.get('Service/shop/payments')) as MeshObject;
  payments.metadata.labels = { ...payments.metadata.labels, 'istio.io/use-waypoint': 'waypoint' };
  objects.set('Service/shop/payments', payments);
  const mesh = structuredClone(objects.get('MeshConfig/default/mesh')) as MeshObject & { spec: { encryption?: string } };
  mesh.spec.encryption = 'hbone';
  objects.set('MeshConfig/default/mesh', mesh);
  const t = translateExample(objects);
  assert.deepEqual(t.issues.filter((i) => i.resource), []);
  assertAllServedValid(t);
  const wp = 'waypoint/shop/waypoint';
  const hbone = message(t, wp, LISTENER_TYPE, 'hbone');
  assert.equal(((hbone.address as Obj).socket_address as Obj).port_value, 15008);
  const chain = (hbone.filter_chains as Obj[])[0] as Obj;
  assert.equal(((chain.transport_socket as Obj).typed_config as Obj)['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');
  const hcm = hcmOf(chain);
  assert.deepEqual(hcm.http2_protocol_options, { allow_connect: true });
  const vhost = ((hcm.route_config as Obj).virtual_hosts as Obj[]).find((v) => (v.domains as string[]).includes('10.96.0.40:8080')) as Obj;
  const connect = (vhost.routes as Obj[])[0] as Obj;
  assert.deepEqual(connect.match, { connect_matcher: {} });
  assert.equal((connect.route as Obj).cluster, 'inner|payments.shop.svc.cluster.local:8080');
  const inner = message(t, wp, LISTENER_TYPE, 'inner|payments.shop.svc.cluster.local:8080');
  const innerFilters = hcmOf((inner.filter_chains as Obj[])[0] as Obj).http_filters as Obj[];
  assert.equal(rbacAllows(innerFilters, { sourceIp: '10.244.2.20', method: 'POST', path: '/v1/charges' }), true);
  assert.equal(rbacAllows(innerFilters, { sourceIp: '10.244.1.10', method: 'POST', path: '/v1/charges' }), false);
  const cla = message(t, wp, ENDPOINT_TYPE, 'outbound|8080||payments.shop.svc.cluster.local');
  const endpoint = ((((cla.endpoints as Obj[])[0] as Obj).lb_endpoints as Obj[])[0] as Obj).endpoint as Obj;
  assert.equal(((endpoint.address as Obj).envoy_internal_address as Obj).server_listener_name, 'connect_originate');
  const originate = message(t, wp, CLUSTER_TYPE, 'connect_originate');
  assert.equal(((originate.transport_socket as Obj).typed_config as Obj)['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
  assert.ok(message(t, wp, LISTENER_TYPE, 'connect_originate'));
  assert.ok(message(t, wp, SECRET_TYPE, 'default'));
});

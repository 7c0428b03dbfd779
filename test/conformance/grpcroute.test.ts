// Gateway API conformance, mesh profile, for GRPCRoute: method and header matching, precedence and
// weights, evaluated on the generated RouteConfiguration (node proxy and proxyless variants).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRoute, shares } from './route-eval.js';
import { NS, cluster, headerModifierRule, translateCase } from './mesh-fixture.js';

function grpcRoute(name: string, rules: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: ${name}, namespace: ${NS} }
spec:
  parentRefs: [{ group: "", kind: Service, name: echo, port: 80 }]
  rules:
${rules}`;
}

function grpcCall(service: string, method: string, headers: Record<string, string> = {}) {
  return { method: 'POST', path: `/${service}/${method}`, headers: { 'content-type': 'application/grpc', ...headers } };
}

test('GRPCExactMethodMatching (grpcroute-exact-method-matching): service+method exact, service-only and method-only matches', () => {
  const c = translateCase(
    grpcRoute('exact-method', `    - matches: [{ method: { service: gateway_api_conformance.echo_basic.grpcecho.GrpcEcho, method: Echo } }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ method: { service: gateway_api_conformance.echo_basic.grpcecho.GrpcEcho } }]
      backendRefs: [{ name: echo-v2, port: 80 }]
    - matches: [{ method: { method: EchoTwo } }]
      backendRefs: [{ name: echo, port: 80 }]
`),
  );
  const svc = 'gateway_api_conformance.echo_basic.grpcecho.GrpcEcho';
  for (const rc of [c.proxy(), c.proxyless()]) {
    const pick = (s: string, m: string) => {
      const r = evaluateRoute(rc, grpcCall(s, m));
      return r.kind === 'route' ? r.clusters[0]?.name : r.kind;
    };
    assert.equal(pick(svc, 'Echo'), cluster('echo-v1'));
    assert.equal(pick(svc, 'EchoTwo'), cluster('echo-v2'), 'the service match outranks the method-only match');
    assert.equal(pick('other.Service', 'EchoTwo'), cluster('echo'));
    assert.equal(pick('other.Service', 'Echo'), 'none');
  }
});

test('GRPCRouteHeaderMatching (grpcroute-header-matching): header matches select the backend; more headers win', () => {
  const c = translateCase(
    grpcRoute('header-matching', `    - matches: [{ headers: [{ name: version, value: one }] }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ headers: [{ name: version, value: two }] }]
      backendRefs: [{ name: echo-v2, port: 80 }]
    - matches: [{ headers: [{ name: version, value: two }, { name: color, type: RegularExpression, value: "ora.*" }] }]
      backendRefs: [{ name: echo, port: 80 }]
`),
  );
  for (const rc of [c.proxy(), c.proxyless()]) {
    const pick = (h: Record<string, string>) => {
      const r = evaluateRoute(rc, grpcCall('a.B', 'C', h));
      return r.kind === 'route' ? r.clusters[0]?.name : r.kind;
    };
    assert.equal(pick({ version: 'one' }), cluster('echo-v1'));
    assert.equal(pick({ version: 'two' }), cluster('echo-v2'));
    assert.equal(pick({ version: 'two', color: 'orange' }), cluster('echo'));
    assert.equal(pick({}), 'none');
  }
});

test('GRPCRouteWeight (mesh-grpcroute-weight): weighted backends, the same for proxies and proxyless clients', () => {
  const c = translateCase(
    grpcRoute('weight', `    - backendRefs:
        - { name: echo-v1, port: 80, weight: 80 }
        - { name: echo-v2, port: 80, weight: 20 }
`),
  );
  const expected = { [cluster('echo-v1')]: 0.8, [cluster('echo-v2')]: 0.2 };
  assert.deepEqual(shares(evaluateRoute(c.proxy(), grpcCall('a.B', 'C'))), expected);
  assert.deepEqual(shares(evaluateRoute(c.proxyless(), grpcCall('a.B', 'C'))), expected);
});

test('GRPCRouteRequestHeaderModifier (grpcroute-request-header-modifier): set, add and remove on gRPC requests', () => {
  const c = translateCase(
    grpcRoute('header-modifier', headerModifierRule('RequestHeaderModifier')),
  );
  const r = evaluateRoute(c.proxy(), grpcCall('a.B', 'C', { 'x-header-set': 'old', 'x-header-remove': 'x' }));
  assert.equal(r.kind, 'route');
  if (r.kind !== 'route') return;
  const h = r.clusters[0]?.requestHeaders ?? {};
  assert.equal(h['x-header-set'], 'set-overwrites-values');
  assert.equal(h['x-header-add'], 'add-appends-values');
  assert.equal(h['x-header-remove'], undefined);
});

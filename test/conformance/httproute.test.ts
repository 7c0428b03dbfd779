// Gateway API conformance, mesh profile, for HTTPRoute: each upstream case's routes (as the suite
// applies them to gateway-conformance-mesh), translated by skiff, and the generated
// RouteConfiguration evaluated with Envoy's route-matching semantics (route-eval.ts) against the
// requests and expectations of the case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRoute, shares, type EvalRequest, type RouteResult } from './route-eval.js';
import { NS, cluster, headerModifierRule, httpRoute, translateCase } from './mesh-fixture.js';
import type { Json } from '../../xds/translate/types.js';

/** The cluster a request lands on (single backend), or the non-route outcome. */
function backendOf(rc: Json, req: EvalRequest): string {
  const r = evaluateRoute(rc, req);
  if (r.kind !== 'route') return `${r.kind}:${r.status}`;
  assert.equal(r.clusters.length, 1, `expected one backend for ${req.path}, got ${JSON.stringify(r.clusters)}`);
  return (r.clusters[0] as { name: string }).name;
}

function routed(r: RouteResult): Extract<RouteResult, { kind: 'route' }> {
  assert.equal(r.kind, 'route', `expected a forwarded request, got ${JSON.stringify(r)}`);
  return r as Extract<RouteResult, { kind: 'route' }>;
}

function redirected(r: RouteResult): Extract<RouteResult, { kind: 'redirect' }> {
  assert.equal(r.kind, 'redirect', `expected a redirect, got ${JSON.stringify(r)}`);
  return r as Extract<RouteResult, { kind: 'redirect' }>;
}

test('MeshBasic (mesh-basic): a Service with no route gets a default route to its own cluster', () => {
  const c = translateCase('');
  assert.equal(backendOf(c.proxyless(), { path: '/' }), cluster('echo'));
  assert.equal(backendOf(c.proxyless('echo', 8080), { path: '/any/path' }), cluster('echo', 8080));
});

test('MeshTrafficSplit (mesh-split): exact paths /v1 and /v2 split traffic to echo-v1 and echo-v2', () => {
  const c = translateCase(
    httpRoute('mesh-split', 'echo', `    - matches: [{ path: { type: Exact, value: /v1 } }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ path: { type: Exact, value: /v2 } }]
      backendRefs: [{ name: echo-v2, port: 80 }]
`, ', port: 80'),
  );
  const rc = c.proxy();
  assert.equal(backendOf(rc, { path: '/v1' }), cluster('echo-v1'));
  assert.equal(backendOf(rc, { path: '/v2' }), cluster('echo-v2'));
  assert.equal(backendOf(rc, { path: '/v1/x' }), 'none:404', 'Exact does not match a longer path');
  assert.equal(backendOf(rc, { path: '/' }), 'none:404', 'no rule matches: 404');
});

test('MeshFrontend (mesh-frontend): a route on echo-v2 sets a header for its callers; echo-v1 stays untouched', () => {
  const c = translateCase(
    httpRoute('mesh-frontend', 'echo-v2', `    - filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: { set: [{ name: X-Header-Set, value: set }] }
      backendRefs: [{ name: echo-v2, port: 80 }]
`, ', port: 80'),
  );
  const r = routed(evaluateRoute(c.proxy('echo-v2'), { path: '/' }));
  assert.equal(r.clusters[0]?.requestHeaders['x-header-set'], 'set');
  const v1 = routed(evaluateRoute(c.proxyless('echo-v1'), { path: '/' }));
  assert.equal(v1.clusters[0]?.requestHeaders['x-header-set'], undefined);
  assert.equal(v1.clusters[0]?.name, cluster('echo-v1'));
});

test('MeshFrontendHostname (mesh-frontend-hostname): route hostnames do not restrict mesh routing', () => {
  const c = translateCase(
    httpRoute('mesh-frontend-hostname', 'echo', `    - backendRefs: [{ name: echo-v2, port: 80 }]
`, ', port: 80').replace('spec:\n', 'spec:\n  hostnames: [bad.example.com]\n'),
  );
  assert.equal(backendOf(c.proxy(), { path: '/', host: 'echo' }), cluster('echo-v2'));
});

test('MeshPorts (mesh-ports): a parentRef with a port applies to that Service port only', () => {
  const c = translateCase(
    httpRoute('mesh-ports', 'echo', `    - filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier: { set: [{ name: X-Header-Set, value: v1 }] }
      backendRefs: [{ name: echo-v1, port: 80 }]
`, ', port: 80'),
  );
  const on80 = routed(evaluateRoute(c.proxy('echo', 80), { path: '/' }));
  assert.equal(on80.clusters[0]?.name, cluster('echo-v1'));
  assert.equal(on80.responseHeaders({})['x-header-set'], 'v1');
  const on8080 = routed(evaluateRoute(c.proxyless('echo', 8080), { path: '/' }));
  assert.equal(on8080.clusters[0]?.name, cluster('echo', 8080), 'port 8080 keeps the default route');
  assert.equal(on8080.responseHeaders({})['x-header-set'], undefined);
});

test('HTTPRouteMatching (mesh-httproute-matching): path prefixes on element boundaries, headers OR-ed across matches', () => {
  const c = translateCase(
    httpRoute('matching', 'echo', `    - matches: [{ path: { type: PathPrefix, value: / } }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches:
        - path: { type: PathPrefix, value: /v2 }
        - headers: [{ name: version, value: two }]
      backendRefs: [{ name: echo-v2, port: 80 }]
`),
  );
  const rc = c.proxy();
  assert.equal(backendOf(rc, { path: '/' }), cluster('echo-v1'));
  assert.equal(backendOf(rc, { path: '/example' }), cluster('echo-v1'));
  assert.equal(backendOf(rc, { path: '/v2' }), cluster('echo-v2'));
  assert.equal(backendOf(rc, { path: '/v2/example' }), cluster('echo-v2'));
  assert.equal(backendOf(rc, { path: '/v2example' }), cluster('echo-v1'), 'PathPrefix /v2 does not match /v2example');
  assert.equal(backendOf(rc, { path: '/', headers: { version: 'two' } }), cluster('echo-v2'));
});

test('HTTPRouteHeaderMatching (mesh-httproute-header-matching): exact and regex headers, case-insensitive names, most headers win', () => {
  const c = translateCase(
    httpRoute('header-matching', 'echo', `    - matches: [{ headers: [{ name: version, value: one }] }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ headers: [{ name: version, value: two }] }]
      backendRefs: [{ name: echo-v2, port: 80 }]
    - matches: [{ headers: [{ name: version, value: two }, { name: Color, value: orange }] }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ headers: [{ name: color, type: RegularExpression, value: "gr[ae]y" }] }]
      backendRefs: [{ name: echo-v2, port: 80 }]
`),
  );
  const rc = c.proxy();
  assert.equal(backendOf(rc, { path: '/', headers: { version: 'one' } }), cluster('echo-v1'));
  assert.equal(backendOf(rc, { path: '/', headers: { Version: 'two' } }), cluster('echo-v2'));
  assert.equal(backendOf(rc, { path: '/', headers: { version: 'two', color: 'orange' } }), cluster('echo-v1'), 'two header matches beat one');
  assert.equal(backendOf(rc, { path: '/', headers: { color: 'grey' } }), cluster('echo-v2'));
  assert.equal(backendOf(rc, { path: '/', headers: { color: 'greyish' } }), 'none:404', 'regex matches the whole value');
  assert.equal(backendOf(rc, { path: '/', headers: { version: 'three' } }), 'none:404');
});

test('HTTPRouteQueryParamMatching (mesh-httproute-query-param-matching): exact and regex params, most params win', () => {
  const c = translateCase(
    httpRoute('query-param-matching', 'echo', `    - matches: [{ queryParams: [{ name: animal, value: whale }] }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ queryParams: [{ name: animal, value: dolphin }] }]
      backendRefs: [{ name: echo-v2, port: 80 }]
    - matches: [{ queryParams: [{ name: animal, value: dolphin }, { name: color, value: blue }] }]
      backendRefs: [{ name: echo, port: 80 }]
    - matches: [{ queryParams: [{ name: size, type: RegularExpression, value: "[0-9]+" }] }]
      backendRefs: [{ name: echo-v1, port: 80 }]
`),
  );
  const rc = c.proxy();
  assert.equal(backendOf(rc, { path: '/?animal=whale' }), cluster('echo-v1'));
  assert.equal(backendOf(rc, { path: '/?animal=dolphin' }), cluster('echo-v2'));
  assert.equal(backendOf(rc, { path: '/?animal=dolphin&color=blue' }), cluster('echo'));
  assert.equal(backendOf(rc, { path: '/?size=42' }), cluster('echo-v1'));
  assert.equal(backendOf(rc, { path: '/?size=big' }), 'none:404');
  assert.equal(backendOf(rc, { path: '/?animal=shark' }), 'none:404');
});

test('HTTPRouteMethodMatching (mesh-httproute-method-matching): method matches, and method ranks above headers', () => {
  const c = translateCase(
    httpRoute('method-matching', 'echo', `    - matches: [{ method: POST }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ method: GET }]
      backendRefs: [{ name: echo-v2, port: 80 }]
    - matches: [{ headers: [{ name: version, value: one }] }]
      backendRefs: [{ name: echo, port: 80 }]
`),
  );
  const rc = c.proxy();
  assert.equal(backendOf(rc, { method: 'POST', path: '/' }), cluster('echo-v1'));
  assert.equal(backendOf(rc, { method: 'GET', path: '/' }), cluster('echo-v2'));
  assert.equal(backendOf(rc, { method: 'GET', path: '/', headers: { version: 'one' } }), cluster('echo-v2'), 'method beats a header match');
  assert.equal(backendOf(rc, { method: 'HEAD', path: '/' }), 'none:404');
});

test('HTTPRouteMatchingAcrossRoutes (httproute-matching-across-routes): Exact > longest prefix across routes, then the older route', () => {
  const c = translateCase(
    [
      httpRoute('matching-part1', 'echo', `    - matches: [{ path: { type: PathPrefix, value: / } }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ path: { type: Exact, value: /example } }]
      backendRefs: [{ name: echo-v1, port: 80 }]
`).replace('namespace: gateway', 'creationTimestamp: "2024-01-01T00:00:00Z", namespace: gateway'),
      httpRoute('matching-part2', 'echo', `    - matches: [{ path: { type: PathPrefix, value: /v2 } }]
      backendRefs: [{ name: echo-v2, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: / } }]
      backendRefs: [{ name: echo-v2, port: 80 }]
`).replace('namespace: gateway', 'creationTimestamp: "2024-06-01T00:00:00Z", namespace: gateway'),
    ].join('---\n'),
  );
  const rc = c.proxy();
  assert.equal(backendOf(rc, { path: '/example' }), cluster('echo-v1'), 'Exact beats any prefix');
  assert.equal(backendOf(rc, { path: '/v2/example' }), cluster('echo-v2'), 'the longest prefix wins across routes');
  assert.equal(backendOf(rc, { path: '/other' }), cluster('echo-v1'), 'equal matches: the older route wins');
});

test('HTTPRouteRequestHeaderModifier (mesh-httproute-request-header-modifier): set, add and remove', () => {
  const c = translateCase(
    httpRoute('request-header-modifier', 'echo', `    - matches: [{ path: { type: PathPrefix, value: /set } }]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: { set: [{ name: X-Header-Set, value: set-overwrites-values }] }
      backendRefs: [{ name: echo, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /add } }]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: { add: [{ name: X-Header-Add, value: add-appends-values }] }
      backendRefs: [{ name: echo, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /remove } }]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: { remove: [X-Header-Remove] }
      backendRefs: [{ name: echo, port: 80 }]
`),
  );
  const rc = c.proxy();
  const headersOf = (path: string, headers: Record<string, string>) => routed(evaluateRoute(rc, { path, headers })).clusters[0]?.requestHeaders ?? {};
  assert.equal(headersOf('/set', { 'X-Header-Set': 'some-other-value' })['x-header-set'], 'set-overwrites-values');
  assert.equal(headersOf('/add', { 'X-Header-Add': 'some-value' })['x-header-add'], 'some-value,add-appends-values');
  assert.equal(headersOf('/add', {})['x-header-add'], 'add-appends-values');
  assert.equal(headersOf('/remove', { 'X-Header-Remove': 'val' })['x-header-remove'], undefined);
});

test('HTTPRouteResponseHeaderModifier (mesh-httproute-response-header-modifier): set, add and remove on responses', () => {
  const c = translateCase(
    httpRoute('response-header-modifier', 'echo', headerModifierRule('ResponseHeaderModifier')),
  );
  const r = routed(evaluateRoute(c.proxy(), { path: '/' }));
  assert.deepEqual(r.responseHeaders({ 'x-header-set': 'upstream', 'x-header-add': 'upstream', 'x-header-remove': 'gone' }), {
    'x-header-set': 'set-overwrites-values',
    'x-header-add': 'upstream,add-appends-values',
  });
});

test('HTTPRouteRedirectHostAndStatus (mesh-httproute-redirect-host-and-status): hostname and status code', () => {
  const c = translateCase(
    httpRoute('redirect-host-and-status', 'echo', `    - matches: [{ path: { type: PathPrefix, value: /hostname-redirect } }]
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org } }]
    - matches: [{ path: { type: PathPrefix, value: /host-and-status } }]
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org, statusCode: 301 } }]
`),
  );
  const rc = c.proxy();
  const a = redirected(evaluateRoute(rc, { path: '/hostname-redirect', host: 'echo' }));
  assert.equal(a.status, 302);
  assert.equal(a.location, 'http://example.org/hostname-redirect');
  const b = redirected(evaluateRoute(rc, { path: '/host-and-status', host: 'echo' }));
  assert.equal(b.status, 301);
  assert.equal(b.location, 'http://example.org/host-and-status');
});

test('HTTPRouteRedirectPath (mesh-httproute-redirect-path): ReplacePrefixMatch and ReplaceFullPath', () => {
  const c = translateCase(
    httpRoute('redirect-path', 'echo', `    - matches: [{ path: { type: PathPrefix, value: /original-prefix } }]
      filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix } } }]
    - matches: [{ path: { type: PathPrefix, value: /full } }]
      filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplaceFullPath, replaceFullPath: /full-path-replacement } } }]
    - matches: [{ path: { type: PathPrefix, value: /path-and-host } }]
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org, path: { type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix } } }]
    - matches: [{ path: { type: PathPrefix, value: /strip } }]
      filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplacePrefixMatch, replacePrefixMatch: / } } }]
`),
  );
  const rc = c.proxy();
  const at = (path: string) => redirected(evaluateRoute(rc, { path, host: 'echo' })).location;
  assert.equal(at('/original-prefix/lemon'), 'http://echo/replacement-prefix/lemon');
  assert.equal(at('/original-prefix'), 'http://echo/replacement-prefix');
  assert.equal(at('/full/path/original'), 'http://echo/full-path-replacement');
  assert.equal(at('/path-and-host/x'), 'http://example.org/replacement-prefix/x');
  assert.equal(at('/strip/three'), 'http://echo/three');
  assert.equal(at('/strip'), 'http://echo/');
});

test('HTTPRouteRedirectPort (mesh-httproute-redirect-port) and HTTPRouteRedirectScheme (mesh-httproute-redirect-scheme)', () => {
  const c = translateCase(
    httpRoute('redirect-port-scheme', 'echo', `    - matches: [{ path: { type: PathPrefix, value: /port } }]
      filters: [{ type: RequestRedirect, requestRedirect: { port: 8083 } }]
    - matches: [{ path: { type: PathPrefix, value: /scheme } }]
      filters: [{ type: RequestRedirect, requestRedirect: { scheme: https } }]
    - matches: [{ path: { type: PathPrefix, value: /scheme-and-port } }]
      filters: [{ type: RequestRedirect, requestRedirect: { scheme: https, port: 8443, statusCode: 308 } }]
`),
  );
  const rc = c.proxy();
  assert.equal(redirected(evaluateRoute(rc, { path: '/port', host: 'echo' })).location, 'http://echo:8083/port');
  assert.equal(redirected(evaluateRoute(rc, { path: '/scheme', host: 'echo' })).location, 'https://echo/scheme');
  const both = redirected(evaluateRoute(rc, { path: '/scheme-and-port', host: 'echo' }));
  assert.equal(both.location, 'https://echo:8443/scheme-and-port');
  assert.equal(both.status, 308);
});

test('HTTPRouteRewritePath (mesh-httproute-rewrite-path) and HTTPRouteRewriteHost: URLRewrite', () => {
  const c = translateCase(
    httpRoute('rewrite-path', 'echo', `    - matches: [{ path: { type: PathPrefix, value: /prefix/one } }]
      filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /one } } }]
      backendRefs: [{ name: echo, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /strip-prefix } }]
      filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: / } } }]
      backendRefs: [{ name: echo, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /full/one } }]
      filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /one } } }]
      backendRefs: [{ name: echo, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /rewrite-host } }]
      filters: [{ type: URLRewrite, urlRewrite: { hostname: one.example.org } }]
      backendRefs: [{ name: echo, port: 80 }]
`),
  );
  const rc = c.proxy();
  const upstream = (path: string) => routed(evaluateRoute(rc, { path, host: 'echo' }));
  assert.equal(upstream('/prefix/one/two').path, '/one/two');
  assert.equal(upstream('/prefix/one').path, '/one');
  assert.equal(upstream('/strip-prefix/three').path, '/three');
  assert.equal(upstream('/strip-prefix').path, '/');
  assert.equal(upstream('/full/one/two').path, '/one');
  assert.equal(upstream('/full/one?q=1').path, '/one?q=1', 'the query string is kept');
  assert.equal(upstream('/rewrite-host/x').host, 'one.example.org');
  assert.equal(upstream('/rewrite-host/x').path, '/rewrite-host/x');
});

test('HTTPRouteRequestMirror and HTTPRouteRequestPercentageMirror (mesh-httproute-request-mirror): mirror all, a percent, a fraction', () => {
  const c = translateCase(
    httpRoute('request-mirror', 'echo', `    - matches: [{ path: { type: PathPrefix, value: /mirror } }]
      filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: echo-v2, port: 80 } } }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /percent-mirror } }]
      filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: echo-v2, port: 80 }, percent: 20 } }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /fraction-mirror } }]
      filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: echo-v2, port: 80 }, fraction: { numerator: 1, denominator: 3 } } }]
      backendRefs: [{ name: echo-v1, port: 80 }]
`),
  );
  const rc = c.proxy();
  const mirror = (path: string) => routed(evaluateRoute(rc, { path }));
  assert.deepEqual(mirror('/mirror').mirrors, [{ cluster: cluster('echo-v2'), fraction: 1 }]);
  assert.equal(mirror('/mirror').clusters[0]?.name, cluster('echo-v1'));
  assert.deepEqual(mirror('/percent-mirror').mirrors, [{ cluster: cluster('echo-v2'), fraction: 0.2 }]);
  const third = mirror('/fraction-mirror').mirrors[0];
  assert.ok(third && Math.abs(third.fraction - 1 / 3) < 1e-6);
});

test('HTTPRouteWeight (mesh-httproute-weight): weighted backends, weight 0 gets nothing', () => {
  const c = translateCase(
    httpRoute('weight', 'echo', `    - backendRefs:
        - { name: echo-v1, port: 80, weight: 70 }
        - { name: echo-v2, port: 80, weight: 30 }
        - { name: echo, port: 80, weight: 0 }
`),
  );
  assert.deepEqual(shares(evaluateRoute(c.proxy(), { path: '/' })), { [cluster('echo-v1')]: 0.7, [cluster('echo-v2')]: 0.3 });
  assert.deepEqual(shares(evaluateRoute(c.proxyless(), { path: '/' })), { [cluster('echo-v1')]: 0.7, [cluster('echo-v2')]: 0.3 });
});

test('HTTPRouteInvalidBackendRefUnknownKind / HTTPRouteInvalidCrossNamespaceBackendRef: 500 for an invalid backendRef and for its share', () => {
  const c = translateCase(
    httpRoute('invalid-backends', 'echo', `    - matches: [{ path: { type: PathPrefix, value: /all-invalid } }]
      backendRefs: [{ name: does-not-exist, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /half-invalid } }]
      backendRefs:
        - { name: echo-v1, port: 80, weight: 50 }
        - { name: echo-v2, namespace: elsewhere, port: 80, weight: 50 }
    - matches: [{ path: { type: PathPrefix, value: /all-zero } }]
      backendRefs: [{ name: echo-v1, port: 80, weight: 0 }]
    - matches: [{ path: { type: PathPrefix, value: /no-backends } }]
`),
  );
  const rc = c.proxy();
  assert.deepEqual(evaluateRoute(rc, { path: '/all-invalid' }).kind === 'direct' && evaluateRoute(rc, { path: '/all-invalid' }), {
    kind: 'direct',
    route: `HTTPRoute/${NS}/invalid-backends/rule0/match0`,
    status: 500,
  });
  const half = routed(evaluateRoute(rc, { path: '/half-invalid' }));
  assert.equal(half.clusters.length, 2);
  assert.equal(half.clusterNotFoundStatus, 500, 'the invalid share is answered 500');
  const served = new Set(c.translation.classes.get('node-proxy/node-1')?.resources.get('type.googleapis.com/envoy.config.cluster.v3.Cluster')?.keys());
  const missing = half.clusters.filter((x) => !served.has(x.name));
  assert.equal(missing.length, 1, 'exactly the invalid backend has no cluster');
  assert.equal(half.clusters.find((x) => served.has(x.name))?.weight, 50);
  assert.equal(evaluateRoute(rc, { path: '/all-zero' }).kind, 'direct');
  assert.equal(evaluateRoute(rc, { path: '/no-backends' }).kind, 'direct');
});

test('HTTPRouteTimeoutRequest / HTTPRouteTimeoutBackendRequest (mesh-httproute-timeout): route timeout and per-try timeout', () => {
  const c = translateCase(
    httpRoute('timeouts', 'echo', `    - matches: [{ path: { type: PathPrefix, value: /request-timeout } }]
      timeouts: { request: 500ms }
      backendRefs: [{ name: echo, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /backend-timeout } }]
      timeouts: { request: 2s, backendRequest: 1s }
      backendRefs: [{ name: echo, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /disabled } }]
      timeouts: { request: 0s }
      backendRefs: [{ name: echo, port: 80 }]
`),
  );
  const rc = c.proxy();
  const a = routed(evaluateRoute(rc, { path: '/request-timeout' }));
  assert.equal(a.timeoutMs, 500);
  assert.equal(a.perTryTimeoutMs, undefined);
  const b = routed(evaluateRoute(rc, { path: '/backend-timeout' }));
  assert.equal(b.timeoutMs, 2000);
  assert.equal(b.perTryTimeoutMs, 1000);
  assert.equal(b.retry?.numRetries, 0, 'a backend timeout alone adds no retries');
  assert.equal(routed(evaluateRoute(rc, { path: '/disabled' })).timeoutMs, 0, '0s disables the timeout');
});

test('HTTPRouteRetry (mesh-httproute-retry, experimental): codes, attempts and backoff', () => {
  const c = translateCase(
    httpRoute('retry', 'echo', `    - retry: { codes: [500, 503], attempts: 3, backoff: 100ms }
      backendRefs: [{ name: echo, port: 80 }]
`),
  );
  const r = routed(evaluateRoute(c.proxy(), { path: '/' }));
  assert.deepEqual(r.retry, { retryOn: 'retriable-status-codes,connect-failure,reset', numRetries: 3, statusCodes: [500, 503], backoffBaseMs: 100 });
});

test('HTTPRoute on the example mesh: x-canary goes to v2, the rest splits 90/10 with timeouts', async () => {
  const { objectsFromDirectory, EXAMPLE_MESH, snapshotOf } = await import('../xds/translate-fixtures.js');
  const { Translator } = await import('../../xds/translate/translator.js');
  const t = new Translator().translate(snapshotOf(objectsFromDirectory(EXAMPLE_MESH)));
  const rc = t.classes.get('node-proxy/node-a')?.resources.get('type.googleapis.com/envoy.config.route.v3.RouteConfiguration')?.get('orders.shop.svc.cluster.local:8080')?.message;
  assert.ok(rc);
  const canary = routed(evaluateRoute(rc, { method: 'POST', path: '/orders', headers: { 'x-canary': 'always' } }));
  assert.deepEqual(canary.clusters.map((x) => x.name), ['outbound|8080||orders-v2.shop.svc.cluster.local']);
  const split = routed(evaluateRoute(rc, { method: 'POST', path: '/orders' }));
  assert.deepEqual(shares(split), { 'outbound|8080||orders-v1.shop.svc.cluster.local': 0.9, 'outbound|8080||orders-v2.shop.svc.cluster.local': 0.1 });
  assert.equal(split.timeoutMs, 10_000);
  assert.equal(split.perTryTimeoutMs, 2000);
  assert.equal(routed(evaluateRoute(rc, { path: '/ordersx', headers: { 'x-canary': 'always' } })).clusters.length, 2, '/orders prefix is element-wise');
});

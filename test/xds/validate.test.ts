// The Envoy config validator on realistic mesh resources: good ones pass, and each kind of broken
// rule is found at the right path with the right rule name, including inside typed_config Anys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatViolations, lookupType, typeForUrl, validateMessage, validateResource, type Violation } from '../../xds/validate/index.js';

const T = 'type.googleapis.com/';
const URL = {
  listener: `${T}envoy.config.listener.v3.Listener`,
  route: `${T}envoy.config.route.v3.RouteConfiguration`,
  cluster: `${T}envoy.config.cluster.v3.Cluster`,
  endpoint: `${T}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  secret: `${T}envoy.extensions.transport_sockets.tls.v3.Secret`,
  bootstrap: `${T}envoy.config.bootstrap.v3.Bootstrap`,
  hcm: `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
  router: `${T}envoy.extensions.filters.http.router.v3.Router`,
  originalDst: `${T}envoy.extensions.filters.listener.original_dst.v3.OriginalDst`,
  httpOptions: `${T}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
  fileLog: `${T}envoy.extensions.access_loggers.file.v3.FileAccessLog`,
};
const ads = { ads: {}, resource_api_version: 'V3' };

function routeConfig() {
  return {
    name: 'http.80',
    virtual_hosts: [
      { name: 'inventory', domains: ['inventory', 'inventory.shop.svc.cluster.local'], routes: [{ match: { prefix: '/' }, route: { cluster: 'inventory' } }] },
      {
        name: 'orders',
        domains: ['orders', 'orders.shop.svc.cluster.local:80'],
        request_headers_to_add: [{ header: { key: 'x-skiff-route', value: 'orders' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
        routes: [
          {
            name: 'canary',
            match: { prefix: '/', headers: [{ name: 'x-canary', string_match: { exact: 'true' } }] },
            route: {
              weighted_clusters: { clusters: [{ name: 'orders-v1', weight: { value: 90 } }, { name: 'orders-v2', weight: { value: 10 } }] },
              timeout: { seconds: 15 },
            },
          },
          { match: { safe_regex: { regex: '^/api/v[0-9]+/(orders|items)$' } }, route: { cluster: 'orders-v1' } },
          { match: { path: '/healthz' }, direct_response: { status: 200 } },
        ],
      },
    ],
  };
}

function hcm(extra: object = {}) {
  return {
    '@type': URL.hcm,
    stat_prefix: 'outbound_http',
    codec_type: 'AUTO',
    route_config: routeConfig(),
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': URL.router } }],
    access_log: [{ name: 'envoy.access_loggers.file', typed_config: { '@type': URL.fileLog, path: '/dev/stdout' } }],
    ...extra,
  };
}

function listener(hcmConfig: object = hcm()) {
  return {
    name: 'outbound',
    address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
    listener_filters: [{ name: 'envoy.filters.listener.original_dst', typed_config: { '@type': URL.originalDst } }],
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcmConfig }] }],
  };
}

function cluster() {
  return {
    name: 'outbound|80||orders.shop.svc.cluster.local',
    type: 'EDS',
    eds_cluster_config: { eds_config: ads },
    connect_timeout: { seconds: 10 },
    lb_policy: 'ROUND_ROBIN',
    circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: { value: 1024 }, max_requests: { value: 1024 }, max_retries: { value: 3 } }] },
    outlier_detection: { consecutive_5xx: { value: 5 }, interval: { seconds: 10 }, base_ejection_time: { seconds: 30 }, max_ejection_percent: { value: 50 } },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': URL.httpOptions, explicit_http_config: { http2_protocol_options: {} } },
    },
  };
}

function loadAssignment() {
  return {
    cluster_name: 'outbound|80||orders.shop.svc.cluster.local',
    endpoints: [
      {
        locality: { zone: 'zone-a' },
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: '10.1.0.5', port_value: 8080 } } }, health_status: 'HEALTHY', load_balancing_weight: { value: 1 } },
          { endpoint: { address: { socket_address: { address: '10.1.0.6', port_value: 8080 } } } },
        ],
      },
    ],
  };
}

const PEM = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

function bootstrap() {
  return {
    node: { id: 'node-proxy~node-1', cluster: 'skiff', metadata: { fields: { role: { stringValue: 'node-proxy' } } } },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] },
      cds_config: ads,
      lds_config: ads,
    },
    static_resources: {
      clusters: [
        {
          name: 'xds',
          type: 'STATIC',
          connect_timeout: { seconds: 1 },
          load_assignment: { cluster_name: 'xds', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 15010 } } } }] }] },
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': URL.httpOptions, explicit_http_config: { http2_protocol_options: {} } },
          },
        },
      ],
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } },
  };
}

/** A copy of an object without one key. */
function without<O extends object, K extends keyof O>(object: O, key: K): Omit<O, K> {
  const copy: Partial<O> = { ...object };
  delete copy[key];
  return copy as Omit<O, K>;
}

function assertClean(violations: Violation[]): void {
  assert.deepEqual(violations, [], formatViolations(violations));
}

/** Asserts a violation of `rule` at exactly `path` was found. */
function assertFound(violations: Violation[], path: string, rule: string): void {
  const hit = violations.find((v) => v.path === path && v.rule === rule);
  assert.ok(hit, `expected ${rule} at ${path}, got:\n${formatViolations(violations) || '(none)'}`);
  assert.ok(hit.message.length > 0);
}

test('good mesh resources have no violations', () => {
  assertClean(validateResource(URL.listener, listener()));
  assertClean(validateResource(URL.route, routeConfig()));
  assertClean(validateResource(URL.cluster, cluster()));
  assertClean(validateResource(URL.endpoint, loadAssignment()));
  assertClean(validateResource(URL.secret, { name: 'default', tls_certificate: { certificate_chain: { inline_bytes: PEM }, private_key: { inline_string: 'key' } } }));
  assertClean(validateResource(URL.secret, { name: 'ROOTCA', validation_context: { trusted_ca: { inline_bytes: PEM }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }] } }));
  assertClean(validateResource(URL.bootstrap, bootstrap()));
});

test('encoded bytes and protobufjs messages are checked the same as objects', () => {
  const type = typeForUrl(URL.listener);
  assert.ok(type);
  const message = type.fromObject(listener(hcm({ stat_prefix: '' })));
  const bytes = type.encode(message).finish();
  const expected = 'filter_chains[0].filters[0].typed_config.stat_prefix';
  assertFound(validateResource(URL.listener, bytes), expected, 'string.min_len');
  assertFound(validateResource(URL.listener, message), expected, 'string.min_len');
  assertFound(validateResource(URL.listener, new Uint8Array([0xff, 0xff, 0xff])), '', 'decode');
});

test('toObject output (JSON form, and with defaults and oneof names) is accepted as input', () => {
  const type = typeForUrl(URL.listener);
  assert.ok(type);
  const message = type.fromObject(listener());
  assertClean(validateResource(URL.listener, type.toObject(message, { longs: String, enums: String, json: true })));
  const full = type.toObject(message, { longs: String, enums: String, bytes: String, defaults: true, oneofs: true });
  assertClean(validateResource(URL.listener, full));
  const broken = type.fromObject(listener(hcm({ stat_prefix: '' })));
  const json = type.toObject(broken, { longs: String, enums: String, json: true, defaults: true, oneofs: true });
  assertFound(validateResource(URL.listener, json), 'filter_chains[0].filters[0].typed_config.stat_prefix', 'string.min_len');
});

test('string.min_len: a cluster without a name', () => {
  assertFound(validateResource(URL.cluster, { ...cluster(), name: '' }), 'name', 'string.min_len');
  assertFound(validateResource(URL.cluster, without(cluster(), 'name')), 'name', 'string.min_len');
});

test('string.min_len inside typed_config: an HttpConnectionManager without stat_prefix', () => {
  assertFound(validateResource(URL.listener, listener(without(hcm(), 'stat_prefix'))), 'filter_chains[0].filters[0].typed_config.stat_prefix', 'string.min_len');
});

test('repeated.min_items nested in Any: a virtual host with no domains', () => {
  const routes = routeConfig();
  routes.virtual_hosts[1].domains = [];
  const violations = validateResource(URL.listener, listener(hcm({ route_config: routes })));
  assertFound(violations, 'filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[1].domains', 'repeated.min_items');
  assert.equal(violations.length, 1, formatViolations(violations));
});

test('oneof.required: a route without an action', () => {
  const routes = routeConfig();
  const orders = { ...routes.virtual_hosts[1], routes: [{ match: { prefix: '/' } }] };
  assertFound(validateResource(URL.route, { ...routes, virtual_hosts: [routes.virtual_hosts[0], orders] }), 'virtual_hosts[1].routes[0].action', 'oneof.required');
});

test('message.required: a header to add without its header', () => {
  const routes = routeConfig();
  const orders = { ...routes.virtual_hosts[1], request_headers_to_add: [{ append_action: 'APPEND_IF_EXISTS_OR_ADD' }] };
  const violations = validateResource(URL.route, { ...routes, virtual_hosts: [routes.virtual_hosts[0], orders] });
  assertFound(violations, 'virtual_hosts[1].request_headers_to_add[0].header', 'message.required');
});

test('Listener.address is optional in v3, but a set address must be complete', () => {
  assertClean(validateResource(URL.listener, without(listener(), 'address')));
  const envoyInternal = { ...listener(), address: { envoy_internal_address: {} } };
  assertFound(validateResource(URL.listener, envoyInternal), 'address.envoy_internal_address.address_name_specifier', 'oneof.required');
  const config = { ...loadAssignment(), endpoints: [{ lb_endpoints: [{ endpoint: { health_check_config: { port_value: 99999 } } }] }] };
  assertFound(validateResource(URL.endpoint, config), 'endpoints[0].lb_endpoints[0].endpoint.health_check_config.port_value', 'uint32.lte');
});

test('uint32.lte: a port above 65535', () => {
  const config = { ...listener(), address: { socket_address: { address: '0.0.0.0', port_value: 70000 } } };
  assertFound(validateResource(URL.listener, config), 'address.socket_address.port_value', 'uint32.lte');
});

test('uint32.gte on a wrapper: an endpoint weight of zero', () => {
  const config = loadAssignment();
  config.endpoints[0].lb_endpoints[0].load_balancing_weight = { value: 0 };
  assertFound(validateResource(URL.endpoint, config), 'endpoints[0].lb_endpoints[0].load_balancing_weight', 'uint32.gte');
});

test('string.well_known_regex: header names with forbidden characters', () => {
  const routes = routeConfig();
  const orders = {
    name: 'orders',
    domains: ['orders'],
    request_headers_to_add: [{ header: { key: 'x-bad\nname', value: 'v' } }],
    routes: [{ match: { prefix: '/', headers: [{ name: 'x-canary\r', string_match: { exact: 'true' } }] }, route: { cluster: 'orders-v1' } }],
  };
  const violations = validateResource(URL.route, { ...routes, virtual_hosts: [routes.virtual_hosts[0], orders] });
  assertFound(violations, 'virtual_hosts[1].request_headers_to_add[0].header.key', 'string.well_known_regex');
  assertFound(violations, 'virtual_hosts[1].routes[0].match.headers[0].name', 'string.well_known_regex');
  assert.equal(violations.length, 2, formatViolations(violations));
});

test('duration.gt and duration.gte: negative durations', () => {
  assertFound(validateResource(URL.cluster, { ...cluster(), connect_timeout: { seconds: -1 } }), 'connect_timeout', 'duration.gt');
  const config = listener(hcm({ request_headers_timeout: { seconds: 0, nanos: -5 } }));
  assertFound(validateResource(URL.listener, config), 'filter_chains[0].filters[0].typed_config.request_headers_timeout', 'duration.gte');
  const invalid = { ...cluster(), connect_timeout: { seconds: 1, nanos: -5 } };
  assertFound(validateResource(URL.cluster, invalid), 'connect_timeout', 'duration.valid');
});

test('enum.defined_only: an lb_policy number no enum value has', () => {
  assertFound(validateResource(URL.cluster, { ...cluster(), lb_policy: 99 }), 'lb_policy', 'enum.defined_only');
  assertFound(validateResource(URL.cluster, { ...cluster(), lb_policy: 'FASTEST' }), 'lb_policy', 'enum.name');
});

test('any.type_url: a typed_config of a type Envoy does not know', () => {
  const config = listener();
  config.listener_filters[0].typed_config = { '@type': `${T}envoy.extensions.filters.listener.nope.v3.Nope` };
  assertFound(validateResource(URL.listener, config), 'listener_filters[0].typed_config', 'any.type_url');
  const raw = { ...listener(), listener_filters: [{ name: 'x', typed_config: { type_url: `${T}no.such.Type`, value: new Uint8Array([8, 1]) } }] };
  assertFound(validateResource(URL.listener, raw), 'listener_filters[0].typed_config', 'any.type_url');
});

test('Anys inside maps are decoded and checked (typed_extension_protocol_options, typed_per_filter_config)', () => {
  const options = { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': URL.httpOptions, explicit_http_config: {} } };
  const violations = validateResource(URL.cluster, { ...cluster(), typed_extension_protocol_options: options });
  assertFound(violations, 'typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config.protocol_config', 'oneof.required');
  const routes = routeConfig();
  const perFilter = { 'envoy.filters.http.rbac': { '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBACPerRoute`, rbac: { rules: { policies: { p: { permissions: [], principals: [{ any: true }] } } } } } };
  const orders = { ...routes.virtual_hosts[1], typed_per_filter_config: perFilter };
  const found = validateResource(URL.route, { ...routes, virtual_hosts: [routes.virtual_hosts[0], orders] });
  assertFound(found, 'virtual_hosts[1].typed_per_filter_config["envoy.filters.http.rbac"].rbac.rules.policies["p"].permissions', 'repeated.min_items');
});

test('bool.const: Bootstrap stats_flush_on_admin may only be true', () => {
  assertFound(validateResource(URL.bootstrap, { ...bootstrap(), stats_flush_on_admin: false }), 'stats_flush_on_admin', 'bool.const');
  assertClean(validateResource(URL.bootstrap, { ...bootstrap(), stats_flush_on_admin: true }));
});

test('map keys: filter metadata with an empty namespace', () => {
  const config = loadAssignment();
  const endpoint = { ...config.endpoints[0].lb_endpoints[1], metadata: { filter_metadata: { '': { fields: {} } } } };
  config.endpoints[0].lb_endpoints[1] = endpoint;
  assertFound(validateResource(URL.endpoint, config), 'endpoints[0].lb_endpoints[1].metadata.filter_metadata[""]', 'string.min_len');
});

test('string.in: router strict_check_headers outside the allowed set', () => {
  const config = hcm({ http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': URL.router, strict_check_headers: ['x-envoy-max-retries', 'x-other'] } }] });
  assertFound(validateResource(URL.listener, listener(config)), 'filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.strict_check_headers[1]', 'string.in');
});

test('re2.compile: a route regex RE2 rejects (lookahead) though JavaScript accepts it', () => {
  const routes = routeConfig();
  routes.virtual_hosts[1].routes[1].match = { safe_regex: { regex: '^/api/(?!internal)' } };
  assertFound(validateResource(URL.route, routes), 'virtual_hosts[1].routes[1].match.safe_regex.regex', 're2.compile');
});

test('unknown_field: camelCase names and bare-JSON Structs are not silently dropped', () => {
  const violations = validateResource(URL.cluster, { ...cluster(), connectTimeout: { seconds: 1 }, metadata: { filter_metadata: { 'envoy.lb': { canary: true } } } });
  assertFound(violations, 'connectTimeout', 'unknown_field');
  assert.match(violations.find((v) => v.path === 'connectTimeout')?.message ?? '', /connect_timeout/);
  assertFound(violations, 'metadata.filter_metadata["envoy.lb"].canary', 'unknown_field');
});

test('validateResource checks a matching @type and rejects an unknown resource type', () => {
  assertClean(validateResource(URL.cluster, { '@type': URL.cluster, ...cluster() }));
  assertFound(validateResource(URL.cluster, { '@type': URL.listener, ...cluster() }), '@type', 'any.type_url');
  assertFound(validateResource(`${T}no.such.Resource`, {}), '', 'any.type_url');
});

test('validateMessage takes full names; formatViolations gives one line per violation', () => {
  assert.equal(lookupType('envoy.config.cluster.v3.Cluster').name, 'Cluster');
  const violations = validateMessage('envoy.config.cluster.v3.Cluster', { ...cluster(), name: '', lb_policy: 99 });
  const text = formatViolations(violations);
  assert.equal(text.split('\n').length, violations.length);
  assert.match(text, /^name: .* \[string\.min_len\]$/m);
  assert.throws(() => validateMessage('no.such.Type', {}));
});

// The loaded Envoy API: the types the mesh serves are all there, their PGV annotations survived
// parsing, and the validator copes with an empty message of every one of the loaded types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { envoyRoot, lookupType, typeForUrl, validateMessage, validateResource } from '../../xds/validate/index.js';

function allTypes(namespace: protobuf.NamespaceBase, found: protobuf.Type[] = []): protobuf.Type[] {
  for (const object of namespace.nestedArray) {
    if (object instanceof protobuf.Type) found.push(object);
    if (object instanceof protobuf.Namespace || object instanceof protobuf.Type) allTypes(object, found);
  }
  return found;
}

test('the Root holds every Envoy type the mesh uses, once, and resolves type URLs', () => {
  const names = [
    'envoy.config.listener.v3.Listener',
    'envoy.config.route.v3.RouteConfiguration',
    'envoy.config.cluster.v3.Cluster',
    'envoy.config.endpoint.v3.ClusterLoadAssignment',
    'envoy.config.core.v3.Address',
    'envoy.config.rbac.v3.RBAC',
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    'envoy.extensions.filters.http.router.v3.Router',
    'envoy.extensions.filters.http.rbac.v3.RBAC',
    'envoy.extensions.filters.http.fault.v3.HTTPFault',
    'envoy.extensions.filters.http.grpc_stats.v3.FilterConfig',
    'envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
    'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
    'envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
    'envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol',
    'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
    'envoy.extensions.filters.network.rbac.v3.RBAC',
    'envoy.extensions.transport_sockets.tls.v3.Secret',
    'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
    'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer',
    'envoy.extensions.access_loggers.file.v3.FileAccessLog',
    'envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig',
    'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    'envoy.extensions.clusters.aggregate.v3.ClusterConfig',
    'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
    'envoy.config.bootstrap.v3.Bootstrap',
    'envoy.service.discovery.v3.DiscoveryResponse',
    'envoy.service.discovery.v3.DeltaDiscoveryResponse',
    'envoy.admin.v3.ConfigDump',
    'xds.type.v3.TypedStruct',
  ];
  for (const name of names) assert.equal(lookupType(name).fullName, `.${name}`);
  assert.equal(envoyRoot(), envoyRoot(), 'loaded once');
  assert.equal(typeForUrl('type.googleapis.com/envoy.config.cluster.v3.Cluster'), lookupType('envoy.config.cluster.v3.Cluster'));
  assert.equal(typeForUrl('type.googleapis.com/envoy.config.core.v3.RoutingPriority'), undefined, 'an enum is not a message type');
  assert.equal(typeForUrl('type.googleapis.com/no.such.Type'), undefined);
  assert.equal(typeForUrl(''), undefined);
});

test('PGV annotations survive parsing (field rules, oneof required, nested item rules)', () => {
  const cluster = lookupType('envoy.config.cluster.v3.Cluster');
  assert.deepEqual(cluster.fields.name.parsedOptions, [{ '(validate.rules)': { string: { min_len: 1 } } }]);
  const route = lookupType('envoy.config.route.v3.Route');
  assert.deepEqual(route.oneofs.action.parsedOptions, [{ '(validate.required)': true }]);
  const annotated = allTypes(envoyRoot()).filter((type) =>
    type.fieldsArray.some((field) => (field.parsedOptions as unknown as object[] | undefined)?.some((o) => '(validate.rules)' in o)),
  );
  assert.ok(annotated.length > 300, `only ${annotated.length} types carry validate rules`);
});

test('an empty message of every loaded type is checked without throwing', () => {
  const types = allTypes(envoyRoot());
  assert.ok(types.length > 1000, `${types.length} types`);
  let withViolations = 0;
  for (const type of types) {
    const fromObject = validateMessage(type, {});
    const fromBytes = validateMessage(type, new Uint8Array());
    assert.deepEqual(fromBytes, fromObject, type.fullName);
    for (const violation of fromObject) assert.ok(violation.rule && violation.message, `${type.fullName}: ${JSON.stringify(violation)}`);
    if (fromObject.length > 0) withViolations++;
  }
  assert.ok(withViolations > 100, `only ${withViolations} empty messages break a rule`);
});

test('corrupted bytes of a listener (with Anys nested two deep) give violations, never an exception', () => {
  const T = 'type.googleapis.com/';
  const routeConfig = { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { safe_regex: { regex: '^/a' } }, route: { cluster: 'c' } }] }] };
  const hcm = { '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`, stat_prefix: 'h', route_config: routeConfig, http_filters: [{ name: 'router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } }] };
  const listener = { name: 'l', address: { socket_address: { address: '0.0.0.0', port_value: 1 } }, filter_chains: [{ filters: [{ name: 'hcm', typed_config: hcm }] }] };
  const url = `${T}envoy.config.listener.v3.Listener`;
  const type = lookupType('envoy.config.listener.v3.Listener');
  const bytes = type.encode(type.fromObject(listener)).finish();
  assert.deepEqual(validateResource(url, bytes), []);
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let found = 0;
  for (let i = 0; i < 300; i++) {
    const corrupted = Uint8Array.from(bytes);
    for (let k = 0; k < 3; k++) corrupted[random(corrupted.length)] = random(256);
    found += validateResource(url, corrupted).length;
  }
  assert.ok(found > 100, `only ${found} violations in 300 corrupted listeners`);
});

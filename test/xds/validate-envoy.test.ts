// Envoy's own config checks beyond PGV (the rejections a control plane most often causes): each
// is found where Envoy would reject the resource, and the accepted shapes next to it pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatViolations, validateMessage, type Violation } from '../../xds/validate/index.js';

const T = 'type.googleapis.com/';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } };
const HTTP_RBAC = { name: 'envoy.filters.http.rbac', typed_config: { '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBAC` } };
const TCP_PROXY = { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 'tcp', cluster: 'c' } };
const NETWORK_RBAC = { name: 'envoy.filters.network.rbac', typed_config: { '@type': `${T}envoy.extensions.filters.network.rbac.v3.RBAC`, stat_prefix: 'rbac' } };

function rules(violations: Violation[]): string[] {
  return violations.map((v) => `${v.path} ${v.rule}`);
}

function assertOnly(violations: Violation[], expected: string[]): void {
  assert.deepEqual(rules(violations).sort(), [...expected].sort(), formatViolations(violations));
}

function routeConfig(hosts: { domains: string[] }[]) {
  return { name: 'r', virtual_hosts: hosts.map((h, i) => ({ name: `vh${i}`, domains: h.domains, routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] })) };
}

function hcm(httpFilters: object[]) {
  return { '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`, stat_prefix: 'h', rds: { route_config_name: 'r', config_source: { ads: {} } }, http_filters: httpFilters };
}

function listener(chains: object[], extra: object = {}) {
  return { name: 'l', address: { socket_address: { address: '0.0.0.0', port_value: 15001 } }, filter_chains: chains, ...extra };
}

const RC = 'envoy.config.route.v3.RouteConfiguration';
const LISTENER = 'envoy.config.listener.v3.Listener';

test('domains: unique across virtual hosts (case-insensitive), one "*" at most', () => {
  assertOnly(validateMessage(RC, routeConfig([{ domains: ['orders', 'orders:80', '*.shop'] }, { domains: ['ORDERS.shop', 'shop.*', '*'] }])), []);
  assertOnly(validateMessage(RC, routeConfig([{ domains: ['orders'] }, { domains: ['inventory', 'Orders'] }])), ['virtual_hosts[1].domains[1] envoy.domain_unique']);
  assertOnly(validateMessage(RC, routeConfig([{ domains: ['*'] }, { domains: ['*'] }])), ['virtual_hosts[1].domains[0] envoy.domain_wildcard_single']);
  assertOnly(validateMessage(RC, routeConfig([{ domains: ['*.shop', '*.shop'] }])), ['virtual_hosts[0].domains[1] envoy.domain_unique']);
});

test('weighted clusters: weights must add up to more than 0', () => {
  const weighted = (weights: (number | undefined)[]) => ({
    name: 'r',
    virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: weights.map((w, i) => ({ name: `c${i}`, ...(w === undefined ? {} : { weight: { value: w } }) })) } } }] }],
  });
  assertOnly(validateMessage(RC, weighted([100, 0])), []);
  assertOnly(validateMessage(RC, weighted([0, 0])), ['virtual_hosts[0].routes[0].route.weighted_clusters.clusters envoy.weights_sum']);
  assertOnly(validateMessage(RC, weighted([undefined])), ['virtual_hosts[0].routes[0].route.weighted_clusters.clusters envoy.weights_sum']);
  assertOnly(validateMessage(RC, weighted([0xffff_ffff, 1])), ['virtual_hosts[0].routes[0].route.weighted_clusters.clusters envoy.weights_sum']);
});

test('terminal filters: the router last in HTTP chains, HCM or tcp_proxy last in network chains', () => {
  const chain = (filters: object[]) => listener([{ filters }]);
  assertOnly(validateMessage(LISTENER, chain([NETWORK_RBAC, { name: 'hcm', typed_config: hcm([HTTP_RBAC, ROUTER]) }])), []);
  assertOnly(validateMessage(LISTENER, chain([{ name: 'hcm', typed_config: hcm([ROUTER, HTTP_RBAC]) }])), [
    'filter_chains[0].filters[0].typed_config.http_filters[0] envoy.filter_terminal',
    'filter_chains[0].filters[0].typed_config.http_filters[1] envoy.filter_last_terminal',
  ]);
  assertOnly(validateMessage(LISTENER, chain([TCP_PROXY, NETWORK_RBAC])), [
    'filter_chains[0].filters[0] envoy.filter_terminal',
    'filter_chains[0].filters[1] envoy.filter_last_terminal',
  ]);
  // A filter found by discovery has no type here, so it is not judged.
  assertOnly(validateMessage(LISTENER, chain([{ name: 'ecds', config_discovery: { config_source: { ads: {} }, type_urls: [`${T}x.Y`] } }])), []);
});

test('listeners: a TCP listener needs a filter chain; UDP and API listeners do not', () => {
  assertOnly(validateMessage(LISTENER, listener([])), ['filter_chains envoy.listener_filter_chains']);
  assertOnly(validateMessage(LISTENER, listener([], { default_filter_chain: { filters: [TCP_PROXY] } })), []);
  assertOnly(validateMessage(LISTENER, { name: 'u', address: { socket_address: { address: '0.0.0.0', port_value: 53, protocol: 'UDP' } } }), []);
  const api = { name: 'orders:80', api_listener: { api_listener: hcm([ROUTER]) } };
  assertOnly(validateMessage(LISTENER, api), []);
});

test('filter chain matches: two chains may not select the same connections', () => {
  const chain = (filter_chain_match: object) => ({ filter_chain_match, filters: [TCP_PROXY] });
  const distinct = [chain({ destination_port: { value: 80 } }), chain({ destination_port: { value: 81 } }), chain({ server_names: ['a'], transport_protocol: 'tls' }), chain({})];
  assertOnly(validateMessage(LISTENER, listener(distinct)), []);
  assertOnly(validateMessage(LISTENER, listener([chain({}), chain({})])), ['filter_chains[1].filter_chain_match envoy.filter_chain_match_unique']);
  const overlapping = [chain({ server_names: ['a', 'b'], transport_protocol: 'tls' }), chain({ server_names: ['b'], transport_protocol: 'tls' })];
  assertOnly(validateMessage(LISTENER, listener(overlapping)), ['filter_chains[1].filter_chain_match envoy.filter_chain_match_unique']);
  const ranges = (prefix: string) => chain({ prefix_ranges: [{ address_prefix: prefix, prefix_len: { value: 24 } }] });
  assertOnly(validateMessage(LISTENER, listener([ranges('10.0.1.0'), ranges('10.0.2.0'), ranges('10.0.1.0')])), [
    'filter_chains[2].filter_chain_match envoy.filter_chain_match_unique',
  ]);
});

test('extension categories: a typed config of another kind of extension is rejected', () => {
  const asNetworkFilter = { name: 'rbac', typed_config: { '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBAC` } };
  const asHttpFilter = { name: 'rbac', typed_config: NETWORK_RBAC.typed_config };
  assertOnly(validateMessage(LISTENER, listener([{ filters: [{ name: 'hcm', typed_config: hcm([asHttpFilter, ROUTER]) }] }])), [
    'filter_chains[0].filters[0].typed_config.http_filters[0].typed_config envoy.extension_type',
  ]);
  assertOnly(validateMessage(LISTENER, listener([{ filters: [asNetworkFilter, TCP_PROXY] }])), ['filter_chains[0].filters[0].typed_config envoy.extension_type']);
  assertOnly(validateMessage(LISTENER, listener([{ filters: [TCP_PROXY] }], { listener_filters: [ROUTER] })), ['listener_filters[0].typed_config envoy.extension_type']);
  const typedStruct = { name: 'ts', typed_config: { '@type': `${T}xds.type.v3.TypedStruct`, type_url: `${T}envoy.extensions.filters.http.rbac.v3.RBAC` } };
  assertOnly(validateMessage(LISTENER, listener([{ filters: [{ name: 'hcm', typed_config: hcm([typedStruct, ROUTER]) }] }])), []);
  const perRoute = (type: string) => ({
    name: 'r',
    virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, typed_per_filter_config: { f: { '@type': `${T}${type}` } } }] }],
  });
  assertOnly(validateMessage(RC, perRoute('envoy.config.route.v3.FilterConfig')), []);
  assertOnly(validateMessage(RC, perRoute('envoy.extensions.filters.network.echo.v3.Echo')), [
    'virtual_hosts[0].routes[0].typed_per_filter_config["f"] envoy.extension_type',
  ]);
  const options = (type: string) => ({ name: 'c', connect_timeout: { seconds: 1 }, typed_extension_protocol_options: { o: { '@type': `${T}${type}` } } });
  assertOnly(validateMessage('envoy.config.cluster.v3.Cluster', options('envoy.extensions.filters.http.router.v3.Router')), [
    'typed_extension_protocol_options["o"] envoy.extension_type',
  ]);
});

test('EDS clusters: eds_cluster_config exactly when the type is EDS', () => {
  const CLUSTER = 'envoy.config.cluster.v3.Cluster';
  const base = { name: 'orders', connect_timeout: { seconds: 1 } };
  assertOnly(validateMessage(CLUSTER, { ...base, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } }), []);
  assertOnly(validateMessage(CLUSTER, { ...base, type: 'EDS' }), ['eds_cluster_config envoy.eds_cluster_config']);
  assertOnly(validateMessage(CLUSTER, { ...base, type: 'STRICT_DNS', eds_cluster_config: { eds_config: { ads: {} } } }), ['eds_cluster_config envoy.eds_cluster_config']);
});

test('ORIGINAL_DST clusters: lb_policy CLUSTER_PROVIDED and no load assignment', () => {
  const cluster = (extra: object) => ({ name: 'passthrough', type: 'ORIGINAL_DST', connect_timeout: { seconds: 1 }, ...extra });
  const CLUSTER = 'envoy.config.cluster.v3.Cluster';
  assertOnly(validateMessage(CLUSTER, cluster({ lb_policy: 'CLUSTER_PROVIDED' })), []);
  assertOnly(validateMessage(CLUSTER, cluster({})), ['lb_policy envoy.original_dst_lb_policy']);
  assertOnly(validateMessage(CLUSTER, cluster({ lb_policy: 'CLUSTER_PROVIDED', load_assignment: { cluster_name: 'passthrough' } })), [
    'load_assignment envoy.original_dst_load_assignment',
  ]);
});

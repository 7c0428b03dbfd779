// Checks Envoy makes when it builds config from a resource, beyond the PGV rules: each one here is
// a rejection Envoy reports (its message quoted in the comment) that a control plane can cause:
// regexes RE2 will not compile, duplicate or repeated-wildcard domains, weighted clusters whose
// weights add up to zero, terminal filters out of place, listeners without filter chains or with
// two chains that match the same traffic, clusters whose type and discovery config disagree, and
// typed configs of the wrong extension category.
// Each check gets the decoded message (protobufjs form: enums as numbers, Anys as type_url/value).
import { envoyRoot, typeForUrl } from './proto-root.js';
import { re2Error } from './re2.js';
import { isRecord, planOf } from './rules.js';
import type { Report } from './shape.js';

type Fields = { [name: string]: unknown };
/** One of Envoy's checks of a message; it reports at paths relative to the message. */
export type EnvoyCheck = (message: Fields, report: Report) => void;

function records(value: unknown): Fields[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** The full name of a typed config's type, when it is one Envoy knows (else any.type_url says so). */
function typeName(typedConfig: unknown): string | undefined {
  if (!isRecord(typedConfig) || typeof typedConfig.type_url !== 'string') return undefined;
  const type = typeForUrl(typedConfig.type_url);
  return type ? planOf(type).name : undefined;
}

/** "Only a single wildcard domain is permitted in route X"; "Only unique values for domains are permitted". */
function routeConfigurationDomains(message: Fields, report: Report): void {
  const seen = new Map<string, string>();
  records(message.virtual_hosts).forEach((host, h) => {
    (Array.isArray(host.domains) ? host.domains : []).forEach((domain: unknown, d) => {
      const key = String(domain).toLowerCase();
      const where = `virtual_hosts[${h}].domains[${d}]`;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, where);
        return;
      }
      if (key === '*') report(where, 'envoy.domain_wildcard_single', `only one virtual host may have the domain "*" (also at ${first})`);
      else report(where, 'envoy.domain_unique', `domain ${JSON.stringify(key)} is already at ${first}; Envoy requires unique domains`);
    });
  });
}

const MAX_UINT32 = 0xffff_ffff;

/** "Sum of weights in the weighted_cluster must be greater than 0." (and must fit in uint32). */
function weightedClusterSum(message: Fields, report: Report): void {
  let sum = 0;
  for (const cluster of records(message.clusters)) {
    const weight = isRecord(cluster.weight) ? Number(cluster.weight.value ?? 0) : 0;
    sum += weight;
  }
  if (sum === 0) report('clusters', 'envoy.weights_sum', 'the weights of the clusters add up to 0; Envoy requires more');
  else if (sum > MAX_UINT32) report('clusters', 'envoy.weights_sum', `the weights add up to ${sum}, more than ${MAX_UINT32}`);
}

const TERMINAL_HTTP_FILTERS = new Set([
  'envoy.extensions.filters.http.router.v3.Router',
  'envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec',
]);
const TERMINAL_NETWORK_FILTERS = new Set(
  [
    'http_connection_manager.v3.HttpConnectionManager',
    'tcp_proxy.v3.TcpProxy',
    'direct_response.v3.Config',
    'echo.v3.Echo',
    'redis_proxy.v3.RedisProxy',
    'thrift_proxy.v3.ThriftProxy',
    'dubbo_proxy.v3.DubboProxy',
  ].map((name) => `envoy.extensions.filters.network.${name}`),
);

/**
 * "terminal filter named X of type Y must be the last filter in a <kind> filter chain" and
 * "non-terminal filter named X of type Y is the last filter in a <kind> filter chain". A filter
 * whose type is not known here (discovered, optional, or wrapped) is not judged as last.
 */
function terminalFilters(kind: 'http' | 'network', terminal: Set<string>, ownPrefix: string, field: string): EnvoyCheck {
  return (message, report) => {
    const filters = records(message[field]);
    filters.forEach((filter, i) => {
      const type = typeName(filter.typed_config);
      const where = `${field}[${i}]`;
      const last = i === filters.length - 1;
      if (type && terminal.has(type) && !last) {
        report(where, 'envoy.filter_terminal', `terminal filter ${String(filter.name)} (${type}) must be the last filter in the ${kind} filter chain`);
      } else if (type && last && !terminal.has(type) && type.startsWith(ownPrefix)) {
        report(where, 'envoy.filter_last_terminal', `non-terminal filter ${String(filter.name)} (${type}) is the last filter in the ${kind} filter chain`);
      }
    });
  };
}

/** The number of an enum value, e.g. `enumValue('envoy.config.core.v3.SocketAddress.Protocol', 'UDP')`. */
function enumValue(enumName: string, valueName: string): number {
  const key = `${enumName}.${valueName}`;
  let value = enumValues.get(key);
  if (value === undefined) {
    value = envoyRoot().lookupEnum(enumName).values[valueName] as number;
    enumValues.set(key, value);
  }
  return value;
}

const enumValues = new Map<string, number>();
/** Above this many combinations a filter chain match is compared as a whole only. */
const MAX_COMBINATIONS = 4096;

function cidrs(value: unknown): string[] {
  return records(value).map((range) => {
    const length = isRecord(range.prefix_len) ? Number(range.prefix_len.value ?? 0) : undefined;
    return `${String(range.address_prefix)}/${length ?? ''}`;
  });
}

/**
 * Every combination of values one filter chain match selects, as Envoy expands them into its
 * lookup tree (an empty list matches anything). Two chains sharing a combination are ambiguous.
 */
function matchCombinations(match: Fields): string[] {
  const wrapped = (value: unknown) => (isRecord(value) ? String(value.value ?? '') : '');
  const strings = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  const dimensions: string[][] = [
    [wrapped(match.destination_port)],
    cidrs(match.prefix_ranges),
    [String(match.address_suffix ?? ''), wrapped(match.suffix_len)],
    strings(match.server_names),
    [String(match.transport_protocol ?? '')],
    strings(match.application_protocols),
    cidrs(match.direct_source_prefix_ranges),
    [String(match.source_type ?? 0)],
    cidrs(match.source_prefix_ranges),
    strings(match.source_ports),
  ].map((values) => (values.length === 0 ? ['*'] : [...new Set(values)].sort()));
  const count = dimensions.reduce((n, values) => n * values.length, 1);
  if (count > MAX_COMBINATIONS) return [JSON.stringify(dimensions)];
  let combinations = [''];
  for (const values of dimensions) combinations = combinations.flatMap((prefix) => values.map((v) => `${prefix}|${v}`));
  return combinations;
}

/** "no filter chains specified"; "multiple filter chains with the same matching rules are defined". */
function listenerFilterChains(message: Fields, report: Report): void {
  if (message.api_listener != null) return;
  const chains = records(message.filter_chains);
  const address = isRecord(message.address) && isRecord(message.address.socket_address) ? message.address.socket_address : {};
  const udp = Number(address.protocol ?? 0) === enumValue('envoy.config.core.v3.SocketAddress.Protocol', 'UDP');
  if (chains.length === 0 && message.default_filter_chain == null && !udp) {
    report('filter_chains', 'envoy.listener_filter_chains', 'a TCP listener needs a filter chain (or a default_filter_chain)');
  }
  if (message.filter_chain_matcher != null) return;
  const owner = new Map<string, number>();
  chains.forEach((chain, i) => {
    const match = isRecord(chain.filter_chain_match) ? chain.filter_chain_match : {};
    for (const combination of matchCombinations(match)) {
      const first = owner.get(combination);
      if (first === undefined) {
        owner.set(combination, i);
      } else if (first !== i) {
        const where = `filter_chains[${i}].filter_chain_match`;
        report(where, 'envoy.filter_chain_match_unique', `matches the same connections as filter_chains[${first}]; Envoy rejects the listener`);
        return;
      }
    }
  });
}

/**
 * "cannot create an EDS cluster without an EDS config"; "eds_cluster_config set in a non-EDS
 * cluster"; "Only 'CLUSTER_PROVIDED' is allowed with cluster type 'ORIGINAL_DST'"; "ORIGINAL_DST
 * clusters must have no load assignment configured".
 */
function clusterDiscovery(message: Fields, report: Report): void {
  const discovery = (name: string) => enumValue('envoy.config.cluster.v3.Cluster.DiscoveryType', name);
  const type = Number(message.type ?? 0);
  if (type === discovery('EDS') && message.eds_cluster_config == null) {
    report('eds_cluster_config', 'envoy.eds_cluster_config', 'an EDS cluster needs eds_cluster_config');
  }
  if (type !== discovery('EDS') && message.eds_cluster_config != null) {
    report('eds_cluster_config', 'envoy.eds_cluster_config', 'eds_cluster_config is set on a cluster whose type is not EDS');
  }
  if (type !== discovery('ORIGINAL_DST')) return;
  if (Number(message.lb_policy ?? 0) !== enumValue('envoy.config.cluster.v3.Cluster.LbPolicy', 'CLUSTER_PROVIDED')) {
    report('lb_policy', 'envoy.original_dst_lb_policy', 'an ORIGINAL_DST cluster must use lb_policy CLUSTER_PROVIDED');
  }
  if (message.load_assignment != null) {
    report('load_assignment', 'envoy.original_dst_load_assignment', 'an ORIGINAL_DST cluster must have no load assignment');
  }
}

/** The regex of a RegexMatcher must compile in RE2 (JavaScript accepts lookaround; RE2 does not). */
function regexCompiles(message: Fields, report: Report): void {
  if (typeof message.regex !== 'string') return;
  const why = re2Error(message.regex);
  if (why) report('regex', 're2.compile', `Envoy's RE2 rejects ${JSON.stringify(message.regex)}: ${why}`);
}

/** Typed configs that stand for any extension: Envoy unwraps them, so their category is not judged here. */
const ANY_CATEGORY = new Set(['xds.type.v3.TypedStruct', 'udpa.type.v1.TypedStruct', 'envoy.extensions.common.matching.v3.ExtensionWithMatcher']);

/**
 * "Didn't find a registered implementation for … with type URL …": an extension's typed config
 * must be a type of the category that slot takes (an HTTP filter's config an
 * `envoy.extensions.filters.http.*` type, and so on). The network and HTTP RBAC filters, for one,
 * share a message name and differ only in that prefix.
 */
function extensionCategory(field: string, category: string, prefixes: string[]): EnvoyCheck {
  const check = (typedConfig: unknown, where: string, report: Report) => {
    const type = typeName(typedConfig);
    if (!type || ANY_CATEGORY.has(type) || prefixes.some((prefix) => type.startsWith(prefix))) return;
    report(where, 'envoy.extension_type', `${type} is not ${category}; Envoy has no implementation of it here`);
  };
  return (message, report) => {
    const value = message[field];
    if (isRecord(value) && typeof value.type_url !== 'string') {
      for (const [key, entry] of Object.entries(value)) check(entry, `${field}[${JSON.stringify(key)}]`, report);
    } else {
      check(value, field, report);
    }
  };
}

function all(...checks: EnvoyCheck[]): EnvoyCheck {
  return (message, report) => {
    for (const check of checks) check(message, report);
  };
}

const HTTP_FILTER_CONFIG = ['envoy.extensions.filters.http.'];
const PER_FILTER_CONFIG = extensionCategory('typed_per_filter_config', 'an HTTP filter config', [...HTTP_FILTER_CONFIG, 'envoy.config.route.v3.FilterConfig']);

/** Envoy's own checks, by the full name of the message type they apply to. */
export const envoyChecks = new Map<string, EnvoyCheck>([
  ['envoy.type.matcher.v3.RegexMatcher', regexCompiles],
  ['envoy.config.route.v3.RouteConfiguration', routeConfigurationDomains],
  ['envoy.config.route.v3.WeightedCluster', weightedClusterSum],
  ['envoy.config.route.v3.VirtualHost', PER_FILTER_CONFIG],
  ['envoy.config.route.v3.Route', PER_FILTER_CONFIG],
  ['envoy.config.route.v3.WeightedCluster.ClusterWeight', PER_FILTER_CONFIG],
  ['envoy.config.listener.v3.Listener', listenerFilterChains],
  ['envoy.config.listener.v3.FilterChain', terminalFilters('network', TERMINAL_NETWORK_FILTERS, 'envoy.extensions.filters.network.', 'filters')],
  ['envoy.config.listener.v3.Filter', extensionCategory('typed_config', 'a network filter', ['envoy.extensions.filters.network.'])],
  ['envoy.config.listener.v3.ListenerFilter', extensionCategory('typed_config', 'a listener filter', ['envoy.extensions.filters.listener.'])],
  ['envoy.config.core.v3.TransportSocket', extensionCategory('typed_config', 'a transport socket', ['envoy.extensions.transport_sockets.'])],
  ['envoy.config.accesslog.v3.AccessLog', extensionCategory('typed_config', 'an access logger', ['envoy.extensions.access_loggers.'])],
  [
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    terminalFilters('http', TERMINAL_HTTP_FILTERS, 'envoy.extensions.filters.http.', 'http_filters'),
  ],
  ['envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter', extensionCategory('typed_config', 'an HTTP filter', HTTP_FILTER_CONFIG)],
  [
    'envoy.config.cluster.v3.Cluster',
    all(
      clusterDiscovery,
      extensionCategory('typed_extension_protocol_options', 'protocol options', ['envoy.extensions.upstreams.', 'envoy.extensions.filters.network.']),
    ),
  ],
]);

// `skiff proxy-config`: what the control plane sent one xDS client, from its admin API's Envoy
// ConfigDump — istioctl's tables for clusters, listeners, routes, endpoints and secrets, or the
// ConfigDump itself (JSON/YAML) so existing Envoy tooling reads it.
import { X509Certificate } from 'node:crypto';
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError } from '../command.js';
import { ControlPlaneClient, DEFAULT_CONTROL_PLANE_ADMIN, type ConfigDump } from '../clients/control-plane.js';
import { exitIfUnreachable, NotServed } from '../clients/http.js';
import { choiceArg, parseCommandArgs, stringFlag } from '../output/args.js';
import { renderTable, writeData } from '../output/write.js';

const KINDS = ['listeners', 'routes', 'clusters', 'endpoints', 'secrets', 'all'] as const;
type Kind = (typeof KINDS)[number];

const HELP = `Usage: skiff proxy-config (listeners|routes|clusters|endpoints|secrets|all) ID [--admin HOST:PORT] [-o table|json|yaml]

Shows the configuration the control plane sent the xDS client ID (its node id), from the admin
API's /debug/config_dump: istioctl's tables, adapted to what skiff serves. -o json and -o yaml
print Envoy's ConfigDump (envoy.admin.v3.ConfigDump) of the kind asked for, so tools that read
Envoy's /config_dump read it too. 'all' also shows skiff's own resource types (the redirector's).

Tables:
  clusters    SERVICE FQDN  PORT  SUBSET  DIRECTION  TYPE  LB POLICY
  listeners   NAME  ADDRESSES  PORT  MATCH  DESTINATION
  routes      NAME  VHOST NAME  DOMAINS  MATCH  ROUTE (the HTTPRoute/GRPCRoute rule)
  endpoints   ENDPOINT  STATUS  LOCALITY  CLUSTER
  secrets     RESOURCE NAME  TYPE  SOURCE  VALID CERT  SERIAL NUMBER  NOT AFTER  NOT BEFORE

Exit codes: 0 shown, 1 no client with that ID is connected, 2 usage, 3 the control plane's admin
API cannot be reached.

Flags:
  --admin HOST:PORT   the control plane's admin API (default ${DEFAULT_CONTROL_PLANE_ADMIN}; unix:PATH works)
  -o, --output FMT    table (default), json or yaml

Examples:
  skiff proxy-config clusters node-a~node-proxy
  skiff proxy-config routes frontend-grpc -o json | jq '.configs[0].dynamic_route_configs'
  skiff proxy-config all node-a~node-proxy --admin 10.0.0.1:15014 -o yaml
`;

type Json = Record<string, unknown>;

const SECTION_TYPES: Record<Exclude<Kind, 'all'>, string> = {
  clusters: 'ClustersConfigDump',
  endpoints: 'EndpointsConfigDump',
  listeners: 'ListenersConfigDump',
  routes: 'RoutesConfigDump',
  secrets: 'SecretsConfigDump',
};

const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const str = (v: unknown, fallback = '-'): string => (v === undefined || v === null || v === '' ? fallback : String(v));

function sectionOf(dump: ConfigDump, kind: Exclude<Kind, 'all'>): Json | undefined {
  return dump.configs.find((c) => String(c['@type']).endsWith(`.${SECTION_TYPES[kind]}`));
}

function clusterRows(section: Json): string[][] {
  return arr(section.dynamic_active_clusters).map((entry) => {
    const c = obj(entry.cluster);
    const name = str(c.name);
    const parts = name.split('|');
    const [direction, port, subset, fqdn] = parts.length === 4 ? parts : ['-', '-', '-', name];
    return [str(fqdn), str(port), str(subset), str(direction), str(c.type, 'STATIC'), str(c.lb_policy, 'ROUND_ROBIN')];
  });
}

function chainMatch(match: Json): string {
  const parts: string[] = [];
  const ranges = arr(match.prefix_ranges).map((r) => `${str(r.address_prefix)}/${str(obj(r.prefix_len).value ?? r.prefix_len, '0')}`);
  if (ranges.length > 0) parts.push(`dst ${ranges.join(',')}`);
  if (match.transport_protocol) parts.push(`transport ${str(match.transport_protocol)}`);
  const alpn = arr(match.application_protocols);
  if (alpn.length > 0) parts.push(`alpn ${alpn.join(',')}`);
  const sni = arr(match.server_names);
  if (sni.length > 0) parts.push(`sni ${sni.join(',')}`);
  return parts.join('; ') || 'ALL';
}

/** Where a filter chain's (or API listener's) traffic goes: a cluster, or a route configuration. */
function destination(filters: Json[]): string {
  for (const f of filters) {
    const typed = obj(f.typed_config);
    if (typed.cluster) return `Cluster: ${str(typed.cluster)}`;
    const weighted = arr(obj(typed.weighted_clusters).clusters);
    if (weighted.length > 0) return `Clusters: ${weighted.map((w) => `${str(w.name)} w${str(w.weight)}`).join(', ')}`;
    const rds = obj(typed.rds);
    if (rds.route_config_name) return `Route: ${str(rds.route_config_name)}`;
    if (typed.route_config) return `Inline Route: ${str(obj(typed.route_config).name, '')}`;
    // an Any the control plane could not expand (its proto is not loaded there): name its type
    if (typed.type_url) return `${str(typed.type_url).split('.').pop() ?? ''} (not decoded)`;
  }
  return '-';
}

function listenerRows(section: Json): string[][] {
  const rows: string[][] = [];
  for (const entry of arr(section.dynamic_listeners)) {
    const l = obj(obj(entry.active_state).listener);
    const name = str(l.name ?? entry.name);
    const api = obj(l.api_listener).api_listener;
    if (api) {
      rows.push([name, '-', '-', 'api_listener', destination([{ typed_config: api }])]);
      continue;
    }
    const socket = obj(obj(l.address).socket_address);
    const address = str(socket.address);
    const chains = arr(l.filter_chains);
    if (l.default_filter_chain) chains.push({ ...obj(l.default_filter_chain), filter_chain_match: { default: true } });
    for (const chain of chains) {
      const match = obj(chain.filter_chain_match);
      const port = obj(match.destination_port).value ?? socket.port_value;
      rows.push([name, address, str(port), match.default ? 'default' : chainMatch(match), destination(arr(chain.filters))]);
    }
  }
  return rows;
}

function routeMatch(match: Json): string {
  let path = '/*';
  if (match.path !== undefined) path = str(match.path);
  else if (match.prefix !== undefined) path = `${str(match.prefix, '')}*`;
  else if (match.path_separated_prefix !== undefined) path = `${str(match.path_separated_prefix)}/*`;
  else if (match.safe_regex) path = `~${str(obj(match.safe_regex).regex)}`;
  const headers = arr(match.headers).map((h) => {
    const m = obj(h.string_match);
    const value = m.exact ?? m.prefix ?? m.safe_regex ?? m.contains ?? (h.present_match ? '(present)' : '');
    return `${str(h.name)}=${typeof value === 'object' ? str(obj(value).regex) : str(value, '')}`;
  });
  return [path, ...headers].join(' ');
}

function routeRows(section: Json): string[][] {
  const rows: string[][] = [];
  for (const entry of arr(section.dynamic_route_configs)) {
    const rc = obj(entry.route_config);
    for (const vh of arr(rc.virtual_hosts)) {
      for (const r of arr(vh.routes)) {
        const routeName = str(r.name, '');
        const origin = routeName.includes('/rule') ? routeName.slice(0, routeName.indexOf('/rule')) : '-';
        rows.push([str(rc.name), str(vh.name), arr(vh.domains).join(',') || '-', routeMatch(obj(r.match)), origin]);
      }
    }
  }
  return rows;
}

function endpointRows(section: Json): string[][] {
  const rows: string[][] = [];
  for (const entry of arr(section.dynamic_endpoint_configs)) {
    const cla = obj(entry.endpoint_config);
    for (const locality of arr(cla.endpoints)) {
      const where = Object.values(obj(locality.locality)).join('/') || '-';
      for (const lb of arr(locality.lb_endpoints)) {
        const socket = obj(obj(obj(lb.endpoint).address).socket_address);
        rows.push([`${str(socket.address)}:${str(socket.port_value)}`, str(lb.health_status, 'UNKNOWN'), where, str(cla.cluster_name)]);
      }
    }
  }
  return rows;
}

/** TYPE SOURCE VALID SERIAL NOT-AFTER NOT-BEFORE of one PEM data source (certificates parsed when inline). */
function certificateColumns(type: string, source: Json): string[] {
  const pem = source.inline_string ?? (source.inline_bytes ? Buffer.from(String(source.inline_bytes), 'base64').toString('utf8') : undefined);
  if (pem === undefined) return [type, source.filename ? `file ${str(source.filename)}` : '-', '-', '-', '-', '-'];
  try {
    const cert = new X509Certificate(String(pem));
    const now = Date.now();
    const valid = Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
    return [type, 'inline', String(valid), cert.serialNumber, new Date(cert.validTo).toISOString(), new Date(cert.validFrom).toISOString()];
  } catch (err) {
    return [type, 'inline', `false (${(err as Error).message})`, '-', '-', '-'];
  }
}

function secretRows(section: Json): string[][] {
  const rows: string[][] = [];
  for (const entry of arr(section.dynamic_active_secrets)) {
    const s = obj(entry.secret);
    const name = str(s.name ?? entry.name);
    if (s.tls_certificate) rows.push([name, ...certificateColumns('Cert Chain', obj(obj(s.tls_certificate).certificate_chain))]);
    if (s.validation_context) rows.push([name, ...certificateColumns('CA', obj(obj(s.validation_context).trusted_ca))]);
    if (!s.tls_certificate && !s.validation_context) rows.push([name, 'other', '-', '-', '-', '-', '-']);
  }
  return rows;
}

const TABLES: Record<Exclude<Kind, 'all'>, { header: string[]; rows: (section: Json) => string[][] }> = {
  clusters: { header: ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'LB POLICY'], rows: clusterRows },
  listeners: { header: ['NAME', 'ADDRESSES', 'PORT', 'MATCH', 'DESTINATION'], rows: listenerRows },
  routes: { header: ['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'ROUTE'], rows: routeRows },
  endpoints: { header: ['ENDPOINT', 'STATUS', 'LOCALITY', 'CLUSTER'], rows: endpointRows },
  secrets: { header: ['RESOURCE NAME', 'TYPE', 'SOURCE', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'], rows: secretRows },
};

/** skiff's own types (ResourcesDump sections): TYPE NAME VERSION. */
function otherRows(dump: ConfigDump): string[][] {
  const known = Object.values(SECTION_TYPES);
  const rows: string[][] = [];
  for (const section of dump.configs) {
    if (known.some((t) => String(section['@type']).endsWith(`.${t}`))) continue;
    const type = str(section.type_url);
    for (const r of arr(section.resources)) rows.push([type.slice(type.lastIndexOf('.') + 1), str(r.name), str(r.version_info)]);
  }
  return rows;
}

function renderKind(dump: ConfigDump, kind: Exclude<Kind, 'all'>): string {
  const section = sectionOf(dump, kind);
  const rows = section ? TABLES[kind].rows(section) : [];
  return rows.length > 0 ? renderTable(TABLES[kind].header, rows) : `No ${kind} sent.\n`;
}

function renderAll(dump: ConfigDump): string {
  const parts = (Object.keys(TABLES) as Exclude<Kind, 'all'>[]).map((kind) => `${kind.toUpperCase()}\n${renderKind(dump, kind)}`);
  const other = otherRows(dump);
  if (other.length > 0) parts.push(`SKIFF RESOURCES\n${renderTable(['TYPE', 'NAME', 'VERSION'], other)}`);
  return parts.join('\n');
}

export const proxyConfigCommand: Command = {
  name: 'proxy-config',
  summary: "Show an xDS client's clusters, listeners, routes, endpoints or secrets (tables or Envoy ConfigDump)",
  help: HELP,
  run(argv) {
    const args = parseCommandArgs(argv, { admin: { type: 'string' } }, ['table', 'json', 'yaml']);
    const [kindArg, id, extra] = args.positionals;
    const kind = choiceArg(kindArg, KINDS, 'the kind');
    if (id === undefined) throw new UsageError('the client ID (node id) is required');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    const cp = new ControlPlaneClient(stringFlag(args, 'admin') ?? DEFAULT_CONTROL_PLANE_ADMIN);
    return exitIfUnreachable('proxy-config', async () => {
      let dump: ConfigDump;
      try {
        dump = await cp.configDump(id);
      } catch (err) {
        if (!(err instanceof NotServed)) throw err;
        process.stderr.write(`skiff proxy-config: ${err.message}\n`);
        return EXIT_PROBLEM;
      }
      if (args.output === 'json' || args.output === 'yaml') {
        const section = kind === 'all' ? undefined : sectionOf(dump, kind);
        writeData(args.output, kind === 'all' ? dump : { configs: section ? [section] : [] });
      } else {
        process.stdout.write(kind === 'all' ? renderAll(dump) : renderKind(dump, kind));
      }
      return EXIT_OK;
    });
  },
};

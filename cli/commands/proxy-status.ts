// `skiff proxy-status`: every xDS client of the control plane (Envoys, proxyless gRPC clients,
// redirectors) with its per-type sync state, istioctl style; with an ID, that client's types in
// detail and the difference between what the control plane serves now and what the client ACKed.
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError } from '../command.js';
import { ControlPlaneClient, DEFAULT_CONTROL_PLANE_ADMIN, sentVersions, type SyncClient, type Syncz, type TypeStateDetail } from '../clients/control-plane.js';
import { exitIfUnreachable, NotServed } from '../clients/http.js';
import { parseCommandArgs, stringFlag, type OutputFormat } from '../output/args.js';
import { ENVOY_COLUMNS, isEnvoyType, isProblem, shortType, syncCell, typeSync, worstSync, type TypeSync } from '../output/sync-state.js';
import { renderTable, writeData, writeTable } from '../output/write.js';

const HELP = `Usage: skiff proxy-status [ID] [--admin HOST:PORT] [--types] [-o table|wide|json|yaml]

Shows every client connected to the control plane's xDS server — node proxies, waypoints,
proxyless gRPC clients and redirectors — with its role, node, and per type whether it is
SYNCED (ACKed what was sent), NOT SENT (asked, nothing to send yet), STALE (sent, not ACKed yet,
with the age), NACKED (refused, with the client's error) or IGNORED (never asked for).
Envoy's types get a column each (CDS LDS EDS RDS SDS); skiff's own types (the redirector's
NodeConfig, Identity, Workload, Service, EndpointPolicy) share the SKIFF column, which shows
the worst of them. -o wide (or --types) shows one row per client and type.

With an ID (a node id), shows that client's types in detail and, per type, what differs between
what the control plane serves now and what the client last ACKed.

Exit codes: 0 all synced, 1 a client is NACKED or STALE (or ID is not connected), 2 usage,
3 the control plane's admin API cannot be reached.

Flags:
  --admin HOST:PORT   the control plane's admin API (default ${DEFAULT_CONTROL_PLANE_ADMIN}; unix:PATH works)
  --types             one row per client and type (same as -o wide)
  -o, --output FMT    table (default), wide, json or yaml

Examples:
  skiff proxy-status
  skiff proxy-status --admin 10.0.0.1:15014 -o wide
  skiff proxy-status node-a~node-proxy -o yaml
`;

const TABLE_HEADER = ['NAME', 'ROLE', 'NODE', 'CLUSTER', ...ENVOY_COLUMNS, 'SKIFF', 'CONTROL PLANE', 'VERSION'];
const TYPES_HEADER = ['NAME', 'ROLE', 'TYPE', 'STATUS', 'SENT', 'ACKED', 'NONCE', 'RESOURCES', 'ERROR'];

function nodeOf(c: SyncClient): string {
  if (c.node.nodeName) return c.node.nodeName;
  if (c.node.namespace || c.node.name) return `${c.node.namespace ?? ''}/${c.node.name ?? ''}`;
  return '-';
}

function controlPlaneName(syncz: Syncz, address: string): string {
  const cp = syncz.controlPlane;
  const name = cp?.id ?? address;
  return cp?.version ? `${name} (${cp.version})` : name;
}

function summaryRow(c: SyncClient, controlPlane: string): string[] {
  const byShort = new Map(c.types.filter((t) => isEnvoyType(t.typeUrl)).map((t) => [shortType(t.typeUrl), t]));
  const envoy = ENVOY_COLUMNS.map((col) => syncCell(typeSync(byShort.get(col)), 40));
  const skiff = syncCell(worstSync(c.types.filter((t) => !isEnvoyType(t.typeUrl))), 40);
  return [c.id, c.role, nodeOf(c), c.node.cluster || '-', ...envoy, skiff, controlPlane, c.node.userAgent || '-'];
}

function typeRows(c: SyncClient): string[][] {
  return c.types.map((t) => {
    const s = typeSync(t);
    return [
      c.id,
      c.role,
      shortType(t.typeUrl),
      s.state === 'STALE' ? `STALE (${s.detail})` : s.state,
      t.versionSent || '-',
      t.versionAcked || '-',
      t.nonce || '-',
      t.wildcard ? (t.names.length > 0 ? `* + ${t.names.length} named` : '*') : String(t.names.length),
      s.state === 'NACKED' ? s.detail : '',
    ];
  });
}

/** The data form of one client: the syncz entry plus each type's status. */
function clientData(c: SyncClient): Record<string, unknown> {
  return { ...c, types: c.types.map((t) => ({ ...t, type: shortType(t.typeUrl), status: typeSync(t) })) };
}

interface TypeDiff {
  type: string;
  typeUrl: string;
  status: TypeSync;
  versionSent: string;
  versionAcked: string;
  /** What the control plane serves now vs what the client ACKed, per resource (when the admin exposes both). */
  diff: { added: string[]; changed: string[]; removed: string[] } | null;
  current?: { version: string; resources: Record<string, string> };
  /** The resources the client's copy was last sent (from the config dump): name → version. */
  sent: Record<string, string>;
  note: string;
}

function resourceDiff(acked: Record<string, string>, current: Record<string, string>): NonNullable<TypeDiff['diff']> {
  const added: string[] = [];
  const changed: string[] = [];
  for (const [name, version] of Object.entries(current)) {
    if (!(name in acked)) added.push(name);
    else if (acked[name] !== version) changed.push(name);
  }
  const removed = Object.keys(acked).filter((name) => !(name in current));
  return { added: added.sort(), changed: changed.sort(), removed: removed.sort() };
}

function typeDiff(t: TypeStateDetail, sent: Record<string, string>): TypeDiff {
  const status = typeSync(t);
  const base = { type: shortType(t.typeUrl), typeUrl: t.typeUrl, status, versionSent: t.versionSent, versionAcked: t.versionAcked, sent };
  if (t.current && t.ackedResources) {
    const diff = resourceDiff(t.ackedResources, t.current.resources);
    const same = diff.added.length + diff.changed.length + diff.removed.length === 0;
    return { ...base, diff, current: t.current, note: same ? 'the client ACKed what the control plane serves now' : `the client ACKed ${t.versionAcked || 'nothing'}; the control plane serves ${t.current.version}` };
  }
  let note: string;
  if (status.state === 'NACKED') note = `the client refused version ${t.versionSent} and keeps ${t.versionAcked || 'nothing'}: ${status.detail}`;
  else if (status.state === 'STALE') note = `version ${t.versionSent} sent ${status.detail} ago, not answered yet; the client ACKed ${t.versionAcked || 'nothing'}`;
  else if (status.state === 'NOT SENT') note = 'nothing sent yet';
  else note = `the client ACKed version ${t.versionAcked}, the last one sent`;
  return { ...base, diff: null, note };
}

function renderDiff(diffs: TypeDiff[]): string {
  const lines: string[] = [];
  for (const d of diffs) {
    lines.push(`${d.type}: ${d.note}`);
    if (!d.diff) continue;
    for (const name of d.diff.added) lines.push(`  + ${name} (not in the client's ACKed copy)`);
    for (const name of d.diff.changed) lines.push(`  ~ ${name} (newer version served)`);
    for (const name of d.diff.removed) lines.push(`  - ${name} (removed since)`);
  }
  return `${lines.join('\n')}\n`;
}

const MAX_LISTED = 20;

/** Per type not SYNCED: the resources of the version the client has not accepted, with their versions. */
function renderUnacked(diffs: TypeDiff[]): string {
  const lines: string[] = [];
  for (const d of diffs) {
    if (d.status.state !== 'NACKED' && d.status.state !== 'STALE') continue;
    const names = Object.keys(d.sent).sort();
    lines.push(`${d.type} version ${d.versionSent}, not ACKed, holds ${names.length} resource(s):`);
    for (const name of names.slice(0, MAX_LISTED)) lines.push(`  ${name}  ${d.sent[name]}`);
    if (names.length > MAX_LISTED) lines.push(`  … ${names.length - MAX_LISTED} more (-o yaml lists them all)`);
  }
  return lines.length > 0 ? `\n${lines.join('\n')}\n` : '';
}

/** The streams of one node id, newest first; their types merged (the newest stream's state of a type wins). */
function mergeStreams(clients: SyncClient[]): SyncClient {
  const sorted = [...clients].sort((a, b) => b.streamId - a.streamId);
  const types = new Map<string, TypeStateDetail>();
  for (const c of sorted) for (const t of c.types) if (!types.has(t.typeUrl)) types.set(t.typeUrl, t);
  return { ...(sorted[0] as SyncClient), types: [...types.values()] };
}

async function showOne(cp: ControlPlaneClient, id: string, output: OutputFormat): Promise<number> {
  const [syncz, dump] = await Promise.all([cp.syncz(id), cp.configDump(id).catch((err: unknown) => {
    if (err instanceof NotServed) return { configs: [] };
    throw err;
  })]);
  const sent = sentVersions(dump);
  const streams = syncz.clients.filter((c) => c.id === id);
  if (streams.length === 0) {
    process.stderr.write(`skiff proxy-status: no client with node id '${id}' is connected to ${cp.address}\n`);
    return EXIT_PROBLEM;
  }
  const client = mergeStreams(streams);
  const diffs = client.types.map((t) => typeDiff(t, sent.get(t.typeUrl) ?? {}));
  if (output === 'json' || output === 'yaml') {
    writeData(output, { client: clientData(client), diff: diffs });
  } else {
    const header = `${client.id}: role ${client.role}, node ${nodeOf(client)}, ${client.mode}, ${streams.length} stream(s), connected since ${client.connectedAt}\n\n`;
    process.stdout.write(`${header}${renderTable(TYPES_HEADER, typeRows(client))}\n${renderDiff(diffs)}${renderUnacked(diffs)}`);
  }
  return diffs.some((d) => isProblem(d.status)) ? EXIT_PROBLEM : EXIT_OK;
}

export const proxyStatusCommand: Command = {
  name: 'proxy-status',
  summary: 'Show every xDS client of the control plane and whether each type is SYNCED, STALE or NACKED',
  help: HELP,
  run(argv) {
    const args = parseCommandArgs(argv, { admin: { type: 'string' }, types: { type: 'boolean' } }, ['table', 'wide', 'json', 'yaml']);
    const cp = new ControlPlaneClient(stringFlag(args, 'admin') ?? DEFAULT_CONTROL_PLANE_ADMIN);
    const output: OutputFormat = args.values.types === true && args.output === 'table' ? 'wide' : args.output;
    const [id, extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`one ID at most; got '${id}' and '${extra}'`);
    return exitIfUnreachable('proxy-status', async () => {
      if (id !== undefined) return showOne(cp, id, output);
      const syncz = await cp.syncz();
      const clients = [...syncz.clients].sort((a, b) => a.id.localeCompare(b.id) || a.streamId - b.streamId);
      if (output === 'json' || output === 'yaml') writeData(output, { ...syncz, clients: clients.map(clientData) });
      else if (output === 'wide') writeTable(TYPES_HEADER, clients.flatMap(typeRows), 'No xDS clients connected.');
      else writeTable(TABLE_HEADER, clients.map((c) => summaryRow(c, controlPlaneName(syncz, cp.address))), 'No xDS clients connected.');
      return clients.some((c) => c.types.some((t) => isProblem(typeSync(t)))) ? EXIT_PROBLEM : EXIT_OK;
    });
  },
};

// `skiff mesh`: loads a config directory the way the control plane does (DirectorySource +
// MeshStore) and shows what the snapshot holds — services, endpoints, workloads with identities,
// routes and their status, policies, the needs-L7 set, and every issue — so a user can check their
// YAML before anything is served.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError } from '../command.js';
import { parseCommandArgs, stringFlag } from '../output/args.js';
import { DirectorySource } from '../../config/sources/directory.js';
import { MeshStore } from '../../config/store.js';
import { snapshotToData, type MeshSnapshot, type ResolvedBackend } from '../../config/snapshot/index.js';
import { formatIssue, type ConfigIssue } from '../../config/source.js';

const DEFAULT_DIR = 'examples/mesh';

const HELP = `Usage: skiff mesh [-o table|json|yaml] [--config DIR]

Loads a config directory (multi-document Kubernetes YAML), builds the mesh snapshot, and prints
what it holds: services with their VIPs, ports and endpoints; workloads with their numeric
identities; HTTPRoute/GRPCRoute attachments with their Gateway API status; policies and what they
select; the ports that need L7 (and why); and every problem found. Exits 1 when there is an error.

Flags:
  --config DIR     the config directory (default ./${DEFAULT_DIR} when it exists)
  -o FORMAT        table (default), json or yaml (json and yaml hold the full snapshot)

Examples:
  skiff mesh --config examples/mesh
  skiff mesh --config /etc/skiff -o yaml
`;

export interface Options {
  dir: string;
  output: 'table' | 'json' | 'yaml';
}

function parseOptions(argv: string[]): Options {
  const args = parseCommandArgs(argv, { config: { type: 'string' } }, ['table', 'json', 'yaml']);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
  let dir = stringFlag(args, 'config');
  const output = args.output as Options['output'];
  if (dir === undefined) {
    if (!existsSync(DEFAULT_DIR)) throw new UsageError(`no --config given and ./${DEFAULT_DIR} does not exist`);
    dir = DEFAULT_DIR;
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--config ${dir}: not a directory`);
  return { dir: resolve(dir), output };
}

/** kubectl-style columns: upper-case headers, left-aligned, three spaces apart. */
function table(title: string, header: string[], rows: string[][]): string {
  if (rows.length === 0) return `${title}: none\n`;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd();
  return `${title}\n${[header, ...rows].map(line).join('\n')}\n`;
}

function sortedValues<V>(map: ReadonlyMap<string | number, V>): V[] {
  return [...map.keys()].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)))).map((k) => map.get(k) as V);
}

function routeStatus(snapshot: MeshSnapshot): string[][] {
  const rows: string[][] = [];
  for (const route of sortedValues(snapshot.routes)) {
    const parents = route.parents.length > 0 ? route.parents : [undefined];
    for (const parent of parents) {
      const condition = (type: string) => {
        const c = parent?.conditions.find((x) => x.type === type);
        return c ? (c.status === 'True' ? 'True' : `False (${c.reason})`) : '-';
      };
      const ref = parent?.parentRef;
      rows.push([
        route.kind,
        route.namespace,
        route.name,
        ref ? `${ref.namespace ?? route.namespace}/${ref.name}${ref.port ? `:${ref.port}` : ''}${ref.sectionName ? `#${ref.sectionName}` : ''}` : '(no Service parent)',
        condition('Accepted'),
        condition('ResolvedRefs'),
      ]);
    }
  }
  return rows;
}

function backendList(backends: readonly ResolvedBackend[]): string {
  const text = backends.map((b) => `${b.service ?? b.ref.name}:${b.port ?? b.ref.port ?? '-'} w${b.weight}${b.resolved ? '' : ` (${b.reason})`}`);
  return text.join(', ') || '(none)';
}

function render(snapshot: MeshSnapshot, issues: ConfigIssue[]): string {
  const out: string[] = [];
  const services = sortedValues(snapshot.services);
  out.push(
    table(
      'SERVICES',
      ['NAMESPACE', 'NAME', 'VIP:PORTS', 'ENDPOINTS', 'FROM', 'WAYPOINT'],
      services.map((s) => [
        s.namespace,
        s.name,
        `${s.vips.join(',') || (s.headless ? 'None' : '-')}:${s.ports.map((p) => `${p.port}/${p.protocol}${p.isGrpc ? '(grpc)' : p.isHttp ? '(http)' : ''}`).join(',')}`,
        String(s.ports.reduce((n, p) => n + p.endpoints.length, 0)),
        s.endpointSource,
        s.waypoint ? `${s.waypoint.gateway}${s.waypoint.found ? '' : ' (missing)'}` : '-',
      ]),
    ),
  );
  const endpointRows: string[][] = [];
  for (const s of services) {
    for (const p of s.ports) {
      for (const e of p.endpoints) {
        endpointRows.push([s.key, `${p.port}/${p.protocol}`, `${e.address}:${e.port}`, e.pod ?? '-', e.nodeName ?? '-', e.ready ? 'true' : 'false']);
      }
    }
  }
  out.push(table('ENDPOINTS', ['SERVICE', 'PORT', 'ENDPOINT', 'POD', 'NODE', 'READY'], endpointRows));
  out.push(
    table(
      'WORKLOADS',
      ['NAMESPACE', 'NAME', 'IP', 'NODE', 'IDENTITY', 'SERVICE ACCOUNT', 'SERVICES'],
      sortedValues(snapshot.workloads).map((w) => [w.namespace, w.name, w.ips.join(','), w.nodeName ?? '-', String(w.identity), w.serviceAccount, w.services.join(',') || '-']),
    ),
  );
  out.push(table('ROUTES', ['KIND', 'NAMESPACE', 'NAME', 'PARENT', 'ACCEPTED', 'RESOLVED REFS'], routeStatus(snapshot)));
  const attachmentRows: string[][] = [];
  for (const a of sortedValues(snapshot.attachments)) {
    for (const m of a.http) {
      const match = `${m.method ? `${m.method} ` : ''}${m.path.type} ${m.path.value}${m.headers.length > 0 ? ` +${m.headers.length} header(s)` : ''}`;
      attachmentRows.push([`${a.service}:${a.port}`, m.route, match, backendList(m.backends)]);
    }
    for (const m of a.grpc) {
      const match = m.method ? `${m.method.service ?? '*'}/${m.method.method ?? '*'}` : '*';
      attachmentRows.push([`${a.service}:${a.port}`, m.route, `grpc ${match}`, backendList(m.backends)]);
    }
  }
  out.push(table('ROUTE ATTACHMENTS (in precedence order)', ['SERVICE PORT', 'ROUTE', 'MATCH', 'BACKENDS'], attachmentRows));
  out.push(
    table(
      'POLICIES',
      ['KIND', 'NAMESPACE', 'NAME', 'SELECTS', 'DEFAULT DENY', 'RULES', 'L7 RULES'],
      sortedValues(snapshot.policies).map((p) => [
        p.kind,
        p.namespace,
        p.name,
        p.selectedWorkloads.length > 0 ? p.selectedWorkloads.map((w) => w.slice(w.indexOf('/') + 1)).join(',') : '(none)',
        p.enforces.join(',') || '-',
        String(p.rules.length),
        String(p.rules.filter((r) => r.http.length > 0).length),
      ]),
    ),
  );
  out.push(
    table(
      'NEEDS L7',
      ['WORKLOAD', 'PORT', 'WHY'],
      sortedValues(snapshot.l7).map((m) => [m.workload, m.port === 0 ? `all/${m.protocol}` : `${m.port}/${m.protocol}`, m.reasons.map((r) => r.detail).join('; ')]),
    ),
  );
  out.push(
    table(
      'ISSUES',
      ['SEVERITY', 'WHERE'],
      issues.map((i) => [i.severity, formatIssue(i)]),
    ),
  );
  return out.join('\n');
}

/** Loads `dir` as the control plane would and renders it; code is EXIT_PROBLEM when there is an error. */
export async function showMesh(dir: string, output: Options['output']): Promise<{ code: number; text: string }> {
  const store = new MeshStore([new DirectorySource(dir, { watch: false, pollIntervalMs: 3_600_000 })]);
  await store.start();
  const snapshot = store.current();
  const issues = store.issues();
  await store.stop();
  let text: string;
  if (output === 'table') {
    text = render(snapshot, issues);
  } else {
    const data = { ...snapshotToData(snapshot), issues };
    text = output === 'json' ? `${JSON.stringify(data, null, 2)}\n` : stringify(data, { aliasDuplicateObjects: false });
  }
  return { code: issues.some((i) => i.severity === 'error') ? EXIT_PROBLEM : EXIT_OK, text };
}

export const meshCommand: Command = {
  name: 'mesh',
  summary: 'Show the mesh a config directory describes (services, workloads, routes, policies, L7 set, issues)',
  help: HELP,
  async run(argv) {
    const options = parseOptions(argv);
    const { code, text } = await showMesh(options.dir, options.output);
    process.stdout.write(text);
    return code;
  },
};

// `skiff bpf`: the kernel maps of each node's datapath, decoded and named by the redirector's admin
// API (/debug/maps/NAME) — like `cilium bpf lb list`, `cilium bpf policy get`, `cilium bpf ct list`.
import type { Command } from '../command.js';
import { EXIT_OK } from '../command.js';
import { EndpointFlags } from '../../bpf/maps/constants.js';
import { DEFAULT_CONTROL_PLANE_ADMIN } from '../clients/control-plane.js';
import { exitIfUnreachable } from '../clients/http.js';
import { DEFAULT_REDIRECTOR_ADMIN, REDIRECTOR_FLAGS, redirectorsFromArgs, type RedirectorClient } from '../clients/redirector.js';
import { choiceArg, parseCommandArgs } from '../output/args.js';
import { renderTable, writeData } from '../output/write.js';

const MAPS = ['services', 'backends', 'identities', 'policy', 'ct', 'endpoints'] as const;
type MapArg = (typeof MAPS)[number];

const HELP = `Usage: skiff bpf (services|backends|identities|policy|ct|endpoints) [--node N] [--redirector HOST:PORT]... [-o table|json|yaml]

Shows a kernel map of each node's datapath, decoded with the service, pod and identity names the
redirector knows (from its admin API, /debug/maps/NAME):
  services     SERVICE ADDRESS  SERVICE  BACKEND ADDRESS (REVNAT_ID) (SLOT)  BACKEND POD
  backends     ID  ADDRESS  POD  FLAGS
  identities   PREFIX  IDENTITY  NAME (the ipcache: addresses and CIDRs to numeric identities)
  policy       ENDPOINT  POD  DIRECTION  IDENTITY  PEER  PORT/PROTO  VERDICT  PROXY PORT
  ct           the connection tracking table
  endpoints    ENDPOINT ID  IP  POD  IDENTITY  IFINDEX  ENFORCED

Which redirectors: the --redirector addresses (repeatable); else those the control plane's
redirector clients announce (node metadata admin_address, via --admin); else ${DEFAULT_REDIRECTOR_ADMIN}.

Exit codes: 0 shown, 2 usage (or no redirector of --node), 3 a redirector cannot be reached.

Flags:
  --node N                 only the redirector of node N
  --redirector HOST:PORT   a redirector's admin API (repeatable; unix:PATH works)
  --admin HOST:PORT        the control plane's admin API, to find redirectors (default ${DEFAULT_CONTROL_PLANE_ADMIN})
  -o, --output FMT         table (default), json or yaml (json: [{node, address, entries}])

Examples:
  skiff bpf services
  skiff bpf policy --node node-a -o json
  skiff bpf endpoints --redirector 10.0.0.2:15021 --redirector 10.0.0.3:15021
`;

type Row = Record<string, unknown>;
const s = (v: unknown): string => (v === undefined || v === null || v === '' ? '-' : String(v));
const byNumber = (key: string) => (a: Row, b: Row) => Number(a[key]) - Number(b[key]);

function enforced(flags: unknown): string {
  const f = Number(flags);
  const parts = [f & EndpointFlags.INGRESS_ENFORCED ? 'ingress' : '', f & EndpointFlags.EGRESS_ENFORCED ? 'egress' : ''].filter(Boolean);
  return parts.join(',') || '-';
}

/** The data rows of one map kind; services joined with their backend slots and backends. */
async function entries(r: RedirectorClient, map: MapArg): Promise<Row[]> {
  switch (map) {
    case 'services': {
      const [services, slots, backends] = await Promise.all([r.map('services'), r.map('slots'), r.map('backends')]);
      const backendById = new Map(backends.map((b) => [Number(b.id), b]));
      return services.map((svc) => ({
        ...svc,
        backends: slots
          .filter((slot) => slot.revNatId === svc.revNatId)
          .sort(byNumber('slot'))
          .map((slot) => ({ slot: slot.slot, ...(backendById.get(Number(slot.backendId)) ?? { id: slot.backendId }) })),
      }));
    }
    default:
      return r.map(map);
  }
}

function serviceRows(rows: Row[]): string[][] {
  const out: string[][] = [];
  for (const svc of rows) {
    const address = `${s(svc.addr)}:${s(svc.port)}/${s(svc.protoName ?? svc.proto)}`;
    const backends = svc.backends as Row[];
    if (backends.length === 0) out.push([address, s(svc.service), `(no backends) (${s(svc.revNatId)})`, '-']);
    for (const b of backends) out.push([address, s(svc.service), `${s(b.addr)}:${s(b.port)} (${s(svc.revNatId)}) (${s(b.slot)})`, s(b.pod)]);
  }
  return out;
}

/** Columns of a map no table is defined for: every field of its rows. */
function genericTable(rows: Row[]): { header: string[]; rows: string[][] } {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return { header: keys.map((k) => k.toUpperCase()), rows: rows.map((r) => keys.map((k) => s(typeof r[k] === 'object' ? JSON.stringify(r[k]) : r[k]))) };
}

function table(map: MapArg, rows: Row[]): { header: string[]; rows: string[][] } {
  switch (map) {
    case 'services':
      return { header: ['SERVICE ADDRESS', 'SERVICE', 'BACKEND ADDRESS (REVNAT_ID) (SLOT)', 'BACKEND POD'], rows: serviceRows(rows) };
    case 'backends':
      return { header: ['ID', 'ADDRESS', 'POD', 'FLAGS'], rows: [...rows].sort(byNumber('id')).map((b) => [s(b.id), `${s(b.addr)}:${s(b.port)}`, s(b.pod), s(b.flags)]) };
    case 'identities':
      return { header: ['PREFIX', 'IDENTITY', 'NAME'], rows: [...rows].sort(byNumber('identity')).map((i) => [s(i.cidr), s(i.identity), s(i.name)]) };
    case 'policy':
      return {
        header: ['ENDPOINT', 'POD', 'DIRECTION', 'IDENTITY', 'PEER', 'PORT/PROTO', 'VERDICT', 'PROXY PORT'],
        rows: [...rows].sort(byNumber('endpointId')).map((p) => [
          s(p.endpointId),
          s(p.pod),
          s(p.direction),
          s(p.identity),
          s(p.peer),
          `${Number(p.dport) === 0 ? 'ANY' : s(p.dport)}/${s(p.protoName)}`,
          s(p.verdict),
          Number(p.proxyPort) === 0 ? '-' : s(p.proxyPort),
        ]),
      };
    case 'endpoints':
      return {
        header: ['ENDPOINT ID', 'IP', 'POD', 'IDENTITY', 'IFINDEX', 'ENFORCED'],
        rows: [...rows].sort(byNumber('endpointId')).map((e) => [s(e.endpointId), s(e.ip), s(e.pod), s(e.identity), s(e.ifindex), enforced(e.flags)]),
      };
    case 'ct':
      return genericTable(rows);
  }
}

export const bpfCommand: Command = {
  name: 'bpf',
  summary: "Show a node's eBPF maps (services, backends, identities, policy, ct, endpoints) with names",
  help: HELP,
  run(argv) {
    const args = parseCommandArgs(argv, REDIRECTOR_FLAGS, ['table', 'json', 'yaml']);
    const map = choiceArg(args.positionals[0], MAPS, 'the map');
    return exitIfUnreachable('bpf', async () => {
      const redirectors = await redirectorsFromArgs(args);
      const perNode = await Promise.all(redirectors.map(async (r) => ({ node: r.node, address: r.address, entries: await entries(r, map) })));
      if (args.output === 'json' || args.output === 'yaml') {
        writeData(args.output, perNode);
        return EXIT_OK;
      }
      const parts = perNode.map((n) => {
        const t = table(map, n.entries);
        const title = perNode.length > 1 ? `Node ${n.node} (${n.address})\n` : '';
        return `${title}${t.rows.length > 0 ? renderTable(t.header, t.rows) : `No ${map} entries.\n`}`;
      });
      process.stdout.write(parts.join('\n'));
      return EXIT_OK;
    });
  },
};

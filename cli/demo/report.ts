// The demo's report, built from what really happened: what each traffic step's clients got back,
// what the redirectors' flow logs say the kernel decided for those connections (fast path,
// redirect to the node proxy, drop with a reason), the canary split the answers show, and the
// control plane's view of every xDS client (proxy-status), and the node tunnels each redirector
// runs. Rendered as JSON or as a short text.
import type { TunnelStatus } from '../../redirector/tunnel/tunnel-status.js';
import type { SyncClient } from '../clients/control-plane.js';
import type { Flow } from '../clients/redirector.js';
import { shortType, typeSync } from '../output/sync-state.js';
import type { DemoPlan } from './plan.js';
import type { StepResult } from './traffic.js';

export interface DatapathCount {
  node: string;
  verdict: string;
  reason: string;
  count: number;
}

export interface StepReport {
  name: string;
  from: string;
  to: string;
  target: string;
  request: string;
  expect: StepResult['expect'];
  why: string;
  sent: number;
  answered: number;
  servedBy: Record<string, number>;
  failures: Record<string, number>;
  /** The flow log's events for these connections, per node and verdict. */
  datapath: DatapathCount[];
  /** As the mesh says it should go (see `expect`). */
  asExpected: boolean;
}

export interface ClientStatus {
  id: string;
  role: string;
  node: string;
  /** Short type name (CDS, …, Workload) → SYNCED | NOT SENT | STALE | NACKED. */
  types: Record<string, string>;
  synced: boolean;
}

export interface EncryptionReport {
  /** MeshConfig encryption as the redirectors run it (`none`, `hbone`, `wireguard`). */
  mode: string;
  nodes: { node: string; encryption: string; detail: string }[];
  note: string;
}

export interface DemoReport {
  config: string;
  nodes: { name: string; pods: string[] }[];
  envoy: { path: string | null; note: string };
  startup: { step: string; ms: number }[];
  startupMs: number;
  traffic: StepReport[];
  flows: { total: number; fastPathed: number; redirected: number; dropped: Record<string, number> };
  canary: { observed: boolean; versions: Record<string, number>; note: string };
  proxyStatus: { controlPlane: string; clients: ClientStatus[]; allSynced: boolean };
  encryption: EncryptionReport;
  /** Every step went as the mesh says and every xDS client is SYNCED. */
  ok: boolean;
}

export interface NodeFlows {
  node: string;
  flows: Flow[];
}

const FAST = new Set(['FORWARDED', 'TRANSLATED']);

function clientStatus(c: SyncClient): ClientStatus {
  const types: Record<string, string> = {};
  for (const t of c.types) types[shortType(t.typeUrl)] = typeSync(t).state;
  return { id: c.id, role: c.role, node: c.node.nodeName ?? '', types, synced: c.types.length > 0 && Object.values(types).every((s) => s === 'SYNCED') };
}

/** The flow log's events of a step's connections: from its senders to the VIP or a backend of the port. */
function datapathOf(step: StepResult, plan: DemoPlan, logs: readonly NodeFlows[]): DatapathCount[] {
  const sources = new Set(plan.pods.filter((p) => step.sources.includes(p.key)).map((p) => p.ip));
  const dests = new Set([step.target]);
  for (const port of plan.snapshot.services.get(step.to)?.ports ?? []) {
    if (port.port === step.port) for (const e of port.endpoints) dests.add(`${e.address}:${e.port}`);
  }
  const counts = new Map<string, DatapathCount>();
  for (const { node, flows } of logs) {
    for (const f of flows) {
      if (!sources.has(f.src.ip) || !dests.has(`${f.dst.ip}:${f.dst.port}`)) continue;
      const key = `${node} ${f.verdict} ${f.reason}`;
      const c = counts.get(key) ?? { node, verdict: f.verdict, reason: f.reason, count: 0 };
      c.count++;
      counts.set(key, c);
    }
  }
  const order = ['TRANSLATED', 'FORWARDED', 'REDIRECTED', 'DROPPED'];
  return [...counts.values()].sort((a, b) => a.node.localeCompare(b.node) || order.indexOf(a.verdict) - order.indexOf(b.verdict) || a.reason.localeCompare(b.reason));
}

function asExpected(s: StepResult, datapath: readonly DatapathCount[], envoy: boolean): boolean {
  const has = (verdict: string, reason?: string): boolean => datapath.some((d) => d.verdict === verdict && (reason === undefined || d.reason === reason));
  const drops = datapath.some((d) => d.verdict === 'DROPPED');
  switch (s.expect) {
    case 'fast-path':
      return s.result.answered === s.result.sent && datapath.some((d) => FAST.has(d.verdict)) && !drops && !has('REDIRECTED');
    case 'denied':
      return s.result.answered === 0 && has('DROPPED', 'POLICY_DENIED');
    case 'l7': {
      // never around the proxy; with Envoy it answers (the server's reply, or its L7 policy's denial)
      const bypassed = datapath.some((d) => FAST.has(d.verdict));
      if (!envoy) return !bypassed && s.result.answered === 0 && has('DROPPED', 'PROXY_UNAVAILABLE');
      return !bypassed && has('REDIRECTED') && (s.result.answered > 0 || Object.keys(s.result.failures).some((f) => f.startsWith('HTTP ') || f.startsWith('gRPC PERMISSION')));
    }
  }
}

function describeRequest(s: StepResult): string {
  if (s.probe.kind === 'http') return `HTTP ${s.probe.method ?? 'GET'} ${s.probe.path ?? '/'}`;
  if (s.probe.kind === 'grpc') return 'gRPC ReserveStock';
  return 'TCP';
}

function canary(steps: readonly StepReport[], plan: DemoPlan, envoy: boolean): DemoReport['canary'] {
  const checkout = steps.find((s) => s.name === 'checkout');
  const versions: Record<string, number> = {};
  for (const [pod, n] of Object.entries(checkout?.servedBy ?? {})) {
    const version = plan.pods.find((p) => p.name === pod)?.version || pod;
    versions[version] = (versions[version] ?? 0) + n;
  }
  const answered = Object.values(versions).reduce((a, b) => a + b, 0);
  if (answered > 0) {
    const shares = Object.entries(versions).map(([v, n]) => `${v} ${n} (${Math.round((100 * n) / answered)}%)`);
    return { observed: true, versions, note: `orders-canary asks for 90/10; ${answered} answered requests went ${shares.join(', ')}` };
  }
  const note = envoy
    ? 'no checkout request was answered, so no split was observed (see the checkout step)'
    : 'not observed: the 90/10 split is per HTTP request, which only the node proxy (Envoy) can do, and no Envoy runs; the kernel dropped these flows instead of letting them bypass L7 (there is no L4 path to orders to show a split on: its only port is L7)';
  return { observed: false, versions, note };
}

/** What one node's tunnel status says, in a line. */
function tunnelDetail(t: TunnelStatus): string {
  if (t.wireguard) {
    const peers = t.wireguard.peers.map((p) => `${p.node ?? p.publicKey.slice(0, 8)} ${p.latestHandshakeMs > 0 ? 'handshaken' : 'no handshake yet'}`);
    return `WireGuard (${t.wireguard.implementation}) ${t.wireguard.interface}, key ${t.wireguard.publicKey.slice(0, 8)}…, peers: ${peers.join(', ') || 'none yet'}`;
  }
  if (t.hbone) {
    const ids = t.hbone.certificates.map((c) => c.spiffeId);
    return `HBONE on :${t.hbone.inboundPort} (outbound :${t.hbone.outboundPort}), ${ids.length} certificates (${ids.join(', ') || 'none yet'}), ${t.hbone.sessions.length} pooled sessions`;
  }
  return t.encryption === 'none' ? 'no tunnel' : `no ${t.encryption} tunnel running`;
}

const ENCRYPTION_NOTES: Record<string, string> = {
  none: 'none (MeshConfig spec.encryption): pod traffic between nodes crosses the wire in clear; set it to hbone or wireguard to encrypt it',
  hbone: 'hbone: new cross-node pod flows are steered by the kernel into HBONE (HTTP/2 CONNECT over mutual TLS with the workloads\' SPIFFE certificates, port 15008)',
  wireguard: 'wireguard: pod traffic between nodes goes through WireGuard (skiff-wg0), each node\'s public key published through the control plane',
};

function encryptionOf(tunnels: readonly TunnelStatus[]): EncryptionReport {
  const modes = [...new Set(tunnels.map((t) => t.encryption))];
  const mode = modes.join('/') || 'none';
  return {
    mode,
    nodes: tunnels.map((t) => ({ node: t.node, encryption: t.encryption, detail: tunnelDetail(t) })),
    note: ENCRYPTION_NOTES[mode] ?? `the nodes disagree (${mode}): a change of MeshConfig encryption is still rolling out`,
  };
}

export interface ReportInputs {
  plan: DemoPlan;
  steps: StepResult[];
  logs: NodeFlows[];
  sync: SyncClient[];
  controlPlane: string;
  envoyPath: string | undefined;
  proxyPort: number;
  startup: { step: string; ms: number }[];
  /** Each redirector's /debug/tunnel. */
  tunnels: TunnelStatus[];
}

export function buildReport(i: ReportInputs): DemoReport {
  const envoy = i.envoyPath !== undefined;
  const traffic: StepReport[] = i.steps.map((s) => {
    const datapath = datapathOf(s, i.plan, i.logs);
    return {
      name: s.name,
      from: s.from,
      to: s.to,
      target: s.target,
      request: describeRequest(s),
      expect: s.expect,
      why: s.why,
      sent: s.result.sent,
      answered: s.result.answered,
      servedBy: s.result.servedBy,
      failures: s.result.failures,
      datapath,
      asExpected: asExpected(s, datapath, envoy),
    };
  });
  const flows: DemoReport['flows'] = { total: 0, fastPathed: 0, redirected: 0, dropped: {} };
  for (const { flows: list } of i.logs) {
    for (const f of list) {
      flows.total++;
      if (FAST.has(f.verdict)) flows.fastPathed++;
      else if (f.verdict === 'REDIRECTED') flows.redirected++;
      else if (f.verdict === 'DROPPED') flows.dropped[f.reason] = (flows.dropped[f.reason] ?? 0) + 1;
    }
  }
  const clients = i.sync.map(clientStatus);
  const allSynced = clients.length > 0 && clients.every((c) => c.synced);
  return {
    config: i.plan.configDir,
    nodes: i.plan.nodes.map((n) => ({ name: n.name, pods: i.plan.pods.filter((p) => p.node === n.name).map((p) => p.key) })),
    envoy: {
      path: i.envoyPath ?? null,
      note: envoy
        ? `node-local Envoys (${i.envoyPath}) serve the L7 flows on port ${i.proxyPort}`
        : `no envoy on PATH: the kernel steers L7 flows to the node proxy's port ${i.proxyPort}, where nothing listens, so it drops them (PROXY_UNAVAILABLE) — fail closed, never around the L7 policy`,
    },
    startup: i.startup,
    startupMs: i.startup.reduce((a, s) => a + s.ms, 0),
    traffic,
    flows,
    canary: canary(traffic, i.plan, envoy),
    proxyStatus: { controlPlane: i.controlPlane, clients, allSynced },
    encryption: encryptionOf(i.tunnels),
    ok: allSynced && traffic.every((s) => s.asExpected),
  };
}

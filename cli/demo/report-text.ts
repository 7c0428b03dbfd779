// The demo's report as a short text for a terminal: the traffic grouped by what the datapath did
// (fast path, node proxy, denied), the canary split, the encryption between nodes, the flow-log
// totals and proxy-status.
import type { DatapathCount, DemoReport, StepReport } from './report.js';

function counts(record: Record<string, number>): string {
  const parts = Object.entries(record).map(([k, n]) => `${k} ×${n}`);
  return parts.length > 0 ? parts.join(', ') : '-';
}

function datapath(d: readonly DatapathCount[]): string {
  if (d.length === 0) return 'no flow event';
  return d.map((c) => `${c.verdict}${c.reason !== 'NONE' ? ` ${c.reason}` : ''} ×${c.count} (${c.node})`).join(', ');
}

function stepLines(s: StepReport): string[] {
  const got = s.answered > 0 ? `${s.answered}/${s.sent} answered by ${counts(s.servedBy)}` : `0/${s.sent} answered`;
  const failed = Object.keys(s.failures).length > 0 ? `; failed: ${counts(s.failures)}` : '';
  return [
    `  ${s.asExpected ? '✓' : '✗'} ${s.name}: ${s.from} → ${s.to} (${s.target}), ${s.request}`,
    `      clients: ${got}${failed}`,
    `      kernel:  ${datapath(s.datapath)}`,
    `      why:     ${s.why}`,
  ];
}

function section(title: string, steps: readonly StepReport[], note?: string): string[] {
  if (steps.length === 0) return [];
  return ['', title, ...steps.flatMap(stepLines), ...(note ? [`  ${note}`] : [])];
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => `  ${r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
}

export function renderReport(r: DemoReport): string {
  const pods = r.nodes.reduce((n, node) => n + node.pods.length, 0);
  const by = (expect: StepReport['expect']): StepReport[] => r.traffic.filter((s) => s.expect === expect);
  const dropped = Object.values(r.flows.dropped).reduce((a, b) => a + b, 0);
  const lines = [
    `skiff demo: ${r.config} on ${r.nodes.length} nodes (${r.nodes.map((n) => n.name).join(', ')}), ${pods} pods — up in ${(r.startupMs / 1000).toFixed(1)} s`,
    ...section('Fast path (decided in the kernel: service load balancing and L3/L4 policy by identity)', by('fast-path')),
    ...section('Needs L7 (steered to the node proxy)', by('l7'), r.envoy.note),
    ...section('Denied by policy', by('denied')),
    '',
    'kernel: the flow log of each node — TRANSLATED: a service address load-balanced to a backend (DNAT)',
    'at the sending pod\'s veth; FORWARDED: let through (e.g. at the receiving pod\'s veth); REDIRECTED:',
    'steered to the node proxy; DROPPED: with the reason. A client\'s retried SYNs show up as more events.',
    '',
    `Canary: ${r.canary.note}`,
    '',
    `Encryption: ${r.encryption.note}`,
    ...r.encryption.nodes.map((n) => `  ${n.node}: ${n.detail}`),
    '',
    `Flow log (both redirectors): ${r.flows.total} events — fast path ${r.flows.fastPathed}, redirected ${r.flows.redirected}, dropped ${dropped}${dropped > 0 ? ` (${counts(r.flows.dropped)})` : ''}`,
    '',
    `Proxy status (control plane admin ${r.proxyStatus.controlPlane}):`,
    ...table([
      ['NAME', 'ROLE', 'NODE', 'TYPES'],
      ...r.proxyStatus.clients.map((c) => [c.id, c.role, c.node || '-', c.synced ? `SYNCED (${Object.keys(c.types).length} types)` : counts(Object.fromEntries(Object.entries(c.types).map(([t, s]) => [`${t} ${s}`, 1])))]),
    ]),
    r.proxyStatus.allSynced ? `  every xDS client is SYNCED` : `  ✗ not every xDS client is SYNCED`,
    '',
    r.ok ? 'Everything went as the mesh says.' : '✗ Something did not go as the mesh says (marked ✗ above).',
  ];
  return `${lines.join('\n')}\n`;
}

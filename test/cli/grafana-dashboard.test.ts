// The example Grafana dashboard uses only metrics the components register (names, histogram series,
// labels), covers every metric the operators' issue asks for, and is importable (datasource input,
// unique panel ids, every panel on the grid with a query).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { XdsMetrics } from '../../xds/metrics.js';
import { AgentMetrics } from '../../redirector/metrics.js';

interface Target {
  expr: string;
  datasource?: { uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
}
interface Dashboard {
  __inputs: { name: string; pluginId: string }[];
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; query: { query: string } }[] };
}

const dashboard = JSON.parse(readFileSync(new URL('../../../examples/grafana/skiff-dashboard.json', import.meta.url), 'utf8')) as Dashboard;

/** Every registered metric: name → its type and label names (the series names a histogram adds, too). */
function registered(): Map<string, { type: string; labels: string[] }> {
  const out = new Map<string, { type: string; labels: string[] }>();
  const registries: Registry[] = [new XdsMetrics().registry, new AgentMetrics().registry];
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray()) {
      const m = metric as unknown as { name: string; type: string; labelNames?: string[] };
      const entry = { type: String(m.type), labels: [...(m.labelNames ?? [])] };
      out.set(m.name, entry);
      if (entry.type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) out.set(`${m.name}${suffix}`, { ...entry, labels: [...entry.labels, 'le'] });
    }
  }
  return out;
}

const exprs = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  ...dashboard.templating.list.map((v) => v.query.query),
];
const metricNames = (expr: string): string[] => [...new Set(expr.match(/\bskiff_[a-z0-9_]+/g) ?? [])];

test('every metric the dashboard queries is registered by the xDS server or the redirector', () => {
  const known = registered();
  const used = new Set(exprs.flatMap(metricNames));
  assert.ok(used.size >= 15, `the dashboard uses ${used.size} metrics`);
  for (const name of used) assert.ok(known.has(name), `${name} is not registered by xds/metrics.ts or redirector/metrics.ts`);
});

test('every label the dashboard groups by exists on the metrics of that query', () => {
  const known = registered();
  const scrapeLabels = ['instance', 'job'];
  for (const expr of exprs) {
    const labels = [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => (m[1] as string).split(',').map((l) => l.trim()));
    const available = new Set([...scrapeLabels, ...metricNames(expr).flatMap((n) => known.get(n)?.labels ?? [])]);
    for (const label of labels) assert.ok(available.has(label), `'${label}' in: ${expr}`);
  }
});

test("the issue's metrics are all on the dashboard: pushes, push latency, clients, NACKs, map sizes, flows by verdict, drops by reason", () => {
  const used = new Set(exprs.flatMap(metricNames));
  for (const name of [
    'skiff_xds_pushes_total',
    'skiff_xds_push_duration_seconds_bucket',
    'skiff_xds_connected_clients',
    'skiff_xds_nacks_total',
    'skiff_redirector_map_entries',
    'skiff_redirector_flows_total',
    'skiff_redirector_drops_total',
  ]) {
    assert.ok(used.has(name), `${name} is on the dashboard`);
  }
  assert.ok(exprs.some((e) => /sum by \(verdict\) \(rate\(skiff_redirector_flows_total/.test(e)));
  assert.ok(exprs.some((e) => /sum by \(reason\) \(rate\(skiff_redirector_drops_total/.test(e)));
});

test('the dashboard imports cleanly: a Prometheus datasource input, unique ids, panels on the 24-column grid with queries', () => {
  assert.deepEqual(dashboard.__inputs.map((i) => [i.name, i.pluginId]), [['DS_PROMETHEUS', 'prometheus']]);
  assert.equal(dashboard.uid, 'skiff-mesh');
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of dashboard.panels) {
    assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the grid`);
    if (p.type === 'row') continue;
    assert.equal(p.datasource?.uid, '${DS_PROMETHEUS}', p.title);
    assert.ok((p.targets ?? []).length > 0, `${p.title} has a query`);
    for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${DS_PROMETHEUS}');
  }
});

// The demo's report logic over the real example mesh (loaded as the demo loads it), with the
// traffic results and flow events a run with and without Envoy produces: which steps went as the
// mesh says, the canary split, the totals, proxy-status, and the text. (The end-to-end run is
// test/cli/demo.test.ts; this covers the Envoy branch, which needs an envoy binary to run for real.)
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { SyncClient } from '../../cli/clients/control-plane.js';
import type { Flow } from '../../cli/clients/redirector.js';
import { loadPlan, type DemoPlan } from '../../cli/demo/plan.js';
import type { ProbeResult } from '../../cli/demo/probes.js';
import { buildReport, type NodeFlows } from '../../cli/demo/report.js';
import { renderReport } from '../../cli/demo/report-text.js';
import { shopTraffic, type StepResult } from '../../cli/demo/traffic.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));
let plan: DemoPlan;

before(async () => {
  plan = await loadPlan(EXAMPLE);
});

function pod(app: string, version?: string): DemoPlan['pods'][number] {
  const found = plan.pods.find((p) => p.app === app && (version === undefined || p.version === version));
  assert.ok(found, `${app} ${version ?? ''} in the example`);
  return found;
}

function flow(node: string, verdict: string, reason: string, src: string, dst: string): NodeFlows {
  const [ip, port] = dst.split(':') as [string, string];
  const f: Flow = { time: '', verdict, reason, source: 'FROM_POD', proto: 6, src: { ip: src, port: 40000, identity: 0 }, dst: { ip, port: Number(port), identity: 0 }, proxyPort: 0 };
  return { node, flows: [f] };
}

const synced: SyncClient[] = ['node-a', 'node-b'].map((node) => ({
  streamId: 1,
  id: `redirector~${node}`,
  role: 'redirector',
  mode: 'delta',
  classKey: `redirector/${node}`,
  node: { id: `redirector~${node}`, cluster: 'skiff', nodeName: node, userAgent: '', metadata: {} },
  connectedAt: '',
  types: [{ typeUrl: 'type.googleapis.com/skiff.v1alpha1.Workload', wildcard: true, names: [], versionSent: 'v', versionAcked: 'v', nonce: '1', lastNack: null, sentNotAckedMs: null }],
}));

/** Every step of the shop traffic with the given answers (default: none, all timeouts). */
function results(answers: Record<string, ProbeResult['servedBy']>, failures: Record<string, ProbeResult['failures']> = {}): StepResult[] {
  return shopTraffic(10).map((step) => {
    const servedBy = answers[step.name] ?? {};
    const answered = Object.values(servedBy).reduce((a, b) => a + b, 0);
    const vip = plan.snapshot.services.get(step.to)?.vips[0] as string;
    return {
      ...step,
      sources: plan.pods.filter((p) => p.app === step.from).map((p) => p.key),
      target: `${vip}:${step.port}`,
      result: { sent: step.probe.count, answered, servedBy, failures: failures[step.name] ?? (answered ? {} : { timeout: step.probe.count }) },
    };
  });
}

test('without Envoy: fast path served, L7 dropped PROXY_UNAVAILABLE, denied by policy, no canary', () => {
  const orders = pod('orders', 'v1');
  const frontend = pod('frontend');
  const logs: NodeFlows[] = [
    flow('node-a', 'TRANSLATED', 'NONE', orders.ip, '10.96.0.50:5432'),
    flow('node-a', 'TRANSLATED', 'NONE', pod('payments').ip, '10.96.0.10:80'),
    flow('node-a', 'DROPPED', 'PROXY_UNAVAILABLE', frontend.ip, '10.96.0.20:8080'),
    flow('node-a', 'DROPPED', 'PROXY_UNAVAILABLE', orders.ip, '10.96.0.30:50051'),
    flow('node-a', 'DROPPED', 'PROXY_UNAVAILABLE', orders.ip, '10.96.0.40:8080'),
    flow('node-b', 'DROPPED', 'POLICY_DENIED', frontend.ip, `${pod('postgres').ip}:5432`),
    flow('node-b', 'DROPPED', 'POLICY_DENIED', pod('inventory').ip, `${pod('postgres').ip}:5432`),
  ];
  const steps = results({ 'orders → postgres': { 'postgres-0': 12 }, 'payments → frontend': { [frontend.name]: 8 } });
  const tunnels = [{ node: 'node-a', encryption: 'none' }, { node: 'node-b', encryption: 'none' }];
  const report = buildReport({ plan, steps, logs, sync: synced, controlPlane: '127.0.0.1:1', envoyPath: undefined, proxyPort: 15001, startup: [{ step: 's', ms: 5 }], tunnels });
  assert.deepEqual(report.traffic.filter((s) => !s.asExpected).map((s) => s.name), []);
  assert.ok(report.ok);
  assert.deepEqual(report.flows, { total: 7, fastPathed: 2, redirected: 0, dropped: { PROXY_UNAVAILABLE: 3, POLICY_DENIED: 2 } });
  assert.equal(report.canary.observed, false);
  assert.match(report.envoy.note, /PROXY_UNAVAILABLE/);
  assert.deepEqual(report.proxyStatus.clients.map((c) => [c.id, c.types]), [['redirector~node-a', { Workload: 'SYNCED' }], ['redirector~node-b', { Workload: 'SYNCED' }]]);
  const text = renderReport(report);
  assert.match(text, /✓ checkout: frontend → shop\/orders \(10\.96\.0\.20:8080\), HTTP POST \/orders/);
  assert.match(text, /DROPPED POLICY_DENIED ×1 \(node-b\)/);
  assert.match(text, /Everything went as the mesh says/);
  assert.equal(report.encryption.mode, 'none');
  assert.match(text, /Encryption: none \(MeshConfig spec.encryption\): pod traffic between nodes crosses the wire in clear/);
  assert.match(text, /node-a: no tunnel/);
});

test('a flow that bypasses the proxy, or a denied request answered, is not as the mesh says', () => {
  const frontend = pod('frontend');
  const logs = [flow('node-a', 'TRANSLATED', 'NONE', frontend.ip, '10.96.0.20:8080'), flow('node-b', 'FORWARDED', 'NONE', frontend.ip, `${pod('postgres').ip}:5432`)];
  const steps = results({ checkout: { [pod('orders', 'v1').name]: 10 }, 'frontend → postgres': { 'postgres-0': 3 } });
  const report = buildReport({ plan, steps, logs, sync: synced, controlPlane: '', envoyPath: undefined, proxyPort: 15001, startup: [], tunnels: [] });
  const failed = report.traffic.filter((s) => !s.asExpected).map((s) => s.name);
  assert.ok(failed.includes('checkout') && failed.includes('frontend → postgres'), failed.join(', '));
  assert.equal(report.ok, false);
  assert.match(renderReport(report), /✗ checkout/);
});

test('with Envoy: L7 steps redirected and answered (or denied by L7 policy), the canary split by version', () => {
  const frontend = pod('frontend');
  const orders = pod('orders', 'v1');
  const logs: NodeFlows[] = [
    flow('node-a', 'REDIRECTED', 'NONE', frontend.ip, '10.96.0.20:8080'),
    flow('node-a', 'REDIRECTED', 'NONE', orders.ip, '10.96.0.30:50051'),
    flow('node-a', 'REDIRECTED', 'NONE', orders.ip, '10.96.0.40:8080'),
    flow('node-a', 'TRANSLATED', 'NONE', orders.ip, '10.96.0.50:5432'),
    flow('node-a', 'TRANSLATED', 'NONE', pod('payments').ip, '10.96.0.10:80'),
    flow('node-b', 'DROPPED', 'POLICY_DENIED', frontend.ip, `${pod('postgres').ip}:5432`),
    flow('node-b', 'DROPPED', 'POLICY_DENIED', pod('inventory').ip, `${pod('postgres').ip}:5432`),
  ];
  const v1 = plan.pods.filter((p) => p.app === 'orders' && p.version === 'v1');
  const steps = results(
    {
      checkout: { [v1[0]?.name as string]: 45, [v1[1]?.name as string]: 45, [pod('orders', 'v2').name]: 10 },
      'reserve stock': { [pod('inventory').name]: 3 },
      'orders → postgres': { 'postgres-0': 12 },
      'payments → frontend': { [frontend.name]: 8 },
    },
    { charge: { 'HTTP 403': 3 } },
  );
  const wireguard = (peer: string, key: string) => ({
    interface: 'skiff-wg0',
    implementation: 'kernel' as const,
    publicKey: key,
    listenPort: 51871,
    peers: [{ publicKey: 'x', node: peer, allowedIps: ['10.244.2.0/24'], latestHandshakeMs: 1, rxBytes: 1, txBytes: 1 }],
  });
  const tunnels = [
    { node: 'node-a', encryption: 'wireguard', wireguard: wireguard('node-b', 'AAAAAAAAkeyA') },
    { node: 'node-b', encryption: 'wireguard', wireguard: wireguard('node-a', 'BBBBBBBBkeyB') },
  ];
  const report = buildReport({ plan, steps, logs, sync: synced, controlPlane: '', envoyPath: '/usr/bin/envoy', proxyPort: 15001, startup: [], tunnels });
  assert.deepEqual(report.traffic.filter((s) => !s.asExpected).map((s) => s.name), []);
  assert.deepEqual(report.canary, { observed: true, versions: { v1: 90, v2: 10 }, note: 'orders-canary asks for 90/10; 100 answered requests went v1 90 (90%), v2 10 (10%)' });
  assert.match(renderReport(report), /Canary: orders-canary asks for 90\/10/);
  assert.equal(report.encryption.mode, 'wireguard');
  assert.match(renderReport(report), /Encryption: wireguard: pod traffic between nodes goes through WireGuard/);
  assert.match(renderReport(report), /node-a: WireGuard \(kernel\) skiff-wg0, key AAAAAAAA…, peers: node-b handshaken/);
});

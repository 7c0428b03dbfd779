// The traffic the demo sends through the example shop mesh, each step from the pods of one app to
// one Service, with what the mesh says should happen to it: the kernel fast path, the node proxy
// (L7), or a policy drop. The pods send it themselves (their workload process, asked over its
// control socket), all steps at once.
import { request } from 'node:http';
import { parseAddress } from '../clients/http.js';
import type { DemoPlan, PodPlan } from './plan.js';
import type { Probe, ProbeResult } from './probes.js';

export type Expectation = 'fast-path' | 'l7' | 'denied';

export interface TrafficStep {
  name: string;
  /** The app label of the sending pods (the count is spread over them). */
  from: string;
  /** The Service (`namespace/name`) and port sent to, by its cluster IP. */
  to: string;
  port: number;
  probe: Omit<Probe, 'target' | 'concurrency' | 'timeoutMs'>;
  expect: Expectation;
  /** Why the mesh decides so (which route or policy). */
  why: string;
}

export interface StepResult extends TrafficStep {
  /** `namespace/name` of the sending pods. */
  sources: string[];
  /** VIP:port */
  target: string;
  result: ProbeResult;
}

/** The example mesh's traffic; `l7Count` requests where L7 flows are expected (more with Envoy, to see the split). */
export function shopTraffic(l7Count: number): TrafficStep[] {
  return [
    { name: 'checkout', from: 'frontend', to: 'shop/orders', port: 8080, probe: { kind: 'http', method: 'POST', path: '/orders', count: l7Count }, expect: 'l7', why: 'HTTPRoute orders-canary (90/10 v1/v2) and the L7 CiliumNetworkPolicy orders-allow-frontend-post' },
    { name: 'reserve stock', from: 'orders', to: 'shop/inventory', port: 50051, probe: { kind: 'grpc', count: 3 }, expect: 'l7', why: 'GRPCRoute inventory-grpc' },
    { name: 'charge', from: 'orders', to: 'shop/payments', port: 8080, probe: { kind: 'http', method: 'POST', path: '/v1/charges', count: 3 }, expect: 'l7', why: 'AuthorizationPolicy payments-orders-only (methods, paths)' },
    { name: 'orders → postgres', from: 'orders', to: 'shop/postgres', port: 5432, probe: { kind: 'tcp', count: 12 }, expect: 'fast-path', why: 'only the L3/L4 NetworkPolicy postgres-allow-orders, which admits orders' },
    { name: 'payments → frontend', from: 'payments', to: 'shop/frontend', port: 80, probe: { kind: 'http', method: 'GET', path: '/', count: 8 }, expect: 'fast-path', why: 'no route or policy selects frontend' },
    { name: 'frontend → postgres', from: 'frontend', to: 'shop/postgres', port: 5432, probe: { kind: 'tcp', count: 3 }, expect: 'denied', why: 'postgres-allow-orders admits only orders' },
    { name: 'inventory → postgres', from: 'inventory', to: 'shop/postgres', port: 5432, probe: { kind: 'tcp', count: 3 }, expect: 'denied', why: 'postgres-allow-orders admits only orders' },
  ];
}

/** The control socket of a pod's workload process. */
export type ControlAddress = (pod: PodPlan) => string;

/** Asks the workload process at control to send the probe's traffic from its pod. */
function probeFrom(control: string, probe: Probe): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const req = request({ ...parseAddress(control), path: '/probe', method: 'POST' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as ProbeResult) : reject(new Error(`probe from ${control}: HTTP ${res.statusCode}: ${body}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(probe));
  });
}

function merge(results: readonly ProbeResult[]): ProbeResult {
  const out: ProbeResult = { sent: 0, answered: 0, servedBy: {}, failures: {} };
  for (const r of results) {
    out.sent += r.sent;
    out.answered += r.answered;
    for (const [k, n] of Object.entries(r.servedBy)) out.servedBy[k] = (out.servedBy[k] ?? 0) + n;
    for (const [k, n] of Object.entries(r.failures)) out.failures[k] = (out.failures[k] ?? 0) + n;
  }
  return out;
}

/** Runs every step whose app and Service the mesh has (all at once); returns their results in order. */
/** How long a step's clients wait for an answer (ms). */
export type Patience = (step: TrafficStep) => number;

export async function sendTraffic(plan: DemoPlan, steps: readonly TrafficStep[], control: ControlAddress, patience: Patience): Promise<StepResult[]> {
  const runs = steps.map(async (step): Promise<StepResult | undefined> => {
    const senders = plan.pods.filter((p) => p.app === step.from);
    const vip = plan.snapshot.services.get(step.to)?.vips.find((v) => v.includes('.'));
    if (senders.length === 0 || !vip) return undefined;
    const target = `${vip}:${step.port}`;
    const results = await Promise.all(
      senders.map((pod, i) => {
        const count = Math.floor(step.probe.count / senders.length) + (i < step.probe.count % senders.length ? 1 : 0);
        return count === 0 ? undefined : probeFrom(control(pod), { ...step.probe, count, target, concurrency: 10, timeoutMs: patience(step) });
      }).filter((r): r is Promise<ProbeResult> => r !== undefined),
    );
    return { ...step, sources: senders.map((p) => p.key), target, result: merge(results) };
  });
  return (await Promise.all(runs)).filter((r): r is StepResult => r !== undefined);
}

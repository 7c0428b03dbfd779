// `npm run bench -- datapath`: pod to pod through one simulated node, side by side in one run:
// no programs (baseline), skiff's fast path with small maps, skiff with 10,000 services and 50,000
// policy entries, the same 10,000 services as kube-proxy iptables chains, and the flow steered
// through a user-space relay. sockperf TCP ping-pong (round-trip p50/p99), iperf3 TCP throughput,
// the connection-setup rate to the service VIP, and on skiff nodes the kernel's own time for one
// from_pod pass over a packet of an established flow (BPF_PROG_TEST_RUN: the program's cost with
// none of the machine's noise around it); rounds interleave the scenarios, figures are medians.
// Everything it creates (namespaces, rules, pins, processes) goes even on Ctrl-C.
import { NetnsFixture } from '../test/helpers/netns.js';
import { median, printTable, type Benchmark } from './benchmark.js';
import { connectRate, pingPong, programCost, throughput, Ports } from './datapath/measure.js';
import { createTestbed, type BenchSize, type Scenario, type ScenarioKey } from './datapath/testbed.js';
import { buildTools } from './datapath/tools.js';

export interface DatapathBenchOptions {
  size: BenchSize;
  rounds: number;
  /** sockperf run per measurement (whole seconds). */
  latencySeconds: number;
  /** iperf3 run per measurement. */
  throughputSeconds: number;
  /** connection-setup loop per measurement. */
  connectSeconds: number;
  /** from_pod runs per measurement of its cost per packet (BPF_PROG_TEST_RUN); 0 or absent: not measured. */
  programRuns?: number;
  progress?: (line: string) => void;
  /** Prefix of the namespaces, pins and temporary files (default skfdpb). */
  prefix?: string;
}

export interface ScenarioResult {
  key: ScenarioKey;
  label: string;
  /** Medians over the rounds. */
  p50: number;
  p99: number;
  gbps: number;
  /** Connections per second (undefined where not measured). */
  connPerSec?: number;
  /** skiff scenarios: ns of one from_pod pass over an established flow's packet (median, p90). */
  programNs?: { p50: number; p90: number };
}

const fullRun: DatapathBenchOptions = {
  size: { services: 10_000, backendsPerService: 10, policies: 50_000 },
  rounds: 9,
  latencySeconds: 2,
  throughputSeconds: 2,
  connectSeconds: 1,
  programRuns: 20_000,
};

interface Samples {
  p50: number[];
  p99: number[];
  gbps: number[];
  conn: number[];
  progP50: number[];
  progP90: number[];
}

async function measureRounds(fx: NetnsFixture, tools: string, scenarios: Scenario[], options: DatapathBenchOptions, progress: (line: string) => void): Promise<Map<ScenarioKey, Samples>> {
  const samples = new Map(scenarios.map((s) => [s.key, { p50: [], p99: [], gbps: [], conn: [], progP50: [], progP90: [] } as Samples]));
  for (let round = 0; round < options.rounds; round++) {
    // each round starts at another scenario, so none always runs first or last
    const order = scenarios.map((_, i) => scenarios[(i + round) % scenarios.length] as Scenario);
    for (const s of order) {
      const got = samples.get(s.key) as Samples;
      const latency = await pingPong(fx, s.client, s.target, options.latencySeconds);
      got.p50.push(latency.p50);
      got.p99.push(latency.p99);
      const gbps = await throughput(fx, s.client, s.target, options.throughputSeconds);
      got.gbps.push(gbps);
      let line = `round ${round + 1}/${options.rounds} ${s.label}: p50 ${latency.p50.toFixed(1)} µs, p99 ${latency.p99.toFixed(1)} µs, ${gbps.toFixed(2)} Gb/s`;
      if (s.connectRate) {
        const rate = await connectRate(fx, tools, s.client, s.target, options.connectSeconds);
        got.conn.push(rate);
        line += `, ${Math.round(rate)} conn/s`;
      }
      if (s.probe && options.programRuns) {
        // a new flow each time (its own source port), opened by the first packet
        const sport = 30_000 + round * scenarios.length + scenarios.indexOf(s);
        const cost = await programCost(fx, tools, s.probe, s.target, Ports.SOCKPERF, sport, options.programRuns);
        got.progP50.push(cost.p50);
        got.progP90.push(cost.p90);
        line += `, from_pod ${cost.p50} ns`;
      }
      progress(line);
    }
  }
  return samples;
}

/** Sets up every scenario, measures them in interleaved rounds, cleans up (also on SIGINT/SIGTERM);
 * resolves with the medians per scenario, in scenario order. */
export async function runDatapathBench(options: DatapathBenchOptions): Promise<ScenarioResult[]> {
  const progress = options.progress ?? ((line: string) => process.stdout.write(`  ${line}\n`));
  const fx = new NetnsFixture(options.prefix ?? 'skfdpb');
  let interrupted: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: cleaning up`);
    interrupted = fx.cleanup();
    void interrupted.finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const tools = buildTools(fx);
    const scenarios = await createTestbed(fx, tools, options.size, progress);
    const samples = await measureRounds(fx, tools, scenarios, options, progress);
    return scenarios.map((s) => {
      const got = samples.get(s.key) as Samples;
      return {
        key: s.key,
        label: s.label,
        p50: median(got.p50),
        p99: median(got.p99),
        gbps: median(got.gbps),
        connPerSec: got.conn.length > 0 ? median(got.conn) : undefined,
        programNs: got.progP50.length > 0 ? { p50: median(got.progP50), p90: median(got.progP90) } : undefined,
      };
    });
  } catch (err) {
    // a measurement cut short by the signal's cleanup is no failure: wait for the exit
    if (interrupted) await new Promise(() => {});
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await fx.cleanup();
  }
}

/** The two tables: latency/throughput against the baseline, connection setup against iptables. */
export function printDatapathTables(results: ScenarioResult[], options: DatapathBenchOptions): void {
  const byKey = (key: ScenarioKey) => results.find((r) => r.key === key) as ScenarioResult;
  const base = byKey('baseline');
  const rows = results.map((r) => {
    const p50Ratio = r.p50 / base.p50;
    const gbpsRatio = r.gbps / base.gbps;
    const targeted = ['fast', 'fast-vip', 'loaded', 'loaded-vip'].includes(r.key);
    const target = targeted ? 'p50 <= 1.05x, Gb/s >= 0.95x' : r.key === 'baseline' ? '(baseline)' : '(reference)';
    const missed = [p50Ratio > 1.05 ? 'p50' : '', gbpsRatio < 0.95 ? 'Gb/s' : ''].filter(Boolean);
    const met = !targeted ? '' : missed.length === 0 ? 'yes' : `NO (${missed.join(', ')})`;
    return [r.label, r.p50, r.p99, r.gbps, `${p50Ratio.toFixed(2)}x`, `${gbpsRatio.toFixed(2)}x`, target, met];
  });
  printTable(
    `Pod to pod through the node: sockperf TCP ping-pong round trip, iperf3 TCP; medians of ${options.rounds} interleaved rounds`,
    ['scenario', 'p50 µs', 'p99 µs', 'Gb/s', 'p50 / baseline', 'Gb/s / baseline', 'target', 'met?'],
    rows,
  );

  const iptables = byKey('iptables').connPerSec as number;
  const connRows = results.filter((r) => r.connPerSec !== undefined).map((r) => {
    const ratio = (r.connPerSec as number) / iptables;
    const targeted = r.key === 'loaded-vip';
    return [r.label, Math.round(r.connPerSec as number), `${ratio.toFixed(2)}x`, targeted ? '>= 2x iptables' : '', targeted ? (ratio >= 2 ? 'yes' : 'NO') : ''];
  });
  printTable(
    'New TCP connections per second to the service VIP (one client, connect then RST close; the baseline to the pod IP)',
    ['scenario', 'conn/s', 'ratio to iptables', 'target', 'met?'],
    connRows,
  );

  const measured = results.filter((r) => r.programNs !== undefined);
  if (measured.length === 0) return;
  const podIpOf: Partial<Record<ScenarioKey, ScenarioKey>> = { 'fast-vip': 'fast', 'loaded-vip': 'loaded' };
  const progRows = measured.map((r) => {
    const ns = r.programNs as { p50: number; p90: number };
    const podIp = podIpOf[r.key] && results.find((x) => x.key === podIpOf[r.key])?.programNs;
    return [r.label, ns.p50, ns.p90, podIp ? `${(ns.p50 / podIp.p50).toFixed(2)}x (+${ns.p50 - podIp.p50} ns)` : ''];
  });
  printTable(
    `One from_pod pass over a data segment of an established flow, timed by the kernel (BPF_PROG_TEST_RUN, a fresh skb per run, the local pod's ingress side included, the redirect not); median of ${options.programRuns} runs, medians of the rounds`,
    ['scenario', 'ns p50', 'ns p90', 'VIP / pod IP'],
    progRows,
  );
}

export const datapathBenchmark: Benchmark = {
  name: 'datapath',
  summary: 'pod to pod: no programs vs skiff fast path (small, 10k services + 50k policies) vs kube-proxy iptables (10k services) vs a user-space proxy',
  async run() {
    const results = await runDatapathBench(fullRun);
    printDatapathTables(results, fullRun);
  },
};

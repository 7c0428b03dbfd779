// The datapath benchmark's set-up, measurement and teardown at a tiny size: every scenario (no
// programs, skiff small and loaded, kube-proxy iptables, the user-space relay) carries real traffic
// and yields figures, the tables print, and nothing it made is left behind (namespaces, bpffs pins,
// processes). No timing targets here: those live in `npm run bench -- datapath`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { printDatapathTables, runDatapathBench, type DatapathBenchOptions } from '../../bench/datapath.js';
import { kubeProxyRules } from '../../bench/datapath/iptables.js';
import { MEASURED_VIP, serviceCatalogue } from '../../bench/datapath/catalogue.js';

const tiny: DatapathBenchOptions = {
  size: { services: 40, backendsPerService: 3, policies: 200 },
  rounds: 1,
  latencySeconds: 1,
  throughputSeconds: 1,
  connectSeconds: 0.3,
  progress: () => {},
  prefix: 'skfdpbt',
};

const benchNetns = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith('skfdpbt-'));
const benchPins = () => readdirSync('/sys/fs/bpf').filter((name) => name.startsWith('skfdpbt-'));
const benchFiles = () => readdirSync(tmpdir()).filter((name) => name.startsWith('skfdpbt-'));
/** Processes by command line: the relay and accept servers (tools in the run's temporary
 * directory), and the sockperf servers (counted, as another run may have its own). */
const benchTools = () => spawnSync('pgrep', ['-f', `${tmpdir()}/skfdpbt-`], { encoding: 'utf8' }).stdout.trim();
const sockperfServers = () => spawnSync('pgrep', ['-c', '-f', 'sockperf server --tcp -i 0.0.0.0 -p 11111'], { encoding: 'utf8' }).stdout.trim();

test('the catalogue holds the measured VIP in the middle, and kube-proxy chains pick backends 1/n, 1/(n-1), ...', () => {
  const catalogue = serviceCatalogue(10, 4, '10.9.0.20', [11111, 5201]);
  assert.equal(catalogue.length, 10);
  assert.deepEqual(catalogue.map((s) => s.vip).indexOf(MEASURED_VIP), 4);
  assert.equal(new Set(catalogue.map((s) => `${s.vip}:${s.port}`)).size, 10, 'every service port is distinct');
  const rules = kubeProxyRules(catalogue);
  assert.equal(rules.match(/-A KUBE-SERVICES -d /g)?.length, 10);
  const picks = [...rules.matchAll(/--probability ([0-9.]+)/g)].map((m) => Number(m[1]).toFixed(4));
  assert.deepEqual(picks.slice(0, 3), ['0.2500', '0.3333', '0.5000']);
  assert.match(rules, /-j DNAT --to-destination 10\.9\.0\.20:11111/);
});

test('a tiny run measures every scenario, prints its tables and cleans up', async () => {
  const serversBefore = sockperfServers();
  const results = await runDatapathBench(tiny);
  assert.deepEqual(results.map((r) => r.key), ['baseline', 'fast', 'fast-vip', 'loaded', 'loaded-vip', 'iptables', 'proxy']);
  for (const r of results) {
    assert.ok(r.p50 > 0 && r.p99 >= r.p50, `${r.key}: latency ${r.p50}/${r.p99}`);
    assert.ok(r.gbps > 0, `${r.key}: throughput ${r.gbps}`);
    if (['baseline', 'fast-vip', 'loaded-vip', 'iptables'].includes(r.key)) assert.ok((r.connPerSec ?? 0) > 0, `${r.key}: connection rate ${r.connPerSec}`);
    else assert.equal(r.connPerSec, undefined);
  }
  printDatapathTables(results, tiny);
  assert.deepEqual(benchNetns(), [], 'namespaces removed');
  assert.deepEqual(benchPins(), [], 'bpffs pins removed');
  assert.deepEqual(benchFiles(), [], 'the compiled tools removed');
  assert.equal(benchTools(), '', 'relay and accept servers gone');
  assert.ok(Number(sockperfServers()) <= Number(serversBefore), 'sockperf servers gone');
});

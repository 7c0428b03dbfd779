// `skiff demo` as a user runs it: a real child process, as root, bringing up the example mesh
// (namespaces, eBPF, control plane, redirectors), sending traffic and reporting; then nothing of it
// may be left: no namespaces, root links, pins, state directory or processes. Also Ctrl-C and an
// error during start-up, and --keep (the other commands work against it) followed by --down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Instance } from '../../cli/demo/instance.js';
import { findEnvoy } from '../../envoy/run.js';
import { skiff, skiffBin, type SkiffResult } from './run-skiff.js';

interface DatapathCount {
  node: string;
  verdict: string;
  reason: string;
  count: number;
}

interface Report {
  envoy: { path: string | null };
  traffic: { name: string; expect: string; sent: number; answered: number; datapath: DatapathCount[]; asExpected: boolean }[];
  flows: { fastPathed: number; redirected: number; dropped: Record<string, number> };
  canary: { observed: boolean; versions: Record<string, number> };
  proxyStatus: { controlPlane: string; clients: { id: string; role: string; node: string; types: Record<string, string>; synced: boolean }[]; allSynced: boolean };
  encryption: { mode: string; nodes: { node: string; encryption: string; detail: string }[] };
  ok: boolean;
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('the demo tests need root (network namespaces, eBPF): run the tests as root');
}

/** This file's demo: a name of its own, so a user's demo or another test run's is never touched. */
const demo = new Instance(`skiff-demo-t${process.pid}`);
const rootLinks = [demo.rootLink(0, 'node-a'), demo.rootLink(1, 'node-b')];
const linkNet = demo.controlPlaneAddress.replace(/\.1$/, '.');

/** What the demo could leave behind; every list must be empty after it. */
function leftovers(): Record<string, string[]> {
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`${demo.name}-`));
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => rootLinks.some((name) => l.includes(`: ${name}@`)));
  const addresses = spawnSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(` ${linkNet}`));
  const processes: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`SKIFF_DEMO=${demo.dir}`)) processes.push(entry);
    } catch {
      // gone meanwhile
    }
  }
  const paths = [demo.pinRoot, demo.dir].filter((p) => existsSync(p));
  return { netns, links, addresses, processes, paths };
}

function assertNothingLeft(): void {
  assert.deepEqual(leftovers(), { netns: [], links: [], addresses: [], processes: [], paths: [] });
}

function demoRun(...args: string[]): Promise<SkiffResult> {
  return skiff('demo', '--name', demo.name, ...args);
}

function parseReport(r: SkiffResult): Report {
  assert.equal(r.code, 0, `skiff demo exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as Report;
}

test('skiff demo -o json: fast path, policy drops, L7 fail closed or served, every client SYNCED; nothing left', { timeout: 120_000 }, async () => {
  requireRoot();
  const report = parseReport(await demoRun('-o', 'json'));
  assertNothingLeft();

  assert.ok(report.ok, 'every step as the mesh says');
  assert.ok(report.flows.fastPathed > 0, 'flows decided in the kernel');
  assert.deepEqual(report.encryption.nodes.map((n) => [n.node, n.encryption]), [['node-a', 'none'], ['node-b', 'none']], 'the example mesh runs no node tunnel, and the report says so');
  const fast = report.traffic.filter((s) => s.expect === 'fast-path');
  assert.ok(fast.length > 0);
  for (const s of fast) {
    assert.equal(s.answered, s.sent, `${s.name}: every fast-path request answered`);
    assert.ok(s.datapath.some((d) => d.verdict === 'TRANSLATED' || d.verdict === 'FORWARDED'), `${s.name}: ${JSON.stringify(s.datapath)}`);
  }

  const denied = report.traffic.filter((s) => s.expect === 'denied');
  assert.ok(denied.length > 0);
  for (const s of denied) {
    assert.equal(s.answered, 0, `${s.name}: denied requests get no answer`);
    assert.ok(s.datapath.some((d) => d.verdict === 'DROPPED' && d.reason === 'POLICY_DENIED'), `${s.name}: ${JSON.stringify(s.datapath)}`);
  }
  assert.ok((report.flows.dropped.POLICY_DENIED ?? 0) > 0);

  const envoy = findEnvoy();
  assert.equal(report.envoy.path, envoy ?? null, 'the report says whether Envoy serves L7');
  const l7 = report.traffic.filter((s) => s.expect === 'l7');
  assert.ok(l7.some((s) => s.name === 'checkout'), 'the canary traffic was sent');
  for (const s of l7) {
    if (envoy) {
      assert.ok(s.datapath.some((d) => d.verdict === 'REDIRECTED'), `${s.name}: steered to Envoy: ${JSON.stringify(s)}`);
      if (s.name === 'checkout') assert.ok(s.answered > 0, 'Envoy serves the checkout (POST /orders from frontend is allowed)');
    } else {
      assert.equal(s.answered, 0, `${s.name}: without Envoy nothing answers`);
      assert.ok(s.datapath.length > 0 && s.datapath.every((d) => d.verdict === 'DROPPED' && d.reason === 'PROXY_UNAVAILABLE'), `${s.name}: ${JSON.stringify(s.datapath)}`);
    }
  }
  assert.equal(report.canary.observed, envoy !== undefined);
  if (envoy) assert.ok((report.canary.versions.v1 ?? 0) > (report.canary.versions.v2 ?? 0), 'v1 takes most of a 90/10 split');

  assert.ok(report.proxyStatus.allSynced);
  const redirectors = report.proxyStatus.clients.filter((c) => c.role === 'redirector');
  assert.deepEqual(redirectors.map((c) => c.node).sort(), ['node-a', 'node-b']);
  for (const c of report.proxyStatus.clients) {
    assert.ok(Object.keys(c.types).length > 0, `${c.id} subscribes to something`);
    for (const [type, state] of Object.entries(c.types)) assert.equal(state, 'SYNCED', `${c.id} ${type}`);
  }
});

test('Ctrl-C during start-up tears everything down', { timeout: 120_000 }, async () => {
  requireRoot();
  const child = spawn(process.execPath, [skiffBin, 'demo', '--name', demo.name], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      // the pods exist and the control plane, the pods' servers and the redirectors are starting
      if (/✓ creating \d+ pods/.test(stderr)) resolve();
    });
    void exited.then(() => reject(new Error(`the demo exited before the pods were made:\n${stderr}`)));
  });
  const during = leftovers();
  assert.ok(during.netns.length > 0 && during.processes.length > 0, `interrupted while running: ${JSON.stringify(during)}`);
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /SIGINT: tearing everything down/);
  assertNothingLeft();
});

test('an error half-way through start-up tears everything down', { timeout: 60_000 }, async () => {
  requireRoot();
  // two pods with one address: the second pod's route cannot be made, after the nodes exist and
  // the control plane has been started
  const dir = mkdtempSync(join(tmpdir(), 'skiff-demo-test-'));
  try {
    cpSync(fileURLToPath(new URL('../../../examples/mesh/00-cluster.yaml', import.meta.url)), join(dir, '00-cluster.yaml'));
    const pod = (name: string): string => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: shop, labels: {app: ${name}}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.244.1.10, podIPs: [{ip: 10.244.1.10}], conditions: [{type: Ready, status: "True"}]}
`;
    writeFileSync(join(dir, '10-pods.yaml'), `${pod('one')}---\n${pod('two')}`);
    const r = await demoRun('--config', dir);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /✗ creating 2 pods[\s\S]*File exists[\s\S]*✓ tearing everything down/);
    assertNothingLeft();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--keep leaves the demo running for the other commands; --down removes it', { timeout: 120_000 }, async () => {
  requireRoot();
  try {
    const report = parseReport(await demoRun('--keep', '-o', 'json'));
    assert.ok(leftovers().processes.length > 0, 'the demo keeps running');
    const [status, services, again] = await Promise.all([
      skiff('proxy-status', '--admin', report.proxyStatus.controlPlane, '-o', 'json'),
      skiff('bpf', 'services', '--node', 'node-b', '--redirector', `unix:${demo.dir}/node-b-redirector.sock`, '-o', 'json'),
      demoRun(),
    ]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /redirector~node-a/);
    assert.equal(services.code, 0, services.stderr);
    assert.match(services.stdout, /10\.96\.0\.50/, "the postgres VIP in node-b's service map");
    assert.equal(again.code, 1, 'a second demo refuses to replace a kept one');
    assert.match(again.stderr, /skiff demo --down/);
  } finally {
    const down = await demoRun('--down');
    assert.equal(down.code, 0, down.stderr);
  }
  assertNothingLeft();
});

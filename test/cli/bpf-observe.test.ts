// skiff bpf and skiff observe against a real redirector: the agent runs as `skiff redirector` in a
// simulated node's netns (test/redirector/harness.ts), programmed by a control plane in this
// process, with real pods and TCP traffic (a service connection, a policy drop); the CLI reads the
// agent's admin API over its unix socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { NetnsFixture, requireRoot } from '../helpers/netns.js';
import { request, startServer } from '../helpers/tcp-peer.js';
import { AgentProcess, ControlPlane, eventually, meshObjects } from '../redirector/harness.js';
import { skiff, skiffBin } from './run-skiff.js';
import { UsageError, type Command } from '../../cli/command.js';
import { AdminServer } from '../../xds/index.js';
import { commands } from '../../cli/commands/all.js';

const VIP = '10.96.0.10';
const pods = { client: '10.10.0.2', 'web-1': '10.10.0.11', db: '10.10.0.20' };

const MESH = [
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}',
  'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {podCIDR: 10.10.0.0/24}\nstatus: {addresses: [{type: InternalIP, address: 172.30.9.1}]}',
  ...Object.entries(pods).map(
    ([name, ip]) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: shop, labels: {app: ${name.replace(/-\d$/, '')}}}
spec: {nodeName: n1, containers: [{name: app}]}
status: {phase: Running, podIP: ${ip}, podIPs: [{ip: ${ip}}], conditions: [{type: Ready, status: "True"}]}`,
  ),
  `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {clusterIP: ${VIP}, clusterIPs: [${VIP}], selector: {app: web}, ports: [{name: tcp-web, port: 80, targetPort: 8080}]}`,
  `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-client, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{protocol: TCP, port: 5432}]}]`,
].join('\n---\n');

interface JsonFlow {
  verdict: string;
  reason: string;
  node: string;
  src: { pod?: string };
  dst: { pod?: string; service?: string };
  backend?: { pod?: string };
}

const ndjson = (text: string): JsonFlow[] => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JsonFlow);

test('skiff bpf and skiff observe read a real redirector: maps with names, flows merged and filtered', { timeout: 180_000 }, async (t) => {
  requireRoot('the bpf/observe CLI tests');
  const fx = new NetnsFixture('skc');
  const pinRoot = `/sys/fs/bpf/${fx.id}-n1`;
  fx.onCleanup(() => rmSync(pinRoot, { recursive: true, force: true }));
  try {
    const node = fx.createNode('n1');
    const netns: Record<string, string> = {};
    for (const [name, ip] of Object.entries(pods)) netns[name] = fx.addPod(node, { name, ip }).netns;
    await Promise.all([startServer(fx, netns['web-1'] as string, 8080, 'web-1'), startServer(fx, netns.db as string, 5432, 'db')]);
    const cp = await ControlPlane.start(fx);
    cp.publish(meshObjects(MESH));
    const agent = await AgentProcess.start(fx, node.netns, 'n1', cp, pinRoot);
    const admin = `unix:${agent.adminSocket}`;
    // a connection through the service VIP, and one the NetworkPolicy drops
    assert.match(await request(fx, netns.client as string, VIP, 80, 'hi'), /^web-1 10\.10\.0\.2 hi$/);
    assert.equal(await request(fx, netns['web-1'] as string, pods.db, 5432, 'q', 800), 'connect timeout');
    await eventually('both flows in the log', async () => {
      const flows = await agent.flows<JsonFlow>();
      return flows.some((f) => f.verdict === 'DROPPED') && flows.some((f) => f.verdict === 'TRANSLATED') ? true : undefined;
    });

    await t.test('bpf services: the VIP named, its backend slots with the backend pod (cilium bpf lb list)', async () => {
      const [table, json] = await Promise.all([skiff('bpf', 'services', '--redirector', admin), skiff('bpf', 'services', '--redirector', admin, '-o', 'json')]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^SERVICE ADDRESS\s+SERVICE\s+BACKEND ADDRESS \(REVNAT_ID\) \(SLOT\)\s+BACKEND POD$/m);
      assert.match(table.stdout, /^10\.96\.0\.10:80\/TCP\s+shop\/web\s+10\.10\.0\.11:8080 \(\d+\) \(0\)\s+shop\/web-1$/m);
      const doc = JSON.parse(json.stdout) as { node: string; address: string; entries: { service: string; backends: { pod: string }[] }[] }[];
      assert.equal(doc[0]?.node, 'n1');
      assert.equal(doc[0]?.address, admin);
      assert.deepEqual(doc[0]?.entries.find((e) => e.service === 'shop/web')?.backends.map((b) => b.pod), ['shop/web-1']);
    });

    await t.test('bpf identities, endpoints, backends, policy: addresses and identities with pod names', async () => {
      const [identities, endpoints, backends, policy] = await Promise.all(
        ['identities', 'endpoints', 'backends', 'policy'].map((map) => skiff('bpf', map, '--node', 'n1', '--redirector', admin)),
      );
      for (const r of [identities, endpoints, backends, policy]) assert.equal(r?.code, 0, r?.stderr);
      assert.match(identities?.stdout ?? '', /^10\.10\.0\.2\/32\s+\d+\s+shop\/app=client(,\S+)?$/m);
      assert.match(endpoints?.stdout ?? '', /^\d+\s+10\.10\.0\.20\s+shop\/db\s+\d+\s+\d+\s+ingress$/m, 'db is ingress-enforced by its NetworkPolicy');
      assert.match(endpoints?.stdout ?? '', /^\d+\s+10\.10\.0\.2\s+shop\/client\s+\d+\s+\d+\s+-$/m);
      assert.match(backends?.stdout ?? '', /^\d+\s+10\.10\.0\.11:8080\s+shop\/web-1\s/m);
      assert.match(policy?.stdout ?? '', /^\d+\s+shop\/db\s+INGRESS\s+\d+\s+shop\/app=client(,\S+)?\s+5432\/TCP\s+ALLOW\s+-$/m);
    });

    await t.test('bpf ct: the conntrack table, decoded and named', async () => {
      const ct = await skiff('bpf', 'ct', '--redirector', admin);
      assert.equal(ct.code, 0, ct.stderr);
      assert.match(ct.stdout, /^TUPLE\s+SCOPE\s+SRC\s+DST\s+FLAGS\s+NAT\s+SERVICE\s+BACKEND\s+PROXYPORT\s+PACKETS\s+BYTES\s+LIFETIME$/m);
      assert.match(ct.stdout, /^10\.10\.0\.2:\d+ -> 10\.96\.0\.10:80 TCP\s+SERVICE\s+shop\/client\s+shop\/web\s+.*10\.10\.0\.11:8080 \(shop\/web-1\)\s+\d+\s+\d+\s+\d+\s+[\d.]+s$/m, ct.stdout);
    });

    await t.test('observe: the Hubble-like log, names and verdicts; filters by verdict, pod and direction, namespace', async () => {
      const [table, json, dropped, toDb, fromDb, other] = await Promise.all([
        skiff('observe', '--redirector', admin),
        skiff('observe', '--redirector', admin, '-o', 'json', '--last', '0'),
        skiff('observe', '--redirector', admin, '--verdict', 'dropped'),
        skiff('observe', '--redirector', admin, '--pod', 'shop/db', '--to-pod', '-o', 'json'),
        skiff('observe', '--redirector', admin, '--pod', 'db', '--from-pod', '-o', 'json'),
        skiff('observe', '--redirector', admin, '--namespace', 'elsewhere'),
      ]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^TIMESTAMP\s+SOURCE\s+DESTINATION\s+TYPE\s+VERDICT\s+SUMMARY\s+NODE$/m);
      assert.match(table.stdout, /^\S+Z\s+shop\/client:\d+\s+shop\/web-1:8080\s+TCP from_pod\s+TRANSLATED\s+via service shop\/web \(10\.96\.0\.10:80\)\s+n1$/m);
      assert.match(table.stdout, /^\S+Z\s+shop\/web-1:\d+\s+shop\/db:5432\s+TCP \S+\s+DROPPED\s+POLICY_DENIED\s+n1$/m);
      const flows = ndjson(json.stdout);
      assert.ok(flows.some((f) => f.verdict === 'TRANSLATED' && f.src.pod === 'shop/client' && f.backend?.pod === 'shop/web-1' && f.node === 'n1'));
      const droppedRows = dropped.stdout.trimEnd().split('\n').slice(1);
      assert.ok(droppedRows.length > 0 && droppedRows.every((l) => /\sDROPPED\s/.test(l)), dropped.stdout);
      assert.ok(ndjson(toDb.stdout).length > 0 && ndjson(toDb.stdout).every((f) => f.dst.pod === 'shop/db' || f.backend?.pod === 'shop/db'), toDb.stdout);
      assert.deepEqual(ndjson(fromDb.stdout).filter((f) => f.src.pod !== 'shop/db'), [], 'only flows from db');
      assert.equal(other.stdout, 'No flows match.\n');
    });

    await t.test('observe --follow: replays the recent flows, then streams new ones until Ctrl-C (exit 0)', async () => {
      const child = spawn(process.execPath, [skiffBin, 'observe', '--follow', '--redirector', admin, '--pod', 'shop/web-1', '-o', 'json']);
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        await eventually('the replayed flows', () => (ndjson(out).length > 0 ? true : undefined), 30_000);
        const before = ndjson(out).length;
        assert.match(await request(fx, netns.client as string, VIP, 80, 'again'), /^web-1 /);
        await eventually('the new flow streamed', () => (ndjson(out).length > before ? true : undefined), 10_000);
        assert.ok(ndjson(out).every((f) => [f.src.pod, f.dst.pod, f.backend?.pod].includes('shop/web-1')));
      } finally {
        child.kill('SIGINT');
      }
      assert.equal(await exited, 0);
    });

    await t.test('without --redirector, the redirectors are found through the control plane (node metadata admin_address)', async () => {
      const cpAdmin = new AdminServer({ xds: cp.server });
      const address = `127.0.0.1:${await cpAdmin.listen('127.0.0.1', 0)}`;
      try {
        const [services, status] = await Promise.all([skiff('bpf', 'services', '--admin', address, '-o', 'json'), skiff('proxy-status', '--admin', address)]);
        assert.equal(services.code, 0, services.stderr);
        assert.deepEqual((JSON.parse(services.stdout) as { node: string; address: string }[]).map((n) => [n.node, n.address]), [['n1', admin]]);
        assert.match(status.stdout, /^\S+\s+redirector\s+n1\s+.*\sSYNCED\s/m, 'and proxy-status shows the agent SYNCED');
      } finally {
        await cpAdmin.close();
      }
    });

    await t.test('exit codes: 2 for an unknown node or bad flags, 3 when no redirector answers', async () => {
      const [node, down] = await Promise.all([skiff('bpf', 'services', '--node', 'nope', '--redirector', admin), skiff('observe', '--redirector', '127.0.0.1:1')]);
      assert.equal(node.code, 2);
      assert.match(node.stderr, /no redirector of node 'nope' among n1 \(unix:/);
      const observe = commands.find((c) => c.name === 'observe') as Command;
      const bpf = commands.find((c) => c.name === 'bpf') as Command;
      for (const argv of [['--verdict', 'MAYBE'], ['--port', '70000'], ['--from-pod'], ['--last', '-1'], ['extra'], ['-o', 'yaml']]) {
        await assert.rejects(async () => observe.run(argv), UsageError, `observe ${argv.join(' ')}`);
      }
      await assert.rejects(async () => bpf.run(['maps']), UsageError);
      assert.equal(down.code, 3);
      assert.match(down.stderr, /127\.0\.0\.1:1\/debug\/state: connect ECONNREFUSED/);
    });
  } finally {
    await fx.cleanup();
  }
});

// The node tunnels end to end, wired the way an operator runs them: a real `skiff control-plane`
// (config directory, CA directory with the nodes' bootstrap tokens) on node a, two simulated nodes
// (network namespaces joined by a veth wire) with a pod each, and a real `skiff redirector` per
// node with its token file. The MeshConfig asks for HBONE, then for WireGuard: pod-to-pod TCP
// across the nodes works in each mode, a capture on the wire holds no plaintext, the agents report
// their peers and certificates on /debug/tunnel (and `skiff tunnel status`), and WireGuard keys
// rotated through the control plane mid-transfer lose nothing; while an agent is down nothing goes
// around the tunnel, and once restarted it publishes a new key and traffic flows again; with
// encryption none the tunnels go and the same capture sees the plaintext. Each agent has a mount
// namespace of its own, as separate machines do (wireguard-go keeps its control socket in
// /run/wireguard).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TunnelStatus } from '../../redirector/tunnel/tunnel-status.js';
import { NetnsFixture, netnsPath, requireRoot, type NetnsNode } from '../helpers/netns.js';
import { AgentProcess, eventually, mainJs } from '../redirector/harness.js';
import { PLAINTEXT_MARKER, bulkSend, startBulkServer } from './bulk.js';
import { WireCapture } from './capture.js';

const PORT = 7000;
const MiB = 1024 * 1024;
const marker = Buffer.from(PLAINTEXT_MARKER);
const XDS_PORT = 15010;
const client = { name: 'client', ip: '10.1.0.10', sa: 'client' };
const web = { name: 'web', ip: '10.2.0.10', sa: 'web' };

requireRoot('the node tunnel end-to-end test');
const fx = new NetnsFixture('skat');
const work = mkdtempSync(join(tmpdir(), 'skiff-agent-tunnels-'));
const configDir = join(work, 'config');
const caDir = join(work, 'ca');
let nodeA: NetnsNode;
let nodeB: NetnsNode;
const agents = new Map<string, AgentProcess>();

function meshYaml(encryption: string): string {
  const node = (name: string, ip: string, cidr: string) => `apiVersion: v1
kind: Node
metadata: {name: ${name}}
spec: {podCIDR: ${cidr}, podCIDRs: [${cidr}]}
status: {addresses: [{type: InternalIP, address: ${ip}}]}`;
  const pod = (p: typeof client, node: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${p.name}, namespace: demo, labels: {app: ${p.name}}}
spec: {nodeName: ${node}, serviceAccountName: ${p.sa}, containers: [{name: app, ports: [{containerPort: ${PORT}}]}]}
status: {phase: Running, podIP: ${p.ip}, podIPs: [{ip: ${p.ip}}], conditions: [{type: Ready, status: "True"}]}`;
  return [
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: default}',
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}',
    node(nodeA.name, '172.31.1.1', '10.1.0.0/24'),
    node(nodeB.name, '172.31.1.2', '10.2.0.0/24'),
    pod(client, nodeA.name),
    pod(web, nodeB.name),
    `apiVersion: skiff.io/v1alpha1
kind: MeshConfig
metadata: {name: mesh, namespace: default}
spec: {trustDomain: cluster.local, encryption: ${encryption}, proxyPort: 15001, hbonePort: 15008}`,
  ].join('\n---\n');
}

/** Replaces the mesh file at once (the control plane never reads half of it). */
function writeMesh(encryption: string): void {
  mkdirSync(configDir, { recursive: true });
  const staged = join(work, 'mesh.yaml');
  writeFileSync(staged, meshYaml(encryption));
  renameSync(staged, join(configDir, 'mesh.yaml'));
}

function clientNs(): string {
  return nodeA.pods[0]?.netns as string;
}

function tunnel(node: string): Promise<TunnelStatus> {
  return (agents.get(node) as AgentProcess).json<TunnelStatus>('/debug/tunnel');
}

/** `skiff ARGS` as a child process. */
function runSkiff(...args: string[]): Promise<{ out: string; code: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [mainJs, ...args], (err, stdout) => resolve({ out: stdout, code: err ? Number(err.code) : 0 }));
  });
}

before(async () => {
  nodeA = fx.createNode('a');
  nodeB = fx.createNode('b');
  fx.connectNodes(nodeA, nodeB);
  fx.addPod(nodeA, client);
  const webPod = fx.addPod(nodeB, web);
  // whatever is left in a node's namespace (an agent's wireguard-go) goes before the namespaces do
  fx.onCleanup(() => {
    for (const node of [nodeA, nodeB]) {
      const pids = spawnSync('ip', ['netns', 'pids', node.netns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
      for (const pid of pids) spawnSync('kill', ['-9', pid]);
    }
  });
  fx.onCleanup(() => rmSync(work, { recursive: true, force: true }));
  writeMesh('hbone');
  await startBulkServer(fx, webPod.netns, PORT);

  // the control plane runs on node a, as on a control-plane node; node b reaches it over the wire
  const cp = fx.spawn(nodeA.netns, process.execPath, [mainJs, 'control-plane', '--config', configDir, '--ca-dir', caDir, '--xds', `0.0.0.0:${XDS_PORT}`, '--admin', '127.0.0.1:15014']);
  let cpLog = '';
  cp.stderr?.setEncoding('utf8').on('data', (chunk: string) => (cpLog += chunk));
  await eventually('the bootstrap token files', () => (existsSync(tokenFile(nodeA)) && existsSync(tokenFile(nodeB)) ? true : undefined), 15_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${cpLog}`);
  });

  for (const node of [nodeA, nodeB]) {
    fx.onCleanup(() => {
      spawnSync('nsenter', [`--net=${netnsPath(node.netns)}`, process.execPath, mainJs, 'redirector', '--node', node.name, '--bpffs', pinRoot(node), '--uninstall']);
    });
    await startAgent(node);
  }
});

function tokenFile(node: NetnsNode): string {
  return join(caDir, 'bootstrap-tokens', `node.${node.name}.token`);
}

function pinRoot(node: NetnsNode): string {
  return `/sys/fs/bpf/skiff-${fx.id}-${node.name}`;
}

/** The node's redirector with its token file, in a mount namespace of its own; node b reaches the control plane on node a over the wire. */
async function startAgent(node: NetnsNode): Promise<void> {
  const xds = node === nodeA ? `127.0.0.1:${XDS_PORT}` : `172.31.1.1:${XDS_PORT}`;
  const agent = await AgentProcess.start(fx, node.netns, node.name, { address: xds }, pinRoot(node), {
    args: ['--token-file', tokenFile(node), '--wireguard-key-rotation', '3s'],
    wrap: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mkdir -p /run/wireguard && mount -t tmpfs skiff-wg /run/wireguard && exec "$@"', 'sh'],
  });
  agents.set(node.name, agent);
}

after(async () => {
  for (const [node, agent] of agents) if (agent.child.exitCode !== null) console.error(`agent ${node} exited (${agent.child.exitCode}):\n${agent.logs.slice(-30).join('\n')}`);
  // a stopped agent ends its wireguard-go; then the fixture removes pins, rules and namespaces
  await Promise.race([Promise.all([...agents.values()].map((agent) => agent.kill('SIGTERM'))), sleep(5000)]);
  await fx.cleanup();
});

/** 16 connections and an 8 MiB transfer from the client pod to web, captured on node a's wire: all arrive intact, none in clear. */
async function transferNoneInClear(): Promise<void> {
  const capture = await WireCapture.start(fx, nodeA.netns, 'n-b');
  const many = await bulkSend(fx, clientNs(), web.ip, PORT, 16 * 1024, 16);
  const large = await bulkSend(fx, clientNs(), web.ip, PORT, 8 * MiB, 1);
  const pcap = await capture.stop();
  assert.deepEqual([many.ok, many.errors, large.ok, large.errors], [16, [], 1, []]);
  assert.ok(pcap.length > 4 * MiB, `the transfer crossed this wire (${pcap.length} bytes captured)`);
  assert.ok(!pcap.includes(marker), 'no plaintext marker on the wire');
}

test('encryption hbone: the attested agents hold their workloads\' certificates; pod-to-pod TCP across nodes goes through HBONE, none in clear', async () => {
  const [a, b] = await Promise.all(
    ['a', 'b'].map((node) =>
      eventually(`node ${node}'s HBONE tunnel with a certificate`, async () => {
        const status = await tunnel(node);
        return status.hbone && status.hbone.certificates.length > 0 ? status : undefined;
      }, 15_000),
    ),
  );
  assert.deepEqual(a?.hbone?.certificates.map((c) => c.spiffeId), ['spiffe://cluster.local/ns/demo/sa/client']);
  assert.deepEqual(b?.hbone?.certificates.map((c) => c.spiffeId), ['spiffe://cluster.local/ns/demo/sa/web']);
  assert.equal(a?.encryption, 'hbone');
  assert.equal(a?.wireguard, undefined);
  const state = await (agents.get('a') as AgentProcess).json<{ attested: boolean; trustDomain: string; certificates: { name: string }[] }>('/debug/state');
  assert.deepEqual([state.attested, state.trustDomain, state.certificates.map((c) => c.name).sort()], [true, 'cluster.local', ['node', 'spiffe://cluster.local/ns/demo/sa/client']]);

  await transferNoneInClear();
  const inbound = (await tunnel('b')).hbone?.inbound;
  assert.ok(inbound && inbound.streams >= 17, `every flow went through node b's HBONE inbound: ${JSON.stringify(inbound)}`);

  const cli = await runSkiff('tunnel', 'status', '--redirector', `unix:${agents.get('b')?.adminSocket}`, '-o', 'json');
  assert.equal(cli.code, 0);
  const [shown] = JSON.parse(cli.out) as TunnelStatus[];
  assert.equal(shown?.hbone?.certificates[0]?.spiffeId, 'spiffe://cluster.local/ns/demo/sa/web');
});

test('switching to encryption wireguard: the agents publish their keys through the control plane, peer with each other, close HBONE; pod-to-pod TCP goes through WireGuard, none in clear', async () => {
  writeMesh('wireguard');
  const peered = (node: string, other: string, cidr: string) =>
    eventually(`node ${node} peers with ${other}`, async () => {
      const status = await tunnel(node);
      const peer = status.wireguard?.peers.find((p) => p.node === other && p.allowedIps.includes(cidr));
      return peer && !status.hbone ? status : undefined;
    }, 20_000);
  const [a, b] = await Promise.all([peered('a', 'b', '10.2.0.0/24'), peered('b', 'a', '10.1.0.0/24')]);
  assert.equal(a.encryption, 'wireguard');
  assert.equal(a.wireguard?.peers.length, 1);
  assert.equal(b.wireguard?.peers.length, 1);

  await transferNoneInClear();
  const peer = (await tunnel('a')).wireguard?.peers[0];
  assert.ok(peer && peer.latestHandshakeMs > 0 && peer.txBytes > 8 * MiB, JSON.stringify(peer));

  const cli = await runSkiff('tunnel', 'status', '--redirector', `unix:${agents.get('a')?.adminSocket}`);
  assert.equal(cli.code, 0);
  assert.match(cli.out, /Node a: encryption wireguard/);
  assert.match(cli.out, /b\s+\S+\s+172\.31\.1\.2:51871\s+10\.2\.0\.0\/24/);
});

test('WireGuard keys rotated through the control plane (every 3 s) during a transfer: nothing is lost, nothing leaks', async () => {
  const before = await Promise.all([tunnel('a'), tunnel('b')]);
  const capture = await WireCapture.start(fx, nodeA.netns, 'n-b');
  // 4 connections × 12 MiB paced over ~5 s: at least one rotation of each node happens mid-transfer
  const result = await bulkSend(fx, clientNs(), web.ip, PORT, 12 * MiB, 4, 25, 60_000);
  const pcap = await capture.stop();
  assert.deepEqual([result.ok, result.errors, result.bytes], [4, [], 4 * 12 * MiB]);
  assert.ok(!pcap.includes(marker), 'no plaintext marker on the wire');
  const after = await Promise.all([tunnel('a'), tunnel('b')]);
  for (const [i, node] of ['a', 'b'].entries()) {
    assert.notEqual(after[i]?.wireguard?.publicKey, before[i]?.wireguard?.publicKey, `node ${node} rotated its key`);
  }
  // each side routes to the other's current key (or the one it is rotating to, just published)
  await eventually('each node peers with the other one\'s current key', async () => {
    const [a, b] = await Promise.all([tunnel('a'), tunnel('b')]);
    const routed = (s: TunnelStatus) => s.wireguard?.peers.filter((p) => p.allowedIps.length > 0).map((p) => p.publicKey);
    return JSON.stringify(routed(a)) === JSON.stringify([b.wireguard?.publicKey]) && JSON.stringify(routed(b)) === JSON.stringify([a.wireguard?.publicKey]) ? true : undefined;
  }, 10_000);
});

test('a stopped agent leaves no way around the tunnel (remote pods unreachable, nothing in clear); restarted, it publishes a new key and traffic flows again', async () => {
  await (agents.get('b') as AgentProcess).kill('SIGTERM');
  const capture = await WireCapture.start(fx, nodeA.netns, 'n-b');
  const during = await bulkSend(fx, clientNs(), web.ip, PORT, 64 * 1024, 1, 0, 3000).catch(() => undefined);
  assert.ok(!during || during.ok === 0, `nothing got through while node b's agent was down: ${JSON.stringify(during)}`);
  await startAgent(nodeB);
  await eventually('node a peers with node b\'s new key', async () => {
    const [a, b] = await Promise.all([tunnel('a'), tunnel('b')]);
    const key = b.wireguard?.publicKey;
    return key && a.wireguard?.peers.some((p) => p.publicKey === key && p.allowedIps.includes('10.2.0.0/24')) ? true : undefined;
  }, 20_000);
  const after = await bulkSend(fx, clientNs(), web.ip, PORT, 4 * MiB, 4, 0, 30_000);
  const pcap = await capture.stop();
  assert.deepEqual([after.ok, after.errors], [4, []]);
  assert.ok(!pcap.includes(marker), 'no plaintext marker on the wire, before or after the restart');
});

test('switching to encryption none closes the tunnels (interface, routes, listeners); then the capture does see the plaintext, so it would have seen it above', async () => {
  writeMesh('none');
  await Promise.all(
    ['a', 'b'].map((node) =>
      eventually(`node ${node} runs no tunnel`, async () => {
        const status = await tunnel(node);
        return status.encryption === 'none' && !status.wireguard && !status.hbone ? true : undefined;
      }, 20_000),
    ),
  );
  assert.equal(spawnSync('ip', ['-n', nodeA.netns, 'link', 'show', 'skiff-wg0']).status, 1, 'the WireGuard interface is gone');
  assert.doesNotMatch(fx.ip(nodeA.netns, 'rule', 'show'), /lookup 51871/, 'and its routing rules');
  const capture = await WireCapture.start(fx, nodeA.netns, 'n-b');
  const result = await bulkSend(fx, clientNs(), web.ip, PORT, 256 * 1024, 1);
  const pcap = await capture.stop();
  assert.deepEqual([result.ok, result.errors], [1, []]);
  assert.ok(pcap.includes(marker), 'the marker crossed the wire in clear');
});

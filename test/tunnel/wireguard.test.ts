// The WireGuard node tunnel with real packets: two simulated nodes (network namespaces joined by a
// veth wire) with a pod each, a WireGuardTunnel per node (wireguard-go where the kernel module is
// missing), and traffic between the pods. A capture on the wire shows what an observer sees.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WireGuardTunnel, generateWireGuardKeyPair, type WireGuardPeer } from '../../redirector/tunnel/wireguard.js';
import { NetnsFixture, netnsPath, requireRoot, type NetnsNode } from '../helpers/netns.js';
import { PLAINTEXT_MARKER, bulkSend, startBulkServer } from './bulk.js';
import { WireCapture } from './capture.js';
import { AdminServer } from '../../redirector/admin.js';
import { tunnelStatus, type TunnelStatus } from '../../redirector/tunnel/tunnel-status.js';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PORT = 7000;
const MiB = 1024 * 1024;
const marker = Buffer.from(PLAINTEXT_MARKER);

const skiff = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/** `skiff ARGS` as a child process (asynchronous: the admin API it asks runs in this process). */
function runSkiff(...args: string[]): Promise<{ out: string; code: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [skiff, ...args], (err, stdout) => resolve({ out: stdout, code: err ? Number(err.code) : 0 }));
  });
}

requireRoot('the WireGuard tunnel test');
const fx = new NetnsFixture('skwg');
let a: NetnsNode;
let b: NetnsNode;
let ta: WireGuardTunnel;
let tb: WireGuardTunnel;
const podA = { name: 'pa', ip: '10.1.0.10' };
const podB = { name: 'pb', ip: '10.2.0.10' };

function peerOf(node: NetnsNode, tunnel: WireGuardTunnel, endpoint: string, cidr: string, publicKey = tunnel.publicKey): WireGuardPeer {
  return { node: node.name, endpoint, publicKey, nextPublicKey: tunnel.nextPublicKey, podCidrs: [cidr] };
}
const peerA = (publicKey?: string) => peerOf(a, ta, '172.31.1.1', '10.1.0.0/24', publicKey);
const peerB = () => peerOf(b, tb, '172.31.1.2', '10.2.0.0/24');

before(async () => {
  a = fx.createNode('a');
  b = fx.createNode('b');
  fx.connectNodes(a, b);
  fx.addPod(a, podA);
  fx.addPod(b, podB);
  await startBulkServer(fx, fx.nodes[1]!.pods[0]!.netns, PORT);
});

after(() => fx.cleanup());

test('without a tunnel the capture on the wire holds the plaintext marker (the capture sees payloads)', async () => {
  const capture = await WireCapture.start(fx, a.netns, 'n-b');
  const result = await bulkSend(fx, a.pods[0]!.netns, podB.ip, PORT, 256 * 1024, 1);
  const pcap = await capture.stop();
  assert.equal(result.ok, 1, result.errors.join('; '));
  assert.ok(pcap.includes(marker), 'the marker crossed the wire in clear');
});

test('pods across nodes over WireGuard: 64 concurrent connections and a 32 MiB transfer, checksums match, no plaintext on the wire', async () => {
  ta = await WireGuardTunnel.start({ netns: netnsPath(a.netns) });
  fx.onCleanup(() => ta.close());
  tb = await WireGuardTunnel.start({ netns: netnsPath(b.netns) });
  fx.onCleanup(() => tb.close());
  await ta.setPeers([peerB(), peerA()]);
  await tb.setPeers([peerA(), peerB()]);

  const capture = await WireCapture.start(fx, a.netns, 'n-b');
  const many = await bulkSend(fx, a.pods[0]!.netns, podB.ip, PORT, 16 * 1024, 64);
  const large = await bulkSend(fx, a.pods[0]!.netns, podB.ip, PORT, 32 * MiB, 1);
  const pcap = await capture.stop();
  assert.deepEqual([many.ok, many.errors], [64, []]);
  assert.deepEqual([large.ok, large.errors], [1, []]);
  assert.ok(pcap.length > 16 * MiB, `the transfer crossed this wire (${pcap.length} bytes captured)`);
  assert.ok(!pcap.includes(marker), 'no plaintext marker on the wire');

  const status = await ta.status();
  assert.equal(status.implementation, existsSync('/sys/module/wireguard') ? 'kernel' : 'wireguard-go', 'kernel WireGuard where the module is loaded, else wireguard-go');
  const peer = status.peers.find((p) => p.publicKey === tb.publicKey);
  assert.ok(peer, 'node b is a peer of node a');
  assert.equal(peer.node, 'b');
  assert.deepEqual(peer.allowedIps, ['10.2.0.0/24']);
  assert.ok(peer.latestHandshakeMs > 0 && peer.txBytes > 32 * MiB, JSON.stringify(peer));
});

test('a node whose key the peer does not know is refused', async () => {
  await tb.setPeers([peerA(generateWireGuardKeyPair().publicKey)]);
  // Node a's current session stays valid on a until it expires; force a new handshake by rekeying a.
  ta.beginKeyRotation();
  await ta.commitKeyRotation();
  const refused = await bulkSend(fx, a.pods[0]!.netns, podB.ip, PORT, 1024, 1, 0, 3000).catch(() => undefined);
  assert.ok(!refused || refused.ok === 0, 'no connection got through with an unknown key');
  await tb.setPeers([peerA()]);
  const ok = await bulkSend(fx, a.pods[0]!.netns, podB.ip, PORT, 1024, 1);
  assert.equal(ok.ok, 1, ok.errors.join('; '));
});

test('key rotation mid-transfer (make-before-break through both peers) loses nothing', async () => {
  const transfer = bulkSend(fx, a.pods[0]!.netns, podB.ip, PORT, 24 * MiB, 4, 4);
  await new Promise((resolve) => setTimeout(resolve, 400));
  const oldKey = ta.publicKey;
  const next = ta.beginKeyRotation();
  await tb.setPeers([peerA(oldKey)]); // staged: b accepts handshakes from the next key
  const staged = await tb.status();
  assert.deepEqual(staged.peers.find((p) => p.publicKey === next)?.allowedIps, []);
  await ta.commitKeyRotation();
  await tb.setPeers([peerA()]); // published: the allowed IPs move to the new key, the old peer goes
  // and node b rotates too, the other way round.
  tb.beginKeyRotation();
  await ta.setPeers([peerB()]);
  await tb.commitKeyRotation();
  await ta.setPeers([peerB()]);

  const result = await transfer;
  assert.deepEqual([result.ok, result.errors], [4, []]);
  assert.equal(result.bytes, 4 * 24 * MiB);
  const status = await tb.status();
  assert.deepEqual(status.peers.map((p) => p.publicKey), [ta.publicKey]);
  assert.notEqual(ta.publicKey, oldKey);
});

test('skiff tunnel status shows the peers, handshakes and bytes from the redirector admin API (/debug/tunnel)', async () => {
  const admin = new AdminServer({
    ready: () => true,
    metrics: () => Promise.resolve(''),
    map: () => [],
    recentFlows: () => [],
    follow: () => () => undefined,
    state: () => ({ node: 'a' }),
    tunnel: () => tunnelStatus('a', 'wireguard', { wireguard: ta }),
  });
  const port = await admin.listen('127.0.0.1:0');
  try {
    const json = await runSkiff('tunnel', 'status', '--redirector', `127.0.0.1:${port}`, '-o', 'json');
    const [status] = JSON.parse(json.out) as TunnelStatus[];
    assert.equal(json.code, 0);
    assert.equal(status?.encryption, 'wireguard');
    assert.equal(status?.wireguard?.peers[0]?.node, 'b');
    const table = await runSkiff('tunnel', 'status', '--redirector', `127.0.0.1:${port}`, '--node', 'a');
    assert.match(table.out, /Node a: encryption wireguard/);
    assert.match(table.out, new RegExp(`b\\s+${tb.publicKey.replace(/[+/]/g, '\\$&')}\\s+172\\.31\\.1\\.2:51871\\s+10\\.2\\.0\\.0/24\\s+\\S+ ago`));
  } finally {
    await admin.close();
  }
});

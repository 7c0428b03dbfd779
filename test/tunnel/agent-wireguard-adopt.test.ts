// A WireGuard interface outlives the agent that made it and the next agent re-adopts it, as the
// datapath is re-adopted: its key, peers, routes and policy rules stay, nothing is re-created. The
// agents are processes in a simulated node's namespace (wireguard-node.ts); the first is killed with
// SIGKILL. wireguard-go stands in for kernel WireGuard where the module is missing (its control
// socket, /run/wireguard/IFACE.sock, is one the next process finds: the interface name is unique to
// this run). `removeWireGuard` (what `skiff redirector --uninstall` runs) then removes it all.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWireGuardKeyPair, removeWireGuard } from '../../redirector/tunnel/wireguard.js';
import { NetnsFixture, netnsPath, requireRoot, type NetnsNode } from '../helpers/netns.js';
import { wireguardNode } from './wireguard-node.js';

requireRoot('the WireGuard re-adoption test');
const fx = new NetnsFixture('skwa');
const iface = `skwa${process.pid.toString(36)}`.slice(0, 15);
let node: NetnsNode;

before(() => {
  node = fx.createNode('a');
  // the wireguard-go a killed agent leaves, and its interface, go before the namespace does
  fx.onCleanup(() => removeWireGuard({ netns: netnsPath(node.netns), interfaceName: iface }));
});

after(() => fx.cleanup());

test('a restarted agent re-adopts the WireGuard interface with its key, peer, routes and rules (and can remove them); uninstall removes everything', async () => {
  const peerKey = generateWireGuardKeyPair().publicKey;
  const first = await wireguardNode(fx, node.netns, ['start', iface, peerKey]);
  first.child.kill('SIGKILL');
  assert.deepEqual(first.status.peers.map((p) => [p.publicKey, p.allowedIps]), [[peerKey, ['10.9.0.0/24']]]);
  assert.match(fx.ip(node.netns, 'rule', 'show'), /to 10\.9\.0\.0\/24 lookup 51871/, 'the remote pods are routed into the tunnel');

  const second = await wireguardNode(fx, node.netns, ['adopt', iface]);
  second.child.kill('SIGKILL');
  assert.equal(second.status.publicKey, first.status.publicKey, 'the same key: the peers need no change');
  assert.equal(second.status.implementation, first.status.implementation);
  assert.deepEqual(second.status.peers.map((p) => [p.publicKey, p.allowedIps]), [[peerKey, ['10.9.0.0/24']]], 'the peer stayed');
  assert.match(fx.ip(node.netns, 'route', 'show', 'table', '51871'), /unreachable 10\.9\.0\.0\/24/, 'with its fail-closed route');

  // the adopted routes are the agent's to remove: a node that left takes its rule along
  const third = await wireguardNode(fx, node.netns, ['clear', iface]);
  third.child.kill('SIGKILL');
  assert.deepEqual(third.status.peers, []);
  assert.doesNotMatch(fx.ip(node.netns, 'rule', 'show'), /lookup 51871/);

  await removeWireGuard({ netns: netnsPath(node.netns), interfaceName: iface });
  assert.equal(fx.ip(node.netns, 'route', 'show', 'table', '51871').trim(), '');
  assert.doesNotMatch(fx.ip(node.netns, 'link', 'show'), new RegExp(iface));
});

// Two simulated nodes, each with its own datapath (own pin root and maps), joined by a routed
// link: a VIP whose backend is on the other node is translated on the client's node and its
// replies are reverse-translated there; the other node judges the inbound flow with the client's
// identity from its own ipcache.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Direction, EndpointFlags, EventSource, Proto, Verdict } from '../../bpf/maps/index.js';
import { DatapathNode } from '../helpers/datapath-node.js';
import { NetnsFixture } from '../helpers/netns.js';
import { request, startServer } from '../helpers/tcp-peer.js';

const fx = new NetnsFixture('skfmn');
let n1: DatapathNode;
let n2: DatapathNode;

const CLI = 1001;
const BACKEND = 1002;
const VIP = '10.96.0.50';

before(async () => {
  n1 = DatapathNode.create(fx, 'n1', [{ name: 'cli', ip: '10.83.1.10', identity: CLI }]);
  n2 = DatapathNode.create(fx, 'n2', [{ name: 'b1', ip: '10.83.2.21', identity: BACKEND }]);
  fx.connectNodes(n1.node, n2.node);
  // each node's ipcache knows the other node's pods
  n1.setIdentity(`${n2.pod('b1').ip}/32`, BACKEND);
  n2.setIdentity(`${n1.pod('cli').ip}/32`, CLI);
  const b1 = n2.pod('b1');
  await Promise.all([startServer(fx, b1.netns, 8000, 'b1'), startServer(fx, b1.netns, 8001, 'b1')]);
  n1.setService({ addr: VIP, port: 80, proto: Proto.TCP }, 4, [{ id: 1, addr: b1.ip, port: 8000 }]);
});

after(() => fx.cleanup());

test('a VIP with a backend on another node: DNAT and reverse NAT on the client node', async () => {
  const cli = n1.pod('cli');
  assert.equal(await request(fx, cli.netns, VIP, 80, 'far'), `b1 ${cli.ip} far`);
  const ev = await n1.waitForEvent((e) => e.verdict === Verdict.TRANSLATED);
  assert.deepEqual([ev.xlated.daddr, ev.dstIdentity], [n2.pod('b1').ip, BACKEND]);
  const inbound = await n2.waitForEvent((e) => e.source === EventSource.TO_POD && e.orig.saddr === cli.ip);
  assert.deepEqual([inbound.verdict, inbound.srcIdentity, inbound.dstIdentity], [Verdict.FORWARDED, CLI, BACKEND]);
});

test('the backend node enforces its ingress policy with the remote client identity', async () => {
  const cli = n1.pod('cli');
  const b1 = n2.pod('b1');
  n2.setPolicy({ endpointId: b1.endpointId, identity: CLI, dport: 8000, proto: Proto.TCP, direction: Direction.INGRESS });
  n2.setEndpoint('b1', EndpointFlags.INGRESS_ENFORCED);
  assert.match(await request(fx, cli.netns, VIP, 80, 'allowed'), /^b1 /);
  assert.equal(await request(fx, cli.netns, b1.ip, 8001, 'denied', 800), 'connect timeout');
  const drop = await n2.waitForEvent((e) => e.verdict === Verdict.DROPPED && e.orig.dport === 8001);
  assert.deepEqual([drop.reasonName, drop.srcIdentity], ['POLICY_DENIED', CLI]);
});

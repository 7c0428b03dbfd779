// skiff's datapath on both ends of the HBONE tunnel: node a's steers a new TCP flow from its pod to
// a pod of node b (bpf_sk_assign) into the tunnel's outbound transparent listener, never routing it
// in clear (when the tunnel is down the flow is dropped: fail closed). Node b's tunnel connects to
// the pod from the client pod's own address (IP_TRANSPARENT), as ztunnel does: the pod sees the
// client as its peer, node b's ingress policy and conntrack judge the client's identity (from the
// ipcache), and from_pod hands the pod's replies, addressed to the remote client, to the tunnel's
// socket on node b instead of the wire.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateAuthority } from '../../xds/ca/index.js';
import { CtFlags, CtScope, Direction, EndpointFlags, Identity, PolicyVerdict, Proto, Reason, Verdict } from '../../bpf/maps/index.js';
import { HBONE_OUTBOUND_PORT } from '../../redirector/tunnel/hbone.js';
import { NetnsFixture, requireRoot } from '../helpers/netns.js';
import { DatapathNode } from '../helpers/datapath-node.js';
import { request, startServer } from '../helpers/tcp-peer.js';
import { PLAINTEXT_MARKER, bulkSend, startBulkServer } from './bulk.js';
import { WireCapture } from './capture.js';
import { HboneNode } from './hbone-node.js';
import { TRUST_DOMAIN, client, issueNodeCertificates, nodeResources, web } from './hbone-fixture.js';

const PORT = 7000;
const CLOSED_PORT = 7001;
const ECHO_PORT = 7002;
const SILENT_PORT = 7003;
const MiB = 1024 * 1024;

requireRoot('the HBONE datapath test');
const fx = new NetnsFixture('skhd');
let dp: DatapathNode;
let dpB: DatapathNode;
let tunnelA: HboneNode;
let tunnelB: HboneNode;

const clientNetns = () => dp.pod(client.name).netns;

before(async () => {
  dp = DatapathNode.create(fx, 'a', [{ name: client.name, ip: client.ip, identity: client.identity }]);
  dpB = DatapathNode.create(fx, 'b', [{ name: web.name, ip: web.ip, identity: web.identity }]);
  fx.connectNodes(dp.node, dpB.node);
  dp.setIdentity(`${web.ip}/32`, web.identity);
  dpB.setIdentity(`${client.ip}/32`, client.identity);
  dp.setConfig({ proxyAddr4: '', proxyAddr6: '', flags: 0, hbonePort: HBONE_OUTBOUND_PORT });
  const webNetns = dpB.pod(web.name).netns;
  await startBulkServer(fx, webNetns, PORT);
  await startServer(fx, webNetns, ECHO_PORT, 'web');
  // a port whose SYNs the pod ignores: a workload that does not answer
  fx.exec(webNetns, 'iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(SILENT_PORT), '-j', 'DROP');
  const certs = issueNodeCertificates(new CertificateAuthority(CertificateAuthority.generateRoot(TRUST_DOMAIN)));
  tunnelA = HboneNode.start(fx, dp.node.netns);
  tunnelB = HboneNode.start(fx, dpB.node.netns);
  await tunnelA.update(nodeResources('a', certs.a));
  await tunnelB.update(nodeResources('b', certs.b));
});

after(() => fx.cleanup());

test('a cross-node pod flow is steered by the datapath into HBONE: 32 connections and 16 MiB arrive intact, none in clear, the replies through node b to the tunnel', async () => {
  const capture = await WireCapture.start(fx, dp.node.netns, 'n-b');
  const many = await bulkSend(fx, clientNetns(), web.ip, PORT, 16 * 1024, 32);
  const large = await bulkSend(fx, clientNetns(), web.ip, PORT, 16 * MiB, 1);
  const pcap = await capture.stop();
  assert.deepEqual([many.ok, many.errors, large.ok, large.errors], [32, [], 1, []]);
  assert.ok(!pcap.includes(Buffer.from(PLAINTEXT_MARKER)), 'no plaintext marker on the wire');
  assert.equal((await tunnelB.status()).inbound.streams, 33, 'every flow went through the tunnel');
  const event = await dp.waitForEvent((e) => e.orig.daddr === web.ip && e.verdict === Verdict.REDIRECTED);
  assert.equal(event.proxyPort, HBONE_OUTBOUND_PORT);

  const inbound = dpB.conntrack(CtScope.INGRESS).filter((e) => e.key.daddr === web.ip && e.key.dport === PORT);
  assert.equal(inbound.length, 33, 'node b tracks each flow into web by its client address');
  for (const { key, value } of inbound) {
    assert.deepEqual([key.saddr, value.srcIdentity, value.flags & CtFlags.FROM_PROXY], [client.ip, client.identity, CtFlags.FROM_PROXY]);
    assert.ok(value.flags & CtFlags.SEEN_REPLY, 'the replies were seen');
  }
});

test("the destination pod sees the client pod's address as its peer; node b judged the client's identity", async () => {
  assert.equal(await request(fx, clientNetns(), web.ip, ECHO_PORT, 'hello'), `web ${client.ip} hello`);
  const event = await dpB.waitForEvent((e) => e.orig.dport === ECHO_PORT && e.verdict === Verdict.FORWARDED);
  assert.deepEqual([event.sourceName, event.orig.saddr, event.srcIdentity, event.dstIdentity], ['TO_POD', client.ip, client.identity, web.identity]);
  assert.ok(event.orig.sport > 0, 'from a source port of the client address');
});

test("an ingress policy on the destination that allows only the client's identity admits it; one that denies it refuses (503)", async () => {
  const webPod = dpB.pod(web.name);
  const key = { endpointId: webPod.endpointId, identity: client.identity, dport: PORT, proto: Proto.TCP, direction: Direction.INGRESS };
  // the node's identities are allowed everywhere: under the old node-address connect these would admit anything
  const nodeKeys = [Identity.HOST, Identity.WORLD].map((identity) => ({ ...key, identity, dport: 0 }));
  try {
    dpB.setEndpoint(web.name, EndpointFlags.INGRESS_ENFORCED);
    dpB.setPolicy(key);
    const allowed = await bulkSend(fx, clientNetns(), web.ip, PORT, 256 * 1024, 4);
    assert.deepEqual([allowed.ok, allowed.errors], [4, []]);

    dpB.setPolicy(key, { verdict: PolicyVerdict.DENY });
    for (const k of nodeKeys) dpB.setPolicy(k);
    const denied = await bulkSend(fx, clientNetns(), web.ip, PORT, 1024, 1, 0, 5000);
    assert.equal(denied.ok, 0, 'refused');
    const drop = await dpB.waitForEvent((e) => e.orig.dport === PORT && e.reason === Reason.POLICY_DENIED);
    assert.deepEqual([drop.verdict, drop.orig.saddr, drop.srcIdentity], [Verdict.DROPPED, client.ip, client.identity]);
    const last = (await tunnelB.status()).recentInbound.at(-1);
    assert.deepEqual([last?.authority, last?.status, last?.reason], [`${web.ip}:${PORT}`, 503, 'the workload did not answer']);
  } finally {
    dpB.setEndpoint(web.name, 0);
    for (const k of [key, ...nodeKeys]) dpB.deletePolicy(k);
  }
});

test('a pod that does not answer, or refuses, gives 503 while other flows to it go on', async () => {
  const [silent, refused, fine] = await Promise.all([
    bulkSend(fx, clientNetns(), web.ip, SILENT_PORT, 1024, 8, 0, 5000),
    bulkSend(fx, clientNetns(), web.ip, CLOSED_PORT, 1024, 1, 0, 5000),
    bulkSend(fx, clientNetns(), web.ip, PORT, 64 * 1024, 8),
  ]);
  assert.deepEqual([silent.ok, refused.ok, fine.ok, fine.errors], [0, 0, 8, []]);
  const recent = (await tunnelB.status()).recentInbound;
  const answer = (port: number) => recent.filter((r) => r.authority === `${web.ip}:${port}`).map((r) => `${r.status} ${r.reason}`);
  assert.deepEqual(answer(SILENT_PORT), Array(8).fill('503 the workload did not answer'));
  assert.deepEqual(answer(CLOSED_PORT), ['503 ECONNREFUSED']);
});

test('with the tunnel down, cross-node flows are dropped (fail closed), not sent in clear', async () => {
  await tunnelA.stop();
  const capture = await WireCapture.start(fx, dp.node.netns, 'n-b');
  const result = await bulkSend(fx, clientNetns(), web.ip, PORT, 1024, 1, 0, 2000).catch(() => undefined);
  const pcap = await capture.stop();
  assert.ok(!result || result.ok === 0, 'nothing got through');
  assert.ok(!pcap.includes(Buffer.from(PLAINTEXT_MARKER)), 'no plaintext marker on the wire');
  const event = await dp.waitForEvent((e) => e.orig.daddr === web.ip && e.reason === Reason.PROXY_UNAVAILABLE);
  assert.equal(event.verdict, Verdict.DROPPED);
});

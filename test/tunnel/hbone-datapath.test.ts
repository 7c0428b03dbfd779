// The datapath steers cross-node flows into the HBONE tunnel: node a runs skiff's eBPF datapath
// with skf_config.hbonePort set; a new TCP flow from its pod to a pod of node b is assigned
// (bpf_sk_assign) to the tunnel's outbound transparent listener, not routed in clear. When the
// tunnel is down the flow is dropped (fail closed), never sent in plaintext.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateAuthority } from '../../xds/ca/index.js';
import { Reason, Verdict } from '../../bpf/maps/index.js';
import { HBONE_OUTBOUND_PORT } from '../../redirector/tunnel/hbone.js';
import { NetnsFixture, requireRoot } from '../helpers/netns.js';
import { DatapathNode } from '../helpers/datapath-node.js';
import { PLAINTEXT_MARKER, bulkSend, startBulkServer } from './bulk.js';
import { WireCapture } from './capture.js';
import { HboneNode } from './hbone-node.js';
import { TRUST_DOMAIN, client, issueNodeCertificates, nodeResources, web } from './hbone-fixture.js';

const PORT = 7000;
const MiB = 1024 * 1024;

requireRoot('the HBONE datapath test');
const fx = new NetnsFixture('skhd');
let dp: DatapathNode;
let tunnelA: HboneNode;
let tunnelB: HboneNode;

before(async () => {
  dp = DatapathNode.create(fx, 'a', [{ name: client.name, ip: client.ip, identity: client.identity }]);
  const b = fx.createNode('b');
  const webPod = fx.addPod(b, web);
  fx.connectNodes(dp.node, b);
  dp.setIdentity(`${web.ip}/32`, web.identity);
  dp.setConfig({ proxyAddr4: '', proxyAddr6: '', flags: 0, hbonePort: HBONE_OUTBOUND_PORT });
  await startBulkServer(fx, webPod.netns, PORT);
  const certs = issueNodeCertificates(new CertificateAuthority(CertificateAuthority.generateRoot(TRUST_DOMAIN)));
  tunnelA = HboneNode.start(fx, dp.node.netns);
  tunnelB = HboneNode.start(fx, b.netns);
  await tunnelA.update(nodeResources('a', certs.a));
  await tunnelB.update(nodeResources('b', certs.b));
});

after(() => fx.cleanup());

test('a cross-node pod flow is steered by the datapath into HBONE: 16 connections and 16 MiB arrive intact, none in clear', async () => {
  const capture = await WireCapture.start(fx, dp.node.netns, 'n-b');
  const many = await bulkSend(fx, dp.pod(client.name).netns, web.ip, PORT, 16 * 1024, 16);
  const large = await bulkSend(fx, dp.pod(client.name).netns, web.ip, PORT, 16 * MiB, 1);
  const pcap = await capture.stop();
  assert.deepEqual([many.ok, many.errors, large.ok, large.errors], [16, [], 1, []]);
  assert.ok(!pcap.includes(Buffer.from(PLAINTEXT_MARKER)), 'no plaintext marker on the wire');
  assert.equal((await tunnelB.status()).inbound.streams, 17, 'every flow went through the tunnel');
  const event = await dp.waitForEvent((e) => e.orig.daddr === web.ip && e.verdict === Verdict.REDIRECTED);
  assert.equal(event.proxyPort, HBONE_OUTBOUND_PORT);
});

test('with the tunnel down, cross-node flows are dropped (fail closed), not sent in clear', async () => {
  await tunnelA.stop();
  const capture = await WireCapture.start(fx, dp.node.netns, 'n-b');
  const result = await bulkSend(fx, dp.pod(client.name).netns, web.ip, PORT, 1024, 1, 0, 2000).catch(() => undefined);
  const pcap = await capture.stop();
  assert.ok(!result || result.ok === 0, 'nothing got through');
  assert.ok(!pcap.includes(Buffer.from(PLAINTEXT_MARKER)), 'no plaintext marker on the wire');
  const event = await dp.waitForEvent((e) => e.orig.daddr === web.ip && e.reason === Reason.PROXY_UNAVAILABLE);
  assert.equal(event.verdict, Verdict.DROPPED);
});

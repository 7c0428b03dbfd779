// The waypoint path with real packets: a client pod on node a opens a connection to the VIP of a
// service that uses a waypoint. The egress entry the translator marks via_waypoint expands (with
// the node tunnelling over HBONE) to a policy entry steering the flow, VIP kept, to the HBONE
// outbound listener; the tunnel's directory, built from the Service resource's waypoint, sends it
// over HBONE to the waypoint's address (not the backend's node) asking for the waypoint's SPIFFE ID,
// with the VIP:port as the CONNECT authority. A real HBONE inbound in the waypoint pod stands in for
// the waypoint's listener (it holds only the waypoint's certificate and hands the stream to a
// server on the VIP inside the pod). A waypoint presenting another identity, or one without an
// address, gets nothing through (fail closed).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateAuthority, workloadSpiffeId } from '../../xds/ca/index.js';
import { Direction, Proto, Verdict } from '../../bpf/maps/index.js';
import { HBONE_OUTBOUND_PORT } from '../../redirector/tunnel/hbone.js';
import { expandEndpointPolicy } from '../../redirector/policy-expand.js';
import type { Service__Output } from '../../proto/skiff/v1alpha1/wire.js';
import { NetnsFixture, requireRoot, type NetnsPod } from '../helpers/netns.js';
import { DatapathNode } from '../helpers/datapath-node.js';
import { request, startServer } from '../helpers/tcp-peer.js';
import { HboneNode } from './hbone-node.js';
import { NODES, TRUST_DOMAIN, client, issueNodeCertificates, nodeConfig, nodeResources, spiffeOf, svid, web, workload } from './hbone-fixture.js';
import type { TunnelCertificate } from '../../redirector/tunnel/hbone.js';

const VIP = '10.96.0.60';
const SERVICE_PORT = 80;
const TARGET_PORT = 7002;
const WAYPOINT = { name: 'waypoint', ip: '10.2.0.50', node: 'b', identity: 1004 };
const WAYPOINT_ID = workloadSpiffeId(TRUST_DOMAIN, 'shop', 'waypoint');

requireRoot('the HBONE waypoint test');
const fx = new NetnsFixture('skhw');
let dp: DatapathNode;
let waypointPod: NetnsPod;
let tunnelA: HboneNode;
let standIn: HboneNode;
let certsA: TunnelCertificate[];

const clientNetns = () => dp.pod(client.name).netns;

/** The Service resource of `shop/web` as the translator makes it, with its waypoint. */
function webService(waypoint: Service__Output['waypoint']): Service__Output {
  return {
    namespace: 'shop',
    name: 'web',
    vips: [VIP],
    ports: [{ name: 'http', port: SERVICE_PORT, protocol: 'TCP', needs_l7: true, backends: [{ address: web.ip, port: TARGET_PORT, node_name: 'b', pod: 'shop/web', ready: true, serving: true, terminating: false }] }],
    waypoint,
  };
}

const WAYPOINT_ADDRESS = { gateway: 'shop/waypoint', address: WAYPOINT.ip, port: 15008, spiffe_id: WAYPOINT_ID };

before(async () => {
  dp = DatapathNode.create(fx, 'a', [{ name: client.name, ip: client.ip, identity: client.identity }]);
  const dpB = DatapathNode.create(fx, 'b', [{ name: web.name, ip: web.ip, identity: web.identity }]);
  fx.connectNodes(dp.node, dpB.node);
  waypointPod = fx.addPod(dpB.node, { name: WAYPOINT.name, ip: WAYPOINT.ip });
  dp.setIdentity(`${web.ip}/32`, web.identity);
  dp.setConfig({ proxyAddr4: '', proxyAddr6: '', flags: 0, hbonePort: HBONE_OUTBOUND_PORT });
  dp.setService({ addr: VIP, port: SERVICE_PORT, proto: Proto.TCP }, 1, [{ id: 1, addr: web.ip, port: TARGET_PORT }]);
  // the client's egress entry for the backend as the translator makes it for a waypoint-only L7 target
  const egress = {
    enforced: false,
    entries: [{ any_peer: false, identities: [web.identity], cidrs: [], protocol: 'TCP' as const, port: TARGET_PORT, end_port: TARGET_PORT, verdict: 'ALLOW' as const, proxy_port: 15001, origin: 'l7 shop/web|80/TCP', via_waypoint: true }],
  };
  const expanded = expandEndpointPolicy(dp.pod(client.name).endpointId, { ingress: null, egress, authorization: null }, [], { proxyPort: 15001, waypointPort: HBONE_OUTBOUND_PORT });
  for (const [key, value] of expanded.filter(([k]) => k.direction === Direction.EGRESS)) dp.setPolicy(key, value);

  // the waypoint pod: the stand-in's upstream is a server on the VIP inside the pod, answering the
  // client's address (the stand-in connects from it, as the tunnel does) back to the local socket
  const netns = waypointPod.netns;
  fx.ip(netns, 'addr', 'add', `${VIP}/32`, 'dev', 'lo');
  fx.ip(netns, 'rule', 'add', 'from', `${VIP}/32`, 'lookup', '100', 'priority', '100');
  fx.ip(netns, 'route', 'add', 'local', `${client.ip}/32`, 'dev', 'lo', 'table', '100');
  await startServer(fx, netns, SERVICE_PORT, 'waypoint');

  const ca = new CertificateAuthority(CertificateAuthority.generateRoot(TRUST_DOMAIN));
  certsA = issueNodeCertificates(ca).a;
  tunnelA = HboneNode.start(fx, dp.node.netns);
  await tunnelA.update({ ...nodeResources('a', certsA), services: [webService(WAYPOINT_ADDRESS)] });
  standIn = HboneNode.start(fx, netns);
  await standIn.update({
    nodeConfig: nodeConfig('b', NODES),
    // the VIP is the stand-in's local destination, with the waypoint's identity
    workloads: [workload(client), { ...workload({ ...WAYPOINT, ip: VIP }), name: 'web-vip', spiffe_id: WAYPOINT_ID }],
    policies: [],
    certificates: [svid(ca, WAYPOINT_ID)],
  });
});

after(() => fx.cleanup());

test('a flow to the VIP of a service using a waypoint goes over HBONE to the waypoint, which presents its identity; the CONNECT authority is the VIP:port', async () => {
  assert.equal(await request(fx, clientNetns(), VIP, SERVICE_PORT, 'hello'), `waypoint ${client.ip} hello`);
  const event = await dp.waitForEvent((e) => e.orig.daddr === VIP && e.verdict === Verdict.REDIRECTED);
  assert.equal(event.proxyPort, HBONE_OUTBOUND_PORT, 'steered to the HBONE outbound, not the node proxy');
  const standInStatus = await standIn.status();
  const last = standInStatus.recentInbound.at(-1);
  assert.deepEqual([last?.authority, last?.status, last?.client], [`${VIP}:${SERVICE_PORT}`, 200, spiffeOf(client)]);
  const status = await tunnelA.status();
  assert.equal(status.outbound.flows, 1);
  assert.deepEqual(status.sessions.map((s) => [s.address, s.destination]), [[`${WAYPOINT.ip}:15008`, WAYPOINT_ID]]);
});

test('a waypoint that cannot present the identity the Service names, or a waypoint without an address, gets nothing through', async () => {
  const refusedBefore = (await tunnelA.status()).outbound.refused;
  await tunnelA.update({ ...nodeResources('a', certsA), services: [webService({ ...WAYPOINT_ADDRESS, spiffe_id: spiffeOf(web) })] });
  assert.notEqual(await request(fx, clientNetns(), VIP, SERVICE_PORT, 'hello'), `waypoint ${client.ip} hello`);
  await tunnelA.update({ ...nodeResources('a', certsA), services: [webService({ ...WAYPOINT_ADDRESS, address: '', spiffe_id: '' })] });
  assert.notEqual(await request(fx, clientNetns(), VIP, SERVICE_PORT, 'hello'), `waypoint ${client.ip} hello`);
  assert.equal((await tunnelA.status()).outbound.refused, refusedBefore + 2);
  assert.equal((await standIn.status()).inbound.streams, 1, 'only the first test\'s flow reached the waypoint');
});

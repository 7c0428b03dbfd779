// The HBONE node tunnel with real packets and real TLS: two simulated nodes (namespaces joined by a
// veth wire), pods on each, an HBONE tunnel process per node with SVIDs from the mesh CA. Flows
// from node a's pods to node b's pod CIDR are steered to node a's outbound transparent listener
// (TPROXY here; the datapath's steering is tested in hbone-datapath.test.ts), carried as HTTP/2
// CONNECT over mutual TLS 1.3 to node b's port 15008, and spliced to the pod there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateAuthority } from '../../xds/ca/index.js';
import { HBONE_OUTBOUND_PORT, type TunnelCertificate } from '../../redirector/tunnel/hbone.js';
import { NetnsFixture, requireRoot, type NetnsNode } from '../helpers/netns.js';
import { startServer, request } from '../helpers/tcp-peer.js';
import { PLAINTEXT_MARKER, bulkSend, startBulkServer } from './bulk.js';
import { WireCapture } from './capture.js';
import { HboneNode } from './hbone-node.js';
import { renderTunnelStatus } from '../../cli/commands/tunnel.js';
import { TRUST_DOMAIN, client, intruder, issueNodeCertificates, nodeResources, spiffeOf, svid, web } from './hbone-fixture.js';

const PORT = 7000;
const CLOSED_PORT = 7001;
const ECHO_PORT = 7002;
const MiB = 1024 * 1024;

requireRoot('the HBONE tunnel test');
const fx = new NetnsFixture('skhb');
const root = CertificateAuthority.generateRoot(TRUST_DOMAIN);
const ca = new CertificateAuthority(root);
let a: NetnsNode;
let tunnelA: HboneNode;
let tunnelB: HboneNode;
let certsA: TunnelCertificate[];
let certsB: TunnelCertificate[];

const podNetns = (name: string) => a.pods.find((p) => p.name === name)!.netns;

/** Marked packets are local: the route that delivers them to the tunnel's transparent sockets. */
function localRoute(node: NetnsNode): void {
  fx.ip(node.netns, 'rule', 'add', 'fwmark', '0x200/0xf00', 'lookup', '100');
  fx.ip(node.netns, 'route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', '100');
}

/** Steers TCP from node a's pods to node b's pod CIDR to the outbound listener (TPROXY). */
function steerWithTproxy(node: NetnsNode): void {
  fx.exec(node.netns, 'iptables', '-t', 'mangle', '-A', 'PREROUTING', '-p', 'tcp', '-d', '10.2.0.0/24', '-j', 'TPROXY', '--on-port', String(HBONE_OUTBOUND_PORT), '--tproxy-mark', '0x200/0xf00');
  localRoute(node);
}

/** Brings the pods' replies to the inbound side's connections, which come from the client pod's
 * address, back to their transparent socket (the socket match; the datapath does this with
 * bpf_sk_assign in hbone-datapath.test.ts) instead of routing them to node a. */
function returnToTransparentSockets(node: NetnsNode): void {
  fx.exec(node.netns, 'iptables', '-t', 'mangle', '-A', 'PREROUTING', '-p', 'tcp', '-m', 'socket', '--transparent', '-j', 'MARK', '--set-xmark', '0x200/0xf00');
  localRoute(node);
}

before(async () => {
  a = fx.createNode('a');
  const b = fx.createNode('b');
  fx.connectNodes(a, b);
  fx.addPod(a, client);
  fx.addPod(a, intruder);
  const webPod = fx.addPod(b, web);
  await startBulkServer(fx, webPod.netns, PORT);
  await startServer(fx, webPod.netns, ECHO_PORT, 'web');
  steerWithTproxy(a);
  returnToTransparentSockets(b);
  ({ a: certsA, b: certsB } = issueNodeCertificates(ca));
  tunnelA = HboneNode.start(fx, a.netns);
  tunnelB = HboneNode.start(fx, b.netns);
  await tunnelA.update(nodeResources('a', certsA));
  await tunnelB.update(nodeResources('b', certsB));
});

after(() => fx.cleanup());

test('pod to pod across nodes over HBONE: 64 concurrent connections and a 32 MiB transfer, checksums match, one pooled session, no plaintext on the wire', async () => {
  const capture = await WireCapture.start(fx, a.netns, 'n-b');
  const many = await bulkSend(fx, podNetns('client'), web.ip, PORT, 16 * 1024, 64);
  const large = await bulkSend(fx, podNetns('client'), web.ip, PORT, 32 * MiB, 1);
  const pcap = await capture.stop();
  assert.deepEqual([many.ok, many.errors], [64, []]);
  assert.deepEqual([large.ok, large.errors], [1, []]);
  assert.ok(pcap.length > 16 * MiB, `the transfer crossed this wire (${pcap.length} bytes captured)`);
  assert.ok(!pcap.includes(Buffer.from(PLAINTEXT_MARKER)), 'no plaintext marker on the wire');

  const statusA = await tunnelA.status();
  assert.equal(statusA.sessions.length, 1, 'every flow shares one session (client → web)');
  assert.equal(statusA.sessions[0]!.source, spiffeOf(client));
  assert.equal(statusA.sessions[0]!.destination, spiffeOf(web));
  assert.equal(statusA.outbound.flows, 65);
  const statusB = await tunnelB.status();
  assert.equal(statusB.inbound.streams, 65);
  const last = statusB.recentInbound.at(-1)!;
  assert.equal(last.client, spiffeOf(client));
  assert.equal(last.authority, `${web.ip}:${PORT}`);
  assert.equal(last.forwarded, `for=${client.ip}`);
  assert.equal(await request(fx, podNetns('client'), web.ip, ECHO_PORT, 'hi'), `web ${client.ip} hi`, 'web sees the client pod as its peer');
  assert.match(last.baggage, /k8s\.namespace\.name=shop,k8s\.pod\.name=client/);
  assert.match(last.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
});

test('an AuthorizationPolicy deny by principal gets 401 at the tunnel; a closed port gets 503', async () => {
  const denied = await bulkSend(fx, podNetns('intruder'), web.ip, PORT, 1024, 1);
  assert.equal(denied.ok, 0, 'the intruder is not let through');
  const closed = await bulkSend(fx, podNetns('client'), web.ip, CLOSED_PORT, 1024, 1);
  assert.equal(closed.ok, 0);
  const recent = (await tunnelB.status()).recentInbound;
  const deny = recent.find((r) => r.client === spiffeOf(intruder));
  assert.deepEqual([deny?.status, deny?.reason], [401, 'denied by AuthorizationPolicy/shop/deny-intruder']);
  const unavailable = recent.find((r) => r.authority === `${web.ip}:${CLOSED_PORT}`);
  assert.deepEqual([unavailable?.status, unavailable?.client], [503, spiffeOf(client)]);
});

test("a client address that is not a workload of the client certificate's identity gets 401: the tunnel never connects from an address the client does not own", async () => {
  const resources = nodeResources('b', certsB);
  // node b's directory gives the client's address to the intruder: a CONNECT of client naming it is refused
  const workloads = resources.workloads.map((w) => {
    if (w.name === intruder.name) return { ...w, ips: [client.ip] };
    if (w.name === client.name) return { ...w, ips: [] };
    return w;
  });
  try {
    await tunnelB.update({ ...resources, workloads });
    const result = await bulkSend(fx, podNetns('client'), web.ip, PORT, 1024, 1);
    assert.equal(result.ok, 0);
    const last = (await tunnelB.status()).recentInbound.at(-1);
    assert.deepEqual([last?.client, last?.status, last?.reason], [spiffeOf(client), 401, `the client address is not a workload with the identity ${spiffeOf(client)}`]);
  } finally {
    await tunnelB.update(resources);
  }
});

async function refusedWith(label: string, nodeA: TunnelCertificate[], nodeB: TunnelCertificate[]): Promise<void> {
  await tunnelA.update(nodeResources('a', nodeA));
  await tunnelB.update(nodeResources('b', nodeB));
  const before = (await tunnelB.status()).inbound.streams;
  const result = await bulkSend(fx, podNetns('client'), web.ip, PORT, 1024, 1);
  assert.equal(result.ok, 0, `${label}: refused`);
  assert.equal((await tunnelB.status()).inbound.streams, before, `${label}: no stream reached the pod`);
}

test('a client certificate from another CA, an expired client or server certificate, and a server presenting another SPIFFE ID are refused', async () => {
  const otherCa = new CertificateAuthority(CertificateAuthority.generateRoot(TRUST_DOMAIN));
  await refusedWith('other CA', [svid(otherCa, spiffeOf(client))], certsB);
  const pastCa = new CertificateAuthority(root, { clock: () => Date.now() - 2 * 3600_000 });
  await refusedWith('expired client certificate', [svid(pastCa, spiffeOf(client), 3600_000)], certsB);
  await refusedWith('expired server certificate', [svid(ca, spiffeOf(client))], [svid(pastCa, spiffeOf(web), 3600_000)]);
  const impostor = svid(ca, `spiffe://${TRUST_DOMAIN}/ns/shop/sa/impostor`);
  await refusedWith('wrong server SPIFFE ID', [svid(ca, spiffeOf(client))], [{ ...impostor, spiffeId: spiffeOf(web) }]);

  await tunnelA.update(nodeResources('a', certsA));
  await tunnelB.update(nodeResources('b', certsB));
  const ok = await bulkSend(fx, podNetns('client'), web.ip, PORT, 1024, 1);
  assert.equal(ok.ok, 1, ok.errors.join('; '));
});

test('certificate rotation on both nodes mid-transfer loses nothing; new flows use the new certificates', async () => {
  const transfer = bulkSend(fx, podNetns('client'), web.ip, PORT, 8 * MiB, 4, 4);
  await new Promise((resolve) => setTimeout(resolve, 300));
  ({ a: certsA, b: certsB } = issueNodeCertificates(ca));
  await tunnelA.update(nodeResources('a', certsA));
  await tunnelB.update(nodeResources('b', certsB));
  const fresh = await bulkSend(fx, podNetns('client'), web.ip, PORT, 1 * MiB, 2);
  const result = await transfer;
  assert.deepEqual([result.ok, result.errors], [4, []]);
  assert.deepEqual([fresh.ok, fresh.errors], [2, []]);
  const statusA = await tunnelA.status();
  const sessions = statusA.sessions.filter((s) => s.source === spiffeOf(client));
  assert.deepEqual(sessions.map((s) => s.sourceSerial), [certsA[0]!.serial], 'the old session is gone once its streams ended');
  assert.deepEqual((await tunnelB.status()).certificates.map((c) => c.serial), [certsB[0]!.serial]);

  const table = renderTunnelStatus({ node: 'a', encryption: 'hbone', hbone: statusA });
  assert.match(table, new RegExp(`${spiffeOf(client)}\\s+${certsA[0]!.serial}\\s+in (59m|1h)`), 'certificate expiry');
  assert.match(table, new RegExp(`${spiffeOf(client)}\\s+${spiffeOf(web)}\\s+172\\.31\\.1\\.2:15008\\s+\\d+\\s+in`), 'the pooled session');
});

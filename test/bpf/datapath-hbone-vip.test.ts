// Service flows and the HBONE tunnel, where socket LB does not apply (here no cgroup program is
// attached, as for IPv6 or a process outside the pods' cgroup): a VIP flow whose backend is on
// another node is translated and steered to the HBONE outbound listener, which sees the backend as
// the original destination, and the client sees the VIP; fail closed when the listener is down;
// none of it leaves the node in clear (a "wire" veth carries the other node's addresses and must
// stay silent). The listener is a small transparent relay standing in for the tunnel's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CtFlags, CtScope, Proto, Verdict } from '../../bpf/maps/index.js';
import { DatapathNode } from '../helpers/datapath-node.js';
import { NetnsFixture, NODE_GATEWAY4 } from '../helpers/netns.js';
import { request, startServer, TcpClient } from '../helpers/tcp-peer.js';
import { TransparentProxy } from '../helpers/tproxy.js';
import { eventually } from './libbpf-fixtures.js';

const fx = new NetnsFixture('skfhv');
let dp: DatapathNode;
let tunnel: TransparentProxy;

const CLI = 1001;
const WEB = 1002;
const HBONE_PORT = 15009;
/** A backend of the service on another node (reached only through the tunnel). */
const REMOTE = '10.82.9.21';
const VIP_REMOTE = '10.96.0.40';
const VIP_LOCAL = '10.96.0.41';
const BACKEND_PORT = 8000;

before(async () => {
  dp = DatapathNode.create(fx, 'n1', [
    { name: 'cli', ip: '10.82.0.10', identity: CLI },
    { name: 'web', ip: '10.82.0.21', identity: WEB },
  ]);
  const web = dp.pod('web');
  await startServer(fx, web.netns, BACKEND_PORT, 'web');
  // the other node's pods are known to the ipcache, and the node's route to them is the "wire"
  dp.setIdentity('10.82.9.0/24', WEB);
  fx.ip(dp.node.netns, 'link', 'add', 'wire0', 'type', 'veth', 'peer', 'name', 'wire1');
  fx.sysctl(dp.node.netns, 'net.ipv6.conf.wire0.disable_ipv6=1'); // no neighbour discovery chatter
  fx.ip(dp.node.netns, 'link', 'set', 'wire1', 'up');
  fx.ip(dp.node.netns, 'link', 'set', 'wire0', 'up');
  fx.ip(dp.node.netns, 'route', 'add', '10.82.9.0/24', 'dev', 'wire0');
  dp.setService({ addr: VIP_REMOTE, port: 80, proto: Proto.TCP }, 40, [{ id: 41, addr: REMOTE, port: BACKEND_PORT }]);
  dp.setService({ addr: VIP_LOCAL, port: 80, proto: Proto.TCP }, 41, [{ id: 42, addr: web.ip, port: BACKEND_PORT }]);
  dp.setConfig({ proxyAddr4: '', proxyAddr6: '', flags: 0, hbonePort: HBONE_PORT });
  // the tunnel's stand-in delivers what it gets for the remote backend to the web pod
  tunnel = await TransparentProxy.start(fx, dp.node.netns, HBONE_PORT, { [`${REMOTE}:${BACKEND_PORT}`]: `${web.ip}:${BACKEND_PORT}` }, CLI);
});

after(() => fx.cleanup());

/** Packets the node sent on the wire to the other node's pods. */
function wirePackets(): number {
  const [link] = JSON.parse(fx.ip(dp.node.netns, '-s', '-j', 'link', 'show', 'wire0')) as { stats64: { tx: { packets: number } } }[];
  return link.stats64.tx.packets;
}

test('a VIP flow to a backend on another node goes into the HBONE listener translated: it sees the backend, the client sees the VIP', async () => {
  const cli = dp.pod('cli');
  const conn = await TcpClient.open(fx, cli.netns, VIP_REMOTE, 80);
  assert.equal(conn.remote, `${VIP_REMOTE}:80`, 'the client is connected to the VIP');
  // relayed by the tunnel's stand-in (its upstream comes from the node's address)
  assert.equal(await conn.send('one'), `web ${NODE_GATEWAY4} one`);
  assert.equal(await conn.send('two'), `web ${NODE_GATEWAY4} two`);
  assert.ok(await eventually(() => tunnel.accepted().some((r) => r.peer === conn.local)), 'the listener accepted it');
  assert.equal(tunnel.accepted().find((r) => r.peer === conn.local)?.local, `${REMOTE}:${BACKEND_PORT}`, 'getsockname is the backend, the original destination for the tunnel');

  const sport = Number(conn.local.split(':')[1]);
  const egress = dp.conntrack(CtScope.EGRESS).find((e) => e.key.sport === sport);
  assert.equal(egress?.key.daddr, REMOTE);
  assert.equal(egress.value.flags & (CtFlags.DNAT | CtFlags.REDIRECT), CtFlags.DNAT | CtFlags.REDIRECT);
  assert.equal(egress.value.proxyPort, HBONE_PORT);
  assert.equal(dp.conntrack(CtScope.SERVICE).find((e) => e.key.sport === sport)?.value.natAddr, REMOTE);
  await conn.close();
  assert.ok(await eventually(() => tunnel.records.some((r) => r.event === 'closed' && r.peer === conn.local)), 'the listener saw it close');

  const ev = await dp.waitForEvent((e) => e.verdict === Verdict.REDIRECTED && e.orig.sport === sport);
  assert.deepEqual([ev.orig.daddr, ev.xlated.daddr, ev.xlated.dport, ev.proxyPort, ev.revNatId, ev.dstIdentity], [VIP_REMOTE, REMOTE, BACKEND_PORT, HBONE_PORT, 40, WEB]);
  assert.equal(wirePackets(), 0, 'nothing went to the other node in clear');
});

test('a VIP flow to a backend on this node stays on the fast path', async () => {
  const cli = dp.pod('cli');
  const accepted = tunnel.accepted().length;
  assert.equal(await request(fx, cli.netns, VIP_LOCAL, 80, 'local'), `web ${cli.ip} local`, 'the backend sees the client itself');
  assert.equal(tunnel.accepted().length, accepted);
});

test('with the HBONE listener down, a VIP flow to a remote backend is dropped (PROXY_UNAVAILABLE), never sent in clear', async () => {
  const cli = dp.pod('cli');
  await tunnel.stop();
  await assert.rejects(TcpClient.open(fx, cli.netns, VIP_REMOTE, 80, 800), /connect timeout/);
  const drop = await dp.waitForEvent((e) => e.verdict === Verdict.DROPPED && e.orig.daddr === VIP_REMOTE);
  assert.deepEqual([drop.reasonName, drop.xlated.daddr, drop.proxyPort], ['PROXY_UNAVAILABLE', REMOTE, HBONE_PORT]);
  assert.equal(wirePackets(), 0);
});

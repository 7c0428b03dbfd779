// Steering L7-policed flows to the node proxy with bpf_sk_assign, with real TCP: the proxy (a small
// transparent listener in the node's netns) sees the client's address and the original destination
// (a pod, or a service VIP left untranslated), relays upstream with the proxy mark, and the flow
// tears down cleanly; a plain port of the same pod stays on the fast path; with the proxy gone the
// flow is dropped (fail closed) with PROXY_UNAVAILABLE.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CtFlags, CtScope, Direction, EventSource, Proto, Verdict } from '../../bpf/maps/index.js';
import { DatapathNode } from '../helpers/datapath-node.js';
import { NetnsFixture, NODE_GATEWAY4 } from '../helpers/netns.js';
import { request, startServer, TcpClient, udpRequest } from '../helpers/tcp-peer.js';
import { TransparentProxy } from '../helpers/tproxy.js';

const fx = new NetnsFixture('skfpx');
let dp: DatapathNode;
let proxy: TransparentProxy;

const CLI = 1001;
const BACKEND = 1002;
const WEB = 1003;
const PROXY_PORT = 15001;
const VIP = '10.96.0.20';

before(async () => {
  dp = DatapathNode.create(fx, 'n1', [
    { name: 'cli', ip: '10.79.0.10', identity: CLI },
    { name: 'b1', ip: '10.79.0.21', identity: BACKEND },
    { name: 'web', ip: '10.79.0.30', identity: WEB },
  ]);
  const web = dp.pod('web').netns;
  await Promise.all([
    startServer(fx, web, 8080, 'web'),
    startServer(fx, web, 9090, 'web'),
    startServer(fx, dp.pod('b1').netns, 8000, 'b1'),
  ]);
  dp.setService({ addr: VIP, port: 80, proto: Proto.TCP }, 3, [{ id: 21, addr: dp.pod('b1').ip, port: 8000 }]);
  // the client's flows to web:8080 and to the backends' 8000 need L7
  const cli = dp.pod('cli').endpointId;
  dp.setPolicy({ endpointId: cli, identity: WEB, dport: 8080, proto: Proto.TCP, direction: Direction.EGRESS }, { proxyPort: PROXY_PORT });
  dp.setPolicy({ endpointId: cli, identity: BACKEND, dport: 8000, proto: Proto.TCP, direction: Direction.EGRESS }, { proxyPort: PROXY_PORT });
  proxy = await TransparentProxy.start(fx, dp.node.netns, PROXY_PORT, { [`${VIP}:80`]: `${dp.pod('b1').ip}:8000` }, CLI);
});

after(() => fx.cleanup());

async function waitFor<T>(what: string, get: () => T | undefined, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('an L7 flow lands on the proxy with the client address and original destination; a plain port goes straight', async () => {
  const cli = dp.pod('cli');
  const web = dp.pod('web');
  const conn = await TcpClient.open(fx, cli.netns, web.ip, 8080);
  // the server's peer is the proxy (the node's address): the bytes went through the proxy
  assert.equal(await conn.send('one'), `web ${NODE_GATEWAY4} one`);
  assert.equal(await conn.send('two'), `web ${NODE_GATEWAY4} two`);
  const record = await waitFor('the proxy accept record', () => proxy.accepted().find((r) => r.peer === conn.local));
  assert.equal(record.local, `${web.ip}:8080`, 'getsockname is the original destination');
  assert.equal(record.peer?.split(':')[0], cli.ip, 'the proxy sees the client address');

  const [, port] = conn.local.split(':');
  const ct = dp.conntrack(CtScope.EGRESS).find((e) => e.key.sport === Number(port));
  assert.ok(ct && ct.value.flags & CtFlags.REDIRECT, 'conntrack remembers the redirect');
  assert.equal(ct?.value.proxyPort, PROXY_PORT);
  await conn.close();
  await waitFor('the proxy close record', () => proxy.records.find((r) => r.event === 'closed' && r.peer === conn.local));

  const accepted = proxy.accepted().length;
  assert.equal(await request(fx, cli.netns, web.ip, 9090, 'fast'), `web ${cli.ip} fast`, 'fast path: the pod sees the client');
  assert.equal(proxy.accepted().length, accepted, 'the plain port did not touch the proxy');

  const ev = await dp.waitForEvent((e) => e.verdict === Verdict.REDIRECTED && e.orig.sport === Number(port));
  assert.equal(ev.proxyPort, PROXY_PORT);
  assert.equal(ev.source, EventSource.FROM_POD);
  assert.deepEqual([ev.srcIdentity, ev.dstIdentity, ev.orig.daddr, ev.orig.dport], [CLI, WEB, web.ip, 8080]);
  // the proxy's upstream connection carried the client's identity in its mark, and was not steered again
  const upstream = await dp.waitForEvent(
    (e) => e.source === EventSource.TO_POD && e.orig.saddr === NODE_GATEWAY4 && e.orig.dport === 8080,
  );
  assert.deepEqual([upstream.verdict, upstream.srcIdentity, upstream.dstIdentity], [Verdict.FORWARDED, CLI, WEB]);
});

test('an L7 flow to a service VIP reaches the proxy untranslated, so the proxy sees the VIP', async () => {
  const cli = dp.pod('cli');
  const conn = await TcpClient.open(fx, cli.netns, VIP, 80);
  assert.equal(await conn.send('via-vip'), `b1 ${NODE_GATEWAY4} via-vip`);
  const record = await waitFor('the proxy accept record', () => proxy.accepted().find((r) => r.peer === conn.local));
  assert.equal(record.local, `${VIP}:80`);
  await conn.close();
  const ev = await dp.waitForEvent((e) => e.verdict === Verdict.REDIRECTED && e.orig.daddr === VIP);
  assert.deepEqual([ev.xlated.daddr, ev.dstIdentity, ev.revNatId], [VIP, BACKEND, 3]);
});

test('an L7 verdict on a UDP flow is dropped (the proxy takes TCP only), never fast-pathed', async () => {
  const cli = dp.pod('cli');
  const web = dp.pod('web');
  const key = { endpointId: cli.endpointId, identity: WEB, dport: 8080, proto: Proto.UDP, direction: Direction.EGRESS };
  dp.setPolicy(key, { proxyPort: PROXY_PORT });
  assert.equal(await udpRequest(fx, cli.netns, web.ip, 8080, 'dgram'), 'timeout');
  const drop = await dp.waitForEvent((e) => e.reasonName === 'UNSUPPORTED_L4');
  assert.deepEqual([drop.orig.proto, drop.orig.dport, drop.proxyPort], [Proto.UDP, 8080, PROXY_PORT]);
  dp.deletePolicy(key);
  assert.match(await udpRequest(fx, cli.netns, web.ip, 8080, 'dgram'), /^web /, 'without the L7 entry it passes');
});

test('with the proxy not listening, L7 flows are dropped (fail closed) and plain flows still pass', async () => {
  const cli = dp.pod('cli');
  const web = dp.pod('web');
  await proxy.stop();
  await assert.rejects(TcpClient.open(fx, cli.netns, web.ip, 8080, 800), /connect timeout/);
  const drop = await dp.waitForEvent((e) => e.verdict === Verdict.DROPPED && e.reasonName === 'PROXY_UNAVAILABLE');
  assert.deepEqual([drop.orig.daddr, drop.orig.dport, drop.proxyPort], [web.ip, 8080, PROXY_PORT]);
  assert.equal(await request(fx, cli.netns, web.ip, 9090, 'still'), `web ${cli.ip} still`);
});

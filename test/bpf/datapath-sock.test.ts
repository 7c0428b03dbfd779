// Socket load balancing with the datapath's cgroup hooks (connect4, sendmsg4, recvmsg4,
// getpeername4), with real TCP and UDP from a pod process placed in a cgroup: the kernel connects
// straight to a backend (no DNAT on the wire), the application still sees the VIP, and services
// flagged NO_SOCK_LB keep the VIP for the TC path.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { attachCgroup, type BpfLink } from '../../bpf/libbpf.js';
import { CtScope, EventSource, Programs, Proto, ServiceFlags, services, Verdict } from '../../bpf/maps/index.js';
import { DatapathNode } from '../helpers/datapath-node.js';
import { NetnsFixture } from '../helpers/netns.js';
import { startServer, TcpClient, udpRequest } from '../helpers/tcp-peer.js';

const fx = new NetnsFixture('skfsk');
let dp: DatapathNode;
let cgroup: string;

const VIP = '10.96.0.30';

before(async () => {
  dp = DatapathNode.create(fx, 'n1', [
    { name: 'cli', ip: '10.80.0.10', identity: 1001 },
    { name: 'b1', ip: '10.80.0.21', identity: 1002 },
    { name: 'b2', ip: '10.80.0.22', identity: 1002 },
  ]);
  await Promise.all(['b1', 'b2'].map((b) => startServer(fx, dp.pod(b).netns, 8000, b)));
  const list = ['b1', 'b2'].map((b, i) => ({ id: 31 + i, addr: dp.pod(b).ip, port: 8000 }));
  dp.setService({ addr: VIP, port: 80, proto: Proto.TCP }, 11, list);
  dp.setService({ addr: VIP, port: 80, proto: Proto.UDP }, 12, list);

  cgroup = fx.createCgroup('pods');
  const links: BpfLink[] = [];
  fx.onCleanup(() => links.forEach((link) => link.detach()));
  const hooks = [
    [Programs.SOCK_CONNECT4, 'connect4'],
    [Programs.SOCK_SENDMSG4, 'sendmsg4'],
    [Programs.SOCK_RECVMSG4, 'recvmsg4'],
    [Programs.SOCK_GETPEERNAME4, 'getpeername4'],
  ] as const;
  for (const [program, hook] of hooks) links.push(attachCgroup(cgroup, dp.object.program(program), hook));
});

after(() => fx.cleanup());

test('connect() to a VIP goes straight to a backend; getpeername() still reports the VIP', async () => {
  const cli = dp.pod('cli');
  const conn = await TcpClient.open(fx, cli.netns, VIP, 80, 3000, { cgroup });
  assert.equal(conn.remote, `${VIP}:80`, 'getpeername4 puts the VIP back');
  const reply = await conn.send('sock');
  assert.match(reply, new RegExp(`^b[12] ${cli.ip} sock$`));
  const backend = dp.pod(reply.split(' ')[0]);

  const sport = Number(conn.local.split(':')[1]);
  const ev = await dp.waitForEvent((e) => e.source === EventSource.SOCK && e.orig.daddr === VIP);
  assert.deepEqual([ev.verdict, ev.revNatId, ev.orig.dport, ev.xlated.dport], [Verdict.TRANSLATED, 11, 80, 8000]);
  // on the wire the flow was addressed to the backend: from_pod forwarded it without translation
  const wire = await dp.waitForEvent((e) => e.source === EventSource.FROM_POD && e.orig.sport === sport);
  assert.deepEqual([wire.verdict, wire.orig.daddr, wire.orig.dport], [Verdict.FORWARDED, backend.ip, 8000]);
  assert.equal(dp.conntrack(CtScope.SERVICE).filter((e) => e.key.sport === sport).length, 0);
  await conn.close();
});

test('sendmsg()/recvmsg() on an unconnected UDP socket: backend on the wire, VIP to the application', async () => {
  const cli = dp.pod('cli');
  const reply = await udpRequest(fx, cli.netns, VIP, 80, 'dgram', { cgroup });
  assert.match(reply, new RegExp(`^b[12] ${cli.ip} dgram from ${VIP}:80$`));
});

test('a NO_SOCK_LB service keeps the VIP at connect(), and the TC path translates it', async () => {
  const cli = dp.pod('cli');
  const key = { addr: VIP, port: 80, proto: Proto.TCP };
  const map = dp.object.map(services.MAP_NAME);
  const value = services.decodeValue(map.lookup(services.encodeKey(key)) as Buffer);
  map.update(services.encodeKey(key), services.encodeValue({ ...value, flags: ServiceFlags.NO_SOCK_LB }));

  const conn = await TcpClient.open(fx, cli.netns, VIP, 80, 3000, { cgroup });
  assert.match(await conn.send('tc'), /^b[12] /);
  const sport = Number(conn.local.split(':')[1]);
  const ev = await dp.waitForEvent((e) => e.source === EventSource.FROM_POD && e.orig.sport === sport);
  assert.deepEqual([ev.verdict, ev.orig.daddr], [Verdict.TRANSLATED, VIP]);
  await conn.close();
});

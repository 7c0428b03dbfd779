// The datapath with real TCP between pods of one simulated node: service VIP load balancing with
// per-connection consistency, backend changes that reach new connections only, connections whose
// backend is removed (re-balanced, or dropped when none is left), the backend an established
// flow's SERVICE entry carries, reverse NAT of replies, connection teardown, and the flow events
// of translated flows.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { backends, conntrack, CtFlags, CtScope, EventSource, Proto, services, Verdict, type Tuple } from '../../bpf/maps/index.js';
import { viewConntrack } from '../../redirector/map-view.js';
import { DatapathNode } from '../helpers/datapath-node.js';
import { NetnsFixture } from '../helpers/netns.js';
import { startServer, TcpClient, udpRequest } from '../helpers/tcp-peer.js';

const fx = new NetnsFixture('skflb');
let dp: DatapathNode;

const VIP = '10.96.0.10';
const service = { addr: VIP, port: 80, proto: Proto.TCP };
const BACKEND_PORT = 8000;
const backendsOf = (...names: string[]) =>
  names.map((name) => ({ id: Number(name.slice(1)), addr: dp.pod(name).ip, port: BACKEND_PORT }));

before(async () => {
  dp = DatapathNode.create(fx, 'n1', [
    { name: 'cli', ip: '10.77.0.10', ip6: 'fd77::10', identity: 1001 },
    { name: 'b1', ip: '10.77.0.21', ip6: 'fd77::21', identity: 1002 },
    { name: 'b2', ip: '10.77.0.22', ip6: 'fd77::22', identity: 1002 },
    { name: 'b3', ip: '10.77.0.23', identity: 1002 },
  ]);
  await Promise.all(['b1', 'b2', 'b3'].map((b) => startServer(fx, dp.pod(b).netns, BACKEND_PORT, b)));
  dp.setService(service, 7, backendsOf('b1', 'b2'));
  dp.setService({ ...service, proto: Proto.UDP }, 9, backendsOf('b1', 'b2'));
});

after(() => fx.cleanup());

/** How often an established service flow confirms its backend (CT_BACKEND_RECHECK), with room. */
const RECHECK_MS = 50 + 50;

/** The backend that answered (first word of the echo reply) and the client address it saw. */
function parseReply(reply: string): { backend: string; peer: string } {
  const [backend, peer] = reply.split(' ');
  return { backend, peer };
}

test('a service VIP spreads connections over its backends, each connection sticks to one', async () => {
  const cli = dp.pod('cli');
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const conn = await TcpClient.open(fx, cli.netns, VIP, 80);
    const first = parseReply(await conn.send(`hello ${i}`));
    assert.equal(first.peer, cli.ip, 'the backend sees the client address (DNAT only)');
    for (let j = 0; j < 3; j++) {
      assert.equal(parseReply(await conn.send(`again ${j}`)).backend, first.backend);
    }
    await conn.close();
    seen.add(first.backend);
  }
  assert.deepEqual([...seen].sort(), ['b1', 'b2']);
});

test('translated flows report TRANSLATED events with both tuples and identities', async () => {
  const cli = dp.pod('cli');
  const ev = await dp.waitForEvent((e) => e.verdict === Verdict.TRANSLATED && e.orig.saddr === cli.ip);
  assert.equal(ev.source, EventSource.FROM_POD);
  assert.equal(ev.srcIdentity, 1001);
  assert.equal(ev.dstIdentity, 1002);
  assert.equal(ev.endpointId, cli.endpointId);
  assert.equal(ev.revNatId, 7);
  assert.equal(ev.ifindex, cli.hostIfindex);
  assert.deepEqual([ev.orig.daddr, ev.orig.dport, ev.orig.proto], [VIP, 80, Proto.TCP]);
  assert.ok([dp.pod('b1').ip, dp.pod('b2').ip].includes(ev.xlated.daddr));
  assert.equal(ev.xlated.dport, BACKEND_PORT);
  assert.equal(ev.xlated.sport, ev.orig.sport);
  // the backend's side accepted it as a new inbound flow
  await dp.waitForEvent(
    (e) => e.source === EventSource.TO_POD && e.verdict === Verdict.FORWARDED && e.orig.daddr === ev.xlated.daddr,
  );
});

test('backend changes reach new connections while established ones keep their backend', async () => {
  const cli = dp.pod('cli');
  const conn = await TcpClient.open(fx, cli.netns, VIP, 80);
  const before = parseReply(await conn.send('before')).backend;

  dp.setService(service, 7, backendsOf('b3'));
  for (let i = 0; i < 4; i++) {
    const fresh = await TcpClient.open(fx, cli.netns, VIP, 80);
    assert.equal(parseReply(await fresh.send('new')).backend, 'b3');
    await fresh.close();
  }
  assert.equal(parseReply(await conn.send('after')).backend, before, 'the established connection kept its backend');

  const [, port] = conn.local.split(':');
  const entries = dp.conntrack(CtScope.EGRESS).filter((e) => e.key.sport === Number(port));
  assert.equal(entries.length, 1);
  assert.ok(entries[0].value.flags & CtFlags.DNAT);
  assert.deepEqual([entries[0].value.natAddr, entries[0].value.natPort], [VIP, 80]);
  await conn.close();
  dp.setService(service, 7, backendsOf('b1', 'b2'));
  dp.setService({ ...service, proto: Proto.UDP }, 9, backendsOf('b1', 'b2'));
});

/** The conntrack entry of scope for the connection from the client's port sport. */
function ctEntry(scope: number, sport: number): conntrack.CtValue | undefined {
  return dp.conntrack(scope).find((e) => e.key.sport === sport)?.value;
}

const sportOf = (conn: TcpClient) => Number(conn.local.split(':')[1]);

test("an established service flow's SERVICE entry carries its backend and lives as long as the flow", async () => {
  const cli = dp.pod('cli');
  const conn = await TcpClient.open(fx, cli.netns, VIP, 80);
  try {
    const backend = parseReply(await conn.send('one')).backend;
    await conn.send('two');
    const sport = sportOf(conn);
    const svc = ctEntry(CtScope.SERVICE, sport);
    const egress = ctEntry(CtScope.EGRESS, sport);
    assert.ok(svc && egress);
    assert.deepEqual([svc.backendId, svc.natAddr, svc.natPort], [Number(backend.slice(1)), dp.pod(backend).ip, BACKEND_PORT]);
    assert.ok((svc.backendChecked ?? 0n) > 0n, 'the backend was confirmed in skf_backends');
    // the SERVICE entry follows the egress entry, which the replies made established (hours, not
    // the 60 s of an unanswered SYN): the flow keeps its backend as long as it lives
    assert.ok(svc.expires <= egress.expires && svc.expires > conntrack.monotonicNowNs() + 3600n * 1_000_000_000n);

    // `skiff bpf ct` shows the backend the entry carries, with no VIP as its nat
    const resources = { workloads: new Map(), services: new Map(), policies: new Map(), identities: new Map() };
    const view = viewConntrack(dp.object.map(conntrack.MAP_NAME), dp.object.map(backends.MAP_NAME), resources, 1000);
    const row = view.entries.find((r) => r.scope === 'SERVICE' && String(r.tuple).startsWith(`${cli.ip}:${sport} `));
    assert.deepEqual([row?.backend, row?.nat], [`${dp.pod(backend).ip}:${BACKEND_PORT}`, '']);

    // the established flow reads neither skf_services nor skf_backends: a service gone (as
    // kube-proxy's conntrack does) still leaves it on its backend while the backend is there
    dp.object.map(services.MAP_NAME).delete(services.encodeKey(service));
    assert.equal(parseReply(await conn.send('no service')).backend, backend);
  } finally {
    dp.setService(service, 7, backendsOf('b1', 'b2'));
    await conn.close();
  }
});

test('an entry opened before SERVICE entries carried the backend takes it from skf_backends', async () => {
  const cli = dp.pod('cli');
  const conn = await TcpClient.open(fx, cli.netns, VIP, 80);
  try {
    const backend = parseReply(await conn.send('one')).backend;
    const sport = sportOf(conn);
    const [key, value] = [...dp.object.map(conntrack.MAP_NAME).entries()]
      .map(([k, v]) => [conntrack.decodeKey(k), v] as const)
      .find(([k]) => k.scope === CtScope.SERVICE && k.sport === sport) as [Tuple, Buffer];
    // as the 64-byte layout left it (loadDatapath migrates such pins): no address, never checked
    const legacy = conntrack.upgradeLegacyValue(Buffer.from(value.subarray(0, conntrack.LEGACY_VALUE_SIZE)));
    legacy.fill(0, 24, 42);
    dp.object.map(conntrack.MAP_NAME).update(conntrack.encodeKey(key), legacy);
    assert.equal(parseReply(await conn.send('two')).backend, backend);
    const svc = ctEntry(CtScope.SERVICE, sport);
    assert.deepEqual([svc?.natAddr, svc?.natPort], [dp.pod(backend).ip, BACKEND_PORT]);
    assert.ok((svc?.backendChecked ?? 0n) > 0n);
  } finally {
    await conn.close();
  }
});

test('a connection whose backend is removed is re-balanced, or dropped with NO_BACKEND when none is left', async () => {
  const cli = dp.pod('cli');
  const removeBackend = (name: string) => dp.object.map(backends.MAP_NAME).delete(backends.encodeKey(Number(name.slice(1))));
  const conn = await TcpClient.open(fx, cli.netns, VIP, 80);
  let orphan: TcpClient | undefined;
  try {
    const first = parseReply(await conn.send('before')).backend;
    const other = first === 'b1' ? 'b2' : 'b1';
    const sport = sportOf(conn);

    dp.setService(service, 7, backendsOf(other));
    removeBackend(first);
    await sleep(RECHECK_MS);
    // the next segment goes to the remaining backend, which knows no such connection: a reset
    assert.equal(await conn.send('after'), 'error ECONNRESET');
    const svc = ctEntry(CtScope.SERVICE, sport);
    assert.deepEqual([svc?.backendId, svc?.natAddr], [Number(other.slice(1)), dp.pod(other).ip], 're-balanced to the other backend');
    await dp.waitForEvent((e) => e.verdict === Verdict.TRANSLATED && e.orig.sport === sport && e.xlated.daddr === dp.pod(other).ip);

    orphan = await TcpClient.open(fx, cli.netns, VIP, 80);
    assert.equal(parseReply(await orphan.send('before')).backend, other);
    dp.setService(service, 7, []);
    removeBackend(other);
    await sleep(RECHECK_MS);
    // its FIN finds no backend; once the backend is back, a retransmission closes it cleanly
    const closed = orphan.close(8000);
    const orphanPort = sportOf(orphan);
    const ev = await dp.waitForEvent((e) => e.verdict === Verdict.DROPPED && e.orig.sport === orphanPort);
    assert.equal(ev.reasonName, 'NO_BACKEND');
    dp.setService(service, 7, backendsOf(other));
    await closed;
  } finally {
    conn.child.kill('SIGKILL');
    orphan?.child.kill('SIGKILL');
    dp.setService(service, 7, backendsOf('b1', 'b2'));
  }
});

test('a service without backends drops new connections with NO_BACKEND', async () => {
  const key = { addr: '10.96.0.11', port: 80, proto: Proto.TCP };
  dp.setService(key, 8, []);
  await assert.rejects(TcpClient.open(fx, dp.pod('cli').netns, key.addr, 80, 800));
  const ev = await dp.waitForEvent((e) => e.verdict === Verdict.DROPPED && e.orig.daddr === key.addr);
  assert.equal(ev.reasonName, 'NO_BACKEND');
});

test('UDP to a VIP is translated, and replies come back from the VIP (reverse NAT)', async () => {
  const cli = dp.pod('cli');
  const seen = new Set<string>();
  for (let i = 0; i < 16; i++) {
    const reply = await udpRequest(fx, cli.netns, VIP, 80, `dgram ${i}`);
    const match = /^(b[12]) (\S+) dgram \d+ from (\S+)$/.exec(reply);
    assert.ok(match, `a reply from a backend, got '${reply}'`);
    assert.equal(match[2], cli.ip);
    assert.equal(match[3], `${VIP}:80`, 'the reply source is the VIP');
    seen.add(match[1]);
  }
  assert.equal(seen.size, 2, 'datagram flows are spread over both backends');
  const ev = await dp.waitForEvent((e) => e.verdict === Verdict.TRANSLATED && e.orig.proto === Proto.UDP);
  assert.equal(ev.revNatId, 9);
});

test('an IPv6 VIP is translated and reverse-translated the same way', async () => {
  const cli = dp.pod('cli');
  const vip6 = 'fd96::10';
  const list = ['b1', 'b2'].map((name, i) => ({ id: 61 + i, addr: dp.pod(name).ip6 as string, port: BACKEND_PORT }));
  dp.setService({ addr: vip6, port: 80, proto: Proto.TCP }, 10, list);
  const seen = new Set<string>();
  for (let i = 0; i < 16; i++) {
    const conn = await TcpClient.open(fx, cli.netns, vip6, 80);
    const reply = parseReply(await conn.send('six'));
    assert.equal(reply.peer, cli.ip6);
    await conn.close();
    seen.add(reply.backend);
  }
  assert.deepEqual([...seen].sort(), ['b1', 'b2']);
  const ev = await dp.waitForEvent((e) => e.verdict === Verdict.TRANSLATED && e.orig.daddr === vip6);
  assert.ok([dp.pod('b1').ip6, dp.pod('b2').ip6].includes(ev.xlated.daddr));
});

test('the fast path redirects veth to veth (it works with forwarding off in the node), and closing marks conntrack', async () => {
  const cli = dp.pod('cli');
  fx.sysctl(dp.node.netns, 'net.ipv4.ip_forward=0');
  try {
    const conn = await TcpClient.open(fx, cli.netns, VIP, 80);
    assert.match(await conn.send('no-forwarding'), /^b[12] /);
    const sport = Number(conn.local.split(':')[1]);
    await conn.close();
    const entry = dp.conntrack(CtScope.EGRESS).find((e) => e.key.sport === sport);
    assert.ok(entry && entry.value.flags & CtFlags.CLOSING, 'FIN seen: the entry is closing');
    assert.ok(entry.value.flags & CtFlags.SEEN_REPLY);
    // closing entries live 10 s on the datapath's clock, which is the agent's hrtime
    const now = conntrack.monotonicNowNs();
    assert.ok(!conntrack.isExpired(entry.value, now));
    assert.ok(conntrack.isExpired(entry.value, now + 11_000_000_000n));
  } finally {
    fx.sysctl(dp.node.netns, 'net.ipv4.ip_forward=1');
  }
});

// NetworkPolicy-style identity policy in the datapath, with real TCP over IPv4 and IPv6 between pods
// of one simulated node: default allow, default deny once a policy selects the pod (ingress and
// egress), exact and wildcard entries, explicit deny, established connections kept, and the drop
// events that name the peers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Direction, EndpointFlags, EventSource, PolicyVerdict, Proto, Verdict } from '../../bpf/maps/index.js';
import { DatapathNode } from '../helpers/datapath-node.js';
import { NetnsFixture } from '../helpers/netns.js';
import { request, startServer, TcpClient, udpRequest } from '../helpers/tcp-peer.js';

const fx = new NetnsFixture('skfpol');
let dp: DatapathNode;

const CLI = 1001;
const WEB = 1003;
const OTHER = 1004;

before(async () => {
  dp = DatapathNode.create(fx, 'n1', [
    { name: 'cli', ip: '10.78.0.10', ip6: 'fd78::10', identity: CLI },
    { name: 'web', ip: '10.78.0.30', ip6: 'fd78::30', identity: WEB },
    { name: 'other', ip: '10.78.0.40', ip6: 'fd78::40', identity: OTHER },
  ]);
  const web = dp.pod('web').netns;
  await Promise.all([startServer(fx, web, 9090, 'web'), startServer(fx, web, 9091, 'web')]);
});

after(() => fx.cleanup());

const ingress = (identity: number, dport: number, proto: number = Proto.TCP) => ({
  endpointId: dp.pod('web').endpointId, identity, dport, proto, direction: Direction.INGRESS,
});

async function reaches(from: string, to: string, port: number): Promise<boolean> {
  const reply = await request(fx, dp.pod(from).netns, to, port, 'ping', 800);
  return reply.startsWith('web ');
}

test('without a policy selecting them, pods reach each other (default allow)', async () => {
  const web = dp.pod('web');
  assert.equal(await request(fx, dp.pod('cli').netns, web.ip, 9090, 'hi'), `web ${dp.pod('cli').ip} hi`);
  assert.ok(await reaches('other', web.ip, 9090));
  assert.ok(await reaches('cli', web.ip6 as string, 9091), 'over IPv6 too');
  const ev = await dp.waitForEvent((e) => e.source === EventSource.TO_POD && e.srcIdentity === OTHER);
  assert.equal(ev.verdict, Verdict.FORWARDED);
  assert.equal(ev.dstIdentity, WEB);
  assert.equal(ev.endpointId, web.endpointId);
});

test('once selected for ingress, only allowed peers and ports get in; established flows stay', async () => {
  const web = dp.pod('web');
  const established = await TcpClient.open(fx, dp.pod('other').netns, web.ip, 9090);
  assert.match(await established.send('before'), /^web /);

  dp.setPolicy(ingress(CLI, 9090));
  dp.setEndpoint('web', EndpointFlags.INGRESS_ENFORCED);

  assert.ok(await reaches('cli', web.ip, 9090), 'allowed: cli on 9090');
  assert.ok(await reaches('cli', web.ip6 as string, 9090), 'allowed over IPv6 (identity from the ipcache /128)');
  assert.ok(!(await reaches('other', web.ip, 9090)), 'denied: other identity');
  assert.ok(!(await reaches('cli', web.ip, 9091)), 'denied: port not allowed');
  assert.ok(!(await reaches('other', web.ip6 as string, 9090)), 'denied over IPv6');

  assert.match(await established.send('after'), /^web /, 'an established connection is not re-judged');
  await established.close();

  const drop = await dp.waitForEvent(
    (e) => e.verdict === Verdict.DROPPED && e.srcIdentity === OTHER && e.orig.dport === 9090 && e.orig.family === 2,
  );
  assert.equal(drop.reasonName, 'POLICY_DENIED');
  assert.equal(drop.source, EventSource.TO_POD);
  assert.equal(drop.dstIdentity, WEB);
  assert.equal(drop.endpointId, web.endpointId);
  assert.deepEqual([drop.orig.saddr, drop.orig.daddr], [dp.pod('other').ip, web.ip]);
});

test('wildcard entries: any peer on a port, and a peer on any port', async () => {
  const web = dp.pod('web');
  dp.setPolicy(ingress(0, 9091));
  assert.ok(await reaches('other', web.ip, 9091), 'any identity on 9091');
  assert.ok(!(await reaches('other', web.ip, 9090)));
  dp.setPolicy(ingress(OTHER, 0, 0));
  assert.ok(await reaches('other', web.ip, 9090), 'identity other on any port');
  dp.deletePolicy(ingress(OTHER, 0, 0));
  dp.deletePolicy(ingress(0, 9091));
  assert.ok(!(await reaches('other', web.ip, 9091)), 'removing the entries closes the door again');
});

test('egress: a selected source is denied by default; explicit deny entries override default allow', async () => {
  const web = dp.pod('web');
  dp.setEndpoint('web', 0);
  dp.setEndpoint('other', EndpointFlags.EGRESS_ENFORCED);
  assert.ok(!(await reaches('other', web.ip, 9090)));
  const drop = await dp.waitForEvent(
    (e) => e.verdict === Verdict.DROPPED && e.source === EventSource.FROM_POD && e.srcIdentity === OTHER,
  );
  assert.equal(drop.reasonName, 'POLICY_DENIED');
  assert.equal(drop.dstIdentity, WEB);
  dp.setPolicy({ endpointId: dp.pod('other').endpointId, identity: WEB, dport: 9090, proto: Proto.TCP, direction: Direction.EGRESS });
  assert.ok(await reaches('other', web.ip, 9090), 'egress allow entry');

  const cliDeny = { endpointId: dp.pod('cli').endpointId, identity: WEB, dport: 9091, proto: Proto.TCP, direction: Direction.EGRESS };
  dp.setPolicy(cliDeny, { verdict: PolicyVerdict.DENY });
  assert.ok(!(await reaches('cli', web.ip, 9091)), 'explicit deny');
  assert.ok(await reaches('cli', web.ip, 9090), 'other ports still default allow');
  dp.deletePolicy(cliDeny);
});

test('ICMP errors of a tracked flow reach the client even under default deny (related by the quoted tuple)', async () => {
  const web = dp.pod('web');
  dp.setEndpoint('web', EndpointFlags.INGRESS_ENFORCED);
  dp.setPolicy(ingress(CLI, 9999, Proto.UDP));
  dp.setEndpoint('cli', EndpointFlags.INGRESS_ENFORCED | EndpointFlags.EGRESS_ENFORCED);
  dp.setPolicy({ endpointId: dp.pod('cli').endpointId, identity: WEB, dport: 9999, proto: Proto.UDP, direction: Direction.EGRESS });
  // nothing listens on UDP 9999: web answers with ICMP port unreachable, which cli's default deny
  // would drop if it were not related to cli's own flow
  assert.equal(await udpRequest(fx, dp.pod('cli').netns, web.ip, 9999, 'knock', { connected: true }), 'error ECONNREFUSED');
  assert.equal(await udpRequest(fx, dp.pod('cli').netns, web.ip6 as string, 9999, 'knock', { connected: true }), 'error ECONNREFUSED');
  assert.equal(dp.events.filter((e) => e.reasonName === 'CT_INVALID').length, 0);
  dp.setEndpoint('cli', 0);
  dp.setEndpoint('web', 0);
});

test('a pod sending with another local pod\'s address is dropped (INVALID_SOURCE), not given its identity', async () => {
  const cli = dp.pod('cli');
  const other = dp.pod('other');
  fx.ip(other.netns, 'addr', 'add', `${cli.ip}/32`, 'dev', 'eth0');
  await assert.rejects(
    TcpClient.open(fx, other.netns, dp.pod('web').ip, 9090, 800, { localAddress: cli.ip }),
    /connect timeout/,
  );
  const drop = await dp.waitForEvent((e) => e.reasonName === 'INVALID_SOURCE');
  assert.deepEqual([drop.orig.saddr, drop.ifindex], [cli.ip, other.hostIfindex]);
  fx.ip(other.netns, 'addr', 'del', `${cli.ip}/32`, 'dev', 'eth0');
});

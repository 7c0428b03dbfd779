// The native transparent connect (redirector/tunnel/native/transparent.c) on its own, in one
// namespace: connections from addresses the namespace does not have (IPv4 and IPv6, bound with
// IP_TRANSPARENT / IPV6_TRANSPARENT) reach a local server, which sees them as its peer; the errors
// a pod's answer can give come back as codes, a silent port after the timeout, without blocking.
// The namespace routes the foreign prefixes locally (its replies come back to the client socket,
// as the datapath makes them on a node).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsFixture } from '../helpers/netns.js';
import { FOREIGN4, FOREIGN6, runTransparentCases } from './transparent-peer.js';

const fx = new NetnsFixture('sktp');
after(() => fx.cleanup());

test('connectTransparent: the server sees the foreign IPv4 and IPv6 source; refused, silent and mixed-family connects fail with their codes', async () => {
  const node = fx.createNode('n');
  fx.ip(node.netns, 'route', 'add', 'local', '10.99.0.0/24', 'dev', 'lo');
  fx.ip(node.netns, '-6', 'route', 'add', 'local', 'fd00:99::/64', 'dev', 'lo');
  fx.exec(node.netns, 'iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '7003', '-j', 'DROP');
  const r = await runTransparentCases(fx, node.netns, { port: 7000, closed: 7001, silent: 7003 });

  for (const [answer, foreign] of [[r.v4, FOREIGN4], [r.v6, FOREIGN6], ...r.concurrent.map((c) => [c, FOREIGN4])] as const) {
    const m = /^(\S+) (\d+) \/ (\S+) (\d+)$/.exec(answer);
    assert.ok(m, `an answer, got '${answer}'`);
    assert.deepEqual([m[1], m[3], m[2]], [foreign, foreign, m[4]], 'the server sees the foreign address and the port the client was given');
  }
  assert.equal(new Set(r.concurrent).size, 16, 'each concurrent connection has its own source port');
  assert.deepEqual([r.refused, r.silent, r.mixed], ['ECONNREFUSED', 'ETIMEDOUT', 'TypeError']);
});

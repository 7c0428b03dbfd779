// The HBONE decisions that need no packets: where an outbound flow goes (the destination's node,
// or its waypoint) with which identity and CONNECT authority; the inbound L4 authorization by SPIFFE
// identity over an EndpointPolicy's authorization layer; the SNI / SPIFFE helpers; and the client
// address the inbound side reads from a CONNECT's `forwarded` header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outboundRoute } from '../../redirector/tunnel/hbone-outbound.js';
import { authorizeIdentities } from '../../redirector/tunnel/hbone-authz.js';
import { parseHostPort, sniFor } from '../../redirector/tunnel/hbone.js';
import { forwardedFor } from '../../redirector/tunnel/hbone-inbound.js';
import type { PolicyEntry__Output } from '../../proto/skiff/v1alpha1/wire.js';

const web = { namespace: 'shop', name: 'web', spiffeId: 'spiffe://cluster.local/ns/shop/sa/web', nodeAddress: '172.31.1.2' };
const waypoint = { address: '10.2.0.50', port: 15008, spiffeId: 'spiffe://cluster.local/ns/shop/sa/waypoint' };

test('a flow goes to the destination node HBONE port with the destination identity; with a waypoint, to the waypoint', () => {
  assert.deepEqual(outboundRoute(web, '10.2.0.10', 8080), {
    address: '172.31.1.2',
    port: 15008,
    identity: web.spiffeId,
    authority: '10.2.0.10:8080',
    viaWaypoint: false,
  });
  assert.deepEqual(outboundRoute({ ...web, waypoint }, '10.2.0.10', 8080), {
    address: '10.2.0.50',
    port: 15008,
    identity: waypoint.spiffeId,
    authority: '10.2.0.10:8080',
    viaWaypoint: true,
  });
  assert.equal(outboundRoute(web, 'fd00::10', 443).authority, '[fd00::10]:443');
});

function entry(verdict: 'ALLOW' | 'DENY', identities: number[], port = 0): PolicyEntry__Output {
  return { any_peer: identities.length === 0, identities, cidrs: [], protocol: 'TCP', port, end_port: 0, verdict, proxy_port: 0, origin: `AuthorizationPolicy/shop/${verdict.toLowerCase()}`, via_waypoint: false };
}

test('authorization by identity: deny wins, an enforced layer needs an allow, no policy allows', () => {
  const ids = new Set([7]);
  assert.deepEqual(authorizeIdentities(undefined, ids, 80), { allowed: true, reason: 'no authorization policy selects the workload' });
  const layer = { enforced: true, entries: [entry('ALLOW', [7], 80), entry('DENY', [8])] };
  assert.equal(authorizeIdentities(layer, ids, 80).allowed, true);
  assert.deepEqual(authorizeIdentities(layer, ids, 81), { allowed: false, reason: 'no authorization rule allows this client' });
  assert.deepEqual(authorizeIdentities(layer, new Set([8]), 80), { allowed: false, reason: 'denied by AuthorizationPolicy/shop/deny' });
  assert.equal(authorizeIdentities({ enforced: false, entries: [entry('DENY', [])] }, ids, 80).allowed, false, 'deny any peer');
  assert.equal(authorizeIdentities(layer, new Set(), 80).allowed, false, 'an unknown client identity matches no allow');
});

test('SNI names are DNS names derived from the SPIFFE ID; authorities parse with IPv6 brackets', () => {
  assert.match(sniFor(web.spiffeId), /^[0-9a-f]{40}\.hbone\.skiff$/);
  assert.notEqual(sniFor(web.spiffeId), sniFor(waypoint.spiffeId));
  assert.deepEqual(parseHostPort('10.2.0.10:8080'), { host: '10.2.0.10', port: 8080 });
  assert.deepEqual(parseHostPort('[fd00::10]:443'), { host: 'fd00::10', port: 443 });
  assert.equal(parseHostPort('web.shop:80'), undefined);
  assert.equal(parseHostPort('10.2.0.10:0'), undefined);
});

test("the inbound side reads the client's address from the forwarded header's first for=", () => {
  assert.equal(forwardedFor('for=10.1.0.10'), '10.1.0.10');
  assert.equal(forwardedFor('for="[fd00::10]"'), 'fd00::10');
  assert.equal(forwardedFor('For="10.1.0.10:4711";proto=https, for=10.9.9.9'), '10.1.0.10');
  assert.equal(forwardedFor('proto=https;for="[fd00::10]:4711"'), 'fd00::10');
  assert.equal(forwardedFor('for=unknown'), undefined);
  assert.equal(forwardedFor('by=10.1.0.10'), undefined);
  assert.equal(forwardedFor(''), undefined);
});

// State-of-the-World rules of Envoy's xDS protocol, one test each, checked with a raw protocol
// client against the real server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '../../xds/protos.js';
import { cluster, eventually, listener, smallMesh } from './fixtures.js';
import { BASE_MESH as BASE, protocolServer } from './protocol-server.js';
import { type RawResponse, RawXdsClient, names } from './raw-client.js';

const { cluster: CDS, endpoint: EDS, listener: LDS, route: RDS } = TypeUrl;
const server = protocolServer('sotw');
const { cache, scenario, typeView } = server;

/** Sends the ACK of a response (same names as given) and waits until the server has recorded it. */
async function ack(client: RawXdsClient, response: RawResponse, resourceNames: string[]): Promise<void> {
  client.send({ type_url: response.typeUrl, resource_names: resourceNames, version_info: response.version, response_nonce: response.nonce });
  await eventually(() => {
    const view = typeView(client.nodeId, response.typeUrl);
    return view?.nonce === response.nonce && view.sentNotAckedMs === null;
  }, 2000, 'the ACK to be recorded');
}

test('nonces are per stream and unique within a stream', async () => {
  const s = scenario('nonces');
  const one = s.open();
  const two = s.open();
  one.send({ node: s.node, type_url: CDS });
  one.send({ type_url: LDS });
  two.send({ node: s.node, type_url: CDS });
  const [c1, l1, c2] = [await one.next(), await one.next(), await two.next()];
  assert.notEqual(c1.nonce, '');
  assert.notEqual(c1.nonce, l1.nonce, 'each response on a stream has its own nonce');
  assert.equal(c2.nonce, c1.nonce, 'a new stream starts its own nonce sequence');
});

test('the node is read from the first request only', async () => {
  const s = scenario('node-first');
  const client = s.open();
  client.send({ node: s.node, type_url: CDS });
  const cds = await client.next();
  client.send({ node: { id: 'someone-else', metadata: { role: 'waypoint' } }, type_url: LDS });
  await client.next();
  const views = server.xds.syncz().clients.filter((c) => c.node.nodeName === 'node-first');
  assert.equal(views.length, 1);
  assert.equal(views[0]?.id, 'node-first-proxy');
  assert.equal(views[0]?.role, 'node-proxy');
  assert.ok(cds.resources.length > 0);
});

test('versions are per type: a cluster change moves only the CDS version', async () => {
  const s = scenario('per-type-versions');
  const client = s.open();
  client.send({ node: s.node, type_url: CDS });
  const cds = await client.next();
  await ack(client, cds, []);
  client.send({ type_url: LDS });
  const lds = await client.next();
  await ack(client, lds, []);
  assert.notEqual(cds.version, lds.version);
  s.update({ ...BASE, clusters: { ...BASE.clusters, c: [1003] } });
  const next = await client.next();
  assert.equal(next.typeUrl, CDS);
  assert.notEqual(next.version, cds.version);
  const rest = await client.quiet();
  assert.deepEqual(rest.map((r) => r.typeUrl), [], 'no LDS response: listeners did not change');
});

test('a NACK is detected by error_detail and recorded; the ACKed version stays', async () => {
  const s = scenario('nack-detail');
  const client = s.open();
  client.send({ node: s.node, type_url: CDS });
  const first = await client.next();
  await ack(client, first, []);
  s.update({ ...BASE, clusters: { ...BASE.clusters, c: [1003] } });
  const second = await client.next();
  client.send({ type_url: CDS, version_info: first.version, response_nonce: second.nonce, error_detail: { code: 3, message: 'cluster c: bad' } });
  assert.deepEqual(await client.quiet(), [], 'a NACK is not answered with a resend');
  const view = server.xds.syncz().clients.find((c) => c.id === 'nack-detail-proxy')?.types.find((t) => t.typeUrl === CDS);
  assert.equal(view?.lastNack?.errorDetail, 'cluster c: bad');
  assert.equal(view?.lastNack?.version, second.version);
  assert.equal(view?.versionAcked, first.version);
  assert.equal(view?.versionSent, second.version);
});

test('a stale nonce is ignored in SotW', async () => {
  const s = scenario('stale-nonce');
  const client = s.open();
  client.send({ node: s.node, type_url: EDS, resource_names: ['a'] });
  const first = await client.next();
  await ack(client, first, ['a']);
  s.update({ ...BASE, clusters: { a: [2001], b: [1002] } });
  const second = await client.next();
  // A request carrying the older nonce (even with new names) is ignored…
  client.send({ type_url: EDS, resource_names: ['a', 'b'], version_info: first.version, response_nonce: first.nonce });
  assert.deepEqual(await client.quiet(), []);
  // …and the same request with the latest nonce is served.
  client.send({ type_url: EDS, resource_names: ['a', 'b'], version_info: second.version, response_nonce: second.nonce });
  assert.deepEqual(names(await client.next()), ['b']);
});

test('no response to an ACK when nothing changed', async () => {
  const s = scenario('ack-quiet');
  const client = s.open();
  for (const [typeUrl, resourceNames] of [[CDS, []], [EDS, ['a', 'b']], [LDS, []], [RDS, ['l1-routes']]] as const) {
    client.send({ node: s.node, type_url: typeUrl, resource_names: [...resourceNames] });
    await ack(client, await client.next(), [...resourceNames]);
  }
  assert.deepEqual(await client.quiet(400), []);
});

test('LDS and CDS carry the full state; a removal is by absence', async () => {
  const s = scenario('full-state');
  const client = s.open();
  client.send({ node: s.node, type_url: CDS });
  const first = await client.next();
  assert.deepEqual(names(first).sort(), ['a', 'b']);
  await ack(client, first, []);
  s.update({ ...BASE, clusters: { a: [1001], b: [1005] }, listeners: { l1: { a: 100 } } });
  // Only b's endpoints changed: no CDS response. Now change cluster a only:
  assert.deepEqual(await client.quiet(), []);
  cache.update('node-proxy/full-state', {
    ...smallMesh({ clusters: { a: [1001], b: [1005] }, listeners: { l1: { a: 100 } } }),
    [CDS]: [{ message: { ...cluster('a'), connect_timeout: { seconds: 3 } } }, { message: cluster('b') }],
  });
  const changed = await client.next();
  assert.deepEqual(names(changed).sort(), ['a', 'b'], 'the unchanged cluster b is in the response too');
  await ack(client, changed, []);
  cache.update('node-proxy/full-state', {
    ...smallMesh({ clusters: { a: [1001] }, listeners: { l1: { a: 100 } } }),
    [CDS]: [{ message: { ...cluster('a'), connect_timeout: { seconds: 3 } } }],
  });
  const removed = await client.next();
  assert.deepEqual(names(removed), ['a'], 'b is removed by leaving it out');
});

test('no duplicate names in one response', async () => {
  const s = scenario('no-duplicates');
  const client = s.open();
  client.send({ node: s.node, type_url: EDS, resource_names: ['a', 'a', 'b', 'a'] });
  const response = await client.next();
  assert.deepEqual(names(response).sort(), ['a', 'b']);
  assert.equal(cache.update('node-proxy/no-duplicates', { [LDS]: [{ message: listener('x', 'r') }, { message: listener('x', 'r') }] }), undefined, 'a snapshot with a name twice is refused');
});

test('wildcard: an empty first request (legacy) and "*" subscribe to all; later an empty list means none', async () => {
  const s = scenario('wildcard');
  const legacy = s.open();
  legacy.send({ node: s.node, type_url: LDS });
  const all = await legacy.next();
  assert.deepEqual(names(all).sort(), ['l1', 'l2']);
  const explicit = s.open();
  explicit.send({ node: s.node, type_url: CDS, resource_names: ['*'] });
  assert.deepEqual(names(await explicit.next()).sort(), ['a', 'b']);
  // Once names were given, an empty list unsubscribes everything (no longer wildcard).
  const named = s.open();
  named.send({ node: s.node, type_url: CDS, resource_names: ['a'] });
  const one = await named.next();
  assert.deepEqual(names(one), ['a']);
  named.send({ type_url: CDS, resource_names: [], version_info: one.version, response_nonce: one.nonce });
  const none = await named.next();
  assert.deepEqual(names(none), []);
});

test('a newly requested name is sent even if it was sent before', async () => {
  const s = scenario('re-request');
  const client = s.open();
  client.send({ node: s.node, type_url: EDS, resource_names: ['a', 'b'] });
  const first = await client.next();
  assert.deepEqual(names(first).sort(), ['a', 'b']);
  client.send({ type_url: EDS, resource_names: ['b'], version_info: first.version, response_nonce: first.nonce });
  assert.deepEqual(await client.quiet(), [], 'dropping a name needs no response');
  client.send({ type_url: EDS, resource_names: ['b', 'a'], version_info: first.version, response_nonce: first.nonce });
  assert.deepEqual(names(await client.next()), ['a']);
});

test('names that do not exist yet are remembered and pushed when they appear', async () => {
  const s = scenario('not-yet');
  const client = s.open();
  client.send({ node: s.node, type_url: EDS, resource_names: ['later'] });
  assert.deepEqual(await client.quiet(), []);
  s.update({ ...BASE, clusters: { ...BASE.clusters, later: [1009] } });
  const pushed = await client.next();
  assert.deepEqual(names(pushed), ['later']);
});

test('EDS is re-sent after a cluster is removed and re-added', async () => {
  const s = scenario('eds-readd');
  const client = s.open();
  client.send({ node: s.node, type_url: CDS });
  await ack(client, await client.next(), []);
  client.send({ type_url: EDS, resource_names: ['a', 'b'] });
  const eds = await client.next();
  await ack(client, eds, ['a', 'b']);
  s.update({ clusters: { b: [1002] }, listeners: { l2: { b: 100 } } });
  const gone = await client.next();
  assert.deepEqual(names(gone), ['b']);
  await ack(client, gone, []);
  // The same cluster and the same endpoints come back: both are sent again.
  s.update(BASE);
  const cds = await client.next();
  assert.equal(cds.typeUrl, CDS);
  await ack(client, cds, []);
  const again = await client.next();
  assert.equal(again.typeUrl, EDS);
  assert.deepEqual(names(again), ['a']);
});

test('EDS is re-sent after a reconnect', async () => {
  const s = scenario('eds-reconnect');
  const first = s.open();
  first.send({ node: s.node, type_url: EDS, resource_names: ['a'] });
  const before = await first.next();
  first.close();
  const second = s.open();
  second.send({ node: s.node, type_url: EDS, resource_names: ['a'], version_info: before.version });
  assert.deepEqual(names(await second.next()), ['a']);
});

test('warming: a changed Cluster is followed by its ClusterLoadAssignment, a Listener by its RouteConfiguration', async () => {
  const s = scenario('warming');
  const client = s.open();
  const subscriptions = [[CDS, []], [EDS, ['a', 'b']], [LDS, []], [RDS, ['l1-routes', 'l2-routes']]] as const;
  for (const [typeUrl, resourceNames] of subscriptions) {
    client.send({ node: s.node, type_url: typeUrl, resource_names: [...resourceNames] });
    await ack(client, await client.next(), [...resourceNames]);
  }
  // Change cluster a and listener l1 only; their EDS and RDS resources are unchanged.
  const input = smallMesh(BASE);
  input[CDS] = [{ message: { ...cluster('a'), connect_timeout: { seconds: 4 } } }, { message: cluster('b') }];
  input[LDS] = [{ message: { ...listener('l1', 'l1-routes'), stat_prefix: 'changed' } }, { message: listener('l2', 'l2-routes') }];
  assert.ok(cache.update('node-proxy/warming', input));
  const order = [await client.next(), await client.next(), await client.next(), await client.next()];
  assert.deepEqual(order.map((r) => r.typeUrl), [CDS, EDS, LDS, RDS]);
  assert.deepEqual(names(order[1] as RawResponse), ['a'], 'the changed cluster\'s endpoints follow it');
  assert.deepEqual(names(order[3] as RawResponse), ['l1-routes'], 'the changed listener\'s routes follow it');
});

test('make-before-break order: CDS → EDS → LDS → RDS, removals last', async () => {
  const s = scenario('push-order');
  const client = s.open();
  const subscriptions = [[CDS, []], [EDS, ['a', 'b', 'c']], [LDS, []], [RDS, ['l1-routes', 'l2-routes', 'l3-routes']]] as const;
  for (const [typeUrl, resourceNames] of subscriptions) {
    client.send({ node: s.node, type_url: typeUrl, resource_names: [...resourceNames] });
    await ack(client, await client.next(), [...resourceNames]);
  }
  // One change: cluster c and listener l3 (with its routes) added, cluster b and listener l2 removed.
  s.update({ clusters: { a: [1001], c: [1003] }, listeners: { l1: { a: 100 }, l3: { c: 100 } } });
  const responses: RawResponse[] = [];
  for (let i = 0; i < 6; i++) responses.push(await client.next());
  assert.deepEqual(responses.map((r) => r.typeUrl), [CDS, EDS, LDS, RDS, LDS, CDS]);
  const [cdsUnion, eds, ldsUnion, rds, ldsFinal, cdsFinal] = responses as [RawResponse, RawResponse, RawResponse, RawResponse, RawResponse, RawResponse];
  assert.deepEqual(names(cdsUnion).sort(), ['a', 'b', 'c'], 'new cluster c arrives while b is still there');
  assert.deepEqual(names(eds), ['c']);
  assert.deepEqual(names(ldsUnion).sort(), ['l1', 'l2', 'l3']);
  assert.deepEqual(names(rds), ['l3-routes']);
  assert.deepEqual(names(ldsFinal).sort(), ['l1', 'l3'], 'listener removal after the additions');
  assert.deepEqual(names(cdsFinal).sort(), ['a', 'c'], 'cluster removal last');
});

test('an inconsistent snapshot is refused and the previous one stays in force', async () => {
  const s = scenario('consistency');
  const client = s.open();
  client.send({ node: s.node, type_url: CDS });
  const first = await client.next();
  await ack(client, first, []);
  const dangling = smallMesh(BASE);
  dangling[EDS] = (dangling[EDS] ?? []).slice(0, 1);
  assert.equal(cache.update('node-proxy/consistency', dangling), undefined, 'cluster b without endpoints is refused');
  const noRoutes = smallMesh(BASE);
  noRoutes[RDS] = [];
  assert.equal(cache.update('node-proxy/consistency', noRoutes), undefined, 'listeners without their routes are refused');
  assert.deepEqual(await client.quiet(), []);
  assert.equal(cache.get('node-proxy/consistency')?.get(CDS).version, first.version);
});

test('the per-type CDS service serves requests that omit type_url', async () => {
  const s = scenario('per-type');
  const client = s.open('cds');
  client.send({ node: s.node });
  const response = await client.next();
  assert.equal(response.typeUrl, CDS);
  assert.deepEqual(names(response).sort(), ['a', 'b']);
});

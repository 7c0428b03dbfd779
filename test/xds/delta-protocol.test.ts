// Incremental (Delta) xDS rules, one test each, checked with a raw protocol client written from
// Envoy's xds_protocol document (no installable client speaks Delta).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '../../xds/protos.js';
import { cluster, eventually, listener, smallMesh } from './fixtures.js';
import { BASE_MESH as BASE, protocolServer } from './protocol-server.js';
import { type RawResponse, RawXdsClient, names } from './raw-client.js';

const { cluster: CDS, endpoint: EDS, listener: LDS, route: RDS } = TypeUrl;
const server = protocolServer('delta');
const { cache, scenario, typeView } = server;

/** ACKs a Delta response and waits until the server recorded it. */
async function ack(client: RawXdsClient, response: RawResponse): Promise<void> {
  client.send({ type_url: response.typeUrl, response_nonce: response.nonce });
  await eventually(() => {
    const view = typeView(client.nodeId, response.typeUrl);
    return view?.nonce === response.nonce && view.sentNotAckedMs === null;
  }, 2000, 'the ACK to be recorded');
}

const versions = (r: RawResponse) => Object.fromEntries(r.resources.map((res) => [res.name, res.version]));

test('a wildcard subscription (empty first request) gets every resource, additions, and removals as removed_resources', async () => {
  const s = scenario('d-wildcard');
  const client = s.open();
  client.send({ node: s.node, type_url: CDS });
  const first = await client.next();
  assert.deepEqual(names(first).sort(), ['a', 'b']);
  assert.ok(first.resources.every((r) => r.version !== ''), 'every resource carries its version');
  await ack(client, first);
  s.update({ ...BASE, clusters: { a: [1001], c: [1003] } });
  const added = await client.next();
  assert.deepEqual(names(added), ['c'], 'only the new cluster, not the unchanged one');
  const removed = await client.next();
  assert.deepEqual(removed.removed, ['b']);
  assert.deepEqual(removed.resources, []);
});

test('explicit subscriptions get only the named resources; an unsubscribed name is no longer pushed', async () => {
  const s = scenario('d-explicit');
  const client = s.open();
  client.send({ node: s.node, type_url: EDS, resource_names_subscribe: ['a'] });
  const first = await client.next();
  assert.deepEqual(names(first), ['a']);
  await ack(client, first);
  client.send({ type_url: EDS, resource_names_subscribe: ['b'] });
  const second = await client.next();
  assert.deepEqual(names(second), ['b'], 'a new subscription gets only the new name');
  await ack(client, second);
  client.send({ type_url: EDS, resource_names_unsubscribe: ['a'] });
  assert.deepEqual(await client.quiet(), [], 'unsubscribing needs no response');
  s.update({ ...BASE, clusters: { a: [2001], b: [2002] } });
  const update = await client.next();
  assert.deepEqual(names(update), ['b'], 'a is no longer pushed');
  assert.deepEqual(await client.quiet(), []);
});

test('subscribing to a name that does not exist gets removed_resources, then the resource when it appears', async () => {
  const s = scenario('d-missing');
  const client = s.open();
  client.send({ node: s.node, type_url: EDS, resource_names_subscribe: ['a', 'later'] });
  const first = await client.next();
  assert.deepEqual(names(first), ['a']);
  const missing = await client.next();
  assert.deepEqual(missing.removed, ['later']);
  await ack(client, missing);
  assert.deepEqual(await client.quiet(), [], 'the missing name is not reported again and again');
  s.update({ ...BASE, clusters: { ...BASE.clusters, later: [1009] } });
  const appeared = await client.next();
  assert.deepEqual(names(appeared), ['later']);
});

test('initial_resource_versions on reconnect: only what changed is sent, and what is gone is removed', async () => {
  const s = scenario('d-reconnect');
  const first = s.open();
  first.send({ node: s.node, type_url: CDS });
  const held = versions(await first.next());
  first.close();
  // While the client is away: a changes, b goes, c arrives.
  const input = smallMesh({ clusters: { a: [1001], c: [1003] }, listeners: { l1: { a: 100 } } });
  input[CDS] = [{ message: { ...cluster('a'), connect_timeout: { seconds: 5 } } }, { message: cluster('c') }];
  assert.ok(cache.update(s.classKey, input));
  const again = s.open();
  again.send({ node: s.node, type_url: CDS, initial_resource_versions: held });
  const update = await again.next();
  assert.deepEqual(names(update).sort(), ['a', 'c']);
  const gone = await again.next();
  assert.deepEqual(gone.removed, ['b']);
  await ack(again, gone);
  // A reconnect with up-to-date versions gets nothing at all.
  const current = { ...held, ...versions(update) };
  delete current.b;
  const third = s.open();
  third.send({ node: s.node, type_url: CDS, initial_resource_versions: current });
  assert.deepEqual(await third.quiet(), []);
});

test('nonces: only the latest nonce ACKs; an older nonce rejects nothing and its subscription change is served', async () => {
  const s = scenario('d-nonce');
  const client = s.open();
  client.send({ node: s.node, type_url: EDS, resource_names_subscribe: ['a'] });
  const first = await client.next();
  s.update({ ...BASE, clusters: { a: [2001], b: [1002] } });
  const second = await client.next();
  assert.notEqual(first.nonce, second.nonce);
  // An answer to the older response, carrying a new subscription: not rejected.
  client.send({ type_url: EDS, response_nonce: first.nonce, resource_names_subscribe: ['b'] });
  const third = await client.next();
  assert.deepEqual(names(third), ['b']);
  assert.equal(typeView(client.nodeId, EDS)?.versionAcked, '', 'the old nonce acknowledged nothing');
  await ack(client, third);
  assert.equal(typeView(client.nodeId, EDS)?.versionAcked, third.version);
});

test('a NACK is parked: nothing is resent until the resources change, then only what changed', async () => {
  const s = scenario('d-nack');
  const client = s.open();
  client.send({ node: s.node, type_url: EDS, resource_names_subscribe: ['a', 'b'] });
  await ack(client, await client.next());
  s.update({ ...BASE, clusters: { a: [2001], b: [1002] } });
  const rejected = await client.next();
  assert.deepEqual(names(rejected), ['a']);
  client.send({ type_url: EDS, response_nonce: rejected.nonce, error_detail: { code: 3, message: 'endpoint a: bad port' } });
  assert.deepEqual(await client.quiet(400), [], 'the rejected resource is not resent');
  assert.equal(typeView(client.nodeId, EDS)?.lastNack?.errorDetail, 'endpoint a: bad port');
  s.update({ ...BASE, clusters: { a: [2001], b: [2002] } });
  const next = await client.next();
  assert.deepEqual(names(next), ['b'], 'a change elsewhere does not bring the parked resource back');
  await ack(client, next);
  s.update({ ...BASE, clusters: { a: [3001], b: [2002] } });
  assert.deepEqual(names(await client.next()), ['a'], 'a changed version of the rejected resource is sent');
});

test('"*" subscribes and unsubscribes the wildcard explicitly, next to explicit names', async () => {
  const s = scenario('d-star');
  const client = s.open();
  client.send({ node: s.node, type_url: LDS, resource_names_subscribe: ['l1'] });
  const explicit = await client.next();
  assert.deepEqual(names(explicit), ['l1']);
  await ack(client, explicit);
  client.send({ type_url: LDS, resource_names_subscribe: ['*'] });
  const all = await client.next();
  assert.deepEqual(names(all), ['l2'], 'the wildcard adds what the client did not have');
  await ack(client, all);
  client.send({ type_url: LDS, resource_names_unsubscribe: ['*'] });
  assert.deepEqual(await client.quiet(), []);
  const input = smallMesh({ clusters: BASE.clusters, listeners: { l1: { a: 100 }, l2: { b: 100 }, l3: { a: 100 } } });
  input[LDS] = ['l1', 'l2', 'l3'].map((name) => ({ message: { ...listener(name, `${name}-routes`), stat_prefix: 'v2' } }));
  assert.ok(cache.update(s.classKey, input));
  // Every listener changed; l1 is still explicitly subscribed, l2 and l3 are not.
  const update = await client.next();
  assert.equal(update.typeUrl, LDS);
  assert.deepEqual(names(update), ['l1']);
});

test('removals come last, after every type\'s updates, in make-before-break order', async () => {
  const s = scenario('d-order');
  const client = s.open();
  for (const typeUrl of [CDS, EDS, LDS, RDS]) {
    client.send({ node: s.node, type_url: typeUrl });
    await ack(client, await client.next());
  }
  s.update({ clusters: { a: [1001], c: [1003] }, listeners: { l1: { a: 100 }, l3: { c: 100 } } });
  const responses: RawResponse[] = [];
  for (let i = 0; i < 8; i++) responses.push(await client.next());
  assert.deepEqual(
    responses.map((r) => [r.typeUrl, r.resources.length > 0 ? `+${names(r).join()}` : `-${r.removed.join()}`]),
    [[CDS, '+c'], [EDS, '+c'], [LDS, '+l3'], [RDS, '+l3-routes'], [RDS, '-l2-routes'], [LDS, '-l2'], [EDS, '-b'], [CDS, '-b']],
  );
});

// The control plane's admin HTTP API over a real server and a raw xDS client: health and
// readiness, Prometheus metrics, /debug/syncz, /debug/config_dump in Envoy's ConfigDump shape,
// and graceful shutdown (streams end with UNAVAILABLE, which clients retry on).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { SnapshotCache } from '../../xds/cache.js';
import { XdsServer } from '../../xds/server.js';
import { AdminServer } from '../../xds/admin.js';
import { TypeUrl, root } from '../../xds/protos.js';
import type { ClientView } from '../../xds/connection.js';
import { eventually, getJson, nodeProxy, smallMesh } from './fixtures.js';
import { RawXdsClient } from './raw-client.js';

const cache = new SnapshotCache();
const xds = new XdsServer({ cache });
const admin = new AdminServer({ xds, id: 'cp-test', snapshotVersion: () => 'mesh-7', pages: { '/debug/mesh': () => ({ objects: 0 }) } });
let base = '';
let client: RawXdsClient;
const node = nodeProxy('admin-proxy', 'node-1');

before(async () => {
  base = `http://127.0.0.1:${await admin.listen('127.0.0.1', 0)}`;
});

after(async () => {
  client?.close();
  await admin.close();
  await xds.close(500);
});

test('/healthz answers at once; /readyz only once the xDS server listens', async () => {
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.equal((await fetch(`${base}/readyz`)).status, 503);
  const port = await xds.listen('127.0.0.1:0');
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  assert.ok(cache.update('node-proxy/node-1', smallMesh({ clusters: { a: [1001], b: [1002] }, listeners: { l1: { a: 100 } } })));
  client = new RawXdsClient(port, 'sotw');
  client.send({ node, type_url: TypeUrl.cluster });
  const cds = await client.next();
  client.send({ type_url: TypeUrl.cluster, version_info: cds.version, response_nonce: cds.nonce });
  client.send({ type_url: TypeUrl.endpoint, resource_names: ['a', 'b', 'not-yet'] });
  const eds = await client.next();
  client.send({ type_url: TypeUrl.endpoint, resource_names: ['a', 'b', 'not-yet'], response_nonce: eds.nonce, error_detail: { code: 3, message: 'endpoint a: rejected for the test' } });
  await eventually(() => xds.syncz().clients[0]?.types.find((t) => t.typeUrl === TypeUrl.endpoint)?.lastNack !== null, 2000, 'the NACK');
});

test('/debug/syncz shows each client with its node, role and per-type sync state', async () => {
  const { clients } = await getJson<{ clients: ClientView[] }>(`${base}/debug/syncz`);
  assert.equal(clients.length, 1);
  const [me] = clients as [ClientView];
  assert.equal(me.id, 'admin-proxy');
  assert.equal(me.role, 'node-proxy');
  assert.equal(me.mode, 'sotw');
  assert.equal(me.node.nodeName, 'node-1');
  assert.equal(me.classKey, 'node-proxy/node-1');
  const [cds, eds] = me.types;
  assert.equal(cds?.typeUrl, TypeUrl.cluster);
  assert.equal(cds?.wildcard, true);
  assert.equal(cds?.versionAcked, cds?.versionSent);
  assert.equal(cds?.sentNotAckedMs, null);
  assert.equal(cds?.lastNack, null);
  assert.equal(eds?.typeUrl, TypeUrl.endpoint);
  assert.deepEqual(eds?.names, ['a', 'b', 'not-yet'], 'names that do not exist yet are listed too');
  assert.equal(eds?.versionAcked, '');
  assert.notEqual(eds?.nonce, '');
  assert.equal(eds?.lastNack?.errorDetail, 'endpoint a: rejected for the test');
  assert.equal(eds?.lastNack?.version, eds?.versionSent);
  assert.ok(!Number.isNaN(Date.parse(eds?.lastNack?.at ?? '')));
});

const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (-?[0-9.]+(e[+-]?[0-9]+)?|NaN|\+Inf|-Inf)( -?[0-9]+)?$/;

test('/metrics is Prometheus text with pushes, push latency, clients by role, ACKs and NACKs', async () => {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || /^# TYPE \S+ (counter|gauge|histogram|summary|untyped)$/.test(line)) continue;
    assert.match(line, SAMPLE);
  }
  const value = (sample: string) => Number(text.split('\n').find((l) => l.startsWith(`${sample} `))?.split(' ')[1]);
  assert.equal(value('skiff_xds_connected_clients{role="node-proxy",mode="sotw"}'), 1);
  assert.equal(value(`skiff_xds_pushes_total{type_url="${TypeUrl.cluster}",mode="sotw"}`), 1);
  assert.equal(value(`skiff_xds_acks_total{type_url="${TypeUrl.cluster}"}`), 1);
  assert.equal(value(`skiff_xds_nacks_total{type_url="${TypeUrl.endpoint}"}`), 1);
  assert.equal(value('skiff_xds_push_duration_seconds_count'), 2);
  assert.ok(value('skiff_xds_push_duration_seconds_bucket{le="+Inf"}') === 2);
});

test('/debug/config_dump?proxy=ID is an Envoy ConfigDump of what that client was sent', async () => {
  const dump = await getJson<{ configs: Record<string, unknown>[] }>(`${base}/debug/config_dump?proxy=admin-proxy`);
  assert.deepEqual(dump.configs.map((c) => c['@type']), ['type.googleapis.com/envoy.admin.v3.ClustersConfigDump', 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump']);
  // It is a valid envoy.admin.v3.ConfigDump: it converts to the message and back unchanged in content.
  // (Timestamps are RFC 3339 strings in proto3 JSON; protobufjs takes them as { seconds, nanos }.)
  const timestamps = JSON.parse(JSON.stringify(dump), (key, value: unknown) =>
    key === 'last_updated' && typeof value === 'string' ? { seconds: Math.floor(Date.parse(value) / 1000), nanos: (Date.parse(value) % 1000) * 1e6 } : value,
  ) as object;
  const ConfigDump = root.lookupType('envoy.admin.v3.ConfigDump');
  const decoded = ConfigDump.toObject(ConfigDump.decode(ConfigDump.encode(ConfigDump.fromObject(timestamps)).finish()), { json: true, enums: String, longs: String }) as {
    configs: { dynamic_active_clusters?: { cluster: { name: string } }[]; dynamic_endpoint_configs?: { endpoint_config: { cluster_name: string } }[] }[];
  };
  assert.deepEqual(decoded.configs[0]?.dynamic_active_clusters?.map((c) => c.cluster.name).sort(), ['a', 'b']);
  assert.deepEqual(decoded.configs[1]?.dynamic_endpoint_configs?.map((c) => c.endpoint_config.cluster_name).sort(), ['a', 'b']);
  assert.equal((await fetch(`${base}/debug/config_dump?proxy=nobody`)).status, 404);
  assert.equal((await fetch(`${base}/debug/config_dump`)).status, 400);
  assert.deepEqual(await getJson(`${base}/debug/mesh`), { objects: 0 });
});

test('/debug/syncz?proxy=ID: what the control plane serves now next to what the client ACKed, and the control plane identity', async () => {
  type Detail = ClientView['types'][number];
  const syncz = async (proxy: string) => getJson<{ controlPlane: { id: string; version: string; snapshotVersion?: string }; clients: ClientView[] }>(`${base}/debug/syncz?proxy=${proxy}`);
  const cdsOf = async (): Promise<Detail> => (await syncz('admin-proxy')).clients[0]?.types.find((t) => t.typeUrl === TypeUrl.cluster) as Detail;
  const first = await syncz('admin-proxy');
  assert.deepEqual(first.controlPlane, { id: 'cp-test', version: '0.1.0', snapshotVersion: 'mesh-7' });
  assert.equal(first.clients.length, 1);
  assert.deepEqual((await syncz('nobody')).clients, []);
  let cds = await cdsOf();
  assert.deepEqual(Object.keys(cds.ackedResources).sort(), ['a', 'b']);
  assert.deepEqual(cds.current?.resources, cds.ackedResources, 'in sync: the same names and versions');
  const eds = first.clients[0]?.types.find((t) => t.typeUrl === TypeUrl.endpoint);
  assert.deepEqual(Object.keys(eds?.current?.resources ?? {}).sort(), ['a', 'b'], 'current follows the subscription (not-yet does not exist)');
  assert.deepEqual(eds?.ackedResources, {}, 'the NACKed version is not the ACKed copy');

  assert.ok(cache.update('node-proxy/node-1', smallMesh({ clusters: { a: [1001], b: [1002], c: [1003] }, listeners: { l1: { a: 100 } } })));
  await eventually(async () => Object.keys((await cdsOf()).current?.resources ?? {}).length === 3, 2000, 'the new snapshot in current');
  cds = await cdsOf();
  assert.deepEqual(Object.keys(cds.ackedResources).sort(), ['a', 'b'], 'not ACKed yet');
  assert.notEqual(cds.current?.version, cds.versionAcked);
  const push = await client.next();
  client.send({ type_url: TypeUrl.cluster, version_info: push.version, response_nonce: push.nonce });
  await eventually(async () => Object.keys((await cdsOf()).ackedResources).length === 3, 2000, 'the ACK of the new version');
  cds = await cdsOf();
  assert.deepEqual(cds.ackedResources, cds.current?.resources);
});

test('graceful shutdown ends streams with UNAVAILABLE and closes the admin endpoint', async () => {
  await xds.close(1000);
  const ended = await client.ended();
  assert.equal(ended.code, status.UNAVAILABLE);
  assert.equal((await fetch(`${base}/readyz`)).status, 503);
  await admin.close();
  await assert.rejects(fetch(`${base}/healthz`));
});

// The xDS server judged by a client nobody here wrote: @grpc/grpc-js-xds resolving xds:///echo
// through our ADS server to real gRPC backends on 127.0.0.1, making real RPCs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { SnapshotCache } from '../../xds/cache.js';
import { XdsServer } from '../../xds/server.js';
import { AdminServer } from '../../xds/admin.js';
import { TypeUrl } from '../../xds/protos.js';
import type { ClientView } from '../../xds/connection.js';
import type { SnapshotInput } from '../../xds/snapshot.js';
import { Echo, type EchoClient, cluster, echo, eventually, getJson, listener, loadAssignment, meshResources, routeConfig, startBackend } from './fixtures.js';

grpcXds.register();

const cache = new SnapshotCache();
let xds: XdsServer;
let admin: AdminServer;
let adminPort = 0;
let xdsPort = 0;
const backends: Record<string, { port: number; server: grpc.Server }> = {};
const clients: EchoClient[] = [];

async function startControlPlane(port: number): Promise<void> {
  xds = new XdsServer({ cache });
  xdsPort = await xds.listen(`127.0.0.1:${port}`);
  admin = new AdminServer({ xds });
  adminPort = await admin.listen('127.0.0.1', 0);
}

async function stopControlPlane(): Promise<void> {
  await xds.close();
  await admin.close();
}

function channel(target: string): EchoClient {
  const client = new Echo(`xds:///${target}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
  clients.push(client);
  return client;
}

async function syncz(): Promise<ClientView[]> {
  return (await getJson<{ clients: ClientView[] }>(`http://127.0.0.1:${adminPort}/debug/syncz`)).clients;
}

async function typeView(typeUrl: string) {
  const client = (await syncz()).find((c) => c.id === 'grpc-test-client');
  return client?.types.find((t) => t.typeUrl === typeUrl);
}

function setMesh(input: SnapshotInput): void {
  assert.ok(cache.update('proxyless', input), 'snapshot accepted');
}

const echoMesh = (weights: Record<string, number>, backendsOf: Record<string, string[]>) => meshResources({
  listener: 'echo',
  weights,
  backends: Object.fromEntries(Object.entries(backendsOf).map(([c, names]) => [c, names.map((n) => backends[n]?.port ?? 0)])),
});

async function countBackends(client: EchoClient, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i += 50) {
    const replies = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => echo(client)));
    for (const r of replies) counts[r.backend] = (counts[r.backend] ?? 0) + 1;
  }
  return counts;
}

before(async () => {
  for (const name of ['a1', 'b1', 'b2']) backends[name] = await startBackend(name);
  await startControlPlane(0);
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'grpc-test-client', cluster: 'test', metadata: { role: 'proxyless' }, locality: {} },
  });
  setMesh(echoMesh({ a: 80, b: 20 }, { a: ['a1'], b: ['b1'] }));
});

after(async () => {
  for (const client of clients) client.close();
  await stopControlPlane();
  for (const b of Object.values(backends)) b.server.forceShutdown();
  // grpc-js-xds offers no shutdown: its xDS client keeps retrying the closed server. End the
  // process once the results are reported (exit code as the test runner set it).
  setTimeout(() => process.exit(), 500).unref();
});

test('grpc-js-xds receives and ACKs listeners, routes, clusters and endpoints', async () => {
  const client = channel('echo');
  const reply = await echo(client, 'hello', 10000);
  assert.equal(reply.text, 'hello');
  for (const typeUrl of [TypeUrl.listener, TypeUrl.route, TypeUrl.cluster, TypeUrl.endpoint]) {
    await eventually(async () => {
      const view = await typeView(typeUrl);
      return !!view && view.versionSent !== '' && view.versionAcked === view.versionSent && view.lastNack === null;
    }, 5000, `ACK of ${typeUrl}`);
  }
  const me = (await syncz()).find((c) => c.id === 'grpc-test-client');
  assert.equal(me?.role, 'proxyless');
  assert.equal(me?.mode, 'sotw');
});

test('an 80/20 weighted split is observed within ±5% over 1,000 RPCs', async () => {
  const counts = await countBackends(clients[0] as EchoClient, 1000);
  const a = counts.a1 ?? 0;
  assert.ok(a >= 750 && a <= 850, `a1 got ${a} of 1000 (counts ${JSON.stringify(counts)})`);
  assert.equal(a + (counts.b1 ?? 0), 1000);
});

test('a route change takes effect without reconnecting', async () => {
  const before = (await syncz()).find((c) => c.id === 'grpc-test-client')?.streamId;
  setMesh(echoMesh({ b: 100 }, { a: ['a1'], b: ['b1'] }));
  const client = clients[0] as EchoClient;
  await eventually(async () => Object.keys(await countBackends(client, 20)).join() === 'b1', 5000, 'all RPCs to b1');
  const afterChange = (await syncz()).find((c) => c.id === 'grpc-test-client')?.streamId;
  assert.equal(afterChange, before, 'same ADS stream');
});

test('a backend added and a backend removed take effect without reconnecting', async () => {
  const client = clients[0] as EchoClient;
  const before = (await syncz()).find((c) => c.id === 'grpc-test-client')?.streamId;
  setMesh(echoMesh({ b: 100 }, { a: ['a1'], b: ['b1', 'b2'] }));
  await eventually(async () => (await countBackends(client, 20)).b2 !== undefined, 5000, 'b2 to answer');
  setMesh(echoMesh({ b: 100 }, { a: ['a1'], b: ['b2'] }));
  await eventually(async () => Object.keys(await countBackends(client, 20)).join() === 'b2', 5000, 'only b2 to answer');
  assert.equal((await syncz()).find((c) => c.id === 'grpc-test-client')?.streamId, before);
});

test('a deleted cluster takes effect: RPCs routed to it fail, and work again when it is back', async () => {
  const client = clients[0] as EchoClient;
  const withoutB = echoMesh({ b: 100 }, { a: ['a1'], b: ['b2'] });
  withoutB[TypeUrl.cluster] = [{ message: cluster('a') }];
  withoutB[TypeUrl.endpoint] = [{ message: loadAssignment('a', [backends.a1?.port ?? 0]) }];
  setMesh(withoutB);
  await eventually(async () => {
    try {
      await echo(client, 'x', 1000);
      return false;
    } catch (error) {
      return (error as grpc.ServiceError).code === grpc.status.UNAVAILABLE;
    }
  }, 5000, 'RPCs to the deleted cluster to fail');
  const clusters = await typeView(TypeUrl.cluster);
  assert.equal(clusters?.versionAcked, clusters?.versionSent);
  // grpc-js-xds keeps a deleted cluster cached and only notices a re-added one that differs from it,
  // so the re-added cluster takes its endpoints from another ClusterLoadAssignment name.
  const back = echoMesh({ b: 100 }, { a: ['a1'], b: ['b2'] });
  const bAgain = cluster('b') as { eds_cluster_config: { service_name?: string } };
  bAgain.eds_cluster_config.service_name = 'b-again';
  back[TypeUrl.cluster] = [{ message: cluster('a') }, { message: bAgain }];
  back[TypeUrl.endpoint] = [...(back[TypeUrl.endpoint] ?? []), { message: loadAssignment('b-again', [backends.b2?.port ?? 0]) }];
  setMesh(back);
  await eventually(async () => (await echo(client, 'x', 1000)).backend === 'b2', 5000, 'cluster b back');
});

test('an invalid cluster is NACKed, shown in syncz, not resent, and the rest keeps working', async () => {
  const good = echoMesh({ b: 100 }, { a: ['a1'], b: ['b2'] });
  const withBad = (lbPolicy: string): SnapshotInput => ({
    ...good,
    [TypeUrl.listener]: [...(good[TypeUrl.listener] ?? []), { message: listener('other', 'other-routes') }],
    [TypeUrl.route]: [...(good[TypeUrl.route] ?? []), { message: routeConfig('other-routes', { bad: 100 }) }],
    [TypeUrl.cluster]: [...(good[TypeUrl.cluster] ?? []), { message: cluster('bad', lbPolicy) }],
    [TypeUrl.endpoint]: [...(good[TypeUrl.endpoint] ?? []), { message: loadAssignment('bad', [backends.a1?.port ?? 0]) }],
  });
  setMesh(withBad('MAGLEV'));
  const other = channel('other');
  other.Echo({ text: 'x' }, { deadline: Date.now() + 500 }, () => undefined);
  await eventually(async () => /lb_policy/.test((await typeView(TypeUrl.cluster))?.lastNack?.errorDetail ?? ''), 5000, 'CDS NACK in syncz');
  const nacked = await typeView(TypeUrl.cluster);
  assert.equal(nacked?.lastNack?.nonce, nacked?.nonce, 'the latest CDS response is the NACKed one');
  // Parked: no new CDS response while nothing changes.
  await new Promise((r) => setTimeout(r, 1500));
  const later = await typeView(TypeUrl.cluster);
  assert.equal(later?.nonce, nacked?.nonce, 'no resend of the rejected version');
  assert.equal(later?.sentNotAckedMs, null, 'the NACK answered the response');
  // Other resources keep working.
  assert.equal((await echo(clients[0] as EchoClient)).backend, 'b2');
  // A fixed cluster is pushed and accepted; the other channel works.
  setMesh(withBad('ROUND_ROBIN'));
  await eventually(async () => (await echo(other, 'x', 1000)).backend === 'a1', 8000, 'fixed cluster to serve');
  const fixed = await typeView(TypeUrl.cluster);
  assert.equal(fixed?.versionAcked, fixed?.versionSent);
});

test('a server restart is survived: the client keeps its config and re-syncs', async () => {
  const client = clients[0] as EchoClient;
  const streamBefore = (await syncz()).find((c) => c.id === 'grpc-test-client')?.streamId;
  await stopControlPlane();
  for (let i = 0; i < 10; i++) assert.equal((await echo(client)).backend, 'b2', 'last config stays in force while the server is down');
  await startControlPlane(xdsPort);
  await eventually(async () => {
    const me = (await syncz()).find((c) => c.id === 'grpc-test-client');
    return !!me && me.types.length >= 4 && me.types.every((t) => t.versionSent !== '' && t.versionAcked === t.versionSent);
  }, 15000, 're-sync after restart');
  assert.notEqual((await syncz()).find((c) => c.id === 'grpc-test-client')?.streamId, streamBefore);
  // Changes after the restart still reach the client.
  setMesh(echoMesh({ a: 100 }, { a: ['a1'], b: ['b2'] }));
  await eventually(async () => (await echo(client)).backend === 'a1', 5000, 'route change after restart');
});

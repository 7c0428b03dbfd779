// End to end for proxyless gRPC: a GRPCRoute translated by skiff, served by skiff's xDS server,
// resolved by the real @grpc/grpc-js-xds client (`xds:///host:port`), making real RPCs to real
// gRPC backends on loopback: method + header matching, an 80/20 weighted split, and a route change
// taking effect on the live channel.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import type { MeshObject } from '../../config/resources.js';
import type { MeshSnapshot } from '../../config/snapshot/index.js';
import { SnapshotCache } from '../../xds/cache.js';
import { XdsServer } from '../../xds/server.js';
import { Publisher } from '../../xds/translate/publish.js';
import { Translator } from '../../xds/translate/translator.js';
import { Echo, type EchoClient, type EchoReply, eventually, startBackend } from './fixtures.js';
import { objectsFromYaml, snapshotOf } from './translate-fixtures.js';

grpcXds.register();

const NS = 'grpc-e2e';
const TARGET = `echo.${NS}.svc.cluster.local:50051`;

function service(name: string, vip: string): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${NS} }
spec: { clusterIP: ${vip}, ports: [{ name: grpc, port: 50051, appProtocol: kubernetes.io/h2c }] }
`;
}

function slice(serviceName: string, port: number): string {
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${serviceName}-1, namespace: ${NS}, labels: { kubernetes.io/service-name: ${serviceName} } }
addressType: IPv4
ports: [{ name: grpc, port: ${port} }]
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true } }]
`;
}

function grpcRoute(v1Weight: number, v2Weight: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: echo-split, namespace: ${NS} }
spec:
  parentRefs: [{ group: "", kind: Service, name: echo, port: 50051 }]
  rules:
    - matches: [{ method: { service: skifftest.Echo, method: Echo }, headers: [{ name: version, value: two }] }]
      backendRefs: [{ name: echo-v2, port: 50051 }]
    - matches: [{ method: { service: skifftest.Echo } }]
      backendRefs:
        - { name: echo-v1, port: 50051, weight: ${v1Weight} }
        - { name: echo-v2, port: 50051, weight: ${v2Weight} }
`;
}

const backends: Record<string, { port: number; server: grpc.Server }> = {};
const cache = new SnapshotCache();
const publisher = new Publisher(cache);
const translator = new Translator();
let xds: XdsServer;
let client: EchoClient;
let snapshot: MeshSnapshot | undefined;

function mesh(v1Weight: number, v2Weight: number): Map<string, MeshObject> {
  return objectsFromYaml(
    [
      `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`,
      service('echo', '10.96.30.1'),
      service('echo-v1', '10.96.30.2'),
      service('echo-v2', '10.96.30.3'),
      slice('echo-v1', backends.v1?.port ?? 0),
      slice('echo-v2', backends.v2?.port ?? 0),
      grpcRoute(v1Weight, v2Weight),
    ].join('---\n'),
  );
}

function serve(objects: Map<string, MeshObject>): void {
  snapshot = snapshotOf(objects, snapshot);
  const t = translator.translate(snapshot);
  assert.deepEqual(t.issues.filter((i) => i.resource), [], 'nothing withheld');
  assert.ok(publisher.publish(t).includes('proxyless') || cache.get('proxyless'), 'proxyless class served');
}

function call(headers: Record<string, string> = {}): Promise<EchoReply> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return new Promise((resolve, reject) => {
    (client as unknown as { Echo: (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: EchoReply) => void) => void }).Echo(
      { text: 'hi' },
      metadata,
      { deadline: Date.now() + 5000 },
      (error, reply) => (error || !reply ? reject(error ?? new Error('no reply')) : resolve(reply)),
    );
  });
}

async function counts(n: number, headers: Record<string, string> = {}): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i += 50) {
    const replies = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => call(headers)));
    for (const r of replies) out[r.backend] = (out[r.backend] ?? 0) + 1;
  }
  return out;
}

before(async () => {
  backends.v1 = await startBackend('v1');
  backends.v2 = await startBackend('v2');
  xds = new XdsServer({ cache });
  const port = await xds.listen('127.0.0.1:0');
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'translate-e2e', cluster: 'test', metadata: { role: 'proxyless' }, locality: {} },
  });
  serve(mesh(80, 20));
  client = new Echo(`xds:///${TARGET}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
});

after(async () => {
  client?.close();
  await xds?.close();
  for (const b of Object.values(backends)) b.server.forceShutdown();
});

test('grpc-js-xds resolves xds:///echo.grpc-e2e.svc.cluster.local:50051 from translated resources and splits 80/20', async () => {
  const seen = await counts(500);
  const v1 = seen.v1 ?? 0;
  assert.equal(v1 + (seen.v2 ?? 0), 500);
  assert.ok(v1 >= 360 && v1 <= 440, `v1 got ${v1} of 500 (${JSON.stringify(seen)})`);
});

test('a GRPCRoute method + header match sends `version: two` calls to echo-v2 only', async () => {
  assert.deepEqual(await counts(100, { version: 'two' }), { v2: 100 });
});

test('a route change (weights 0/100) takes effect on the live channel', async () => {
  serve(mesh(0, 100));
  await eventually(async () => Object.keys(await counts(40)).join() === 'v2', 10000, 'all calls on echo-v2');
});

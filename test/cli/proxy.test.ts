// skiff proxy-status and proxy-config against a real control plane: the xDS server and its admin
// API in this process, serving what the translator makes of examples/mesh, with real xDS streams
// (Delta and SotW) that ACK, NACK, or leave a response unanswered; the CLI runs as a child process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { DirectorySource } from '../../config/sources/directory.js';
import { MeshStore } from '../../config/store.js';
import { AdminServer, SnapshotCache, TypeUrl, XdsServer } from '../../xds/index.js';
import { Publisher } from '../../xds/translate/publish.js';
import { RedirectorPublisher } from '../../xds/translate/redirector.js';
import { Translator } from '../../xds/translate/translator.js';
import { REDIRECTOR_TYPE_URLS } from '../../proto/skiff/v1alpha1/wire.js';
import { RawXdsClient, type RawResponse } from '../xds/raw-client.js';
import { skiff, type SkiffResult } from './run-skiff.js';
import { UsageError, type Command } from '../../cli/command.js';
import { commands } from '../../cli/commands/all.js';

/** A self-signed certificate (serial 63AC5C01…, valid 2026-11-21T06:41:35Z to 2126-10-28T06:41:35Z). */
const CERT_PEM = `-----BEGIN CERTIFICATE-----
MIIBtjCCAVygAwIBAgIUY6xcAUWue1KIqLl0OQ5G3mrKHXIwCgYIKoZIzj0EAwIw
FTETMBEGA1UECgwKc2tpZmYtdGVzdDAgFw0yNjExMjEwNjQxMzVaGA8yMTI2MTAy
ODA2NDEzNVowFTETMBEGA1UECgwKc2tpZmYtdGVzdDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABNOt2+pWkfhLRbBO+xTqu2bcy4TyetpKgJEjGD4Orv6X99eeghnd
cW1Q2v9xZPsNr3JJJiGUTqdqWi+mLQxhk+2jgYcwgYQwHQYDVR0OBBYEFHeF9IXO
6IJmY5YqceZ1wUzSTCZ5MB8GA1UdIwQYMBaAFHeF9IXO6IJmY5YqceZ1wUzSTCZ5
MA8GA1UdEwEB/wQFMAMBAf8wMQYDVR0RBCowKIYmc3BpZmZlOi8vY2x1c3Rlci5s
b2NhbC9ucy9zaG9wL3NhL3Rlc3QwCgYIKoZIzj0EAwIDSAAwRQIhAK8Vq77xRIVE
kMxFzZpJxY0d/QYYbI/0X5WvAnoUWl2dAiBKSkjf9A5dM+fXzulLt1IlIgEK6RXE
aaIYIdUPX9RMHA==
-----END CERTIFICATE-----
`;

const ENVOY_TYPES = [TypeUrl.cluster, TypeUrl.endpoint, TypeUrl.listener, TypeUrl.route, TypeUrl.secret];
const cache = new SnapshotCache();
const xds = new XdsServer({ cache });
const admin = new AdminServer({ xds });
const clients: RawXdsClient[] = [];
let adminAddress = '';

/** ACKs every response until the stream is quiet (Delta: nonce only; SotW: version and names too). */
async function ackUntilQuiet(client: RawXdsClient, mode: 'delta' | 'sotw'): Promise<RawResponse[]> {
  const seen: RawResponse[] = [];
  for (;;) {
    const r = await client.next(400).catch(() => undefined);
    if (!r) return seen;
    seen.push(r);
    if (mode === 'delta') client.send({ type_url: r.typeUrl, response_nonce: r.nonce });
    else client.send({ type_url: r.typeUrl, version_info: r.version, response_nonce: r.nonce, resource_names: [] });
  }
}

function open(mode: 'delta' | 'sotw'): RawXdsClient {
  const c = new RawXdsClient(xdsPort, mode);
  clients.push(c);
  return c;
}

let xdsPort = 0;

before(async () => {
  const store = new MeshStore([new DirectorySource('examples/mesh', { watch: false, pollIntervalMs: 3_600_000 })]);
  await store.start();
  const snapshot = store.current();
  await store.stop();
  new Publisher(cache).publish(new Translator().translate(snapshot));
  new RedirectorPublisher(cache).publish(snapshot);
  xdsPort = await xds.listen('127.0.0.1:0');
  adminAddress = `127.0.0.1:${await admin.listen('127.0.0.1', 0)}`;

  // a node proxy over Delta that asks for every Envoy type and ACKs everything
  const good = open('delta');
  ENVOY_TYPES.forEach((type_url, i) =>
    good.send({ ...(i === 0 ? { node: { id: 'node-a~proxy', metadata: { role: 'node-proxy', node_name: 'node-a' } } } : {}), type_url }),
  );
  assert.ok((await ackUntilQuiet(good, 'delta')).length >= 3, 'the node proxy was sent its types');

  // a redirector over Delta that asks for skiff's types and ACKs everything
  const redirector = open('delta');
  REDIRECTOR_TYPE_URLS.forEach((type_url, i) =>
    redirector.send({ ...(i === 0 ? { node: { id: 'redirector-node-a', metadata: { role: 'redirector', node_name: 'node-a' } } } : {}), type_url }),
  );
  assert.ok((await ackUntilQuiet(redirector, 'delta')).length >= 3, 'the redirector was sent its types');

  // a node proxy over SotW that refuses the clusters
  const bad = open('sotw');
  bad.send({ node: { id: 'node-b~proxy', metadata: { role: 'node-proxy', node_name: 'node-b' } }, type_url: TypeUrl.cluster, resource_names: [] });
  const cds = await bad.next();
  bad.send({ type_url: TypeUrl.cluster, version_info: '', response_nonce: cds.nonce, resource_names: [], error_detail: { code: 3, message: 'cluster outbound|80||web: refused by the test' } });

  // a node proxy whose class serves an inline certificate
  cache.update('node-proxy/node-c', { [TypeUrl.secret]: [{ message: { name: 'default', tls_certificate: { certificate_chain: { inline_string: CERT_PEM } } } }] });
  const withCert = open('sotw');
  withCert.send({ node: { id: 'node-c~proxy', metadata: { role: 'node-proxy', node_name: 'node-c' } }, type_url: TypeUrl.secret, resource_names: ['default'] });
  const sds = await withCert.next();
  withCert.send({ type_url: TypeUrl.secret, version_info: sds.version, response_nonce: sds.nonce, resource_names: ['default'] });

  // a node proxy that never answers its listeners
  const silent = open('delta');
  silent.send({ node: { id: 'node-b~silent', metadata: { role: 'node-proxy', node_name: 'node-b' } }, type_url: TypeUrl.listener });
  await silent.next();
  await new Promise((resolve) => setTimeout(resolve, 100));
});

after(async () => {
  for (const c of clients) c.close();
  await admin.close();
  await xds.close(200);
});

interface StatusJson {
  clients: { id: string; role: string; types: { type: string; status: { state: string; detail: string } }[] }[];
}

function statesOf(doc: StatusJson, id: string): Record<string, string> {
  const client = doc.clients.find((c) => c.id === id);
  assert.ok(client, `client ${id} in ${doc.clients.map((c) => c.id).join(', ')}`);
  return Object.fromEntries(client.types.map((t) => [t.type, t.status.state]));
}

test('proxy-status -o json: SYNCED, NACKED (with the error) and STALE per client and type; exit 1', async () => {
  const r = await skiff('proxy-status', '--admin', adminAddress, '-o', 'json');
  assert.equal(r.code, 1, `a NACKED and a STALE client make exit 1: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as StatusJson;
  assert.deepEqual(statesOf(doc, 'node-a~proxy'), { CDS: 'SYNCED', EDS: 'SYNCED', LDS: 'SYNCED', RDS: 'SYNCED', SDS: 'SYNCED' });
  const skiffTypes = statesOf(doc, 'redirector-node-a');
  assert.deepEqual(Object.keys(skiffTypes).sort(), ['EndpointPolicy', 'Identity', 'NodeConfig', 'Service', 'Workload']);
  assert.ok(Object.values(skiffTypes).every((s) => s === 'SYNCED'), JSON.stringify(skiffTypes));
  assert.equal(statesOf(doc, 'node-b~proxy').CDS, 'NACKED');
  const nack = doc.clients.find((c) => c.id === 'node-b~proxy')?.types[0]?.status.detail;
  assert.equal(nack, 'cluster outbound|80||web: refused by the test');
  assert.equal(statesOf(doc, 'node-b~silent').LDS, 'STALE');
});

test('proxy-status table: istioctl-style columns with ROLE, SDS and SKIFF; the states readable per row', async () => {
  const r = await skiff('proxy-status', '--admin', adminAddress);
  assert.equal(r.code, 1);
  const [header, ...rows] = r.stdout.trimEnd().split('\n');
  assert.match(header ?? '', /^NAME\s+ROLE\s+NODE\s+CLUSTER\s+CDS\s+LDS\s+EDS\s+RDS\s+SDS\s+SKIFF\s+CONTROL PLANE\s+VERSION$/);
  const row = (id: string) => rows.find((l) => l.startsWith(`${id} `)) ?? '';
  assert.match(row('node-a~proxy'), /^node-a~proxy\s+node-proxy\s+node-a\s+test\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED\s+IGNORED\s+\S+ \(\d+\.\d+\.\d+\S*\)\s/, 'the control plane by its id and version');
  assert.match(row('redirector-node-a'), /redirector\s+node-a\s+test\s+IGNORED\s+IGNORED\s+IGNORED\s+IGNORED\s+IGNORED\s+SYNCED\s/);
  assert.match(row('node-b~proxy'), /NACKED \(cluster outbound\|80\|\|web: refused/);
  assert.match(row('node-b~silent'), /IGNORED\s+STALE \(\d+(ms|\.\ds)\)/);
});

test('proxy-status -o wide / --types: one row per client and type, versions and the NACK error', async () => {
  const [wide, types] = await Promise.all([skiff('proxy-status', '--admin', adminAddress, '-o', 'wide'), skiff('proxy-status', '--admin', adminAddress, '--types')]);
  for (const r of [wide, types]) {
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+ROLE\s+TYPE\s+STATUS\s+SENT\s+ACKED\s+NONCE\s+RESOURCES\s+ERROR$/, r.stderr);
    assert.equal(lines.length, 1 + 5 + 1 + 1 + 1 + 5, 'node-a: 5 types, node-b: CDS, node-c: SDS, silent: LDS, redirector: 5 types');
    assert.ok(lines.some((l) => /^node-b~proxy\s+node-proxy\s+CDS\s+NACKED\s+\S+\s+-\s+.*refused by the test$/.test(l)), r.stdout);
    assert.ok(lines.some((l) => /^node-a~proxy\s+node-proxy\s+EDS\s+SYNCED\s+(\S+)\s+\1\s/.test(l)), 'sent = ACKed when SYNCED');
  }
});

test('proxy-status ID: the client in detail and, per type, what it ACKed against what was sent', async () => {
  const [good, bad, missing, silent] = await Promise.all([
    skiff('proxy-status', 'node-a~proxy', '--admin', adminAddress),
    skiff('proxy-status', 'node-b~proxy', '--admin', adminAddress, '-o', 'yaml'),
    skiff('proxy-status', 'no-such-proxy', '--admin', adminAddress),
    skiff('proxy-status', 'node-b~silent', '--admin', adminAddress),
  ]);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /^node-a~proxy: role node-proxy, node node-a, delta/);
  assert.match(good.stdout, /^CDS: the client ACKed what the control plane serves now$/m);
  assert.equal(bad.code, 1);
  const doc = parse(bad.stdout) as {
    client: { id: string };
    diff: { type: string; status: { state: string; detail: string }; note: string; sent: Record<string, string>; diff: { added: string[]; changed: string[]; removed: string[] } | null }[];
  };
  const sentClusters = Object.keys(doc.diff[0]?.sent ?? {});
  assert.ok(sentClusters.includes('PassthroughCluster') && sentClusters.some((n) => n.startsWith('outbound|')), `the clusters of the refused version: ${sentClusters.join(', ')}`);
  assert.equal(doc.client.id, 'node-b~proxy');
  assert.equal(doc.diff[0]?.status.state, 'NACKED');
  assert.match(doc.diff[0]?.status.detail ?? '', /cluster outbound\|80\|\|web: refused by the test/);
  assert.match(doc.diff[0]?.note ?? '', /^the client ACKed nothing; the control plane serves \S+$/);
  const added = doc.diff[0]?.diff?.added ?? [];
  assert.deepEqual(added, [...sentClusters].sort(), 'every cluster served now is missing from the ACKed copy, by name');
  assert.equal(silent.code, 1);
  assert.match(silent.stdout, /^LDS: the client ACKed nothing; the control plane serves \S+\n {2}\+ skiff-transparent \(not in the client's ACKed copy\)$/m);
  assert.match(silent.stdout, /^LDS version \S+, not ACKed, holds 1 resource\(s\):\n {2}skiff-transparent {2}\S+$/m);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no client with node id 'no-such-proxy'/);
});

test('proxy-config clusters/listeners/routes/endpoints/secrets: istioctl-style tables of what the proxy was sent', async () => {
  const [clusters, listeners, routes, endpoints, secrets] = await Promise.all(
    ['clusters', 'listeners', 'routes', 'endpoints', 'secrets'].map((kind) => skiff('proxy-config', kind, 'node-a~proxy', '--admin', adminAddress)),
  ) as [SkiffResult, SkiffResult, SkiffResult, SkiffResult, SkiffResult];
  for (const r of [clusters, listeners, routes, endpoints, secrets]) assert.equal(r.code, 0, r.stderr);
  assert.match(clusters.stdout, /^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE\s+LB POLICY$/m);
  assert.match(clusters.stdout, /^\S+\.svc\.cluster\.local\s+\d+\s+-\s+outbound\s+EDS\s+\S+$/m);
  assert.match(listeners.stdout, /^NAME\s+ADDRESSES\s+PORT\s+MATCH\s+DESTINATION$/m);
  assert.match(listeners.stdout, /^skiff-transparent\s+0\.0\.0\.0\s+\d+\s+dst [\d.]+\/32\s+Route: \S+$/m, 'a filter chain per destination, to its route configuration');
  assert.match(routes.stdout, /^NAME\s+VHOST NAME\s+DOMAINS\s+MATCH\s+ROUTE$/m);
  assert.match(routes.stdout, /HTTPRoute\/\S+/, 'a route names the HTTPRoute rule it comes from');
  assert.match(endpoints.stdout, /^\d+\.\d+\.\d+\.\d+:\d+\s+HEALTHY\s+\S+\s+outbound\|\d+\|\|\S+$/m);
  assert.match(secrets.stdout, /^default\s+Cert Chain\s+(file \S+|inline)/m);
  assert.match(secrets.stdout, /^ROOTCA\s+CA\s+/m);
  const inline = await skiff('proxy-config', 'secrets', 'node-c~proxy', '--admin', adminAddress);
  const valid = Date.now() >= Date.parse('2026-11-21T06:41:35Z');
  assert.match(inline.stdout, new RegExp(`^default\\s+Cert Chain\\s+inline\\s+${valid}\\s+63:?AC:?5C:?01:?45:?AE:?7B:?52:?88:?A8:?B9:?74:?39:?0E:?46:?DE:?6A:?CA:?1D:?72\\s+2126-10-28T06:41:35\\.000Z\\s+2026-11-21T06:41:35\\.000Z$`, 'm'));
});

test('proxy-config -o json is Envoy ConfigDump; all -o yaml holds every section, skiff types included', async () => {
  const [json, all, redirector] = await Promise.all([
    skiff('proxy-config', 'clusters', 'node-a~proxy', '--admin', adminAddress, '-o', 'json'),
    skiff('proxy-config', 'all', 'node-a~proxy', '--admin', adminAddress, '-o', 'yaml'),
    skiff('proxy-config', 'all', 'redirector-node-a', '--admin', adminAddress),
  ]);
  const dump = JSON.parse(json.stdout) as { configs: { '@type': string; dynamic_active_clusters: { cluster: { name: string } }[] }[] };
  assert.equal(dump.configs.length, 1);
  assert.equal(dump.configs[0]?.['@type'], 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump');
  assert.ok((dump.configs[0]?.dynamic_active_clusters.length ?? 0) > 0);
  const types = (parse(all.stdout) as { configs: { '@type': string }[] }).configs.map((c) => c['@type'].split('.').pop());
  assert.deepEqual(types, ['ClustersConfigDump', 'EndpointsConfigDump', 'ListenersConfigDump', 'RoutesConfigDump', 'SecretsConfigDump']);
  assert.match(redirector.stdout, /^SKIFF RESOURCES\nTYPE\s+NAME\s+VERSION$/m);
  assert.match(redirector.stdout, /^Workload\s+\S+/m);
});

test('exit codes: 1 unknown client, 2 usage, 3 control plane unreachable', async () => {
  const [unknown, down, usage] = await Promise.all([
    skiff('proxy-config', 'clusters', 'nobody', '--admin', adminAddress),
    skiff('proxy-status', '--admin', '127.0.0.1:1'),
    skiff('proxy-config', 'widgets', 'x'),
  ]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no connected client with node id nobody/);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /the kind must be one of listeners, routes, clusters, endpoints, secrets, all; not 'widgets'\n\nUsage: skiff proxy-config/);
  // the other usage errors, in process: each is a UsageError before anything is asked of the control plane
  for (const [name, ...argv] of [['proxy-config', 'clusters'], ['proxy-config', 'all', 'a', 'b'], ['proxy-status', '--bogus'], ['proxy-status', '-o', 'xml'], ['proxy-status', 'a', 'b']] as string[][]) {
    const command = commands.find((c) => c.name === name) as Command;
    await assert.rejects(async () => command.run(argv), UsageError, `${name} ${argv.join(' ')}`);
  }
  assert.equal(down.code, 3);
  assert.match(down.stderr, /127\.0\.0\.1:1\/debug\/syncz: connect ECONNREFUSED/);
});

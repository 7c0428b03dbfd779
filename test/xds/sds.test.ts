// Identity over xDS and gRPC: SVIDs cached per identity and rotated before expiry (a fake clock),
// node attestation by bootstrap token (wrong token, other node's workload refused), SDS served to
// real SotW and Delta clients only for the attested node's workloads, every Secret passing Envoy's
// rules, the redirector's WorkloadCertificate resources, and CertificateService issuance over gRPC.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  BootstrapTokens,
  CertificateAuthority,
  IdentitySecrets,
  SvidCache,
  UNATTESTED,
  WorkloadIdentities,
  addCertificateService,
  baseClassKey,
  describeSecret,
  nodeProxySpiffeId,
  nodeSubject,
  nodeSpiffeId,
  redactResource,
  waypointSubject,
} from '../../xds/ca/index.js';
import { buildCsr, toPem } from '../../xds/ca/x509.js';
import {
  IdentityType,
  NODE_HEADER,
  TOKEN_HEADER,
  certificateServiceDefinition,
  decodeIdentityResource,
  type IssueWorkloadCertificateResponse__Output,
} from '../../proto/skiff/v1alpha1/identity-wire.js';
import { SnapshotCache } from '../../xds/cache.js';
import { CREDENTIAL_HEADER } from '../../xds/client-info.js';
import { configDump } from '../../xds/config-dump.js';
import { TypeUrl } from '../../xds/protos.js';
import { XdsServer } from '../../xds/server.js';
import type { ResourceEntry } from '../../xds/snapshot.js';
import { SECRET_ROOT_CA } from '../../xds/translate/constants.js';
import { validateResource } from '../../xds/validate/index.js';
import type { MeshSnapshot } from '../../config/snapshot/types.js';
import { objectsFromYaml, snapshotOf } from './translate-fixtures.js';
import { MESH, TD } from './ca-fixtures.js';
import { RawXdsClient, names } from './raw-client.js';
import { nodeProxy } from './fixtures.js';

const mesh: MeshSnapshot = snapshotOf(objectsFromYaml(MESH));
const cartId = `spiffe://${TD}/ns/shop/sa/cart`;
const webId = `spiffe://${TD}/ns/shop/sa/web`;
const payId = `spiffe://${TD}/ns/shop/sa/pay`;

/** A CA, tokens and cache on a fake clock the test moves. */
function world(start = Date.now()) {
  let now = start;
  const clock = () => now;
  const ca = new CertificateAuthority(CertificateAuthority.generateRoot(TD, { clock }), { clock });
  const svids = new SvidCache(ca, { clock, ttlMs: 60_000 });
  const identities = new WorkloadIdentities(ca, BootstrapTokens.ephemeral(), svids);
  return { ca, svids, identities, clock, advance: (ms: number) => (now += ms) };
}

test('SVIDs are cached per identity and rotated at about half their lifetime, well before expiry', () => {
  const w = world(Date.UTC(2026, 10, 21, 6, 0, 0));
  const first = w.svids.get(cartId);
  assert.equal(w.svids.get(cartId), first, 'the same SVID is served until its refresh time');
  assert.equal(w.svids.issued, 1);
  const lifetime = first.notAfter.getTime() - w.clock();
  const refreshIn = first.refreshAfter.getTime() - w.clock();
  assert.equal(lifetime, 60_000);
  assert.ok(refreshIn >= 0.4 * lifetime && refreshIn <= 0.5 * lifetime, `refresh after ${refreshIn} ms of ${lifetime}`);
  assert.deepEqual(w.svids.rotateDue(), [], 'nothing is due yet');
  w.advance(refreshIn - 1);
  assert.equal(w.svids.get(cartId), first);
  w.advance(1);
  assert.deepEqual(w.svids.rotateDue(), [cartId]);
  const second = w.svids.get(cartId);
  assert.notEqual(second.serial, first.serial);
  assert.notEqual(second.privateKeyPem, first.privateKeyPem, 'a new key with every rotation');
  assert.ok(w.clock() < first.notAfter.getTime() - 0.4 * lifetime, 'rotated with at least 40% of the lifetime left');
  assert.equal(new X509Certificate(second.certPem).subjectAltName, `URI:${cartId}`);
  // jitter spreads refresh times: a fleet does not rotate in one instant
  const spread = new Set<number>();
  for (let i = 0; i < 20; i++) spread.add(w.svids.get(`spiffe://${TD}/ns/n${i}/sa/s`).refreshAfter.getTime());
  assert.ok(spread.size > 10, 'refresh times differ');
  w.svids.retain(new Set([cartId]));
  assert.equal(w.svids.size, 1);
});

test('a node gets certificates only with its own token, and only for workloads on it', () => {
  const w = world();
  const secrets = new IdentitySecrets(w.identities);
  const tokenA = w.identities.tokens.tokenFor(nodeSubject('node-a'));
  const client = (role: 'node-proxy' | 'redirector', node: string, credential?: string) => ({ id: 'x', cluster: '', role, nodeName: node, metadata: {}, userAgent: '', ...(credential ? { credential } : {}) });
  assert.equal(secrets.classOf(client('node-proxy', 'node-a', tokenA)), 'node-proxy/node-a');
  assert.equal(secrets.classOf(client('node-proxy', 'node-b', tokenA)), `${UNATTESTED}node-proxy/node-b`, "node-a's token does not prove node-b");
  const tampered = (tokenA.startsWith('x') ? 'y' : 'x') + tokenA.slice(1);
  assert.equal(secrets.classOf(client('redirector', 'node-a', tampered)), `${UNATTESTED}redirector/node-a`);
  assert.equal(secrets.classOf(client('redirector', 'node-a')), `${UNATTESTED}redirector/node-a`);
  assert.equal(baseClassKey(`${UNATTESTED}redirector/node-a`), 'redirector/node-a');

  const ofA = secrets.secrets(mesh, 'node-proxy/node-a');
  assert.deepEqual(ofA.map((s) => s.name).sort(), [SECRET_ROOT_CA, cartId, 'default', webId].sort());
  const defaultCert = new X509Certificate(String((ofA.find((s) => s.name === 'default')?.tls_certificate as { certificate_chain: { inline_string: string } }).certificate_chain.inline_string));
  assert.equal(defaultCert.subjectAltName, `URI:${nodeProxySpiffeId(TD, 'node-a')}`);
  assert.deepEqual(secrets.secrets(mesh, 'node-proxy/node-b').map((s) => s.name).sort(), [SECRET_ROOT_CA, cartId, 'default', payId].sort());
  assert.deepEqual(secrets.secrets(mesh, `${UNATTESTED}node-proxy/node-a`).map((s) => s.name), [SECRET_ROOT_CA], 'no certificate or key without attestation');
  for (const secret of [...ofA, ...secrets.secrets(mesh, 'waypoint/shop/wp')]) assert.deepEqual(validateResource(TypeUrl.secret, secret), [], String(secret.name));
  assert.equal(secrets.secrets(mesh, 'node-proxy/node-a').find((s) => s.name === cartId)?.tls_certificate !== undefined, true);
  assert.equal(w.identities.isWaypoint('shop', 'wp', w.identities.tokens.tokenFor(waypointSubject('shop', 'wp'))), true);
  assert.equal(w.identities.isWaypoint('shop', 'wp', tokenA), false);
  const waypoint = secrets.secrets(mesh, 'waypoint/shop/wp').find((x) => x.name === 'default')?.tls_certificate as { certificate_chain: { inline_string: string } };
  assert.equal(new X509Certificate(waypoint.certificate_chain.inline_string).subjectAltName, `URI:spiffe://${TD}/ns/shop/sa/wp`);

  // the redirector of node-b: WorkloadCertificate for its identities and its node certificate
  const forB = secrets.resources(mesh, 'redirector/node-b', {});
  const certs = (forB[IdentityType.workloadCertificate] ?? []).map((r) => decodeIdentityResource(IdentityType.workloadCertificate, r.value as Uint8Array));
  assert.deepEqual(certs.map((c) => c.spiffe_id).sort(), [cartId, nodeSpiffeId(TD, 'node-b'), payId].sort());
  const cart = certs.find((c) => c.spiffe_id === cartId);
  assert.deepEqual(cart?.workloads, ['shop/cart-2']);
  assert.equal(cart?.root_ca_pem, w.ca.rootPem);
  assert.ok(new X509Certificate(cart?.cert_chain_pem as string).checkPrivateKey(createPrivateKey(cart?.private_key_pem as string)));
  assert.ok(Number(cart?.refresh_after_ms) < Number(cart?.not_after_ms));
  const unattested = secrets.resources(mesh, `${UNATTESTED}redirector/node-b`, {});
  assert.deepEqual(unattested[IdentityType.workloadCertificate], []);
  assert.equal(unattested[IdentityType.trustBundle]?.length, 1);

  // the same identity on two nodes is one cached SVID (not re-issued per node or per request)
  const before = w.svids.issued;
  secrets.secrets(mesh, 'node-proxy/node-a');
  secrets.resources(mesh, 'redirector/node-b', {});
  assert.equal(w.svids.issued, before);
  const again = secrets.secrets(mesh, 'node-proxy/node-a');
  assert.deepEqual(again.map((x, i) => x === secrets.secrets(mesh, 'node-proxy/node-a')[i]), again.map(() => true), 'secrets are built and checked once per certificate');
  secrets.endRound();
  secrets.endRound();
  assert.equal(w.svids.size, 0, 'identities no class asked for leave the cache');
});

test('bootstrap tokens: derived per node, kept across restarts in a 0600 key file, written per node', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-tokens-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokens = BootstrapTokens.loadOrCreate(dir);
  const again = BootstrapTokens.loadOrCreate(dir);
  assert.equal(again.tokenFor(nodeSubject('node-a')), tokens.tokenFor(nodeSubject('node-a')));
  assert.notEqual(tokens.tokenFor(nodeSubject('node-a')), tokens.tokenFor(nodeSubject('node-b')));
  assert.notEqual(BootstrapTokens.ephemeral().tokenFor(nodeSubject('node-a')), tokens.tokenFor(nodeSubject('node-a')));
  const path = tokens.writeToken(dir, nodeSubject('node-a'));
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.ok(tokens.verify(nodeSubject('node-a'), readFileSync(path, 'utf8').trim()));
  assert.ok(!tokens.verify(nodeSubject('node-a'), undefined));
  assert.ok(!tokens.verify(nodeSubject('node-a'), 'short'));
});

test('describeSecret summarizes what proxy-config secrets shows; config dumps redact private keys', () => {
  const w = world();
  const secrets = new IdentitySecrets(w.identities).secrets(mesh, 'node-proxy/node-a');
  const cert = describeSecret({ name: 'default', secret: secrets.find((s) => s.name === 'default') });
  const svid = w.svids.get(nodeProxySpiffeId(TD, 'node-a'));
  assert.deepEqual(cert, {
    name: 'default',
    type: 'Cert Chain',
    serial: new X509Certificate(svid.certPem).serialNumber,
    notBefore: svid.notBefore.toISOString(),
    notAfter: svid.notAfter.toISOString(),
    valid: true,
    trustDomain: TD,
  });
  const root = describeSecret(secrets.find((s) => s.name === SECRET_ROOT_CA));
  assert.equal(root.type, 'CA');
  assert.equal(root.trustDomain, TD);
  assert.equal(root.valid, true);
  assert.equal(describeSecret({ name: 'f', tls_certificate: { certificate_chain: { filename: '/x' } } }).problem, 'read by the proxy from /x');
  assert.equal(describeSecret(secrets.find((s) => s.name === 'default'), svid.notAfter.getTime() + 1).valid, false);
  const redacted = redactResource(TypeUrl.secret, secrets.find((s) => s.name === 'default') as Record<string, unknown>);
  assert.deepEqual((redacted.tls_certificate as Record<string, unknown>).private_key, { inline_string: '[redacted]' });
  assert.doesNotMatch(JSON.stringify(redacted), /PRIVATE KEY/);
  assert.deepEqual(redactResource(IdentityType.workloadCertificate, { name: 'n', value: 'AAAA' }), { name: 'n', value: '[redacted]' });
});

// ---- over the wire ----

const w = world();
const identitySecrets = new IdentitySecrets(w.identities);
const cache = new SnapshotCache({
  classOf: (client) => identitySecrets.classOf(client),
  onMissingClass: (classKey) => cache.update(classKey, identitySecrets.resources(mesh, classKey, {})),
});
const xds = new XdsServer({ cache, addServices: (server) => addCertificateService(server, w.identities, () => mesh) });
let port = 0;

before(async () => {
  port = await xds.listen('127.0.0.1:0');
});

after(async () => {
  await xds.close(200);
});

function tokenMetadata(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(CREDENTIAL_HEADER, token);
  return metadata;
}

for (const kind of ['sotw', 'delta'] as const) {
  test(`SDS over ${kind}: the attested node proxy gets valid secrets for its workloads; a wrong token gets no key`, async (t) => {
    const good = new RawXdsClient(port, kind, tokenMetadata(w.identities.tokens.tokenFor(nodeSubject('node-a'))));
    const bad = new RawXdsClient(port, kind, tokenMetadata(w.identities.tokens.tokenFor(nodeSubject('node-b'))));
    t.after(() => {
      good.close();
      bad.close();
    });
    const wanted = ['default', SECRET_ROOT_CA, cartId, payId];
    for (const client of [good, bad]) {
      const node = nodeProxy(`${kind}-${client === good ? 'good' : 'bad'}`, 'node-a');
      if (kind === 'sotw') client.send({ node, type_url: TypeUrl.secret, resource_names: wanted });
      else client.send({ node, type_url: TypeUrl.secret, resource_names_subscribe: wanted });
    }
    const response = await good.next();
    assert.equal(response.typeUrl, TypeUrl.secret);
    assert.deepEqual(names(response).sort(), [SECRET_ROOT_CA, cartId, 'default'].sort(), 'pay runs on node-b: not served to node-a');
    for (const resource of response.resources) {
      assert.deepEqual(validateResource(TypeUrl.secret, resource.message), [], resource.name);
      const summary = describeSecret(resource.message);
      assert.equal(summary.valid, true, resource.name);
      assert.equal(summary.trustDomain, TD);
    }
    const refused = await bad.next();
    assert.deepEqual(names(refused), [SECRET_ROOT_CA], 'a wrong token: only the public trust bundle');
    const dump = JSON.stringify(xds.configDump(`${kind}-good`));
    assert.match(dump, /BEGIN CERTIFICATE/);
    assert.doesNotMatch(dump, /PRIVATE KEY/, 'config dumps never show private keys');
    assert.doesNotMatch(JSON.stringify(xds.syncz()), new RegExp(w.identities.tokens.tokenFor(nodeSubject('node-a'))), 'tokens never show in syncz');
  });
}

test('the attested redirector is served WorkloadCertificate resources for its node over Delta', async (t) => {
  const client = new RawXdsClient(port, 'delta', tokenMetadata(w.identities.tokens.tokenFor(nodeSubject('node-b'))));
  t.after(() => client.close());
  client.send({ node: { id: 'redirector-b', metadata: { role: 'redirector', node_name: 'node-b' } }, type_url: IdentityType.workloadCertificate, resource_names_subscribe: ['*'] });
  const response = await client.next();
  assert.deepEqual(names(response).sort(), [cartId, 'node', payId].sort());
  const sent = xds.connections().find((c) => c.info?.id === 'redirector-b')?.sentResources() ?? [];
  const entries = sent.find((s) => s.typeUrl === IdentityType.workloadCertificate)?.entries as ResourceEntry[];
  const node = decodeIdentityResource(IdentityType.workloadCertificate, entries.find((e) => e.name === 'node')?.value as Uint8Array);
  assert.equal(new X509Certificate(node.cert_chain_pem).subjectAltName, `URI:${nodeSpiffeId(TD, 'node-b')}`);
  assert.doesNotMatch(JSON.stringify(configDump(sent)), /PRIVATE KEY/);
});

/** Calls IssueWorkloadCertificate as node `node` with `token`. */
function issue(node: string, token: string, workload: string, csrPem: string): Promise<IssueWorkloadCertificateResponse__Output> {
  const Client = grpc.makeGenericClientConstructor(certificateServiceDefinition(), 'CertificateService');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, grpc.handleUnaryCall<unknown, unknown> & ((...args: unknown[]) => unknown)>;
  const metadata = new grpc.Metadata();
  metadata.set(NODE_HEADER, node);
  metadata.set(TOKEN_HEADER, token);
  return new Promise((resolve, reject) => {
    (client.IssueWorkloadCertificate as (...args: unknown[]) => unknown)({ csr_pem: csrPem, workload }, metadata, (error: grpc.ServiceError | null, response: IssueWorkloadCertificateResponse__Output) => {
      client.close();
      if (error) reject(error);
      else resolve(response);
    });
  });
}

test('CertificateService issues for a CSR of a workload on the caller node, and refuses other nodes, wrong tokens and bad CSRs', async () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const csr = buildCsr(privateKey, [cartId]);
  const csrPem = toPem('CERTIFICATE REQUEST', csr);
  const tokenA = w.identities.tokens.tokenFor(nodeSubject('node-a'));
  const issued = await issue('node-a', tokenA, 'shop/cart-1', csrPem);
  assert.equal(issued.spiffe_id, cartId);
  const cert = new X509Certificate(issued.cert_chain_pem);
  assert.equal(cert.subjectAltName, `URI:${cartId}`);
  assert.ok(cert.checkPrivateKey(privateKey), 'certifies the key the caller keeps');
  assert.ok(cert.verify(new X509Certificate(issued.root_ca_pem).publicKey));
  assert.equal(Number(issued.not_after_ms) - Number(issued.not_before_ms), 3600_000 + 60_000, 'MeshConfig certificateTTL 1h, backdated a minute');

  await assert.rejects(issue('node-a', tokenA, 'shop/pay-1', buildCsrPem(privateKey)), { code: grpc.status.PERMISSION_DENIED, details: /runs on node 'node-b', not on 'node-a'/ });
  await assert.rejects(issue('node-b', tokenA, 'shop/pay-1', buildCsrPem(privateKey)), { code: grpc.status.UNAUTHENTICATED });
  await assert.rejects(issue('node-a', '', 'shop/cart-1', csrPem), { code: grpc.status.UNAUTHENTICATED });
  await assert.rejects(issue('node-a', tokenA, 'shop/nope', csrPem), { code: grpc.status.NOT_FOUND });
  await assert.rejects(issue('node-a', tokenA, 'shop/web-1', csrPem), { code: grpc.status.INVALID_ARGUMENT, details: /asks for spiffe:\/\/example.org\/ns\/shop\/sa\/cart/ });
  await assert.rejects(issue('node-a', tokenA, 'shop/cart-1', 'garbage'), { code: grpc.status.INVALID_ARGUMENT });
  const node = await issue('node-a', tokenA, '', buildCsrPem(privateKey));
  assert.equal(node.spiffe_id, nodeSpiffeId(TD, 'node-a'));
});

function buildCsrPem(key: Parameters<typeof buildCsr>[0]): string {
  return toPem('CERTIFICATE REQUEST', buildCsr(key));
}

test('rotation on the timer pushes new certificates to a connected proxy before the old ones expire', async (t) => {
  const client = new RawXdsClient(port, 'sotw', tokenMetadata(w.identities.tokens.tokenFor(nodeSubject('node-a'))));
  const stop = w.svids.startRotation(() => {
    for (const classKey of cache.classes()) cache.update(classKey, identitySecrets.resources(mesh, classKey, {}));
  }, 50);
  t.after(() => {
    stop();
    client.close();
  });
  client.send({ node: nodeProxy('rotating', 'node-a'), type_url: TypeUrl.secret, resource_names: ['default', SECRET_ROOT_CA] });
  const first = await client.next();
  client.send({ type_url: TypeUrl.secret, version_info: first.version, response_nonce: first.nonce, resource_names: ['default', SECRET_ROOT_CA] });
  const before = describeSecret(first.resources.find((r) => r.name === 'default')?.message, w.clock());
  assert.equal(before.valid, true);
  w.advance(31 * 60_000); // MeshConfig certificateTTL is 1h: refresh comes at 27-30 minutes
  const second = await client.next(3000);
  const after = describeSecret(second.resources.find((r) => r.name === 'default')?.message, w.clock());
  assert.notEqual(after.serial, before.serial, 'a new certificate was pushed');
  assert.equal(after.valid, true);
  assert.ok(Date.parse(before.notAfter as string) > w.clock(), 'the old certificate had not expired yet');
  assert.ok(Date.parse(after.notAfter as string) > Date.parse(before.notAfter as string));
});

// `skiff control-plane` with its CA, through the real binary: a root generated into --ca-dir and
// the same root after a restart, a bootstrap token file per node, SDS to a node proxy presenting
// its token, CertificateService on the xDS port, a user-provided root (--ca-cert/--ca-key), and
// WireGuardKeyService with the published keys in every redirector's NodeConfig.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { CertificateAuthority } from '../../xds/ca/authority.js';
import { buildCsr, toPem } from '../../xds/ca/x509.js';
import { NODE_HEADER, TOKEN_HEADER, certificateServiceDefinition } from '../../proto/skiff/v1alpha1/identity-wire.js';
import { CREDENTIAL_HEADER } from '../../xds/client-info.js';
import { TypeUrl } from '../../xds/protos.js';
import { SECRET_ROOT_CA } from '../../xds/translate/constants.js';
import { eventually, nodeProxy } from './fixtures.js';
import { RawXdsClient, names, type RawResponse } from './raw-client.js';
import { MESH, TD } from './ca-fixtures.js';
import { logger } from '../../config/log.js';
import { IdentityType } from '../../proto/skiff/v1alpha1/identity-wire.js';
import { RedirectorType, type NodeConfig__Output } from '../../proto/skiff/v1alpha1/wire.js';
import { WireGuardKeyPublisher } from '../../redirector/tunnel/key-publisher.js';
import { generateWireGuardKeyPair } from '../../redirector/tunnel/wireguard.js';
import { RedirectorXdsClient } from '../../redirector/xds-client.js';

const bin = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/** Runs the control plane with these CA flags until `use` is done, then SIGTERM (exit 0 asserted). */
async function withControlPlane(configDir: string, caFlags: string[], use: (xdsPort: number) => Promise<void>): Promise<void> {
  const child = spawn(process.execPath, [bin, 'control-plane', '--config', configDir, '--xds', '127.0.0.1:0', '--admin', '127.0.0.1:0', ...caFlags], {
    env: { ...process.env, SKIFF_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  try {
    let port: number | undefined;
    await eventually(() => {
      const line = stderr.split('\n').find((l) => l.includes('xDS server listening'));
      port = line ? (JSON.parse(line) as { port: number }).port : undefined;
      return port !== undefined || child.exitCode !== null;
    }, 15000, 'the xDS port');
    assert.ok(port, `control plane did not start: ${stderr}`);
    await use(port);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** The secrets a node proxy of `node` with `token` is served. */
async function secretsFor(port: number, node: string, token: string): Promise<RawResponse> {
  const metadata = new grpc.Metadata();
  metadata.set(CREDENTIAL_HEADER, token);
  const client = new RawXdsClient(port, 'sotw', metadata);
  try {
    client.send({ node: nodeProxy(`proxy-${node}`, node), type_url: TypeUrl.secret, resource_names: ['default', SECRET_ROOT_CA, `spiffe://${TD}/ns/shop/sa/web`] });
    return await client.next(5000);
  } finally {
    client.close();
  }
}

function pemOf(response: RawResponse, name: string): string {
  const secret = response.resources.find((r) => r.name === name)?.message as Record<string, Record<string, Record<string, string>>>;
  return (secret.tls_certificate?.certificate_chain ?? secret.validation_context?.trusted_ca)?.inline_string as string;
}

test('the control plane keeps its root in --ca-dir across restarts, writes node tokens, serves SDS and CertificateService', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-cp-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'mesh');
  mkdirSync(config);
  writeFileSync(join(config, 'mesh.yaml'), MESH);
  const caDir = join(dir, 'ca');
  const tokenFile = join(caDir, 'bootstrap-tokens', 'node.node-a.token');
  let firstRoot = '';
  await withControlPlane(config, ['--ca-dir', caDir], async (port) => {
    assert.equal(statSync(join(caDir, 'root-key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    assert.equal(statSync(join(caDir, 'bootstrap-tokens', 'waypoint.shop.shop-waypoint.token')).mode & 0o777, 0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    const served = await secretsFor(port, 'node-a', token);
    assert.deepEqual(names(served).sort(), ['default', SECRET_ROOT_CA, `spiffe://${TD}/ns/shop/sa/web`].sort());
    firstRoot = pemOf(served, SECRET_ROOT_CA);
    assert.equal(firstRoot, readFileSync(join(caDir, 'root-cert.pem'), 'utf8'));
    assert.ok(new X509Certificate(pemOf(served, 'default')).verify(new X509Certificate(firstRoot).publicKey));
    // with node-b's token, node-a gets only the trust bundle
    const other = await secretsFor(port, 'node-a', readFileSync(join(caDir, 'bootstrap-tokens', 'node.node-b.token'), 'utf8').trim());
    assert.deepEqual(names(other), [SECRET_ROOT_CA]);

    // CertificateService on the same port
    const Client = grpc.makeGenericClientConstructor(certificateServiceDefinition(), 'CertificateService');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    t.after(() => client.close());
    const metadata = new grpc.Metadata();
    metadata.set(NODE_HEADER, 'node-a');
    metadata.set(TOKEN_HEADER, token);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const response = await new Promise<{ spiffe_id: string; cert_chain_pem: string }>((resolve, reject) => {
      (client as unknown as Record<string, (...args: unknown[]) => void>).IssueWorkloadCertificate?.(
        { csr_pem: toPem('CERTIFICATE REQUEST', buildCsr(privateKey)), workload: 'shop/web-1' },
        metadata,
        (error: Error | null, reply: { spiffe_id: string; cert_chain_pem: string }) => (error ? reject(error) : resolve(reply)),
      );
    });
    assert.equal(response.spiffe_id, `spiffe://${TD}/ns/shop/sa/web`);
    assert.ok(new X509Certificate(response.cert_chain_pem).checkPrivateKey(privateKey));
  });
  await withControlPlane(config, ['--ca-dir', caDir], async (port) => {
    const served = await secretsFor(port, 'node-a', readFileSync(tokenFile, 'utf8').trim());
    assert.equal(pemOf(served, SECRET_ROOT_CA), firstRoot, 'the same root after a restart');
    assert.deepEqual(names(served).sort(), ['default', SECRET_ROOT_CA, `spiffe://${TD}/ns/shop/sa/web`].sort(), 'the same tokens after a restart');
  });

  // a user-provided root
  const material = CertificateAuthority.generateRoot('corp.example');
  writeFileSync(join(dir, 'user-ca.pem'), material.certChainPem);
  writeFileSync(join(dir, 'user-ca-key.pem'), material.keyPem);
  await withControlPlane(config, ['--ca-dir', caDir, '--ca-cert', join(dir, 'user-ca.pem'), '--ca-key', join(dir, 'user-ca-key.pem')], async (port) => {
    const served = await secretsFor(port, 'node-a', readFileSync(tokenFile, 'utf8').trim());
    assert.equal(pemOf(served, SECRET_ROOT_CA), material.certChainPem);
    assert.ok(new X509Certificate(pemOf(served, 'default')).verify(new X509Certificate(material.certChainPem).publicKey));
  });
});

/** What the redirector of `node` (with `token`) is served, once `done` says it has what it waits for. */
async function redirectorView(port: number, node: string, token: string, done: (nodeConfig: NodeConfig__Output | undefined, certificates: string[]) => boolean): Promise<{ nodeConfig: NodeConfig__Output; certificates: string[] }> {
  let nodeConfig: NodeConfig__Output | undefined;
  const certificates = new Set<string>();
  const client = new RedirectorXdsClient({
    address: `127.0.0.1:${port}`,
    node,
    token: () => token,
    log: logger('test'),
    onUpdate(update) {
      if (update.typeUrl === RedirectorType.nodeConfig) nodeConfig = (update.updated.get(node) as NodeConfig__Output | undefined) ?? nodeConfig;
      if (update.typeUrl === IdentityType.workloadCertificate) for (const name of update.updated.keys()) certificates.add(name);
    },
  });
  client.start();
  try {
    await eventually(() => done(nodeConfig, [...certificates]), 10_000, `what the redirector of ${node} waits for`);
    return { nodeConfig: nodeConfig as NodeConfig__Output, certificates: [...certificates].sort() };
  } finally {
    client.stop();
  }
}

test('WireGuardKeyService: a node publishes its WireGuard keys with its bootstrap token (refused without it, or for a bad key); every redirector\'s NodeConfig carries them, also after a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-cp-wg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'mesh');
  mkdirSync(config);
  writeFileSync(join(config, 'mesh.yaml'), MESH);
  const caDir = join(dir, 'ca');
  const tokenOf = (node: string) => readFileSync(join(caDir, 'bootstrap-tokens', `node.${node}.token`), 'utf8').trim();
  const keys = generateWireGuardKeyPair();
  const next = generateWireGuardKeyPair();
  const keysOf = (nc: NodeConfig__Output | undefined, node: string) => {
    const info = nc?.nodes.find((n) => n.name === node);
    return [info?.wireguard_public_key, info?.wireguard_next_public_key];
  };
  await withControlPlane(config, ['--ca-dir', caDir], async (port) => {
    const publisher = (token: string) => new WireGuardKeyPublisher({ address: `127.0.0.1:${port}`, node: 'node-a', token: () => token });
    const wrong = publisher(tokenOf('node-b'));
    const right = publisher(tokenOf('node-a'));
    t.after(() => {
      wrong.close();
      right.close();
    });
    await assert.rejects(wrong.publish(keys.publicKey), /no valid bootstrap token for node 'node-a'/);
    await assert.rejects(right.publish('not-a-key'), /32 bytes of base64/);
    await right.publish(keys.publicKey, next.publicKey);
    // node-b's redirector, attested by its own token: node-a's keys in its NodeConfig, and its own workloads' certificates
    const b = await redirectorView(port, 'node-b', tokenOf('node-b'), (nc, certs) => keysOf(nc, 'node-a')[0] !== '' && nc !== undefined && certs.length > 0);
    assert.deepEqual(keysOf(b.nodeConfig, 'node-a'), [keys.publicKey, next.publicKey]);
    assert.deepEqual(keysOf(b.nodeConfig, 'node-b'), ['', ''], 'node-b published nothing');
    assert.deepEqual(b.certificates, ['node', `spiffe://${TD}/ns/shop/sa/cart`, `spiffe://${TD}/ns/shop/sa/pay`]);
    // the rotation commits: the next key becomes the public key
    await right.publish(next.publicKey);
    const a = await redirectorView(port, 'node-a', 'not-the-token', (nc) => keysOf(nc, 'node-a')[0] === next.publicKey);
    assert.deepEqual(keysOf(a.nodeConfig, 'node-a'), [next.publicKey, '']);
    assert.deepEqual(a.certificates, [], 'an unattested redirector gets no certificates');
  });
  await withControlPlane(config, ['--ca-dir', caDir], async (port) => {
    const b = await redirectorView(port, 'node-b', tokenOf('node-b'), (nc) => nc !== undefined);
    assert.deepEqual(keysOf(b.nodeConfig, 'node-a'), [next.publicKey, ''], 'the keys survive a control plane restart');
  });
});

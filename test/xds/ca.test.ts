// The certificate authority: DER encoding, a root generated once and reloaded, user-provided roots
// and intermediate chains, SVIDs judged by Node's X509Certificate and by `openssl verify`, and
// PKCS#10 requests (made, verified, tampering refused).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as der from '../../xds/ca/der.js';
import { BACKDATE_MS, CertificateAuthority, parseSpiffeId, workloadSpiffeId } from '../../xds/ca/authority.js';
import { ROOT_KEY_FILE, loadCaFiles, loadOrCreateCaDirectory } from '../../xds/ca/store.js';
import { OID, buildCertificate, buildCsr, certificateFields, distinguishedName, keyIdentifier, spkiOf, toPem, verifyCsr } from '../../xds/ca/x509.js';

const TD = 'example.org';
const ID = workloadSpiffeId(TD, 'shop', 'cart');

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `openssl verify` of a leaf against a root (and an untrusted intermediate chain); returns its output or throws. */
function opensslVerify(dir: string, rootPem: string, leafPem: string, untrustedPem?: string): string {
  writeFileSync(join(dir, 'v-root.pem'), rootPem);
  writeFileSync(join(dir, 'v-leaf.pem'), leafPem);
  const args = ['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', join(dir, 'v-root.pem')];
  if (untrustedPem) {
    writeFileSync(join(dir, 'v-untrusted.pem'), untrustedPem);
    args.push('-untrusted', join(dir, 'v-untrusted.pem'));
  }
  return execFileSync('openssl', [...args, join(dir, 'v-leaf.pem')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

test('DER: lengths, integers, OIDs, bit strings and times encode as X.690 says', () => {
  assert.deepEqual(der.tlv(0x04, Buffer.alloc(127)).subarray(0, 2), Buffer.from([0x04, 0x7f]));
  assert.deepEqual(der.tlv(0x04, Buffer.alloc(128)).subarray(0, 3), Buffer.from([0x04, 0x81, 0x80]));
  assert.deepEqual(der.tlv(0x04, Buffer.alloc(300)).subarray(0, 4), Buffer.from([0x04, 0x82, 0x01, 0x2c]));
  assert.deepEqual(der.unsignedInteger(Buffer.from([0x80])), Buffer.from([0x02, 0x02, 0x00, 0x80]));
  assert.deepEqual(der.unsignedInteger(Buffer.from([0x00, 0x00, 0x7f])), Buffer.from([0x02, 0x01, 0x7f]));
  assert.deepEqual(der.smallInteger(0), Buffer.from([0x02, 0x01, 0x00]));
  assert.deepEqual(der.oid('1.2.840.10045.4.3.2'), Buffer.from('06082a8648ce3d040302', 'hex'));
  assert.equal(der.readOid(der.oid('2.5.29.17').subarray(2)), '2.5.29.17');
  assert.equal(der.readOid(der.oid('1.2.840.113549.1.9.14').subarray(2)), '1.2.840.113549.1.9.14');
  // keyUsage digitalSignature + keyCertSign + cRLSign: 0x86 with one unused bit (bit 6 is the last set)
  assert.deepEqual(der.namedBits([0, 5, 6]), Buffer.from([0x03, 0x02, 0x01, 0x86]));
  assert.deepEqual(der.namedBits([0, 2]), Buffer.from([0x03, 0x02, 0x05, 0xa0]));
  assert.deepEqual(der.time(new Date(Date.UTC(2026, 0, 2, 3, 4, 5))), Buffer.concat([Buffer.from([0x17, 13]), Buffer.from('260102030405Z')]));
  assert.deepEqual(der.time(new Date(Date.UTC(2050, 0, 1))), Buffer.concat([Buffer.from([0x18, 15]), Buffer.from('20500101000000Z')]));
  const nested = der.sequence(der.boolean(true), der.octetString(Buffer.alloc(200, 1)));
  const [flag, octets] = der.children(der.readElement(nested).content);
  assert.equal(flag?.tag, der.Tag.boolean);
  assert.equal(octets?.content.length, 200);
  assert.throws(() => der.readElement(nested.subarray(0, 10)), /truncated/);
});

test('SPIFFE IDs: workload form, and malformed IDs refused', () => {
  assert.equal(ID, 'spiffe://example.org/ns/shop/sa/cart');
  assert.deepEqual(parseSpiffeId(ID), { trustDomain: TD, path: '/ns/shop/sa/cart' });
  for (const bad of ['spiffe://Example.org/x', 'spiffe://td', 'spiffe://td/', 'https://td/x', 'spiffe://td/a/../b', 'spiffe://td//x']) {
    assert.ok(parseSpiffeId(bad) instanceof Error, bad);
  }
});

test('a generated root is persisted with a 0600 key and the same root is loaded after a restart', (t) => {
  const dir = join(tempDir(t), 'ca');
  const first = loadOrCreateCaDirectory(dir, { trustDomain: TD });
  assert.equal(statSync(join(dir, ROOT_KEY_FILE)).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const root = new X509Certificate(first.rootPem);
  assert.ok(root.ca);
  assert.ok(root.verify(root.publicKey), 'self-signed');
  assert.match(root.subject, /O=example.org/);
  const second = loadOrCreateCaDirectory(dir, { trustDomain: TD });
  assert.equal(second.rootPem, first.rootPem);
  // a certificate issued before the restart is trusted by the root loaded after it
  const issued = first.issueWithKey(ID, 3600_000);
  assert.ok(new X509Certificate(issued.certPem).verify(new X509Certificate(second.rootPem).publicKey));
  rmSync(join(dir, ROOT_KEY_FILE));
  assert.throws(() => loadOrCreateCaDirectory(dir, { trustDomain: TD }), /has root-cert.pem but not root-key.pem/);
});

test('an SVID carries only the SPIFFE URI SAN, leaf key usages, and verifies with X509Certificate and openssl', (t) => {
  const dir = tempDir(t);
  const now = Date.UTC(2026, 10, 21, 6, 0, 0);
  const ca = new CertificateAuthority(CertificateAuthority.generateRoot(TD, { clock: () => now }), { clock: () => now });
  const issued = ca.issueWithKey(ID, 24 * 3600_000);
  const cert = new X509Certificate(issued.certPem);
  const root = new X509Certificate(ca.rootPem);
  assert.equal(cert.subjectAltName, `URI:${ID}`);
  assert.ok(!cert.subject, 'empty subject');
  assert.equal(cert.ca, false);
  assert.ok(cert.verify(root.publicKey));
  assert.ok(cert.checkIssued(root));
  assert.equal(cert.serialNumber.toLowerCase().replace(/^0+/, ''), issued.serial.replace(/^0+/, ''));
  assert.equal(issued.serial.length, 32, '128-bit serial');
  assert.deepEqual(cert.keyUsage, [OID.serverAuth, OID.clientAuth]);
  assert.equal(Date.parse(cert.validFrom), now - BACKDATE_MS);
  assert.equal(Date.parse(cert.validTo), now + 24 * 3600_000);
  assert.ok(cert.checkPrivateKey(createPrivateKey(issued.privateKeyPem)));
  // openssl judges it strictly, at its own current time: a CA on the real clock
  const live = new CertificateAuthority(CertificateAuthority.generateRoot(TD));
  const svid = live.issueWithKey(ID, 3600_000);
  const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: svid.certPem, encoding: 'utf8' });
  assert.match(text, /X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/example.org\/ns\/shop\/sa\/cart/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
  assert.match(text, /X509v3 Authority Key Identifier:/);
  assert.match(opensslVerify(dir, live.rootPem, svid.certPem), /OK/);
  // a certificate from another root is refused
  const other = new CertificateAuthority(CertificateAuthority.generateRoot(TD));
  assert.throws(() => opensslVerify(dir, live.rootPem, other.issueWithKey(ID, 3600_000).certPem));
});

/** An intermediate CA signed by a root: its material as the user would give it (intermediate, then root). */
function intermediateUnder(root: CertificateAuthority, rootKeyPem: string): { certChainPem: string; keyPem: string } {
  const rootKey = createPrivateKey(rootKeyPem);
  const rootFields = new X509Certificate(root.rootPem);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const cert = buildCertificate(
    { subject: distinguishedName([[OID.organization, TD], [OID.commonName, 'skiff intermediate']]), publicKey: privateKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000), ca: true, pathLength: 0 },
    { name: rootName(rootFields), key: rootKey, keyId: keyIdentifier(spkiOf(rootFields.publicKey)) },
  );
  return { certChainPem: toPem('CERTIFICATE', cert) + root.rootPem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

function rootName(cert: X509Certificate): Buffer {
  return certificateFields(cert.raw).subject;
}

test('user-provided root files, and an intermediate chain: leaves chain to the root through the intermediate', (t) => {
  const dir = tempDir(t);
  const material = CertificateAuthority.generateRoot('corp.example');
  writeFileSync(join(dir, 'ca.pem'), material.certChainPem);
  writeFileSync(join(dir, 'ca-key.pem'), material.keyPem);
  const root = loadCaFiles(join(dir, 'ca.pem'), join(dir, 'ca-key.pem'));
  assert.equal(root.rootPem, material.certChainPem);
  assert.match(opensslVerify(dir, root.rootPem, root.issueWithKey(ID, 600_000).certPem), /OK/);

  const intermediate = intermediateUnder(root, material.keyPem);
  writeFileSync(join(dir, 'chain.pem'), intermediate.certChainPem);
  writeFileSync(join(dir, 'int-key.pem'), intermediate.keyPem);
  const ca = loadCaFiles(join(dir, 'chain.pem'), join(dir, 'int-key.pem'));
  assert.equal(ca.rootPem, material.certChainPem, 'the trust bundle is the root at the end of the chain');
  const svid = ca.issueWithKey(ID, 600_000);
  const certs = svid.certChainPem.match(/-----BEGIN CERTIFICATE-----/g) ?? [];
  assert.equal(certs.length, 2, 'leaf + intermediate');
  const leaf = new X509Certificate(svid.certPem);
  assert.ok(leaf.checkIssued(ca.signingCertificate));
  assert.ok(leaf.verify(ca.signingCertificate.publicKey));
  assert.match(opensslVerify(dir, ca.rootPem, svid.certPem, ca.signingCertificate.toString()), /OK/);
  assert.throws(() => opensslVerify(dir, ca.rootPem, svid.certPem), 'without the intermediate the leaf does not chain');

  // a root made by openssl, with RSA and Ed25519 keys: our leaves carry its subject and key identifier
  for (const alg of [['-newkey', 'rsa:2048'], ['-newkey', 'ed25519']]) {
    execFileSync('openssl', ['req', '-x509', ...alg, '-nodes', '-keyout', join(dir, 'o-key.pem'), '-out', join(dir, 'o-ca.pem'), '-days', '30', '-subj', '/O=corp/CN=openssl root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'ignore' });
    const made = loadCaFiles(join(dir, 'o-ca.pem'), join(dir, 'o-key.pem'));
    assert.match(opensslVerify(dir, made.rootPem, made.issueWithKey(ID, 600_000).certPem), /OK/, alg[1]);
  }

  writeFileSync(join(dir, 'wrong-key.pem'), CertificateAuthority.generateRoot(TD).keyPem);
  assert.throws(() => loadCaFiles(join(dir, 'ca.pem'), join(dir, 'wrong-key.pem')), /does not match/);
  assert.throws(() => loadCaFiles(join(dir, 'missing.pem'), join(dir, 'ca-key.pem')), /cannot read .*missing.pem/);
  writeFileSync(join(dir, 'leaf.pem'), svid.certPem);
  assert.throws(() => loadCaFiles(join(dir, 'leaf.pem'), join(dir, 'ca-key.pem')), /cA is not set/);
});

test('certificate requests: the signature proves the key, requested SANs are read, tampering is refused', (t) => {
  const dir = tempDir(t);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const csr = buildCsr(privateKey, [ID]);
  const parsed = verifyCsr(csr);
  assert.deepEqual(parsed.uris, [ID]);
  assert.deepEqual(spkiOf(parsed.publicKey), spkiOf(privateKey));
  assert.deepEqual(verifyCsr(toPem('CERTIFICATE REQUEST', csr)).uris, [ID]);
  // openssl reads and verifies it too
  const text = execFileSync('openssl', ['req', '-inform', 'DER', '-verify', '-noout', '-text'], { input: csr, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  assert.match(text, /URI:spiffe:\/\/example.org\/ns\/shop\/sa\/cart/);
  // and we verify one openssl made
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  writeFileSync(join(dir, 'key.pem'), keyPem);
  const made = execFileSync('openssl', ['req', '-new', '-key', join(dir, 'key.pem'), '-subj', '/O=x', '-addext', `subjectAltName=URI:${ID}`, '-outform', 'PEM'], { encoding: 'utf8' });
  assert.deepEqual(verifyCsr(made).uris, [ID]);
  const tampered = Buffer.from(csr);
  const at = tampered.indexOf(Buffer.from('cart'));
  tampered[at] = 'k'.charCodeAt(0);
  assert.throws(() => verifyCsr(tampered), /does not verify/);
  assert.throws(() => verifyCsr(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00])), /malformed/);
  assert.throws(() => verifyCsr('junk'), /no CERTIFICATE REQUEST/);
  const sha384 = execFileSync('openssl', ['req', '-new', '-sha384', '-key', join(dir, 'key.pem'), '-subj', '/O=x', '-outform', 'PEM'], { encoding: 'utf8' });
  assert.throws(() => verifyCsr(sha384), /algorithm 1.2.840.10045.4.3.3/);
  const { privateKey: ed } = generateKeyPairSync('ed25519');
  assert.deepEqual(spkiOf(verifyCsr(buildCsr(ed)).publicKey), spkiOf(ed), 'Ed25519 requests verify too');
  const { privateKey: rsa } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  assert.deepEqual(spkiOf(verifyCsr(buildCsr(rsa)).publicKey), spkiOf(rsa), 'RSA requests verify too');
});

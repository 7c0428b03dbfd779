// X.509 certificates and PKCS#10 requests built with xds/ca/der.ts and signed with Node's crypto:
// the TBSCertificate of RFC 5280 (v3, random 128-bit serial, names, validity, SPKI, extensions),
// a CA's self-signed root, leaf SVIDs with a SPIFFE URI SAN, and certificate requests (made and
// verified: the signature proves the requester holds the key).
import { createHash, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import * as der from './der.js';

export const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  ed25519: '1.3.101.112',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  extensionRequest: '1.2.840.113549.1.9.14',
} as const;

/** KeyUsage bit numbers (RFC 5280 §4.2.1.3). */
export const KeyUsage = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

/** The signature algorithm a key signs with: its AlgorithmIdentifier and the digest for crypto.sign. */
function signatureAlgorithm(key: KeyObject): { identifier: Buffer; digest: string | null } {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return { identifier: der.sequence(der.oid(OID.ecdsaWithSha256)), digest: 'sha256' };
    case 'rsa':
      return { identifier: der.sequence(der.oid(OID.sha256WithRsa), der.tlv(der.Tag.null, Buffer.alloc(0))), digest: 'sha256' };
    case 'ed25519':
      return { identifier: der.sequence(der.oid(OID.ed25519)), digest: null };
    default:
      throw new Error(`unsupported signing key type ${key.asymmetricKeyType ?? 'unknown'} (use EC, RSA or Ed25519)`);
  }
}

/** Signs `tbs` and wraps it as SEQUENCE { tbs, algorithm, BIT STRING signature } (certificates and CSRs alike). */
function signed(tbs: Buffer, key: KeyObject): Buffer {
  const algorithm = signatureAlgorithm(key);
  return der.sequence(tbs, algorithm.identifier, der.bitString(sign(algorithm.digest, tbs, key)));
}

/** A distinguished name of (OID, value) pairs, one RDN each, as UTF8String. */
export function distinguishedName(attributes: ReadonlyArray<readonly [string, string]>): Buffer {
  return der.sequence(...attributes.map(([type, value]) => der.set(der.sequence(der.oid(type), der.utf8String(value)))));
}

/** The SubjectPublicKeyInfo DER of a public (or private) key. */
export function spkiOf(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' });
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(spki: Buffer): Buffer {
  const [, bits] = der.children(der.readElement(spki).content);
  if (!bits || bits.tag !== der.Tag.bitString) throw new Error('not a SubjectPublicKeyInfo');
  return createHash('sha1').update(bits.content.subarray(1)).digest();
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? der.sequence(der.oid(id), der.boolean(true), der.octetString(value)) : der.sequence(der.oid(id), der.octetString(value));
}

/** SubjectAltName with URI names ([6] IA5String). */
function uriSans(uris: readonly string[]): Buffer {
  return der.sequence(...uris.map((uri) => der.contextTag(6, Buffer.from(uri, 'ascii'), false)));
}

export interface CertificateTemplate {
  /** DER Name of the subject (an empty SEQUENCE for SVIDs, whose identity is the URI SAN). */
  subject: Buffer;
  /** The certified key (public or private; only its public half is used). */
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  /** A CA certificate (basicConstraints cA, keyCertSign) or a leaf (digitalSignature, keyEncipherment, server+client auth). */
  ca: boolean;
  /** URI SANs (SPIFFE IDs); critical when the subject is empty (RFC 5280 §4.2.1.6). */
  uris?: readonly string[];
  /** pathLenConstraint of a CA certificate. */
  pathLength?: number;
}

export interface Issuer {
  /** The issuer's subject Name, byte for byte as in its certificate. */
  name: Buffer;
  key: KeyObject;
  /** The issuer's subjectKeyIdentifier (the leaf's authorityKeyIdentifier). */
  keyId: Buffer;
}

/** A random positive 128-bit serial (RFC 5280 allows up to 20 octets; CAs use at least 64 random bits). */
export function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x01;
  return bytes;
}

/** Builds and signs a v3 certificate; returns its DER. A self-signed root has `issuer` name = subject and its own key. */
export function buildCertificate(template: CertificateTemplate, issuer: Issuer, serial: Buffer = randomSerial()): Buffer {
  const spki = spkiOf(template.publicKey);
  const subjectEmpty = der.children(der.readElement(template.subject).content).length === 0;
  const extensions: Buffer[] = [];
  if (template.ca) {
    const constraints = template.pathLength === undefined ? [der.boolean(true)] : [der.boolean(true), der.smallInteger(template.pathLength)];
    extensions.push(extension(OID.basicConstraints, true, der.sequence(...constraints)));
    extensions.push(extension(OID.keyUsage, true, der.namedBits([KeyUsage.digitalSignature, KeyUsage.keyCertSign, KeyUsage.cRLSign])));
  } else {
    extensions.push(extension(OID.basicConstraints, true, der.sequence()));
    extensions.push(extension(OID.keyUsage, true, der.namedBits([KeyUsage.digitalSignature, KeyUsage.keyEncipherment])));
    extensions.push(extension(OID.extKeyUsage, false, der.sequence(der.oid(OID.serverAuth), der.oid(OID.clientAuth))));
  }
  if (template.uris?.length) extensions.push(extension(OID.subjectAltName, subjectEmpty, uriSans(template.uris)));
  extensions.push(extension(OID.subjectKeyIdentifier, false, der.octetString(keyIdentifier(spki))));
  extensions.push(extension(OID.authorityKeyIdentifier, false, der.sequence(der.contextTag(0, issuer.keyId, false))));
  const tbs = der.sequence(
    der.contextTag(0, der.smallInteger(2), true),
    der.unsignedInteger(serial),
    signatureAlgorithm(issuer.key).identifier,
    issuer.name,
    der.sequence(der.time(template.notBefore), der.time(template.notAfter)),
    template.subject,
    spki,
    der.contextTag(3, der.sequence(...extensions), true),
  );
  return signed(tbs, issuer.key);
}

/** PEM armour of DER bytes. */
export function toPem(label: string, body: Uint8Array): string {
  const base64 = Buffer.from(body).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every PEM block with this label in a text, as DER. */
export function fromPem(label: string, text: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64'));
}

/** The fields of a certificate an issuer needs: subject Name bytes and subjectKeyIdentifier (if present). */
export function certificateFields(certDer: Buffer): { subject: Buffer; keyId?: Buffer; spki: Buffer } {
  const [tbs] = der.children(der.readElement(certDer).content);
  if (!tbs) throw new Error('not a certificate');
  const fields = der.children(tbs.content);
  const base = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[base + 4];
  const spki = fields[base + 5];
  if (!subject || !spki) throw new Error('certificate TBS too short');
  const explicit = fields.find((f) => f.tag === 0xa3);
  let keyId: Buffer | undefined;
  for (const ext of explicit ? der.children(der.readElement(explicit.content).content) : []) {
    const parts = der.children(ext.content);
    if (parts[0] && der.readOid(parts[0].content) === OID.subjectKeyIdentifier) {
      keyId = der.readElement((parts[parts.length - 1] as der.Element).content).content;
    }
  }
  return keyId ? { subject: subject.raw, keyId, spki: spki.raw } : { subject: subject.raw, spki: spki.raw };
}

// ---- PKCS#10 certificate requests ----

/** A PKCS#10 request for a key, asking for these URI SANs (the CA decides the identity; the SANs are checked against it). */
export function buildCsr(key: KeyObject, uris: readonly string[] = []): Buffer {
  const attributes = uris.length
    ? der.sequence(der.oid(OID.extensionRequest), der.set(der.sequence(extension(OID.subjectAltName, true, uriSans(uris)))))
    : Buffer.alloc(0);
  const info = der.sequence(der.smallInteger(0), der.sequence(), spkiOf(key), der.contextTag(0, attributes, true));
  return signed(info, key);
}

export interface CertificateRequest {
  publicKey: KeyObject;
  /** URI SANs asked for in an extensionRequest attribute. */
  uris: string[];
}

function requestedUris(attributes: der.Element | undefined): string[] {
  const uris: string[] = [];
  for (const attribute of attributes ? der.children(attributes.content) : []) {
    const [type, values] = der.children(attribute.content);
    if (!type || !values || der.readOid(type.content) !== OID.extensionRequest) continue;
    for (const extensions of der.children(values.content)) {
      for (const ext of der.children(extensions.content)) {
        const parts = der.children(ext.content);
        if (!parts[0] || der.readOid(parts[0].content) !== OID.subjectAltName) continue;
        const names = der.readElement((parts[parts.length - 1] as der.Element).content);
        for (const name of der.children(names.content)) if (name.tag === 0x86) uris.push(name.content.toString('ascii'));
      }
    }
  }
  return uris;
}

const CSR_ALGORITHMS: ReadonlySet<string> = new Set([OID.ecdsaWithSha256, OID.sha256WithRsa, OID.ed25519]);

/** Parses a DER or PEM PKCS#10 request and verifies its self-signature; throws with the reason otherwise. */
export function verifyCsr(csr: Buffer | string): CertificateRequest {
  const bytes = typeof csr === 'string' ? fromPem('CERTIFICATE REQUEST', csr)[0] : csr;
  if (!bytes) throw new Error('no CERTIFICATE REQUEST PEM block');
  let info: der.Element | undefined;
  let algorithm: der.Element | undefined;
  let signature: der.Element | undefined;
  let publicKey: KeyObject;
  let fields: der.Element[];
  try {
    [info, algorithm, signature] = der.children(der.readElement(bytes).content);
    if (!info || !algorithm || !signature || signature.tag !== der.Tag.bitString) throw new Error('not a CertificationRequest');
    fields = der.children(info.content);
    const spki = fields[2];
    if (!spki) throw new Error('CertificationRequestInfo has no subjectPKInfo');
    publicKey = createPublicKey({ key: spki.raw, format: 'der', type: 'spki' });
  } catch (error) {
    throw new Error(`malformed certificate request: ${(error as Error).message}`);
  }
  const algorithmId = der.readOid((der.children(algorithm.content)[0] as der.Element).content);
  if (!CSR_ALGORITHMS.has(algorithmId)) throw new Error(`certificate request signed with algorithm ${algorithmId}: use ECDSA or RSA with SHA-256, or Ed25519`);
  const digest = algorithmId === OID.ed25519 ? null : 'sha256';
  if (!verify(digest, info.raw, publicKey, signature.content.subarray(1))) throw new Error('certificate request signature does not verify');
  return { publicKey, uris: requestedUris(fields.find((f) => f.tag === 0xa0)) };
}

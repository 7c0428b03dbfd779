// The mesh certificate authority: a signing certificate and key (a root generated on first start
// and kept in a directory, or a root or intermediate chain a user provides, or one kept in a
// Kubernetes Secret — see store.ts), and issuance of X.509 SVIDs whose only name is the SPIFFE
// URI SAN. Issued chains are leaf + intermediates; the trust bundle is the root.
import { X509Certificate, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as der from './der.js';
import { OID, buildCertificate, certificateFields, distinguishedName, fromPem, keyIdentifier, randomSerial, spkiOf, toPem, type Issuer } from './x509.js';

/** Injected time source (milliseconds since the epoch), so tests can move time without sleeping. */
export type Clock = () => number;

/** Issued certificates are valid from this long before issuance, for clocks a little behind ours. */
export const BACKDATE_MS = 60_000;
/** Lifetime of a generated root. */
export const ROOT_TTL_MS = 10 * 365 * 24 * 3600 * 1000;

/** The CA's material as PEM: the signing certificate first, then intermediates up to the root; and the signing key. */
export interface CaMaterial {
  certChainPem: string;
  keyPem: string;
}

/** One issued certificate. `certChainPem` is leaf + intermediates (what a TLS peer presents). */
export interface IssuedCertificate {
  spiffeId: string;
  certPem: string;
  certChainPem: string;
  /** Serial number, lower-case hex without separators. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** An issued certificate with the private key the CA generated for it. */
export interface IssuedKeyPair extends IssuedCertificate {
  privateKeyPem: string;
}

/** `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`. */
export function workloadSpiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** The identity of a node's agent (redirector, node tunnel): `spiffe://<trustDomain>/skiff/node/<node>`. */
export function nodeSpiffeId(trustDomain: string, node: string): string {
  return `spiffe://${trustDomain}/skiff/node/${node}`;
}

const SPIFFE_ID = /^spiffe:\/\/([a-z0-9._-]+)(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/;

/** The trust domain of a SPIFFE ID, or an Error saying why the text is not one. */
export function parseSpiffeId(id: string): { trustDomain: string; path: string } | Error {
  const m = SPIFFE_ID.exec(id);
  if (!m || id.includes('/./') || id.includes('/../') || id.endsWith('/.') || id.endsWith('/..')) {
    return new Error(`'${id}' is not a SPIFFE ID (spiffe://<trust-domain>/<path>)`);
  }
  return { trustDomain: m[1] as string, path: id.slice(`spiffe://${m[1] as string}`.length) };
}

export interface AuthorityOptions {
  clock?: Clock;
}

export class CertificateAuthority {
  /** The signing certificate followed by intermediates and the root, as given. */
  readonly chain: readonly X509Certificate[];
  /** The trust bundle: the last certificate of the chain (the root), PEM. */
  readonly rootPem: string;
  /** The intermediates a leaf chain carries after the leaf (the signing certificate and those above it, but not the root). */
  private readonly intermediatesPem: string;
  private readonly issuer: Issuer;
  private readonly clock: Clock;

  constructor(material: CaMaterial, options: AuthorityOptions = {}) {
    this.clock = options.clock ?? Date.now;
    const ders = fromPem('CERTIFICATE', material.certChainPem);
    if (ders.length === 0) throw new Error('CA certificate: no CERTIFICATE PEM block');
    const chain = ders.map((d) => new X509Certificate(d));
    const signer = chain[0] as X509Certificate;
    if (!signer.ca) throw new Error(`CA certificate ${signer.subject}: basicConstraints cA is not set`);
    for (let i = 0; i + 1 < chain.length; i++) {
      if (!(chain[i] as X509Certificate).checkIssued(chain[i + 1] as X509Certificate)) {
        throw new Error(`CA chain: certificate ${i + 1} (${(chain[i] as X509Certificate).subject}) is not issued by the next one`);
      }
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(material.keyPem);
    } catch (error) {
      throw new Error(`CA key: ${(error as Error).message}`);
    }
    if (!signer.checkPrivateKey(key)) throw new Error('CA key does not match the CA certificate');
    const fields = certificateFields(ders[0] as Buffer);
    this.issuer = { name: fields.subject, key, keyId: fields.keyId ?? keyIdentifier(fields.spki) };
    this.chain = chain;
    this.rootPem = toPem('CERTIFICATE', ders[ders.length - 1] as Buffer);
    const intermediates = ders.length > 1 ? ders.slice(0, -1) : [];
    this.intermediatesPem = intermediates.map((d) => toPem('CERTIFICATE', d)).join('');
  }

  /** A new self-signed root (EC P-256) for this trust domain. */
  static generateRoot(trustDomain: string, options: AuthorityOptions = {}): CaMaterial {
    const now = (options.clock ?? Date.now)();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const name = distinguishedName([
      [OID.organization, trustDomain],
      [OID.commonName, 'skiff root CA'],
    ]);
    const spki = spkiOf(privateKey);
    const cert = buildCertificate(
      { subject: name, publicKey: privateKey, notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + ROOT_TTL_MS), ca: true },
      { name, key: privateKey, keyId: keyIdentifier(spki) },
    );
    return { certChainPem: toPem('CERTIFICATE', cert), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  }

  /** The signing certificate (root or intermediate). */
  get signingCertificate(): X509Certificate {
    return this.chain[0] as X509Certificate;
  }

  /**
   * Issues an SVID for a public key: the only name is the URI SAN `spiffeId` (critical, empty
   * subject); valid from BACKDATE_MS ago for `ttlMs`, never past the signing certificate.
   */
  issue(spiffeId: string, publicKey: KeyObject, ttlMs: number): IssuedCertificate {
    const parsed = parseSpiffeId(spiffeId);
    if (parsed instanceof Error) throw parsed;
    if (!(ttlMs > 0)) throw new Error(`certificate lifetime must be positive, not ${ttlMs} ms`);
    const now = this.clock();
    const caNotAfter = Date.parse(this.signingCertificate.validTo);
    const notBefore = new Date(Math.floor((now - BACKDATE_MS) / 1000) * 1000);
    const notAfter = new Date(Math.floor(Math.min(now + ttlMs, caNotAfter) / 1000) * 1000);
    const serial = randomSerial();
    const certDer = buildCertificate({ subject: der.sequence(), publicKey, notBefore, notAfter, ca: false, uris: [spiffeId] }, this.issuer, serial);
    const certPem = toPem('CERTIFICATE', certDer);
    return { spiffeId, certPem, certChainPem: certPem + this.intermediatesPem, serial: serial.toString('hex'), notBefore, notAfter };
  }

  /** Issues an SVID together with a new EC P-256 key the CA generated (for clients that send no CSR). */
  issueWithKey(spiffeId: string, ttlMs: number): IssuedKeyPair {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const issued = this.issue(spiffeId, privateKey, ttlMs);
    return { ...issued, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  }
}

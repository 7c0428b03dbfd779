// What operators see of a Secret: a summary for `skiff proxy-config secrets` (type, serial,
// validity, trust domain) and the redaction config dumps apply, as Envoy's admin does: private
// keys never leave the control plane through its debug API.
import { X509Certificate } from 'node:crypto';
import { IdentityType } from '../../proto/skiff/v1alpha1/identity-wire.js';
import { SECRET_TYPE } from '../translate/constants.js';
import { parseSpiffeId } from './authority.js';

export const REDACTED = '[redacted]';

/** A Secret's summary: one row of `skiff proxy-config secrets`. Dates are ISO 8601; '-' fields are absent. */
export interface SecretSummary {
  name: string;
  /** `Cert Chain` (tls_certificate), `CA` (validation_context), or `other`. */
  type: 'Cert Chain' | 'CA' | 'other';
  /** The first certificate's serial number (upper-case hex as X509Certificate prints it). */
  serial?: string;
  notBefore?: string;
  notAfter?: string;
  /** Parsed and within its validity at `now`. */
  valid: boolean;
  /** Trust domain of the leaf's SPIFFE URI SAN, or of the SAN matcher a validation context asks for. */
  trustDomain?: string;
  /** Why the certificate could not be read (filename sources, malformed PEM). */
  problem?: string;
}

type Json = Record<string, unknown>;

function obj(value: unknown): Json {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

/** The PEM text of an Envoy DataSource (inline_string, or inline_bytes as base64 in JSON). */
function dataSourceText(source: unknown): string | undefined {
  const s = obj(source);
  if (typeof s.inline_string === 'string') return s.inline_string;
  if (typeof s.inline_bytes === 'string') return Buffer.from(s.inline_bytes, 'base64').toString('utf8');
  return undefined;
}

function spiffeTrustDomain(cert: X509Certificate): string | undefined {
  for (const name of (cert.subjectAltName ?? '').split(', ')) {
    if (!name.startsWith('URI:')) continue;
    const parsed = parseSpiffeId(name.slice(4));
    if (!(parsed instanceof Error)) return parsed.trustDomain;
  }
  return undefined;
}

function matcherTrustDomain(context: Json): string | undefined {
  for (const san of Array.isArray(context.match_typed_subject_alt_names) ? context.match_typed_subject_alt_names : []) {
    const regex = obj(obj(obj(san).matcher).safe_regex).regex;
    const m = typeof regex === 'string' ? /^spiffe:\/\/(.+?)\/ns\//.exec(regex) : null;
    if (m) return (m[1] as string).replaceAll('\\', '');
  }
  return undefined;
}

/**
 * Summarizes one Secret as JSON: the resource itself or a config dump's `dynamic_active_secrets`
 * entry (`{ name, secret: {...} }`).
 */
export function describeSecret(secretJson: unknown, now: number = Date.now()): SecretSummary {
  const entry = obj(secretJson);
  const secret = entry.secret ? obj(entry.secret) : entry;
  const name = String(secret.name ?? entry.name ?? '');
  const tls = secret.tls_certificate ? obj(secret.tls_certificate) : undefined;
  const validation = secret.validation_context ? obj(secret.validation_context) : undefined;
  const type = tls ? 'Cert Chain' : validation ? 'CA' : 'other';
  const summary: SecretSummary = { name, type, valid: false };
  if (validation) {
    const td = matcherTrustDomain(validation);
    if (td) summary.trustDomain = td;
  }
  if (type === 'other') return summary;
  const source = tls ? tls.certificate_chain : (validation as Json).trusted_ca;
  const pem = dataSourceText(source);
  if (!pem) {
    const file = obj(source).filename;
    summary.problem = typeof file === 'string' ? `read by the proxy from ${file}` : 'no certificate';
    return summary;
  }
  try {
    const cert = new X509Certificate(pem);
    summary.serial = cert.serialNumber;
    summary.notBefore = new Date(cert.validFrom).toISOString();
    summary.notAfter = new Date(cert.validTo).toISOString();
    summary.valid = Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
    summary.trustDomain ??= spiffeTrustDomain(cert);
    if (!summary.trustDomain) delete summary.trustDomain;
  } catch (error) {
    summary.problem = (error as Error).message;
  }
  return summary;
}

/** Type URLs of skiff's own resources that carry a private key in `private_key_pem`. */
const KEY_BEARING: ReadonlySet<string> = new Set([IdentityType.workloadCertificate]);

/**
 * A resource's JSON with private keys replaced by `[redacted]` (as Envoy's admin /config_dump
 * does): a Secret's tls_certificate.private_key, and `private_key_pem` of key-bearing skiff types.
 * Key-bearing resources whose type is not loaded (bytes in `value`) lose their bytes.
 */
export function redactResource(typeUrl: string, json: Record<string, unknown>): Record<string, unknown> {
  if (typeUrl === SECRET_TYPE && json.tls_certificate) {
    const tls = obj(json.tls_certificate);
    return tls.private_key ? { ...json, tls_certificate: { ...tls, private_key: { inline_string: REDACTED } } } : json;
  }
  if (KEY_BEARING.has(typeUrl)) {
    if ('value' in json) return { ...json, value: REDACTED };
    if ('private_key_pem' in json) return { ...json, private_key_pem: REDACTED };
  }
  return json;
}

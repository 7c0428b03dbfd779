// The identity material an attested agent is served (identity.proto over its xDS stream): the
// WorkloadCertificates of its node's workloads and its own `node` certificate, and the TrustBundle.
// Checked before the agent takes them (a bad one NACKs the response), and turned into the
// certificates the HBONE tunnel presents.
import { X509Certificate } from 'node:crypto';
import {
  IdentityType,
  NODE_CERTIFICATE_NAME,
  type TrustBundle__Output,
  type WorkloadCertificate__Output,
} from '../../proto/skiff/v1alpha1/identity-wire.js';
import type { TunnelCertificate } from './hbone.js';

function pemProblem(field: string, pem: string): string | undefined {
  try {
    new X509Certificate(pem);
    return undefined;
  } catch (err) {
    return `${field}: not a PEM certificate (${(err as Error).message})`;
  }
}

/** Why an identity resource is invalid, or undefined when it is fine. */
export function identityResourceProblem(url: string, message: WorkloadCertificate__Output | TrustBundle__Output): string | undefined {
  if (url === IdentityType.trustBundle) return pemProblem('root_ca_pem', (message as TrustBundle__Output).root_ca_pem);
  const m = message as WorkloadCertificate__Output;
  if (!m.spiffe_id.startsWith('spiffe://')) return `spiffe_id: '${m.spiffe_id}' is not a SPIFFE ID`;
  if (!m.private_key_pem.includes('PRIVATE KEY')) return 'private_key_pem: no PEM private key';
  return pemProblem('cert_chain_pem', m.cert_chain_pem) ?? pemProblem('root_ca_pem', m.root_ca_pem);
}

/** The certificates the HBONE tunnel presents: every workload identity's (not the node's own). */
export function tunnelCertificates(certificates: ReadonlyMap<string, WorkloadCertificate__Output>): TunnelCertificate[] {
  const out: TunnelCertificate[] = [];
  for (const [name, c] of certificates) {
    if (name === NODE_CERTIFICATE_NAME) continue;
    out.push({ spiffeId: c.spiffe_id, certChainPem: c.cert_chain_pem, privateKeyPem: c.private_key_pem, rootCaPem: c.root_ca_pem, serial: c.serial, notAfterMs: Number(c.not_after_ms) });
  }
  return out;
}

// The CA package's public surface: the authority and where its root comes from, SVIDs cached per
// identity with rotation, node attestation by bootstrap token, who may hold which identity, the
// SDS and redirector resources, the CertificateService RPC, and what the CLI shows of a secret.
export {
  BACKDATE_MS,
  CertificateAuthority,
  type AuthorityOptions,
  type CaMaterial,
  type Clock,
  type IssuedCertificate,
  type IssuedKeyPair,
  nodeSpiffeId,
  parseSpiffeId,
  workloadSpiffeId,
} from './authority.js';
export { ROOT_CERT_FILE, ROOT_KEY_FILE, type DirectoryCaOptions, loadCaFiles, loadOrCreateCaDirectory } from './store.js';
export { KUBE_CA_NAMESPACE, KUBE_CA_SECRET, loadOrCreateCaSecret, type KubeCaOptions } from './kube.js';
export { BootstrapTokens, TOKEN_DIR, TOKEN_KEY_FILE, nodeSubject, waypointSubject } from './attest.js';
export { type CachedSvid, DEFAULT_TTL_MS, SvidCache, type SvidCacheOptions } from './svids.js';
export {
  IssuanceError,
  WorkloadIdentities,
  certificateTtlMs,
  nodeProxySpiffeId,
  nodeWorkloadIdentities,
  waypointSpiffeId,
} from './identities.js';
export { IdentitySecrets, UNATTESTED, baseClassKey } from './sds.js';
export { addCertificateService } from './service.js';
export { type SecretSummary, describeSecret, redactResource } from './describe.js';
export { buildCsr, verifyCsr, type CertificateRequest } from './x509.js';

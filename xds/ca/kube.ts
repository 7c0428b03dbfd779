// The CA root kept in a Kubernetes Secret (`kubernetes.io/tls`, `skiff-ca` in `skiff-system`,
// data tls.crt = the signing chain, tls.key = its key): read at start; when absent, a root is
// generated and the Secret created. When two control planes race, the loser of the create (409
// Conflict) reads the winner's root, so every replica signs with the same one.
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { Logger } from '../../config/log.js';
import { logger } from '../../config/log.js';
import { CertificateAuthority, type AuthorityOptions, type CaMaterial } from './authority.js';

export const KUBE_CA_NAMESPACE = 'skiff-system';
export const KUBE_CA_SECRET = 'skiff-ca';

export interface KubeCaOptions extends AuthorityOptions {
  kubeConfig: KubeConfig;
  trustDomain: string;
  namespace?: string;
  name?: string;
  log?: Logger;
}

function httpCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function materialOf(secret: V1Secret, where: string): CaMaterial {
  const crt = secret.data?.['tls.crt'];
  const key = secret.data?.['tls.key'];
  if (!crt || !key) throw new Error(`CA Secret ${where} has no tls.crt and tls.key`);
  return { certChainPem: Buffer.from(crt, 'base64').toString('utf8'), keyPem: Buffer.from(key, 'base64').toString('utf8') };
}

/** The CA whose root is in the Secret, creating the Secret with a new root when it does not exist. */
export async function loadOrCreateCaSecret(options: KubeCaOptions): Promise<CertificateAuthority> {
  const log = options.log ?? logger('ca');
  const namespace = options.namespace ?? KUBE_CA_NAMESPACE;
  const name = options.name ?? KUBE_CA_SECRET;
  const where = `${namespace}/${name}`;
  const api = options.kubeConfig.makeApiClient(CoreV1Api);
  const read = async (): Promise<CertificateAuthority | undefined> => {
    try {
      const ca = new CertificateAuthority(materialOf(await api.readNamespacedSecret({ name, namespace }), where), options);
      log.info({ secret: where, subject: ca.signingCertificate.subject, notAfter: ca.signingCertificate.validTo }, 'CA root loaded from Secret');
      return ca;
    } catch (error) {
      if (httpCode(error) === 404) return undefined;
      throw new Error(`CA Secret ${where}: ${(error as Error).message}`);
    }
  };
  const existing = await read();
  if (existing) return existing;
  const material = CertificateAuthority.generateRoot(options.trustDomain, options);
  const body: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'skiff' } },
    data: { 'tls.crt': Buffer.from(material.certChainPem).toString('base64'), 'tls.key': Buffer.from(material.keyPem).toString('base64') },
  };
  try {
    await api.createNamespacedSecret({ namespace, body });
  } catch (error) {
    if (httpCode(error) !== 409) throw new Error(`CA Secret ${where}: cannot create it: ${(error as Error).message}`);
    const winner = await read();
    if (!winner) throw new Error(`CA Secret ${where}: created elsewhere but cannot be read`);
    return winner;
  }
  log.info({ secret: where, trustDomain: options.trustDomain }, 'CA root generated and stored in a Secret');
  return new CertificateAuthority(material, options);
}

// Where the CA's root comes from: files a user provides (PEM certificate chain and key), or a
// directory where a root is generated on first start and kept (key mode 0600) so every restart
// signs with the same root.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../config/log.js';
import { logger } from '../../config/log.js';
import { CertificateAuthority, type AuthorityOptions, type CaMaterial } from './authority.js';

export const ROOT_CERT_FILE = 'root-cert.pem';
export const ROOT_KEY_FILE = 'root-key.pem';

/** Writes a file atomically (temporary name, then rename) with this mode. */
export function writePrivateFile(path: string, content: string, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** A CA from files a user provides: a PEM chain (signing certificate first, root last) and its key. */
export function loadCaFiles(certFile: string, keyFile: string, options: AuthorityOptions = {}): CertificateAuthority {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`CA: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const material = { certChainPem: read(certFile), keyPem: read(keyFile) };
  try {
    return new CertificateAuthority(material, options);
  } catch (error) {
    throw new Error(`CA from ${certFile} and ${keyFile}: ${(error as Error).message}`);
  }
}

export interface DirectoryCaOptions extends AuthorityOptions {
  trustDomain: string;
  log?: Logger;
}

/**
 * The CA kept in `dir`: loads root-cert.pem and root-key.pem, or generates a root on first start
 * and writes them (directory 0700, key 0600). A directory with only one of the two files is an
 * error, never silently replaced (workloads would lose trust in every issued certificate).
 */
export function loadOrCreateCaDirectory(dir: string, options: DirectoryCaOptions): CertificateAuthority {
  const log = options.log ?? logger('ca');
  const certFile = join(dir, ROOT_CERT_FILE);
  const keyFile = join(dir, ROOT_KEY_FILE);
  const hasCert = existsSync(certFile);
  const hasKey = existsSync(keyFile);
  if (hasCert && hasKey) {
    const ca = loadCaFiles(certFile, keyFile, options);
    log.info({ dir, subject: ca.signingCertificate.subject, notAfter: ca.signingCertificate.validTo }, 'CA root loaded');
    return ca;
  }
  if (hasCert || hasKey) throw new Error(`CA directory ${dir} has ${hasCert ? ROOT_CERT_FILE : ROOT_KEY_FILE} but not ${hasCert ? ROOT_KEY_FILE : ROOT_CERT_FILE}; restore it or empty the directory`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const material: CaMaterial = CertificateAuthority.generateRoot(options.trustDomain, options);
  writePrivateFile(keyFile, material.keyPem);
  writePrivateFile(certFile, material.certChainPem, 0o644);
  const ca = new CertificateAuthority(material, options);
  log.info({ dir, trustDomain: options.trustDomain, notAfter: ca.signingCertificate.validTo }, 'CA root generated');
  return ca;
}

// Validation of skiff.io/v1alpha1 MeshConfig: trust domain, encryption mode, ports and lifetimes.
import { HBONE_OUTBOUND_PORT } from '../ports.js';
import { type Field } from './fields.js';

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const PORT_FIELDS = ['proxyPort', 'hbonePort', 'ingressProxyPort'];

export function validateMeshConfig(root: Field): void {
  const spec = root.opt('spec');
  if (!spec?.object()) return;
  spec.opt('trustDomain')?.string({ min: 1, max: 255, pattern: TRUST_DOMAIN, patternHint: 'must be a SPIFFE trust domain (lowercase letters, digits, ".", "-" and "_")' });
  spec.opt('encryption')?.oneOf(['none', 'hbone', 'wireguard'] as const);
  spec.opt('clusterDomain')?.dnsSubdomain();
  spec.opt('certificateTTL')?.goDuration();
  const used = new Map<number, string>();
  for (const key of PORT_FIELDS) {
    const port = spec.opt(key)?.port();
    if (port === undefined) continue;
    const other = used.get(port);
    if (other) spec.at(key).error(`must differ from ${other} (${port})`);
    else if (port === HBONE_OUTBOUND_PORT) spec.at(key).error(`must not be ${port}: every node agent listens there itself (the HBONE outbound listener)`);
    used.set(port, key);
  }
}

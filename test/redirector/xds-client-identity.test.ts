// The redirector's xDS client with the identity types: it sends its bootstrap token as call metadata
// x-skiff-token, subscribes to WorkloadCertificate and TrustBundle beside its own types, takes
// valid certificates and NACKs a response holding one that is not (the last good state stays).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logger } from '../../config/log.js';
import { CertificateAuthority } from '../../xds/ca/authority.js';
import { SnapshotCache, XdsServer } from '../../xds/index.js';
import { CREDENTIAL_HEADER } from '../../xds/client-info.js';
import { IdentityType, TOKEN_HEADER, encodeIdentityResource } from '../../proto/skiff/v1alpha1/identity-wire.js';
import { RedirectorXdsClient, type ResourceUpdate } from '../../redirector/xds-client.js';
import { tunnelCertificates } from '../../redirector/tunnel/certificates.js';
import type { WorkloadCertificate__Output } from '../../proto/skiff/v1alpha1/identity-wire.js';
import { eventually } from './harness.js';

const SPIFFE = 'spiffe://cluster.local/ns/demo/sa/web';

test('the agent\'s stream carries its token, takes valid WorkloadCertificates and NACKs a broken one', async (t) => {
  assert.equal(TOKEN_HEADER, CREDENTIAL_HEADER, 'the agent sends the header the xDS server reads the credential from');
  const ca = new CertificateAuthority(CertificateAuthority.generateRoot('cluster.local'));
  const svid = ca.issueWithKey(SPIFFE, 3600_000);
  const certificate = (chain: string) => ({
    name: SPIFFE,
    value: encodeIdentityResource(IdentityType.workloadCertificate, {
      spiffe_id: SPIFFE, workloads: ['demo/web'], cert_chain_pem: chain, private_key_pem: svid.privateKeyPem, root_ca_pem: ca.rootPem,
      serial: svid.serial, not_before_ms: svid.notBefore.getTime(), not_after_ms: svid.notAfter.getTime(), refresh_after_ms: 0,
    }),
  });
  let credential: string | undefined;
  const cache = new SnapshotCache({
    classOf: (client) => {
      credential = client.credential;
      return 'redirector/n1';
    },
  });
  cache.update('redirector/n1', { [IdentityType.workloadCertificate]: [certificate(svid.certChainPem)] });
  const server = new XdsServer({ cache });
  const port = await server.listen('127.0.0.1:0');
  t.after(() => server.close(0));
  const held = new Map<string, WorkloadCertificate__Output>();
  const client = new RedirectorXdsClient({
    address: `127.0.0.1:${port}`,
    node: 'n1',
    token: () => 'the-token',
    log: logger('test'),
    onUpdate(update: ResourceUpdate) {
      if (update.typeUrl !== IdentityType.workloadCertificate) return;
      for (const [name, message] of update.updated) held.set(name, message as WorkloadCertificate__Output);
    },
  });
  client.start();
  t.after(() => client.stop());
  await eventually('the certificate', () => (held.size > 0 ? true : undefined));
  assert.equal(credential, 'the-token');
  const [tunnel] = tunnelCertificates(held);
  assert.equal(tunnel?.spiffeId, SPIFFE);
  assert.equal(tunnel?.notAfterMs, svid.notAfter.getTime());

  cache.update('redirector/n1', { [IdentityType.workloadCertificate]: [certificate('not a certificate')] });
  const status = await eventually('the NACK', () => {
    const s = client.status.get(IdentityType.workloadCertificate);
    return s && s.nacks > 0 ? s : undefined;
  });
  assert.match(status.lastNackError, /spiffe:\/\/cluster.local\/ns\/demo\/sa\/web: cert_chain_pem: not a PEM certificate/);
  assert.equal(held.get(SPIFFE)?.cert_chain_pem, svid.certChainPem, 'the last good certificate stays');
});

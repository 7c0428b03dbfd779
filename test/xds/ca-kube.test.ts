// The CA root in a Kubernetes Secret (kubernetes.io/tls skiff-system/skiff-ca) against the fixture
// API server: created with a new root when absent, the same root read back by the next start, a
// Secret the user put there used as is, and two control planes starting at once agree on one root.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { CertificateAuthority } from '../../xds/ca/authority.js';
import { KUBE_CA_NAMESPACE, KUBE_CA_SECRET, loadOrCreateCaSecret } from '../../xds/ca/kube.js';
import { KubeApiServer } from '../fixtures/kube-apiserver.js';

let api: KubeApiServer;

before(async () => {
  api = await KubeApiServer.start();
});

after(async () => {
  await api.close();
});

test('a root is generated into the Secret on first start and read back on the next', async () => {
  const first = await loadOrCreateCaSecret({ kubeConfig: api.kubeConfig(), trustDomain: 'example.org' });
  const created = api.requests.filter((r) => r.path === `/api/v1/namespaces/${KUBE_CA_NAMESPACE}/secrets`);
  assert.deepEqual(created.map((r) => r.status), [201]);
  const second = await loadOrCreateCaSecret({ kubeConfig: api.kubeConfig(), trustDomain: 'example.org' });
  assert.equal(second.rootPem, first.rootPem);
  const svid = first.issueWithKey('spiffe://example.org/ns/a/sa/b', 60_000);
  assert.ok(new X509Certificate(svid.certPem).verify(new X509Certificate(second.rootPem).publicKey));
  assert.equal(api.requests.filter((r) => r.path.endsWith(`/secrets/${KUBE_CA_SECRET}`)).at(-1)?.status, 200);
});

test("a user's Secret is used as is; two control planes starting at once agree on one root", async () => {
  const material = CertificateAuthority.generateRoot('corp.example');
  api.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'user-ca', namespace: 'security' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(material.certChainPem).toString('base64'), 'tls.key': Buffer.from(material.keyPem).toString('base64') },
  });
  const ca = await loadOrCreateCaSecret({ kubeConfig: api.kubeConfig(), trustDomain: 'x', namespace: 'security', name: 'user-ca' });
  assert.equal(ca.rootPem, material.certChainPem);

  const [a, b] = await Promise.all([1, 2].map(() => loadOrCreateCaSecret({ kubeConfig: api.kubeConfig(), trustDomain: 'x', namespace: 'race', name: 'ca' })));
  assert.equal(a?.rootPem, b?.rootPem);
  const posts = api.requests.filter((r) => r.path === '/api/v1/namespaces/race/secrets').map((r) => r.status).sort();
  assert.deepEqual(posts, [201, 409], 'the loser of the create reads the winner');

  api.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'broken', namespace: 'security' }, data: { 'tls.crt': 'AAAA' } });
  await assert.rejects(loadOrCreateCaSecret({ kubeConfig: api.kubeConfig(), trustDomain: 'x', namespace: 'security', name: 'broken' }), /security\/broken has no tls.crt and tls.key/);
});

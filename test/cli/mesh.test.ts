// `skiff mesh` through the real binary (exit codes, tables) and in process (json/yaml, usage), on the
// example mesh and on a directory with problems.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { UsageError } from '../../cli/command.js';
import { meshCommand, showMesh } from '../../cli/commands/mesh.js';

const bin = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const examples = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));

function skiff(...args: string[]) {
  return spawnSync(process.execPath, [bin, 'mesh', ...args], { encoding: 'utf8', env: { ...process.env, SKIFF_LOG_LEVEL: 'warn' } });
}

test('skiff mesh prints the example mesh as tables and exits 0', () => {
  const r = skiff('--config', examples);
  assert.equal(r.status, 0, r.stderr);
  for (const title of ['SERVICES', 'ENDPOINTS', 'WORKLOADS', 'ROUTES', 'ROUTE ATTACHMENTS', 'POLICIES', 'NEEDS L7']) assert.match(r.stdout, new RegExp(`^${title}`, 'm'));
  assert.match(r.stdout, /^shop\s+orders\s+10\.96\.0\.20:8080\/TCP\(http\)\s+3\s+selector/m);
  assert.match(r.stdout, /HTTPRoute\s+shop\s+orders-canary\s+shop\/orders:8080\s+True\s+True/);
  assert.match(r.stdout, /shop\/orders-v1:8080 w90, shop\/orders-v2:8080 w10/);
  assert.match(r.stdout, /^ISSUES: none$/m);
});

test('skiff mesh -o json and -o yaml hold the full snapshot', async () => {
  const json = await showMesh(examples, 'json');
  assert.equal(json.code, 0);
  const data = JSON.parse(json.text);
  assert.equal(data.services['shop/orders'].fqdn, 'orders.shop.svc.cluster.local');
  assert.ok(Object.keys(data.l7).some((k: string) => k.startsWith('shop/payments-')));
  assert.deepEqual(data.issues, []);
  const yaml = await showMesh(examples, 'yaml');
  assert.equal(yaml.code, 0);
  assert.deepEqual(parse(yaml.text).services, data.services);
});

test('skiff mesh reports unresolved references and exits 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-mesh-cli-'));
  try {
    writeFileSync(
      join(dir, 'mesh.yaml'),
      `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.1
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: web, port: 80}]
  rules:
  - backendRefs: [{name: gone, port: 80}, {name: web, namespace: other, port: 80}]
`,
    );
    const r = skiff('--config', dir);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /HTTPRoute\s+shop\s+web\s+shop\/web:80\s+True\s+False \(BackendNotFound\)/);
    assert.match(r.stdout, /error\s+snapshot: HTTPRoute\/shop\/web spec\.rules\[0\]\.backendRefs\[0\]: BackendNotFound: Service shop\/gone not found/);
    assert.match(r.stdout, /RefNotPermitted: backendRef to Service other\/web is not permitted/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('skiff mesh usage errors are UsageErrors (exit 2 from the dispatcher); help has an example', async () => {
  await assert.rejects(meshCommand.run(['--bogus']), UsageError);
  await assert.rejects(meshCommand.run(['--config', '/nonexistent/skiff-dir']), UsageError);
  await assert.rejects(meshCommand.run(['--config', examples, '-o', 'xml']), UsageError);
  await assert.rejects(meshCommand.run(['--config']), UsageError);
  assert.match(meshCommand.help, /Examples:\n {2}skiff mesh --config examples\/mesh/);
  assert.equal(skiff('--bogus').status, 2);
});

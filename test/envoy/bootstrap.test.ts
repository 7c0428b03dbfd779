// Envoy bootstraps: complete, checked against envoy.config.bootstrap.v3.Bootstrap with the real
// protos and their validate rules, printed by `skiff envoy-bootstrap`, and run by a real envoy
// only where one is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { BOOTSTRAP_TYPE, bootstrapMessage, envoyBootstrap } from '../../envoy/bootstrap.js';
import { EnvoyNotFound, findEnvoy, startEnvoy } from '../../envoy/run.js';
import { validateResource } from '../../xds/validate/index.js';

const bin = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

function skiff(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
}

type Obj = { [k: string]: unknown };

test('node-proxy bootstrap: Delta ADS to the control plane, admin on loopback, role metadata, no rule broken', () => {
  const message = bootstrapMessage({ role: 'node-proxy', nodeId: 'node-a', xdsHost: '127.0.0.1', xdsPort: 15010 });
  assert.deepEqual(validateResource(BOOTSTRAP_TYPE, message), []);
  const json = envoyBootstrap({ role: 'node-proxy', nodeId: 'node-a', xdsHost: '127.0.0.1', xdsPort: 15010 });
  const ads = (json.dynamic_resources as Obj).ads_config as Obj;
  assert.equal(ads.api_type, 'DELTA_GRPC');
  assert.deepEqual(ads.grpc_services, [{ envoy_grpc: { cluster_name: 'xds-grpc' } }]);
  assert.deepEqual((json.node as Obj).metadata, { role: 'node-proxy', node_name: 'node-a' });
  assert.equal((((json.admin as Obj).address as Obj).socket_address as Obj).address, '127.0.0.1');
  const cluster = ((json.static_resources as Obj).clusters as Obj[])[0] as Obj;
  assert.equal(cluster.connect_timeout, '5s', 'durations are proto3 JSON strings');
  assert.equal(cluster.type, 'STATIC');
});

test('waypoint bootstrap: Gateway metadata and the internal listener extension; a hostname xDS address resolves by DNS', () => {
  const options = { role: 'waypoint' as const, nodeId: 'wp-1', namespace: 'shop', name: 'waypoint', xdsHost: 'cp.skiff.svc', xdsPort: 15010 };
  assert.deepEqual(validateResource(BOOTSTRAP_TYPE, bootstrapMessage(options)), []);
  const json = envoyBootstrap(options);
  assert.deepEqual((json.node as Obj).metadata, { role: 'waypoint', namespace: 'shop', name: 'waypoint' });
  assert.equal(((json.bootstrap_extensions as Obj[])[0] as Obj).name, 'envoy.bootstrap.internal_listener');
  assert.equal((((json.static_resources as Obj).clusters as Obj[])[0] as Obj).type, 'STRICT_DNS');
});

test('skiff envoy-bootstrap prints JSON or YAML, SotW on request, and rejects bad usage with exit 2', () => {
  const json = skiff('envoy-bootstrap', '--role', 'node-proxy', '--node-id', 'n1', '--node-name', 'node-b', '--xds', '10.0.0.1:15010', '--sotw');
  assert.equal(json.status, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as Obj;
  assert.equal(((parsed.dynamic_resources as Obj).ads_config as Obj).api_type, 'GRPC');
  assert.equal(((parsed.node as Obj).metadata as Obj).node_name, 'node-b');
  const yaml = skiff('envoy-bootstrap', '--role', 'node-proxy', '--node-id', 'n1', '--xds', '127.0.0.1:15010', '-o', 'yaml');
  assert.equal(yaml.status, 0, yaml.stderr);
  assert.deepEqual(parse(yaml.stdout), envoyBootstrap({ role: 'node-proxy', nodeId: 'n1', xdsHost: '127.0.0.1', xdsPort: 15010 }));
  const noName = skiff('envoy-bootstrap', '--role', 'waypoint', '--node-id', 'w', '--xds', '127.0.0.1:15010');
  assert.equal(noName.status, 2);
  assert.match(noName.stderr, /needs --namespace and --name/);
  const badXds = skiff('envoy-bootstrap', '--role', 'node-proxy', '--node-id', 'w', '--xds', 'nowhere');
  assert.equal(badXds.status, 2);
});

test('skiff envoy-bootstrap --token-file puts the bootstrap token in the ADS stream\'s initial_metadata (x-skiff-token); a missing file is a usage error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bootstrap-'));
  try {
    const file = join(dir, 'node.node-a.token');
    writeFileSync(file, 'tok-123\n', { mode: 0o600 });
    assert.deepEqual(validateResource(BOOTSTRAP_TYPE, bootstrapMessage({ role: 'node-proxy', nodeId: 'a', xdsHost: '127.0.0.1', xdsPort: 15010, token: 'tok-123' })), []);
    const r = skiff('envoy-bootstrap', '--role', 'node-proxy', '--node-id', 'node-a', '--xds', '127.0.0.1:15010', '--token-file', file);
    assert.equal(r.status, 0, r.stderr);
    const ads = ((JSON.parse(r.stdout) as Obj).dynamic_resources as Obj).ads_config as Obj;
    assert.deepEqual(ads.grpc_services, [{ envoy_grpc: { cluster_name: 'xds-grpc' }, initial_metadata: [{ key: 'x-skiff-token', value: 'tok-123' }] }]);
    const missing = skiff('envoy-bootstrap', '--role', 'node-proxy', '--node-id', 'node-a', '--xds', '127.0.0.1:15010', '--token-file', join(dir, 'nope'));
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--token-file: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('envoy is started only where it is installed; otherwise EnvoyNotFound says so', async () => {
  const bootstrap = envoyBootstrap({ role: 'node-proxy', nodeId: 'test', xdsHost: '127.0.0.1', xdsPort: 1, adminPort: 0 });
  assert.throws(() => startEnvoy(bootstrap, { binary: findEnvoy('') }), EnvoyNotFound);
  const envoy = findEnvoy();
  if (!envoy) {
    const r = skiff('envoy-bootstrap', '--role', 'node-proxy', '--node-id', 'n', '--xds', '127.0.0.1:1', '--run');
    assert.equal(r.status, 3);
    assert.match(r.stderr, /no envoy binary on PATH/);
    return;
  }
  // A real envoy: it must accept the bootstrap (it stays up waiting for xDS) until we stop it.
  const child = startEnvoy(bootstrap, { binary: envoy, logLevel: 'warn', baseId: 9123 });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const early = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('running'), 2000))]);
  child.kill('SIGTERM');
  await exited;
  assert.equal(early, 'running', 'envoy rejected the bootstrap');
});

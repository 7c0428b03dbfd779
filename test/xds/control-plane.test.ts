// `skiff control-plane` through the real binary: it loads a config directory, serves xDS and the
// admin API on the given addresses, answers a client, and shuts down gracefully on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TypeUrl } from '../../xds/protos.js';
import type { ClientView } from '../../xds/connection.js';
import { eventually, getJson, nodeProxy } from './fixtures.js';
import { RawXdsClient, names } from './raw-client.js';
import { TRANSPARENT_LISTENER } from '../../xds/translate/listeners.js';
import { RedirectorType } from '../../proto/skiff/v1alpha1/wire.js';

const bin = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const examples = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));

/** The port a pino line `msg` reported, read from the child's stderr. */
function portFrom(stderr: string, msg: string): number | undefined {
  for (const line of stderr.split('\n')) {
    if (!line.includes(msg)) continue;
    const entry = JSON.parse(line) as { port?: number };
    return entry.port;
  }
  return undefined;
}

test('skiff control-plane serves xDS and admin, and exits 0 on SIGTERM with streams ended UNAVAILABLE', async () => {
  const child = spawn(process.execPath, [bin, 'control-plane', '--config', examples, '--xds', '127.0.0.1:0', '--admin', '127.0.0.1:0'], {
    env: { ...process.env, SKIFF_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  let client: RawXdsClient | undefined;
  try {
    await eventually(() => portFrom(stderr, 'admin HTTP listening') !== undefined, 15000, 'the admin endpoint');
    const xdsPort = portFrom(stderr, 'xDS server listening') as number;
    const admin = `http://127.0.0.1:${portFrom(stderr, 'admin HTTP listening')}`;
    assert.equal((await fetch(`${admin}/readyz`)).status, 200);
    assert.ok(Object.keys(await getJson<object>(`${admin}/debug/mesh`)).length > 0, '/debug/mesh shows the mesh snapshot');
    client = new RawXdsClient(xdsPort, 'sotw');
    client.send({ node: nodeProxy('cp-proxy', 'node-a'), type_url: TypeUrl.listener });
    const lds = await client.next(5000);
    assert.equal(lds.typeUrl, TypeUrl.listener);
    assert.deepEqual(names(lds), [TRANSPARENT_LISTENER], 'node-a\'s proxy gets the translated transparent listener');
    client.send({ type_url: TypeUrl.listener, version_info: lds.version, response_nonce: lds.nonce });
    await eventually(async () => {
      const { clients } = await getJson<{ clients: ClientView[] }>(`${admin}/debug/syncz`);
      const lis = clients.find((c) => c.id === 'cp-proxy')?.types[0];
      return lis?.versionAcked === lds.version;
    }, 5000, 'the ACK in syncz');
    const agent = new RawXdsClient(xdsPort, 'sotw');
    try {
      agent.send({ node: { id: 'cp-redirector', metadata: { role: 'redirector', node_name: 'node-a' } }, type_url: RedirectorType.nodeConfig });
      const nodeConfig = await agent.next(5000);
      assert.equal(nodeConfig.typeUrl, RedirectorType.nodeConfig);
      assert.equal(nodeConfig.resources.length, 1, 'node-a\'s redirector gets its NodeConfig');
    } finally {
      agent.close();
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal((await client.ended()).code, 14, 'UNAVAILABLE');
  } finally {
    client?.close();
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('skiff control-plane without a source is a usage error', async () => {
  const child = spawn(process.execPath, [bin, 'control-plane', '--xds', 'nonsense'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
  assert.equal(code, 2);
});

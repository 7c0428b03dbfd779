// The control plane's gRPC ALS receiver, end to end over real sockets: a grpc-js client speaks
// envoy.service.accesslog.v3.AccessLogService exactly as Envoy's HTTP gRPC access logger does
// (identifier with the node on the first message, HTTPAccessLogEntry batches after), the entries
// appear at /debug/accesslog and in the metric, and `skiff observe -o json` merges them into the
// flow log as L7/HTTP lines with method, path, code, source and destination (--follow streams them).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { SnapshotCache } from '../../xds/cache.js';
import { XdsServer } from '../../xds/server.js';
import { AdminServer } from '../../xds/admin.js';
import { AdminServer as RedirectorAdmin } from '../../redirector/admin.js';
import type { NodeFlow } from '../../cli/commands/observe.js';
import { AccessLogStore, accessLogServiceDefinition, addAccessLogService, type AccessLogEntry } from '../../xds/accesslog/index.js';
import { eventually } from './fixtures.js';

const bin = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const store = new AccessLogStore(3);
const xds = new XdsServer({ cache: new SnapshotCache(), addServices: (server) => addAccessLogService(server, store) });
store.countIn(xds.metrics.registry);
const admin = new AdminServer({ xds, feeds: { '/debug/accesslog': store } });
const redirector = new RedirectorAdmin({
  ready: () => true,
  metrics: () => Promise.resolve(''),
  map: () => [],
  recentFlows: () => [],
  follow: () => () => undefined,
  state: () => ({}),
  tunnel: () => Promise.resolve({}),
});
let xdsPort = 0;
let adminAddress = '';
let redirectorAddress = '';

before(async () => {
  xdsPort = await xds.listen('127.0.0.1:0');
  adminAddress = `127.0.0.1:${await admin.listen('127.0.0.1', 0)}`;
  redirectorAddress = `127.0.0.1:${await redirector.listen('127.0.0.1:0')}`;
});

after(async () => {
  await redirector.close();
  await admin.close();
  await xds.close(500);
});

const sock = (address: string, port_value: number) => ({ socket_address: { address, port_value } });

function entry(method: string, path: string, code: number, second: number) {
  return {
    common_properties: {
      downstream_remote_address: sock('10.244.1.5', 40000 + second),
      downstream_local_address: sock('10.96.0.20', 8080),
      upstream_cluster: 'outbound|8080||shop/cart',
      start_time: { seconds: 1_800_000_000 + second, nanos: 0 },
      response_flags: { no_route_found: code === 404 },
    },
    request: { request_method: method, path, authority: 'cart.shop:8080' },
    response: { response_code: { value: code } },
  };
}

/** Streams batches as Envoy's gRPC access logger does, then half-closes. */
async function sendLogs(nodeId: string, batches: ReturnType<typeof entry>[][], port = xdsPort): Promise<void> {
  const Client = grpc.makeGenericClientConstructor(accessLogServiceDefinition(), 'AccessLogService');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  await new Promise<void>((resolve, reject) => {
    const call = client.makeClientStreamRequest(
      '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs',
      accessLogServiceDefinition().StreamAccessLogs.requestSerialize,
      accessLogServiceDefinition().StreamAccessLogs.responseDeserialize,
      (error: grpc.ServiceError | null) => (error ? reject(error) : resolve()),
    );
    batches.forEach((log_entry, i) => call.write({ ...(i === 0 ? { identifier: { node: { id: nodeId }, log_name: 'skiff' } } : {}), http_logs: { log_entry } }));
    call.end();
  });
  client.close();
}

test('entries streamed over gRPC ALS are kept with their node, bounded, and counted', async () => {
  await sendLogs('node-proxy~node-1', [[entry('GET', '/cart', 200, 1), entry('POST', '/cart/items', 403, 2)], [entry('GET', '/missing', 404, 3)]]);
  const res = await fetch(`http://${adminAddress}/debug/accesslog`);
  const { entries } = (await res.json()) as { entries: AccessLogEntry[] };
  assert.deepEqual(
    entries.map((e) => [e.node, e.logName, e.method, e.path, e.code]),
    [
      ['node-proxy~node-1', 'skiff', 'GET', '/cart', 200],
      ['node-proxy~node-1', 'skiff', 'POST', '/cart/items', 403],
      ['node-proxy~node-1', 'skiff', 'GET', '/missing', 404],
    ],
  );
  assert.deepEqual(entries[0]?.src, { ip: '10.244.1.5', port: 40001 });
  assert.deepEqual(entries[0]?.dst, { ip: '10.96.0.20', port: 8080 });
  assert.equal(entries[0]?.time, new Date(1_800_000_001_000).toISOString());
  assert.equal(entries[0]?.upstreamCluster, 'outbound|8080||shop/cart');
  assert.deepEqual(entries[2]?.responseFlags, ['no_route_found']);
  // the ring holds 3: a fourth entry pushes out the oldest
  await sendLogs('waypoint~shop', [[entry('DELETE', '/cart/1', 204, 4)]]);
  await eventually(() => store.recent().length === 3 && store.recent()[2]?.node === 'waypoint~shop', 2000, 'the fourth entry');
  assert.deepEqual(store.recent().map((e) => e.path), ['/cart/items', '/missing', '/cart/1']);
  assert.deepEqual(store.recent(new Date(1_800_000_003_000).toISOString()).map((e) => e.path), ['/missing', '/cart/1']);
  const metrics = await xds.metrics.registry.metrics();
  assert.match(metrics, /skiff_accesslog_entries_total\{node="node-proxy~node-1",code_class="4xx"\} 2/);
  assert.match(metrics, /skiff_accesslog_entries_total\{node="waypoint~shop",code_class="2xx"\} 1/);
});

test('skiff observe -o json merges the L7 request lines into the flow log', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [bin, 'observe', '--redirector', redirectorAddress, '--admin', adminAddress, '-o', 'json', '--last', '0']);
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as NodeFlow);
  assert.deepEqual(
    lines.map((l) => [l.type, l.verdict, l.l7?.method, l.l7?.path, l.l7?.code, `${l.src.ip}:${l.src.port}`, `${l.dst.ip}:${l.dst.port}`, l.node]),
    [
      ['L7/HTTP', 'DROPPED', 'POST', '/cart/items', 403, '10.244.1.5:40002', '10.96.0.20:8080', 'node-proxy~node-1'],
      ['L7/HTTP', 'FORWARDED', 'GET', '/missing', 404, '10.244.1.5:40003', '10.96.0.20:8080', 'node-proxy~node-1'],
      ['L7/HTTP', 'FORWARDED', 'DELETE', '/cart/1', 204, '10.244.1.5:40004', '10.96.0.20:8080', 'waypoint~shop'],
    ],
  );
  const table = await promisify(execFile)(process.execPath, [bin, 'observe', '--redirector', redirectorAddress, '--admin', adminAddress, '--verdict', 'DROPPED']);
  assert.match(table.stdout, /10\.244\.1\.5:40002\s+10\.96\.0\.20:8080\s+L7\/HTTP\s+DROPPED\s+POST \/cart\/items → 403\s+node-proxy~node-1/);
});

test('skiff observe --follow streams new L7 request lines (filtered) as they arrive, and ends with exit 3 when the control plane goes', async () => {
  const follower = new AdminServer({ xds, feeds: { '/debug/accesslog': store } });
  const address = `127.0.0.1:${await follower.listen('127.0.0.1', 0)}`;
  const child = spawn(process.execPath, [bin, 'observe', '--follow', '--redirector', redirectorAddress, '--admin', address, '--verdict', 'DROPPED', '-o', 'json']);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () => out.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as NodeFlow);
  try {
    // the replay of the kept lines: only the 403 passes --verdict DROPPED
    await eventually(() => lines().length === 1, 10_000, 'the replayed line');
    assert.deepEqual(lines().map((l) => l.l7?.path), ['/cart/items']);
    await sendLogs('node-proxy~node-2', [[entry('GET', '/ok', 200, 5), entry('DELETE', '/admin', 403, 6)]]);
    await eventually(() => lines().length === 2, 10_000, 'the new 403 streamed');
    assert.deepEqual([lines()[1]?.node, lines()[1]?.l7?.path, lines()[1]?.verdict], ['node-proxy~node-2', '/admin', 'DROPPED']);
  } finally {
    await follower.close();
  }
  assert.equal(await exited, 3);
  assert.match(err, /the control plane ended its access log stream/);
});

test('`skiff control-plane` serves AccessLogService on its xDS port and the lines at /debug/accesslog', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-als-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'mesh.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n');
  const child = spawn(process.execPath, [bin, 'control-plane', '--config', dir, '--ca-dir', join(dir, 'ca'), '--xds', '127.0.0.1:0', '--admin', '127.0.0.1:0'], {
    env: { ...process.env, SKIFF_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const portOf = (message: string) => {
    const line = stderr.split('\n').find((l) => l.includes(message));
    return line ? (JSON.parse(line) as { port: number }).port : undefined;
  };
  await eventually(() => (portOf('xDS server listening') !== undefined && portOf('admin HTTP listening') !== undefined) || child.exitCode !== null, 15000, 'the ports');
  const port = portOf('xDS server listening');
  assert.ok(port, `control plane did not start: ${stderr}`);
  await sendLogs('node-proxy~node-9', [[entry('PUT', '/orders/7', 201, 9)]], port);
  const { stdout } = await promisify(execFile)(process.execPath, [bin, 'observe', '--redirector', redirectorAddress, '--admin', `127.0.0.1:${portOf('admin HTTP listening')}`, '-o', 'json']);
  const [line] = stdout.trim().split('\n').map((l) => JSON.parse(l) as NodeFlow);
  assert.deepEqual([line?.node, line?.l7?.method, line?.l7?.path, line?.l7?.code, line?.verdict], ['node-proxy~node-9', 'PUT', '/orders/7', 201, 'FORWARDED']);
  const metrics = await (await fetch(`http://127.0.0.1:${portOf('admin HTTP listening')}/metrics`)).text();
  assert.match(metrics, /skiff_accesslog_entries_total\{node="node-proxy~node-9",code_class="2xx"\} 1/);
  child.kill('SIGTERM');
});

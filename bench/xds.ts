// `npm run bench -- xds`: N distinct node-proxy clients (ADS, SotW or Delta) each subscribed to a
// realistic set — 1,000 clusters, 1,000 endpoint assignments, 50 listeners, 200 route
// configurations — then one route weight changes. Measured: time from the change until every
// client has ACKed it (p50, p99, max), server CPU seconds for the change, and server memory per
// connected client. The server and the load clients run in separate processes (this file forks
// itself in the role named by SKIFF_BENCH_XDS_ROLE) so the clients never share the server's loop and
// their memory is never counted. Each client has its own HTTP/2 connection, as every Envoy does
// (at 10,000 the server reads new connections' prefaces late, and its handshake timeout waits for
// that read; the load clients open theirs a batch at a time, each batch once the server accepted
// the last, so that its listen queue never overflows). A load client that loses its stream ends
// its process with the reason, never a stall.
// Knobs: SKIFF_BENCH_XDS_CLIENTS=100,1000 (the rows' sizes), SKIFF_BENCH_XDS_MODES=sotw (or delta),
// SKIFF_BENCH_XDS_STREAMS_PER_CONNECTION=N (clients sharing one connection, every row; streams
// sharing one interleave their large requests, and malloc keeps what that burst's large buffers
// freed, so RSS per client is higher than with one connection each).
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { fileURLToPath } from 'node:url';
import type { Benchmark } from './benchmark.js';
import { printTable, quantile } from './benchmark.js';

const SELF = fileURLToPath(import.meta.url);
const ROLE_ENV = 'SKIFF_BENCH_XDS_ROLE';
const TYPE = {
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
};
const SHAPE = { clusters: 1000, listeners: 50, routes: 200 };
/** Clients sharing one HTTP/2 connection: one each, as every Envoy has, unless the environment says otherwise. */
function streamsPerConnection(): number {
  return Number(process.env.SKIFF_BENCH_XDS_STREAMS_PER_CONNECTION ?? 1);
}
/** Connections a load process opens at once. */
const CONNECT_BATCH = 256;

type Message = { type: string; [key: string]: unknown };

function now(): number {
  return performance.timeOrigin + performance.now();
}

const clusterName = (i: number) => `outbound|8080||svc-${i}.bench.svc.cluster.local`;
const routeName = (i: number) => `route-${i}`;

/** The node-proxy resource set; `weight` is the first route's weight for its first cluster. */
function meshInput(weight: number): Record<string, { message: object }[]> {
  const hcm = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
  const router = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
  const clusters = [];
  const endpoints = [];
  for (let i = 0; i < SHAPE.clusters; i++) {
    clusters.push({ message: { name: clusterName(i), type: 'EDS', connect_timeout: { seconds: 1 }, lb_policy: 'ROUND_ROBIN', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } } } });
    const lb_endpoints = [1, 2, 3].map((k) => ({ endpoint: { address: { socket_address: { address: `10.${(i >> 8) & 255}.${i & 255}.${k}`, port_value: 8080 } } } }));
    endpoints.push({ message: { cluster_name: clusterName(i), endpoints: [{ locality: { zone: 'z1' }, load_balancing_weight: { value: 1 }, lb_endpoints }] } });
  }
  const routes = [];
  for (let j = 0; j < SHAPE.routes; j++) {
    const w = j === 0 ? weight : 50;
    routes.push({
      message: {
        name: routeName(j),
        virtual_hosts: [{
          name: `svc-${j}`,
          domains: [`svc-${j}.bench.svc.cluster.local`, `svc-${j}`],
          routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: clusterName((2 * j) % SHAPE.clusters), weight: { value: w } }, { name: clusterName((2 * j + 1) % SHAPE.clusters), weight: { value: 100 - w } }] } } }],
        }],
      },
    });
  }
  const listeners = [];
  for (let k = 0; k < SHAPE.listeners; k++) {
    const manager = { '@type': hcm, stat_prefix: `l${k}`, rds: { route_config_name: routeName(k), config_source: { ads: {}, resource_api_version: 'V3' } }, http_filters: [{ name: 'router', typed_config: { '@type': router } }] };
    listeners.push({ message: { name: `listener-${k}`, address: { socket_address: { address: '0.0.0.0', port_value: 10000 + k } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: manager }] }] } });
  }
  return { [TYPE.cluster]: clusters, [TYPE.endpoint]: endpoints, [TYPE.listener]: listeners, [TYPE.route]: routes };
}

// ---------------------------------------------------------------- server process

/** Resident bytes of the C heap (glibc's main arena: sockets, Buffers, and what malloc keeps of freed ones). */
function cHeapResident(): number {
  const kb = /\[heap\]\n(?:.*\n)*?Rss:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps', 'utf8'))?.[1];
  return Number(kb ?? 0) * 1024;
}

async function serverRole(): Promise<void> {
  const { SnapshotCache, XdsServer } = await import('../xds/index.js');
  const { encodeResource } = await import('../xds/protos.js');
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  // As the translator does: resources are encoded once; a change re-encodes only what changed.
  const encoded = (input: Record<string, { message: object }[]>) =>
    Object.fromEntries(Object.entries(input).map(([typeUrl, list]) => [typeUrl, list.map((r) => ({ value: encodeResource(typeUrl, r.message), name: String((r.message as { name?: string; cluster_name?: string }).name ?? (r.message as { cluster_name?: string }).cluster_name) }))]));
  const before = encoded(meshInput(50));
  const after = { ...before, [TYPE.route]: [...(before[TYPE.route] ?? [])] };
  (after[TYPE.route] as { value: Uint8Array; name: string }[])[0] = encoded({ [TYPE.route]: [meshInput(80)[TYPE.route]?.[0] as { message: object }] })[TYPE.route]?.[0] as { value: Uint8Array; name: string };
  const cache = new SnapshotCache({ classOf: () => 'bench' });
  cache.update('bench', before);
  const xds = new XdsServer({ cache });
  const port = await xds.listen('127.0.0.1:0');
  gc();
  const memory = () => {
    gc();
    gc();
    const m = process.memoryUsage();
    return { rss: m.rss, heap: m.heapUsed + m.external, cHeap: cHeapResident() };
  };
  const base = memory();
  let cpuAtChange: NodeJS.CpuUsage | undefined;
  const cpuAtStart = process.cpuUsage();
  process.send?.({ type: 'ready', port, base });
  process.on('message', (msg: Message) => {
    if (msg.type === 'measure') process.send?.({ type: 'memory', ...memory(), cpu: process.cpuUsage(cpuAtStart) });
    if (msg.type === 'change') {
      cpuAtChange = process.cpuUsage();
      const t0 = now();
      cache.update('bench', after);
      process.send?.({ type: 'changed', t0 });
    }
    if (msg.type === 'cpu') process.send?.({ type: 'cpu', cpu: process.cpuUsage(cpuAtChange) });
    if (msg.type === 'stop') void xds.close(500).then(() => process.exit(0));
  });
}

// ---------------------------------------------------------------- load client process

async function clientRole(): Promise<void> {
  const http2 = await import('node:http2');
  const net = await import('node:net');
  const { default: protobuf } = await import('protobufjs');
  const { root } = await import('../xds/protos.js');
  const port = Number(process.env.BENCH_PORT);
  const delta = process.env.BENCH_MODE === 'delta';
  const count = Number(process.env.BENCH_COUNT);
  const offset = Number(process.env.BENCH_OFFSET);
  const channels = Number(process.env.BENCH_CHANNELS);
  const request = root.lookupType(delta ? 'envoy.service.discovery.v3.DeltaDiscoveryRequest' : 'envoy.service.discovery.v3.DiscoveryRequest');
  const encode = (fields: object) => Buffer.from(request.encode(request.fromObject(fields)).finish());

  const names: Record<string, string[]> = {
    [TYPE.cluster]: [],
    [TYPE.endpoint]: Array.from({ length: SHAPE.clusters }, (_, i) => clusterName(i)),
    [TYPE.listener]: [],
    [TYPE.route]: Array.from({ length: SHAPE.routes }, (_, i) => routeName(i)),
  };
  const types = Object.values(TYPE);
  // Requests are encoded once and shared; only node, version and nonce differ per stream.
  const subscribe = new Map(types.map((t) => [t, delta ? encode({ type_url: t, resource_names_subscribe: names[t] }) : encode({ type_url: t, resource_names: names[t] })]));
  const ackBase = new Map(types.map((t) => [t, delta ? encode({ type_url: t }) : (subscribe.get(t) as Buffer)]));
  const ack = (typeUrl: string, version: string, nonce: string): Buffer => {
    const writer = protobuf.Writer.create();
    if (delta) writer.uint32((6 << 3) | 2).string(nonce);
    else writer.uint32((1 << 3) | 2).string(version).uint32((5 << 3) | 2).string(nonce);
    return Buffer.concat([ackBase.get(typeUrl) as Buffer, writer.finish()]);
  };
  const parse = (bytes: Buffer) => {
    const reader = protobuf.Reader.create(bytes);
    let version = '';
    let typeUrl = '';
    let nonce = '';
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = tag >>> 3;
      if (field === 1) version = reader.string();
      else if (field === 4) typeUrl = reader.string();
      else if (field === 5) nonce = reader.string();
      else reader.skipType(tag & 7);
    }
    return { version, typeUrl, nonce };
  };

  // Streams are raw HTTP/2 requests in gRPC framing: the load client's own per-message cost stays
  // far below the server's, so the figures are the server's.
  const path = `/envoy.service.discovery.v3.AggregatedDiscoveryService/${delta ? 'DeltaAggregatedResources' : 'StreamAggregatedResources'}`;
  const window = 64 * 1024 * 1024;
  const connectOnce = () =>
    new Promise<ClientHttp2Session>((resolve, reject) => {
      const session = http2.connect(`http://127.0.0.1:${port}`, {
        settings: { initialWindowSize: window },
        createConnection: () => net.connect({ host: '127.0.0.1', port, noDelay: true }),
      });
      const timer = setTimeout(() => fail(new Error('no HTTP/2 connection within 10 s')), 10000);
      const fail = (error?: Error) => {
        clearTimeout(timer);
        session.destroy();
        reject(error ?? new Error('connection closed before it was up'));
      };
      session.once('error', fail);
      session.once('close', fail);
      // Up once the server's SETTINGS came, i.e. once the server accepted the connection: waiting
      // for the TCP connect only (the kernel's, before any accept) let each batch run ahead of a
      // busy server until its listen queue overflowed and the kernel reset connections.
      session.once('remoteSettings', () => {
        clearTimeout(timer);
        session.off('error', fail);
        session.off('close', fail);
        session.on('error', (error: Error) => lost(`session error: ${error.message}`));
        session.on('goaway', (code: number) => lost(`GOAWAY code ${code}`));
        session.setLocalWindowSize(window);
        resolve(session);
      });
    });
  // Under a burst of connections the kernel may drop one before HTTP/2 is up: try again, as a proxy would.
  const connect = async (): Promise<ClientHttp2Session> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await connectOnce();
      } catch (error) {
        if (attempt === 5) throw error;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  };
  const frame = (message: Buffer) => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(message.length, 1);
    return Buffer.concat([header, message]);
  };

  let synced = 0;
  let opened = 0;
  let armed = false;
  let stopping = false;
  const ackTimes: number[] = [];
  // A client that loses its stream would never sync or ACK and the run would wait out its timeouts:
  // the load process ends at once, saying why (an Envoy would reconnect, which this bench must not hide).
  const lost = (why: string) => {
    if (stopping) return;
    process.stderr.write(`bench xds: load client: ${why}\n`);
    process.exit(3);
  };
  const open = (i: number, session: ClientHttp2Session) => {
    const client = `node-proxy-${offset + i}`;
    let stream: ClientHttp2Stream;
    try {
      stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    } catch (error) {
      lost(`${client}: no stream: ${(error as Error).message}`);
      return;
    }
    opened += 1;
    let streamError = '';
    stream.on('error', (error: Error) => (streamError = `: ${error.message}`));
    stream.on('close', () => lost(`${client}: stream closed (RST_STREAM code ${stream.rstCode}${streamError}; session ${session.destroyed ? 'destroyed' : session.closed ? 'closed' : 'open'})`));
    const seen = new Set<string>();
    let changed = false;
    const onMessage = (bytes: Buffer) => {
      const r = parse(bytes);
      stream.write(frame(ack(r.typeUrl, r.version, r.nonce)));
      if (armed && r.typeUrl === TYPE.route && !changed) {
        changed = true;
        ackTimes.push(now());
        if (ackTimes.length === count) process.send?.({ type: 'done', ackTimes });
      }
      if (seen.size < types.length) {
        seen.add(r.typeUrl);
        if (seen.size === types.length && ++synced === count) process.send?.({ type: 'synced' });
      }
    };
    // gRPC length-prefixed messages, reassembled from DATA chunks.
    let chunks: Buffer[] = [];
    let buffered = 0;
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      buffered += chunk.length;
      while (buffered >= 5) {
        const head = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        const length = head.readUInt32BE(1);
        if (buffered < 5 + length) {
          chunks = [head];
          break;
        }
        onMessage(head.subarray(5, 5 + length));
        const rest = head.subarray(5 + length);
        chunks = rest.length > 0 ? [rest] : [];
        buffered = rest.length;
      }
    });
    const node = encode({ node: { id: `node-proxy-${offset + i}`, cluster: 'bench', metadata: { fields: { role: { stringValue: 'node-proxy' }, node_name: { stringValue: `node-${offset + i}` } } } } });
    types.forEach((t, index) => stream.write(frame(index === 0 ? Buffer.concat([node, subscribe.get(t) as Buffer]) : (subscribe.get(t) as Buffer))));
  };
  const sessions: ClientHttp2Session[] = [];
  process.on('message', (msg: Message) => {
    if (msg.type === 'arm') {
      armed = true;
      process.send?.({ type: 'armed' });
    }
    if (msg.type === 'status') process.send?.({ type: 'status', synced, opened });
    if (msg.type === 'stop') {
      stopping = true;
      for (const session of sessions) session.destroy();
      process.exit(0);
    }
  });
  // Connections open a batch at a time, as in a rolling start, each batch once the server accepted
  // the one before: thousands of SYNs at once overflow the listen queue and the kernel drops or
  // resets them. Each connection's clients start as it is up.
  for (let first = 0; first < channels; first += CONNECT_BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, channels - first) }, connect));
    sessions.push(...batch);
    for (let c = first; c < sessions.length; c++) for (let i = c; i < count; i += channels) open(i, sessions[c] as ClientHttp2Session);
  }
}

// ---------------------------------------------------------------- orchestration

function start(role: 'server' | 'client', env: Record<string, string> = {}): ChildProcess {
  return fork(SELF, [], { env: { ...process.env, [ROLE_ENV]: role, SKIFF_LOG_LEVEL: 'error', ...env }, execArgv: ['--expose-gc', '--max-old-space-size=8192'] });
}

function next(child: ChildProcess, type: string, timeoutMs: number): Promise<Message> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`bench xds: no '${type}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`bench xds: a ${type === 'ready' ? 'server' : 'load'} process exited (${code}) before '${type}'`));
    };
    const onMessage = (msg: Message) => {
      if (msg.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(msg);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function ask(child: ChildProcess, type: string, reply: string, timeoutMs = 60000): Promise<Message> {
  const answer = next(child, reply, timeoutMs);
  child.send({ type });
  return answer;
}

interface Row {
  mode: string;
  clients: number;
  syncS: number;
  p50: number;
  p99: number;
  max: number;
  cpuS: number;
  rssKB: number;
  heapKB: number;
  cHeapKB: number;
}

async function runOne(mode: 'sotw' | 'delta', clients: number): Promise<Row> {
  const server = start('server');
  const processes = clients >= 1000 ? 2 : 1;
  const loaders: ChildProcess[] = [];
  try {
    const ready = await next(server, 'ready', 30000);
    const base = ready.base as { rss: number; heap: number; cHeap: number };
    const began = Date.now();
    for (let p = 0; p < processes; p++) {
      const count = Math.floor(clients / processes) + (p < clients % processes ? 1 : 0);
      const env = { BENCH_PORT: String(ready.port), BENCH_MODE: mode, BENCH_COUNT: String(count), BENCH_OFFSET: String(p * 100000), BENCH_CHANNELS: String(Math.max(1, Math.ceil(count / streamsPerConnection()))) };
      loaders.push(start('client', env));
    }
    // Progress of a long initial sync, per load process: clients synced / streams opened.
    const progress = setInterval(() => {
      void Promise.all(loaders.map((l) => ask(l, 'status', 'status', 20000))).then(
        (all) => process.stderr.write(`bench xds: ${Math.round((Date.now() - began) / 1000)} s: synced ${all.map((m) => `${m.synced as number}/${m.opened as number}`).join(', ')}\n`),
        () => undefined,
      );
    }, 30000);
    await Promise.all(loaders.map((l) => next(l, 'synced', 900000))).finally(() => clearInterval(progress));
    const syncS = (Date.now() - began) / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    const memory = await ask(server, 'measure', 'memory');
    await Promise.all(loaders.map((l) => ask(l, 'arm', 'armed')));
    const done = loaders.map((l) => next(l, 'done', 120000));
    const { t0 } = (await ask(server, 'change', 'changed')) as unknown as { t0: number };
    const latencies = (await Promise.all(done)).flatMap((m) => (m.ackTimes as number[]).map((t) => t - t0));
    await new Promise((r) => setTimeout(r, 300));
    const cpu = (await ask(server, 'cpu', 'cpu')).cpu as NodeJS.CpuUsage;
    return {
      mode,
      clients,
      syncS,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: Math.max(...latencies),
      cpuS: (cpu.user + cpu.system) / 1e6,
      rssKB: ((memory.rss as number) - base.rss) / clients / 1024,
      heapKB: ((memory.heap as number) - base.heap) / clients / 1024,
      cHeapKB: ((memory.cHeap as number) - base.cHeap) / clients / 1024,
    };
  } finally {
    for (const child of [...loaders, server]) if (child.connected) child.send({ type: 'stop' });
    await new Promise((r) => setTimeout(r, 500));
    for (const child of [...loaders, server]) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

const TARGET_MS: Record<number, number> = { 1000: 250, 10000: 3000 };
const TARGET_KB = 20;

export const xdsBenchmark: Benchmark = {
  name: 'xds',
  summary: 'ADS push to N node-proxy clients (1,000 clusters/CLAs, 50 listeners, 200 routes each): time until all ACK one route change, CPU, memory per client',
  async run() {
    const sizes = (process.env.SKIFF_BENCH_XDS_CLIENTS ?? '100,1000,10000').split(',').map(Number);
    const rows: (string | number)[][] = [];
    const modes = (process.env.SKIFF_BENCH_XDS_MODES ?? 'sotw,delta').split(',') as ('sotw' | 'delta')[];
    for (const mode of modes) {
      for (const clients of sizes) {
        process.stderr.write(`bench xds: ${mode} with ${clients} clients…\n`);
        let r: Row;
        try {
          r = await runOne(mode, clients);
        } catch (error) {
          rows.push([mode, clients, streamsPerConnection(), `failed: ${(error as Error).message}`]);
          continue;
        }
        process.stderr.write(`bench xds: ${JSON.stringify(r)}\n`);
        const target = TARGET_MS[clients];
        rows.push([
          r.mode, r.clients, streamsPerConnection(), r.syncS, r.p50, r.p99, r.max,
          target ? `${target}` : '-', target ? r.max / target : '-',
          r.cpuS, r.rssKB, r.heapKB, r.cHeapKB, r.rssKB / TARGET_KB,
        ]);
      }
    }
    printTable(
      "xDS: one route weight change pushed to N clients until all ACKed (ms); server memory per connected client (KB, beyond the shared snapshot; heap: V8 heap + Buffers, C heap: malloc's main arena)",
      ['mode', 'clients', 'clients/conn', 'initial sync s', 'p50 ms', 'p99 ms', 'max ms', 'target max ms', 'max/target', 'change CPU s', 'RSS KB/client', 'heap KB/client', 'C heap KB/client', 'RSS/20 KB'],
      rows,
    );
  },
};

const role = process.env[ROLE_ENV];
if (role === 'server') await serverRole();
else if (role === 'client') await clientRole();

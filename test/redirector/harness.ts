// A real control plane in the test process (XdsServer + SnapshotCache fed by the redirector
// translator from a mesh built from YAML), and the redirector agent as a real child process
// (`nsenter --net=<node netns> node dist/cli/main.js redirector ...`) with its admin API on a unix
// socket. The test runs in the root netns and the agent in the node's, so the agent reaches the
// control plane's TCP port through a unix socket that this process forwards to it.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { objectKey, type MeshObject } from '../../config/resources.js';
import { buildSnapshot, type MeshSnapshot } from '../../config/snapshot/index.js';
import { SnapshotCache, XdsServer } from '../../xds/index.js';
import { RedirectorPublisher, redirectorClassKey, translateRedirectors } from '../../xds/translate/redirector.js';
import type { NetnsFixture } from '../helpers/netns.js';

export const mainJs = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/** Mesh objects from multi-document YAML, keyed as the sources key them. */
export function meshObjects(yaml: string): Map<string, MeshObject> {
  const objects = new Map<string, MeshObject>();
  for (const doc of parseAllDocuments(yaml)) {
    const o = doc.toJS() as MeshObject | null;
    if (o) objects.set(objectKey(o.kind, o.metadata.namespace, o.metadata.name), o);
  }
  return objects;
}

export class ControlPlane {
  readonly cache = new SnapshotCache();
  server = new XdsServer({ cache: this.cache });
  readonly publisher = new RedirectorPublisher(this.cache);
  /** What the agent dials: the unix socket forwarded to the xDS port. */
  readonly address: string;
  readonly #bridge: Server;
  #port = 0;
  snapshot: MeshSnapshot | undefined;

  private constructor(path: string) {
    this.address = `unix:${path}`;
    this.#bridge = createServer((socket) => {
      const upstream = connect(this.#port, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      const close = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
  }

  static async start(fx: NetnsFixture): Promise<ControlPlane> {
    const path = `/tmp/${fx.id}-xds.sock`;
    rmSync(path, { force: true });
    const cp = new ControlPlane(path);
    cp.#port = await cp.server.listen('127.0.0.1:0');
    await new Promise<void>((resolve) => cp.#bridge.listen(path, resolve));
    fx.onCleanup(async () => {
      await cp.server.close(0);
      await new Promise((resolve) => cp.#bridge.close(resolve));
      rmSync(path, { force: true });
    });
    return cp;
  }

  /** Stops serving (clients lose their streams); the cache and its snapshots stay. */
  async stop(): Promise<void> {
    await this.server.close(0);
  }

  /** Serves again from the same cache (a restarted control plane). */
  async restart(): Promise<void> {
    this.server = new XdsServer({ cache: this.cache });
    this.#port = await this.server.listen('127.0.0.1:0');
  }

  /** Builds the snapshot of objects (incrementally from the last one) and publishes it. */
  publish(objects: Map<string, MeshObject>): MeshSnapshot {
    this.snapshot = buildSnapshot(objects, this.snapshot);
    this.publisher.publish(this.snapshot);
    return this.snapshot;
  }

  /** Serves node's class with one resource replaced by raw bytes (e.g. an invalid one). */
  publishWith(node: string, typeUrl: string, resource: { name: string; value: Uint8Array }): void {
    const input = translateRedirectors(this.snapshot as MeshSnapshot).get(node) ?? {};
    const list = (input[typeUrl] ?? []).filter((r) => r.name !== resource.name);
    this.cache.update(redirectorClassKey(node), { ...input, [typeUrl]: [...list, resource] });
  }
}

/** Small maps: the tests need few entries, and small maps load fast. */
const MAX_ENTRIES = 'skf_services=1024,skf_lb_slots=4096,skf_backends=1024,skf_ipcache=1024,skf_endpoints=1024,skf_policy=8192,skf_ct=16384,skf_events=262144';

export class AgentProcess {
  readonly child: ChildProcess;
  readonly adminSocket: string;
  readonly logs: string[] = [];

  private constructor(child: ChildProcess, adminSocket: string) {
    this.child = child;
    this.adminSocket = adminSocket;
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.logs.push(...chunk.split('\n').filter(Boolean)));
  }

  /**
   * Starts the agent in the node's netns; resolves once /readyz says ready. `extra.args` are more
   * flags; `extra.wrap` is a command the agent's argv is appended to (e.g. to give it a mount
   * namespace of its own).
   */
  static async start(
    fx: NetnsFixture,
    netns: string,
    node: string,
    cp: Pick<ControlPlane, 'address'>,
    pinRoot: string,
    extra: { args?: string[]; wrap?: string[] } = {},
  ): Promise<AgentProcess> {
    const adminSocket = `/tmp/${fx.id}-${node}-admin.sock`;
    fx.onCleanup(() => rmSync(adminSocket, { force: true }));
    const argv = [
      process.execPath, mainJs, 'redirector', '--node', node, '--xds', cp.address, '--bpffs', pinRoot, '--admin', `unix:${adminSocket}`, '--max-entries', MAX_ENTRIES,
      ...(extra.args ?? []),
    ];
    const [cmd, ...args] = [...(extra.wrap ?? []), ...argv] as [string, ...string[]];
    const child = fx.spawn(netns, cmd, args, { env: { ...process.env, SKIFF_LOG_LEVEL: 'info' } });
    const agent = new AgentProcess(child, adminSocket);
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`agent exited (${child.exitCode}): ${agent.logs.join('\n')}`);
      const ready = await agent.get('/readyz').catch(() => undefined);
      if (ready?.status === 200) return agent;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`agent not ready within 15 s: ${agent.logs.slice(-20).join('\n')}`);
  }

  get(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ socketPath: this.adminSocket, path }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  async json<T>(path: string): Promise<T> {
    const { status, body } = await this.get(path);
    if (status !== 200) throw new Error(`${path}: ${status} ${body}`);
    return JSON.parse(body) as T;
  }

  /** Recent flows (NDJSON). */
  async flows<T>(): Promise<T[]> {
    const { body } = await this.get('/debug/flows');
    return body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill(signal);
    await exited;
  }
}

/** Polls until check returns a value (not undefined) or the time is up. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
}

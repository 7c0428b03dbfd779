// Brings the demo up step by step (with progress), recording everything it makes as it goes so a
// failure, Ctrl-C or `skiff demo --down` can remove it: the mesh's nodes and pods as namespaces,
// the pods' servers, the control plane (root namespace: xDS on the demo's control plane address,
// which every node reaches over its uplink; admin on loopback), a redirector per node (in the node's
// namespace, admin on a unix socket, attested by the bootstrap token the control plane writes for
// its node), and node-local Envoys where `envoy` is on PATH (with the same token). Then sends the
// traffic and collects the report's inputs.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envoyBootstrap } from '../../envoy/bootstrap.js';
import { readTokenFile } from '../../redirector/agent.js';
import type { TunnelStatus } from '../../redirector/tunnel/tunnel-status.js';
import { nodeSubject, tokenFilePath } from '../../xds/ca/attest.js';
import { ControlPlaneClient, type SyncClient } from '../clients/control-plane.js';
import { getJson, getText } from '../clients/http.js';
import { RedirectorClient } from '../clients/redirector.js';
import { typeSync } from '../output/sync-state.js';
import { GiveUp, until } from './wait.js';
import { launch, logTail, type Launched } from './launch.js';
import { loadPlan, type DemoPlan, type PodPlan } from './plan.js';
import type { Progress } from './progress.js';
import type { NodeFlows } from './report.js';
import { podSlug, type Instance } from './instance.js';
import { CONTROL_PLANE_PROCESS, emptyRecord, writeRecord, type DemoRecord } from './state.js';
import { createNodes, createPod, type Created } from './topology.js';
import { sendTraffic, shopTraffic, type StepResult, type TrafficStep } from './traffic.js';

const MAIN_JS = fileURLToPath(new URL('../main.js', import.meta.url));
const WORKLOAD_JS = fileURLToPath(new URL('./workload-main.js', import.meta.url));
export const DEFAULT_CONFIG = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));

/** Small maps: the demo has a few dozen entries, and small maps load fast. */
const MAX_ENTRIES = 'skf_services=1024,skf_lb_slots=4096,skf_backends=1024,skf_ipcache=1024,skf_endpoints=1024,skf_policy=8192,skf_ct=16384,skf_events=262144';
const ENVOY_ADMIN_PORT = 15000;
/** How long a client waits for an answer where the mesh says none comes (the kernel drops the flow)… */
const DROP_WAIT_MS = 800;
/** …and where one should come: long, so a busy machine does not pass for a drop. */
const ANSWER_WAIT_MS = 5000;
/** How long a connected redirector may go without its NodeConfig before the demo gives up. */
const UNSERVED_MS = 5000;
/** Each redirector gets a mount namespace of its own, as a machine has: wireguard-go (where the
 * kernel has no WireGuard) keeps its control socket in /run/wireguard, one path per machine. */
const OWN_MOUNTS = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mkdir -p /run/wireguard && mount -t tmpfs skiff-wg /run/wireguard && exec "$@"', 'sh'];
/** Flow events reach the agents' logs within this (ring buffer → flow log) unless the machine is very busy. */
const FLOWS_SETTLE_MS = 250;

/** The part of a redirector's /debug/state the demo waits on. */
interface RedirectorState {
  ready: boolean;
  interfaces: unknown[];
  xds: { connected: boolean; types: Record<string, { resources?: number }> };
}

export interface StartOptions {
  instance: Instance;
  configDir: string;
  progress: Progress;
  signal: AbortSignal;
  envoyPath: string | undefined;
}

/** True once address answers path with a 2xx status (getText throws on anything else). */
async function answers(address: string, path: string): Promise<true> {
  await getText(address, path);
  return true;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class Demo {
  readonly record: DemoRecord = emptyRecord();
  readonly #options: StartOptions;
  readonly instance: Instance;
  plan: DemoPlan | undefined;
  controlPlaneAdmin = '';
  xds = '';
  readonly redirectors = new Map<string, string>();
  proxyPort = 15001;
  #controlPlane: Launched | undefined;

  constructor(options: StartOptions) {
    this.#options = options;
    this.instance = options.instance;
    writeRecord(this.instance, this.record);
  }

  #created: Created = {
    netns: (name) => {
      this.record.netns.push(name);
      writeRecord(this.instance, this.record);
    },
    rootLink: (name) => {
      this.record.rootLinks.push(name);
      writeRecord(this.instance, this.record);
    },
  };

  #launch(name: string, netns: string | undefined, argv: string[]): Launched {
    const launched = launch(this.instance, name, netns, argv);
    this.record.processes.push({ name, pid: launched.child.pid ?? 0 });
    writeRecord(this.instance, this.record);
    return launched;
  }

  /** Waits for check, failing early (with the log's tail) when the process exits. */
  #until<T>(what: string, p: Launched, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const exited = (): string | undefined => {
      const e = p.exited();
      return e ? `${p.name} exited (${e}):\n${logTail(p)}` : undefined;
    };
    return until(what, check, { timeoutMs, failed: exited, signal: this.#options.signal }).catch((err: Error) => {
      if (this.#options.signal.aborted || exited()) throw err;
      throw new Error(`${err.message}\n${p.name}'s log (${p.log}):\n${logTail(p)}`);
    });
  }

  /** The control socket of a pod's workload process. */
  podControl(pod: PodPlan): string {
    return `unix:${join(this.instance.dir, 'pods', `${podSlug(pod.key)}.sock`)}`;
  }

  async start(): Promise<void> {
    const { progress, signal } = this.#options;
    const plan = await progress.step('loading the mesh', () => loadPlan(this.#options.configDir));
    this.plan = plan;
    this.proxyPort = plan.snapshot.meshConfig.proxyPort;
    signal.throwIfAborted();
    await progress.step(`creating ${plan.nodes.length} nodes (network namespaces on one wire)`, () => createNodes(this.instance, plan.nodes, this.#created));
    // the processes start while the pods are made: most of their start-up is loading modules
    const controlPlane = await this.#launchControlPlane(plan);
    await progress.step(`creating ${plan.pods.length} pods (namespaces with veths to their node)`, () => {
      plan.pods.forEach((pod, i) => {
        signal.throwIfAborted();
        createPod(this.instance, pod, i, this.#created);
      });
    });
    const pods = this.#launchPods(plan);
    const redirectors = this.#launchRedirectors(plan);
    await progress.step("pods' HTTP, gRPC and TCP servers up", () => Promise.all(pods));
    await progress.step(`control plane serving the mesh (xDS ${this.xds}, admin ${this.controlPlaneAdmin})`, () => controlPlane);
    await progress.step(`a redirector per node ready (eBPF on ${plan.pods.length} pod veths)`, () => Promise.all(redirectors));
    if (this.#options.envoyPath) await progress.step('node-local Envoys synced', () => this.#startEnvoys(plan, this.#options.envoyPath as string));
  }

  /** Starts each pod's workload process; the promises settle when their control sockets answer. */
  #launchPods(plan: DemoPlan): Promise<unknown>[] {
    mkdirSync(join(this.instance.dir, 'pods'), { recursive: true });
    return plan.pods.map((pod) => {
      const control = this.podControl(pod);
      const spec = { pod: pod.name, app: pod.app, version: pod.version, servers: pod.servers, control: control.slice('unix:'.length) };
      const p = this.#launch(`pod-${podSlug(pod.key)}`, this.instance.podNetns(pod.key), [process.execPath, WORKLOAD_JS, JSON.stringify(spec)]);
      return this.#until(`pod ${pod.key}`, p, () => answers(control, '/healthz'));
    });
  }

  /** Starts the control plane; the promise settles when it is ready. */
  async #launchControlPlane(plan: DemoPlan): Promise<Promise<unknown>> {
    const xdsPort = await freePort(this.instance.controlPlaneAddress);
    const adminPort = await freePort('127.0.0.1');
    this.xds = `${this.instance.controlPlaneAddress}:${xdsPort}`;
    this.controlPlaneAdmin = `127.0.0.1:${adminPort}`;
    const p = this.#launch(CONTROL_PLANE_PROCESS, undefined, [
      process.execPath, MAIN_JS, 'control-plane', '--config', plan.configDir, '--xds', this.xds, '--admin', this.controlPlaneAdmin,
      '--ca-dir', join(this.instance.dir, 'ca'), // the demo's CA goes with the demo
    ]);
    this.record.endpoints.controlPlaneAdmin = this.controlPlaneAdmin;
    this.record.endpoints.xds = this.xds;
    writeRecord(this.instance, this.record);
    this.#controlPlane = p;
    const ready = this.#until('the control plane', p, () => answers(this.controlPlaneAdmin, '/readyz'));
    ready.catch(() => undefined); // awaited later; a failure before then is not unhandled
    return ready;
  }

  /** The bootstrap token file the control plane writes for a node (in the demo's CA directory). */
  tokenFile(node: string): string {
    return tokenFilePath(join(this.instance.dir, 'ca'), nodeSubject(node));
  }

  /** Starts a redirector per node; the promises settle when each has attached to its pods. */
  #launchRedirectors(plan: DemoPlan): Promise<unknown>[] {
    return plan.nodes.map((node) => {
      const admin = `unix:${join(this.instance.dir, `${node.name}-redirector.sock`)}`;
      this.redirectors.set(node.name, admin);
      this.record.endpoints.redirectors[node.name] = admin;
      writeRecord(this.instance, this.record);
      const tokenFile = this.tokenFile(node.name);
      const cp = this.#controlPlane as Launched;
      const ready = this.#until(`the bootstrap token of ${node.name} (${tokenFile})`, cp, async () => (existsSync(tokenFile) ? true : undefined)).then(() => {
        const p = this.#launch(`redirector-${node.name}`, this.instance.nodeNetns(node.name), [
          ...OWN_MOUNTS, process.execPath, MAIN_JS, 'redirector', '--node', node.name, '--xds', this.xds, '--bpffs', join(this.instance.pinRoot, node.name),
          '--admin', admin, '--max-entries', MAX_ENTRIES, '--token-file', tokenFile,
        ]);
        return this.#redirectorReady(plan, node.name, admin, p);
      });
      ready.catch(() => undefined);
      return ready;
    });
  }

  /** Settles when the redirector has attached to its node's pods; gives up when it is never served. */
  #redirectorReady(plan: DemoPlan, node: string, admin: string, p: Launched): Promise<unknown> {
    const local = plan.pods.filter((pod) => pod.node === node).length;
    let unservedSince: number | undefined;
    return this.#until(`the redirector of ${node}`, p, async () => {
      const state = await getJson<RedirectorState>(admin, '/debug/state');
      if (state.ready && state.interfaces.length >= local) return true;
      const nodeConfig = Object.entries(state.xds.types).find(([type]) => type.endsWith('.NodeConfig'))?.[1];
      if (!state.xds.connected || nodeConfig?.resources) return undefined;
      unservedSince ??= Date.now();
      if (Date.now() - unservedSince > UNSERVED_MS) {
        throw new GiveUp(`connected for ${UNSERVED_MS / 1000} s, but the control plane sends no NodeConfig for ${node}: does skiff control-plane serve the redirector resources?`);
      }
      return undefined;
    });
  }

  /** A node-local Envoy per node (bootstrap from envoy/bootstrap.ts); settles when each has ACKed its config. */
  async #startEnvoys(plan: DemoPlan, envoyPath: string): Promise<void> {
    const at = this.xds.lastIndexOf(':');
    const synced = plan.nodes.map((node, i) => {
      const id = `node-proxy~${node.name}`;
      const bootstrap = envoyBootstrap({
        role: 'node-proxy', nodeId: id, nodeName: node.name, xdsHost: this.xds.slice(0, at), xdsPort: Number(this.xds.slice(at + 1)), adminPort: ENVOY_ADMIN_PORT, sotw: false,
        token: readTokenFile(this.tokenFile(node.name)),
      });
      const path = join(this.instance.dir, `envoy-${node.name}.json`);
      writeFileSync(path, JSON.stringify(bootstrap));
      const p = this.#launch(`envoy-${node.name}`, this.instance.nodeNetns(node.name), [
        envoyPath, '--config-path', path, '--base-id', String(this.instance.envoyBaseId(i)), '--log-level', 'warn',
      ]);
      return this.#until(`the Envoy of ${node.name}`, p, async () => {
        const client = (await this.syncz()).find((c) => c.id === id);
        return client && client.types.length > 0 && client.types.every((t) => typeSync(t).state === 'SYNCED') ? true : undefined;
      });
    });
    await Promise.all(synced);
  }

  async syncz(): Promise<SyncClient[]> {
    return (await new ControlPlaneClient(this.controlPlaneAdmin).syncz()).clients;
  }

  async traffic(): Promise<StepResult[]> {
    const plan = this.plan as DemoPlan;
    const steps = shopTraffic(this.#options.envoyPath ? 100 : 10);
    const answered = (s: TrafficStep): boolean => s.expect === 'fast-path' || (s.expect === 'l7' && this.#options.envoyPath !== undefined);
    const patience = (s: TrafficStep): number => (answered(s) ? ANSWER_WAIT_MS : DROP_WAIT_MS);
    return this.#options.progress.step('sending traffic (HTTP, gRPC, TCP between the pods)', () => sendTraffic(plan, steps, (pod) => this.podControl(pod), patience));
  }

  /** Every redirector's node tunnels (/debug/tunnel). */
  tunnels(): Promise<TunnelStatus[]> {
    return Promise.all([...this.redirectors.values()].map((admin) => getJson<TunnelStatus>(admin, '/debug/tunnel')));
  }

  /** Every redirector's flow log. */
  async #flows(): Promise<NodeFlows[]> {
    return Promise.all(
      [...this.redirectors].map(async ([node, admin]) => ({ node, flows: await new RedirectorClient(admin, node).flows() })),
    );
  }

  /** The flow logs once the last events have reached them: two reads FLOWS_SETTLE_MS apart agree (or after a few seconds). */
  async settledFlows(): Promise<NodeFlows[]> {
    const count = (logs: NodeFlows[]): number => logs.reduce((n, l) => n + l.flows.length, 0);
    let last = await this.#flows();
    const deadline = Date.now() + 3000;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, FLOWS_SETTLE_MS));
      const now = await this.#flows();
      if (count(now) === count(last) || Date.now() > deadline) return now;
      last = now;
    }
  }

  /** proxy-status once every client has answered its last push (or after a few seconds, as it is). */
  async settledSync(): Promise<SyncClient[]> {
    const settled = (clients: SyncClient[]): boolean => clients.every((c) => c.types.every((t) => t.sentNotAckedMs === null));
    return until('xDS clients settled', async () => {
      const clients = await this.syncz();
      return settled(clients) ? clients : undefined;
    }, { timeoutMs: 5000, signal: this.#options.signal }).catch(() => this.syncz());
  }
}

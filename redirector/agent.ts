// The redirector node agent: wires the xDS client, the desired state, the reconciler, the pod
// interface scan with program attachment, the proxy route, the flow log and the admin API.
//
// Runs in the node's network namespace (for the simulated nodes of tests and `skiff demo`:
// `nsenter --net=/var/run/netns/<node> skiff redirector --node <node>` — not `ip netns exec`,
// which remounts /sys and hides the bpffs pins). Everything lives under one bpffs directory
// (default /sys/fs/bpf/skiff/<node>): the maps (pinned by name) and the TCX links of every pod veth
// (links/). Stopping the agent (SIGTERM, or kill -9) leaves programs, maps and links in place, so
// traffic keeps flowing; a restarted agent re-adopts them: it reads the maps back, keeps every id
// they use, and writes nothing when they are already right. `uninstall()` removes it all.
//
// With its bootstrap token (--token-file) the agent's stream is attested: it keeps the
// WorkloadCertificates and TrustBundle it is served, and runs the node tunnels NodeConfig.encryption
// asks for (tunnel/node-tunnels.ts). Stopping the agent closes the HBONE listeners (skf_config keeps
// steering cross-node flows to them: dropped until the agent is back, never sent in clear) and
// leaves a kernel WireGuard interface up for the next agent to re-adopt.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBpffs, TcAttachment, type BpfMap, type BpfObject } from '../bpf/libbpf.js';
import { conntrack, CtScope, events, loadDatapath, Programs, type MapName } from '../bpf/maps/index.js';
import { logger, type Logger } from '../config/log.js';
import { IdentityType, NODE_CERTIFICATE_NAME, type TrustBundle__Output, type WorkloadCertificate__Output } from '../proto/skiff/v1alpha1/identity-wire.js';
import { RedirectorType } from '../proto/skiff/v1alpha1/wire.js';
import { AdminServer } from './admin.js';
import { Attacher } from './attach.js';
import { DesiredState, MAP_KINDS, MAP_NAMES, type MapKind } from './desired-state.js';
import { FlowLog } from './flows.js';
import { findPodInterfaces, hostAddresses } from './interfaces.js';
import { viewConntrack, viewMap } from './map-view.js';
import { AgentMetrics } from './metrics.js';
import { installProxyRoute, removeProxyRoute } from './proxy-route.js';
import { Reconciler, type ReconcileResult } from './reconciler.js';
import { HBONE_OUTBOUND_PORT } from './tunnel/hbone.js';
import { NodeTunnelManager } from './tunnel/node-tunnels.js';
import { tunnelStatus, type NodeTunnels } from './tunnel/tunnel-status.js';
import { removeWireGuard } from './tunnel/wireguard.js';
import { RedirectorXdsClient, type ResourceUpdate } from './xds-client.js';

export interface AgentOptions {
  node: string;
  /** Control plane HOST:PORT (default 127.0.0.1:15010). */
  xds?: string;
  /** bpffs directory of this node's pins (default /sys/fs/bpf/skiff/<node>). */
  bpffs?: string;
  /** Admin HTTP HOST:PORT (default 127.0.0.1:15021; port 0 picks one). */
  admin?: string;
  /** The proxy's transparent listener port; overrides the control plane's (0 = take it from NodeConfig). */
  proxyPort?: number;
  /** Map sizes other than the datapath's defaults (keep them stable for a node: pinned maps keep theirs). */
  maxEntries?: Partial<Record<MapName, number>>;
  /** How often backends no service uses are dropped once no connection uses them (default 10 s). */
  drainCheckMs?: number;
  /** Pod interface re-scan period (default 2000 ms). */
  scanIntervalMs?: number;
  /** How long the resources must be quiet after the first NodeConfig before the first reconcile (default 300 ms). */
  settleMs?: number;
  /** The node's bootstrap token file (<ca-dir>/bootstrap-tokens/node.<node>.token); re-read at every connect. */
  tokenFile?: string;
  /** The HBONE tunnel's outbound listener port (default 15009). */
  hboneOutboundPort?: number;
  /** WireGuard key rotation period (default 24 h; 0 = never). */
  wireguardKeyRotationMs?: number;
  /** How long a key rotation waits after the control plane pushed the next key (default 1 s). */
  wireguardRotationGraceMs?: number;
  log?: Logger;
}

/** The token in a token file (trimmed); throws when it cannot be read or is empty. */
export function readTokenFile(path: string): string {
  const token = readFileSync(path, 'utf8').trim();
  if (!token) throw new Error(`${path}: empty bootstrap token file`);
  return token;
}

export const DEFAULT_XDS = '127.0.0.1:15010';
export const DEFAULT_ADMIN = '127.0.0.1:15021';

export function defaultPinRoot(node: string): string {
  return join('/sys/fs/bpf/skiff', node);
}

export class RedirectorAgent {
  readonly options: AgentOptions;
  readonly pinRoot: string;
  readonly metrics = new AgentMetrics();
  readonly log: Logger;
  readonly #object: BpfObject;
  readonly #maps: Record<MapKind, BpfMap>;
  readonly #reconciler: Reconciler;
  readonly #desired: DesiredState;
  readonly #attacher: Attacher;
  readonly #flows: FlowLog;
  readonly #admin: AdminServer;
  #xds: RedirectorXdsClient | undefined;
  #generation = 0;
  #ready = false;
  #sawNodeConfig = false;
  #settleTimer: NodeJS.Timeout | undefined;
  #scanTimer: NodeJS.Timeout | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #reconcilePending = false;
  #scanning: Promise<void> | undefined;
  #rescan = false;
  #localKey = '';
  lastReconcile: (ReconcileResult & { initial: boolean }) | undefined;
  /** The node tunnels this agent runs (reported on /debug/tunnel). */
  readonly tunnels: NodeTunnels = {};
  /** The WorkloadCertificates this node holds (by resource name) and the TrustBundle, when attested. */
  readonly certificates = new Map<string, WorkloadCertificate__Output>();
  trustBundle: TrustBundle__Output | undefined;
  #tunnelManager: NodeTunnelManager | undefined;
  #tunnelsPending = false;
  adminPort = 0;

  private constructor(options: AgentOptions) {
    this.options = options;
    this.log = options.log ?? logger('redirector');
    this.pinRoot = options.bpffs ?? defaultPinRoot(options.node);
    ensureBpffs();
    mkdirSync(this.pinRoot, { recursive: true });
    ensureBpffs(this.pinRoot);
    this.#object = loadDatapath({
      pinRoot: this.pinRoot,
      maxEntries: options.maxEntries,
      onMigrated: (copied) => this.log.info({ copied }, 'pinned maps of an earlier datapath layout migrated, entries kept'),
    });
    this.#maps = Object.fromEntries(MAP_KINDS.map((k) => [k, this.#object.map(MAP_NAMES[k])])) as Record<MapKind, BpfMap>;
    this.#reconciler = new Reconciler(this.#maps);
    this.#desired = new DesiredState(
      { node: options.node, proxyPort: options.proxyPort, hboneOutboundPort: options.hboneOutboundPort ?? HBONE_OUTBOUND_PORT },
      this.#reconciler.actual,
    );
    this.#attacher = new Attacher(
      this.pinRoot,
      { ingress: this.#object.program(Programs.FROM_POD), egress: this.#object.program(Programs.TO_POD) },
      this.log,
    );
    const adopted = this.#attacher.adopt();
    this.log.info({ pinRoot: this.pinRoot, adoptedLinks: adopted, entries: this.#entryCounts() }, 'datapath loaded');
    this.#flows = new FlowLog({
      map: this.#object.map(events.MAP_NAME),
      resources: () => ({ resources: this.#desired.resources, generation: this.#generation }),
      metrics: this.metrics,
      log: this.log,
    });
    this.#admin = new AdminServer({
      ready: () => this.#ready,
      metrics: () => this.#collectMetrics(),
      map: (kind) => viewMap(kind, this.#maps[kind], this.#desired.resources, this.#maps.endpoints),
      conntrack: (limit) => viewConntrack(this.#object.map(conntrack.MAP_NAME), this.#maps.backends, this.#desired.resources, limit),
      recentFlows: () => this.#flows.recent(),
      follow: (fn) => this.#flows.follow(fn),
      state: () => this.state(),
      tunnel: () => tunnelStatus(this.options.node, this.#desired.resources.nodeConfig?.encryption, this.tunnels),
    });
  }

  /** Loads (or re-adopts) the datapath, starts the admin API and the control plane stream. */
  static async start(options: AgentOptions): Promise<RedirectorAgent> {
    const agent = new RedirectorAgent(options);
    try {
      await installProxyRoute();
      agent.#desired.setHostAddresses(await hostAddresses());
      agent.adminPort = await agent.#admin.listen(options.admin ?? DEFAULT_ADMIN);
    } catch (err) {
      await agent.stop();
      throw err;
    }
    const admin = options.admin ?? DEFAULT_ADMIN;
    const tokenFile = options.tokenFile;
    const token = tokenFile ? () => readTokenFile(tokenFile) : undefined;
    agent.#tunnelManager = new NodeTunnelManager(
      {
        node: options.node,
        xds: options.xds ?? DEFAULT_XDS,
        token: token ?? (() => undefined),
        hboneOutboundPort: options.hboneOutboundPort ?? HBONE_OUTBOUND_PORT,
        keyRotationMs: options.wireguardKeyRotationMs,
        rotationGraceMs: options.wireguardRotationGraceMs,
        onChange: () => {
          agent.#desired.setHboneRunning(agent.tunnels.hbone !== undefined);
          if (agent.#ready) agent.#scheduleReconcile();
        },
        log: agent.log,
      },
      agent.tunnels,
    );
    agent.#xds = new RedirectorXdsClient({
      address: options.xds ?? DEFAULT_XDS,
      node: options.node,
      adminAddress: admin.startsWith('unix:') ? admin : `${admin.slice(0, admin.lastIndexOf(':'))}:${agent.adminPort}`,
      token,
      onUpdate: (update) => agent.#onUpdate(update),
      log: agent.log,
    });
    agent.#xds.start();
    agent.#scanTimer = setInterval(() => agent.#scan(), options.scanIntervalMs ?? 2000);
    agent.#drainTimer = setInterval(() => agent.#releaseDrained(), options.drainCheckMs ?? 10_000);
    agent.log.info({ node: options.node, xds: options.xds ?? DEFAULT_XDS, admin: agent.adminPort }, 'redirector started');
    return agent;
  }

  get ready(): boolean {
    return this.#ready;
  }

  #entryCounts(): Record<string, number> {
    return Object.fromEntries(MAP_KINDS.map((k) => [k, this.#reconciler.actual[k].size]));
  }

  #onUpdate(update: ResourceUpdate): void {
    const d = this.#desired;
    for (const name of update.removed) this.#apply(update.typeUrl, name, undefined);
    for (const [name, message] of update.updated) this.#apply(update.typeUrl, name, message);
    this.#generation++;
    this.#scheduleTunnels();
    if (update.typeUrl === IdentityType.workloadCertificate || update.typeUrl === IdentityType.trustBundle) return;
    if (update.typeUrl === RedirectorType.nodeConfig && update.updated.size > 0) this.#sawNodeConfig = true;
    if (!this.#ready) {
      // hold the first reconcile until the initial state has arrived (an empty map would wipe the kernel's)
      if (!this.#sawNodeConfig) return;
      clearTimeout(this.#settleTimer);
      this.#settleTimer = setTimeout(() => this.#firstReconcile(), this.options.settleMs ?? 300);
      return;
    }
    const localKey = d.localWorkloads().map((w) => w.ips.join(',')).join(';');
    if (localKey !== this.#localKey) this.#scan();
    this.#scheduleReconcile();
  }

  #apply(typeUrl: string, name: string, message: unknown): void {
    const d = this.#desired;
    switch (typeUrl) {
      case RedirectorType.nodeConfig:
        if (name === this.options.node) d.setNodeConfig(message as never);
        break;
      case RedirectorType.identity:
        d.setIdentity(Number(name), message as never);
        break;
      case RedirectorType.workload:
        d.setWorkload(name, message as never);
        break;
      case RedirectorType.service:
        d.setService(name, message as never);
        break;
      case RedirectorType.endpointPolicy:
        d.setPolicy(name, message as never);
        break;
      case IdentityType.workloadCertificate:
        if (message) this.certificates.set(name, message as WorkloadCertificate__Output);
        else this.certificates.delete(name);
        break;
      case IdentityType.trustBundle:
        this.trustBundle = message as TrustBundle__Output | undefined;
        break;
    }
  }

  /** The tunnels follow the resources (coalesced: one update per turn of the event loop). */
  #scheduleTunnels(): void {
    if (this.#tunnelsPending) return;
    this.#tunnelsPending = true;
    setImmediate(() => {
      this.#tunnelsPending = false;
      const d = this.#desired.resources;
      if (!d.nodeConfig) return;
      this.#tunnelManager?.update({ nodeConfig: d.nodeConfig, workloads: d.workloads.values(), services: d.services.values(), policies: d.policies.values(), certificates: this.certificates });
    });
  }

  /** The first reconcile compares every key; interfaces are found first, so a re-adopted node matches. */
  #firstReconcile(): void {
    this.#scanning = (async () => {
      await this.#findInterfaces();
      this.#desired.discardDirty();
      const result = this.#reconcile(true);
      this.#ready = true;
      this.log.info({ writes: result.writes, deletes: result.deletes, ms: Number(result.durationMs.toFixed(2)), perMap: result.perMap }, 'initial reconcile done');
      this.#attach();
    })()
      .catch((err: Error) => this.log.error({ error: err.message }, 'initial reconcile failed'))
      .finally(() => {
        this.#scanning = undefined;
      });
  }

  #found = new Map<string, { ifname: string; ifindex: number }>();

  async #findInterfaces(): Promise<void> {
    const locals = this.#desired.localWorkloads();
    this.#localKey = locals.map((w) => w.ips.join(',')).join(';');
    this.#found = await findPodInterfaces(locals.flatMap((w) => w.ips));
    this.#desired.setInterfaces(new Map([...this.#found].map(([ip, i]) => [ip, i.ifindex])));
  }

  #attach(): void {
    this.#attacher.sync(new Map([...this.#found.values()].map((i) => [i.ifname, i.ifindex])));
    this.metrics.attached.set(this.#attacher.interfaces().length);
  }

  #scheduleReconcile(): void {
    if (this.#reconcilePending) return;
    this.#reconcilePending = true;
    setImmediate(() => {
      this.#reconcilePending = false;
      this.#reconcile(false);
    });
  }

  #reconcile(initial: boolean): ReconcileResult {
    let result: ReconcileResult;
    try {
      result = this.#reconciler.apply(this.#desired.contents(), initial ? undefined : this.#desired.takeDirty());
    } catch (err) {
      this.log.error({ error: (err as Error).message }, 'reconcile failed; retrying with a full comparison');
      setTimeout(() => this.#reconcile(true), 1000);
      return { writes: 0, deletes: 0, durationMs: 0, perMap: {} };
    }
    this.lastReconcile = { ...result, initial };
    this.metrics.reconciles.inc();
    this.metrics.reconcileSeconds.observe(result.durationMs / 1000);
    for (const [kind, counts] of Object.entries(result.perMap)) {
      this.metrics.reconcileWrites.inc({ map: kind }, counts.writes);
      this.metrics.reconcileDeletes.inc({ map: kind }, counts.deletes);
    }
    if (result.writes || result.deletes) this.log.debug({ writes: result.writes, deletes: result.deletes, perMap: result.perMap }, 'reconciled');
    return result;
  }

  /** Drops the backends no service uses once no conntrack entry points at them any more. */
  #releaseDrained(): void {
    if (!this.#ready || this.#desired.draining === 0) return;
    const inUse = new Set<number>();
    const now = process.hrtime.bigint();
    for (const [k, v] of this.#object.map(conntrack.MAP_NAME).entries()) {
      const key = conntrack.decodeKey(k);
      if (key.scope !== CtScope.SERVICE) continue;
      const value = conntrack.decodeValue(v, key.family);
      if (value.expires > now) inUse.add(value.backendId);
    }
    if (this.#desired.releaseDrained(inUse) > 0) this.#scheduleReconcile();
  }

  /** Finds the local pods' interfaces, writes their endpoints, then attaches (never the reverse). */
  #scan(): void {
    if (!this.#ready) return;
    if (this.#scanning) {
      this.#rescan = true;
      return;
    }
    this.#scanning = (async () => {
      await this.#findInterfaces();
      this.#reconcile(false);
      this.#attach();
    })()
      .catch((err: Error) => this.log.error({ error: err.message }, 'pod interface scan failed'))
      .finally(() => {
        this.#scanning = undefined;
        if (this.#rescan) {
          this.#rescan = false;
          this.#scan();
        }
      });
  }

  async #collectMetrics(): Promise<string> {
    for (const kind of MAP_KINDS) this.metrics.mapEntries.set({ map: kind }, this.#reconciler.actual[kind].size);
    this.metrics.observeDatapath(this.#object.maps(), Object.fromEntries(MAP_KINDS.map((k) => [MAP_NAMES[k], k])));
    this.metrics.xdsConnected.set(this.#xds?.connected ? 1 : 0);
    for (const [type, s] of this.#xds?.status ?? []) {
      const short = type.slice(type.lastIndexOf('.') + 1);
      this.metrics.xdsResources.set({ type: short }, s.resources);
      this.metrics.xdsNacks.set({ type: short }, s.nacks);
    }
    return this.metrics.registry.metrics();
  }

  state(): unknown {
    return {
      node: this.options.node,
      ready: this.#ready,
      pinRoot: this.pinRoot,
      proxyPort: this.#desired.proxyPort,
      xds: { connected: this.#xds?.connected ?? false, connects: this.#xds?.connects ?? 0, types: Object.fromEntries(this.#xds?.status ?? []) },
      interfaces: this.#attacher.interfaces(),
      entries: this.#entryCounts(),
      lastReconcile: this.lastReconcile,
      // only an attested stream is served the node's own certificate
      attested: this.certificates.has(NODE_CERTIFICATE_NAME),
      trustDomain: this.trustBundle?.trust_domain,
      certificates: [...this.certificates].map(([name, c]) => ({ name, spiffeId: c.spiffe_id, serial: c.serial, notAfterMs: Number(c.not_after_ms) })),
    };
  }

  /** Stops reading and serving; programs, links and maps stay pinned, so traffic keeps flowing. */
  async stop(): Promise<void> {
    clearTimeout(this.#settleTimer);
    clearInterval(this.#scanTimer);
    clearInterval(this.#drainTimer);
    this.#xds?.stop();
    await this.#tunnelManager?.stop();
    this.#flows.close();
    await this.#admin.close().catch(() => undefined);
    await this.#scanning;
    this.#attacher.close();
    this.#object.close();
  }
}

/** Removes everything an agent installed on this node: links, pins, the proxy route. */
export async function uninstall(node: string, pinRoot = defaultPinRoot(node), log: Logger = logger('redirector')): Promise<void> {
  ensureBpffs();
  const links = join(pinRoot, 'links');
  let detached = 0;
  try {
    for (const file of readdirSync(links)) {
      try {
        TcAttachment.fromPin(join(links, file)).detach();
        detached++;
      } catch {
        // a link whose interface is gone
      }
    }
  } catch {
    // no links directory
  }
  await removeProxyRoute();
  await removeWireGuard();
  rmSync(pinRoot, { recursive: true, force: true });
  log.info({ pinRoot, detached }, 'redirector uninstalled');
}

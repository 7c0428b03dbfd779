// The redirector's resources → the exact desired content of every kernel map it owns (services,
// lb slots, backends, ipcache, endpoints, policy, config), kept incrementally: each resource owns
// the entries it contributes, a change recomputes only its owner's entries and records the keys
// that changed (the reconciler writes just those). Ids are stable: backend ids, service rev-NAT
// ids, endpoint ids, CIDR identities and slot tables are seeded from what the kernel maps already
// hold (an agent restart re-adopts them), new ones are allocated above the highest in use.
import { isIPv4 } from 'node:net';
import type {
  EndpointPolicy__Output,
  Identity__Output,
  NodeConfig__Output,
  Service__Output,
  Workload__Output,
} from '../proto/skiff/v1alpha1/wire.js';
import {
  AF_INET,
  AF_INET6,
  EndpointFlags,
  Identity,
  Proto,
  ServiceFlags,
  backends,
  config,
  endpoints,
  ipcache,
  lbSlots,
  policy,
  services,
} from '../bpf/maps/index.js';
import { canonicalCidr, expandEndpointPolicy, type CidrIdentity } from './policy-expand.js';
import { assignSlots } from './slots.js';
import { HBONE_OUTBOUND_PORT } from './tunnel/hbone.js';

/** The maps the redirector writes, in the order upserts go (removals go in reverse). */
export const MAP_KINDS = ['ipcache', 'backends', 'lbSlots', 'policy', 'services', 'endpoints', 'config'] as const;
export type MapKind = (typeof MAP_KINDS)[number];

export const MAP_NAMES: Record<MapKind, string> = {
  ipcache: ipcache.MAP_NAME,
  backends: backends.MAP_NAME,
  lbSlots: lbSlots.MAP_NAME,
  policy: policy.MAP_NAME,
  services: services.MAP_NAME,
  endpoints: endpoints.MAP_NAME,
  config: config.MAP_NAME,
};

/** Map content as the reconciler compares it: key bytes (latin1 string) → value bytes. */
export type MapContent = Map<string, Buffer>;

/** The first identity the agent gives CIDR prefixes (the control plane's are below 2^24). */
export const FIRST_CIDR_IDENTITY = 1 << 24;
const REMOTE_NODE_IDENTITY = 6;

/** A map key's bytes as the string MapContent and DesiredContent are keyed by, and back. */
export const keyOf = (buf: Buffer): string => buf.toString('latin1');
export const keyBytes = (key: string): Buffer => Buffer.from(key, 'latin1');

const PROTOCOLS: Record<string, number> = { TCP: Proto.TCP, UDP: Proto.UDP, SCTP: 132 };

function familyOf(ip: string): number {
  return isIPv4(ip) ? AF_INET : AF_INET6;
}

function hostPrefix(ip: string): string {
  return `${ip}/${isIPv4(ip) ? 32 : 128}`;
}

/** One desired map entry; `owner` is the resource whose entry is in force. */
export interface Entry {
  key: Buffer;
  value: Buffer;
  owner: string;
}

/** The desired content of one map: key bytes (latin1 string) → entry. */
export type DesiredContent = Map<string, Entry>;

type OwnerEntries = Map<string, Entry>;

/**
 * Encoded keys and values of the large maps are cut from shared 64 KiB slabs: one ArrayBuffer per
 * thousands of entries instead of one each keeps the garbage collector out of a 100,000-entry load.
 */
class Slab {
  #buf = Buffer.alloc(0);
  #offset = 0;

  take(size: number): Buffer {
    if (this.#offset + size > this.#buf.length) {
      this.#buf = Buffer.alloc(1 << 16);
      this.#offset = 0;
    }
    const out = this.#buf.subarray(this.#offset, this.#offset + size);
    this.#offset += size;
    return out;
  }
}

const slab = new Slab();

function encode<T>(struct: { size: number; write(buf: Buffer, offset: number, value: T): void }, value: T): Buffer {
  const buf = slab.take(struct.size);
  struct.write(buf, 0, value);
  return buf;
}

function encodeU32(value: number): Buffer {
  const buf = slab.take(4);
  buf.writeUInt32LE(value, 0);
  return buf;
}

function put(entries: OwnerEntries, key: Buffer, value: Buffer): void {
  entries.set(keyOf(key), { key, value, owner: '' });
}

/**
 * The entries of one map, each owned by the resources that contribute it (a key two resources
 * contribute — a backend of two services — stays until both let it go). Changes are tracked per
 * owner; the changed keys are worked out only when asked for.
 */
class OwnedEntries {
  readonly content: DesiredContent = new Map();
  readonly #byOwner = new Map<string, OwnerEntries>();
  /** Owners besides the one in force, for the few keys several resources contribute. */
  readonly #extra = new Map<string, string[]>();
  /** Owners changed since the last takeDirty, with their entries before the first change. */
  #dirty = new Map<string, OwnerEntries | undefined>();

  /** Replaces everything owner contributes. */
  set(owner: string, entries: OwnerEntries): void {
    const before = this.#byOwner.get(owner);
    if (!this.#dirty.has(owner)) this.#dirty.set(owner, before);
    if (entries.size > 0) this.#byOwner.set(owner, entries);
    else this.#byOwner.delete(owner);
    if (before) {
      for (const key of before.keys()) if (!entries.has(key)) this.#release(owner, key);
    }
    for (const [key, entry] of entries) {
      entry.owner = owner;
      const current = this.content.get(key);
      if (!current || current.owner === owner) {
        this.content.set(key, entry);
        continue;
      }
      const extra = this.#extra.get(key);
      if (!extra) this.#extra.set(key, [owner]);
      else if (!extra.includes(owner)) extra.push(owner);
    }
  }

  #release(owner: string, key: string): void {
    const current = this.content.get(key);
    const extra = this.#extra.get(key);
    if (current?.owner !== owner) {
      if (extra) this.#removeExtra(key, extra, owner);
      return;
    }
    const next = extra?.shift();
    if (extra?.length === 0) this.#extra.delete(key);
    const entry = next === undefined ? undefined : this.#byOwner.get(next)?.get(key);
    if (entry) this.content.set(key, entry);
    else this.content.delete(key);
  }

  #removeExtra(key: string, extra: string[], owner: string): void {
    const i = extra.indexOf(owner);
    if (i >= 0) extra.splice(i, 1);
    if (extra.length === 0) this.#extra.delete(key);
  }

  /** The keys the changes since the last call may have touched. */
  takeDirty(): Set<string> {
    const keys = new Set<string>();
    for (const [owner, before] of this.#dirty) {
      for (const key of before?.keys() ?? []) keys.add(key);
      for (const key of this.#byOwner.get(owner)?.keys() ?? []) keys.add(key);
    }
    this.#dirty = new Map();
    return keys;
  }

  /** Forgets the changes (the next reconcile compares everything anyway). */
  discardDirty(): void {
    this.#dirty = new Map();
  }

  has(owner: string): boolean {
    return this.#byOwner.has(owner);
  }
}

/** Stable ids by name, seeded from the kernel, new ones above the highest seen. */
class IdAllocator {
  readonly #ids = new Map<string, number>();
  #next: number;

  constructor(first: number) {
    this.#next = first;
  }

  seed(name: string, id: number): void {
    this.#ids.set(name, id);
    this.#next = Math.max(this.#next, id + 1);
  }

  get(name: string): number | undefined {
    return this.#ids.get(name);
  }

  take(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.#next++;
      this.#ids.set(name, id);
    }
    return id;
  }

  release(name: string): void {
    this.#ids.delete(name);
  }

  names(): IterableIterator<string> {
    return this.#ids.keys();
  }
}

export interface DesiredStateOptions {
  node: string;
  /** Nonzero: the proxy port of every L7 entry (the agent's --proxy-port); else the resources'. */
  proxyPort?: number;
  /** Addresses of this node (identity HOST), besides its InternalIP. */
  hostAddresses?: readonly string[];
  /** The HBONE tunnel's outbound listener: with NodeConfig encryption `hbone`, skf_config's
   * hbonePort (cross-node pod flows are steered there; dropped while nothing listens). Default 15009. */
  hboneOutboundPort?: number;
}

/** The resources the agent holds, by type. */
export interface Resources {
  nodeConfig?: NodeConfig__Output;
  workloads: Map<string, Workload__Output>;
  services: Map<string, Service__Output>;
  policies: Map<string, EndpointPolicy__Output>;
  identities: Map<number, Identity__Output>;
}

export class DesiredState {
  readonly node: string;
  readonly resources: Resources = { workloads: new Map(), services: new Map(), policies: new Map(), identities: new Map() };
  readonly maps = Object.fromEntries(MAP_KINDS.map((k) => [k, new OwnedEntries()])) as Record<MapKind, OwnedEntries>;
  readonly #options: DesiredStateOptions;
  #ifindexes = new Map<string, number>();
  readonly #backendIds = new IdAllocator(1);
  readonly #backendRefs = new Map<string, number>();
  /** Backends no service uses any more, kept while conntrack may still point at them (name → id). */
  readonly #draining = new Map<string, number>();
  readonly #revNatIds = new IdAllocator(1);
  readonly #revNatByVip = new Map<string, number>();
  readonly #serviceIds = new Map<string, string[]>();
  readonly #slots = new Map<number, number[]>();
  readonly #endpointIds = new IdAllocator(1);
  readonly #endpointIdByIp = new Map<string, number>();
  readonly #cidrIds = new IdAllocator(FIRST_CIDR_IDENTITY);
  #prefixes: CidrIdentity[] = [];
  #hboneRunning = false;

  constructor(options: DesiredStateOptions, actual?: Partial<Record<MapKind, MapContent>>) {
    this.node = options.node;
    this.#options = options;
    if (actual) this.#seed(actual);
    this.#updateConfig();
    this.#updateNodeAddresses();
  }

  /** Adopts the ids the kernel maps already use. */
  #seed(actual: Partial<Record<MapKind, MapContent>>): void {
    for (const [k, v] of actual.backends ?? []) {
      const b = backends.decodeValue(v);
      const name = `${b.addr}|${b.port}|${b.proto}`;
      this.#backendIds.seed(name, backends.decodeKey(keyBytes(k)));
      this.#drain(name, keyBytes(k), v);
    }
    for (const [k, v] of actual.services ?? []) {
      const key = services.decodeKey(keyBytes(k));
      this.#revNatByVip.set(`${key.addr}|${key.port}|${key.proto}`, services.decodeValue(v).revNatId);
    }
    const slotTables = new Map<number, Map<number, number>>();
    for (const [k, v] of actual.lbSlots ?? []) {
      const key = lbSlots.decodeKey(keyBytes(k));
      let table = slotTables.get(key.revNatId);
      if (!table) slotTables.set(key.revNatId, (table = new Map()));
      table.set(key.slot, lbSlots.decodeValue(v));
    }
    for (const [revNat, table] of slotTables) {
      const list: number[] = [];
      for (let i = 0; table.has(i); i++) list.push(table.get(i) as number);
      this.#slots.set(revNat, list);
    }
    for (const [k, v] of actual.endpoints ?? []) this.#endpointIdByIp.set(endpoints.decodeKey(keyBytes(k)), endpoints.decodeValue(v).endpointId);
    for (const [k, v] of actual.ipcache ?? []) {
      const identity = ipcache.decodeValue(v).identity;
      if (identity >= FIRST_CIDR_IDENTITY) this.#cidrIds.seed(ipcache.decodeKey(keyBytes(k)).cidr, identity);
    }
  }

  get proxyPort(): number {
    return this.#options.proxyPort || this.resources.nodeConfig?.proxy_port || 0;
  }

  /** The keys changed since the last call, per map (what the reconciler must look at). */
  takeDirty(): Record<MapKind, Set<string>> {
    const out = {} as Record<MapKind, Set<string>>;
    for (const kind of MAP_KINDS) out[kind] = this.maps[kind].takeDirty();
    return out;
  }

  /** Forgets the changes so far (before a reconcile that compares every key). */
  discardDirty(): void {
    for (const kind of MAP_KINDS) this.maps[kind].discardDirty();
  }

  content(kind: MapKind): DesiredContent {
    return this.maps[kind].content;
  }

  /** Every map's desired content. */
  contents(): Record<MapKind, DesiredContent> {
    return Object.fromEntries(MAP_KINDS.map((k) => [k, this.maps[k].content])) as Record<MapKind, DesiredContent>;
  }

  // -------------------------------------------------------------------------------------------
  // resource changes

  setNodeConfig(nc: NodeConfig__Output | undefined): void {
    this.resources.nodeConfig = nc;
    this.#updateConfig();
    this.#updateNodeAddresses();
    this.#updateAllPolicies();
  }

  setHostAddresses(addresses: readonly string[]): void {
    this.#options.hostAddresses = addresses;
    this.#updateNodeAddresses();
  }

  setIdentity(id: number, identity: Identity__Output | undefined): void {
    if (identity) this.resources.identities.set(id, identity);
    else this.resources.identities.delete(id);
  }

  setWorkload(key: string, w: Workload__Output | undefined): void {
    const before = this.resources.workloads.get(key);
    if (w) this.resources.workloads.set(key, w);
    else this.resources.workloads.delete(key);
    const entries = new Map<string, Entry>();
    for (const ip of w?.ips ?? []) {
      put(entries, ipcache.encodeKey({ cidr: hostPrefix(ip) }), ipcache.encodeValue({ identity: w?.identity ?? 0, flags: 0 }));
    }
    this.maps.ipcache.set(`wl:${key}`, entries);
    if (this.#isLocal(before) || this.#isLocal(w)) this.#updateEndpoint(key);
  }

  setService(key: string, s: Service__Output | undefined): void {
    if (s) this.resources.services.set(key, s);
    else this.resources.services.delete(key);
    this.#updateService(key, s);
  }

  setPolicy(key: string, p: EndpointPolicy__Output | undefined): void {
    if (p) this.resources.policies.set(key, p);
    else this.resources.policies.delete(key);
    if (this.#updatePrefixes()) this.#updateAllPolicies();
    else this.#updateEndpoint(key);
  }

  /** The host-side interface of each local pod IP (from interfaces.ts). */
  setInterfaces(ifindexes: Map<string, number>): void {
    const changed = new Set<string>();
    for (const ip of new Set([...ifindexes.keys(), ...this.#ifindexes.keys()])) {
      if (ifindexes.get(ip) !== this.#ifindexes.get(ip)) changed.add(ip);
    }
    this.#ifindexes = new Map(ifindexes);
    if (changed.size === 0) return;
    for (const [key, w] of this.resources.workloads) {
      if (this.#isLocal(w) && w.ips.some((ip) => changed.has(ip))) this.#updateEndpoint(key);
    }
  }

  /** The local workloads (their keys and IPs): the pods whose interfaces the agent must find. */
  localWorkloads(): Workload__Output[] {
    return [...this.resources.workloads.values()].filter((w) => this.#isLocal(w));
  }

  // -------------------------------------------------------------------------------------------
  // contributions

  #isLocal(w: Workload__Output | undefined): boolean {
    return w !== undefined && w.node_name === this.node;
  }

  /**
   * Keeps steering cross-node flows to the HBONE tunnel while it still runs though the mesh no
   * longer asks for it (a switch to WireGuard: until WireGuard carries the traffic, never in clear).
   */
  setHboneRunning(running: boolean): void {
    if (running === this.#hboneRunning) return;
    this.#hboneRunning = running;
    this.#updateConfig();
  }

  /** Where flows that need L7 only because of a waypoint go: with NodeConfig encryption `hbone`, the
   * HBONE outbound listener (it carries them to the waypoint; dropped while nothing listens), else
   * 0 (the node proxy, as every L7 flow). */
  get #waypointPort(): number {
    return this.resources.nodeConfig?.encryption === 'hbone' ? this.#hboneOutboundPort : 0;
  }

  get #hboneOutboundPort(): number {
    return this.#options.hboneOutboundPort ?? HBONE_OUTBOUND_PORT;
  }

  /** skf_config: the HBONE outbound port when the node tunnels with HBONE, else 0. */
  #updateConfig(): void {
    const steer = this.resources.nodeConfig?.encryption === 'hbone' || this.#hboneRunning;
    const hbonePort = steer ? this.#hboneOutboundPort : 0;
    const entries: OwnerEntries = new Map();
    put(entries, config.encodeKey(), config.encodeValue({ proxyAddr4: '', proxyAddr6: '', flags: 0, hbonePort }));
    this.maps.config.set('config', entries);
  }

  #updateNodeAddresses(): void {
    const entries = new Map<string, Entry>();
    const add = (ip: string, identity: number) => {
      put(entries, ipcache.encodeKey({ cidr: hostPrefix(ip) }), ipcache.encodeValue({ identity, flags: 0 }));
    };
    for (const n of this.resources.nodeConfig?.nodes ?? []) {
      if (n.internal_ip) add(n.internal_ip, n.name === this.node ? Identity.HOST : REMOTE_NODE_IDENTITY);
    }
    for (const ip of this.#options.hostAddresses ?? []) add(ip, Identity.HOST);
    this.maps.ipcache.set('node', entries);
  }

  /** The CIDR prefixes local policies name; true when the set changed. */
  #updatePrefixes(): boolean {
    const cidrs = new Set<string>();
    for (const [key, p] of this.resources.policies) {
      if (!this.#isLocal(this.resources.workloads.get(key))) continue;
      for (const d of [p.ingress, p.egress, p.authorization]) {
        for (const e of d?.entries ?? []) {
          for (const c of e.cidrs) {
            cidrs.add(canonicalCidr(c.cidr));
            for (const x of c.except) cidrs.add(canonicalCidr(x));
          }
        }
      }
    }
    const sorted = [...cidrs].sort();
    if (sorted.join(',') === this.#prefixes.map((p) => p.cidr).join(',')) return false;
    for (const name of [...this.#cidrIds.names()]) if (!cidrs.has(name)) this.#cidrIds.release(name);
    this.#prefixes = sorted.map((cidr) => ({ cidr, identity: this.#cidrIds.take(cidr) }));
    const entries = new Map<string, Entry>();
    for (const p of this.#prefixes) put(entries, ipcache.encodeKey({ cidr: p.cidr }), ipcache.encodeValue({ identity: p.identity, flags: 0 }));
    this.maps.ipcache.set('cidr', entries);
    return true;
  }

  #updateAllPolicies(): void {
    for (const key of this.resources.workloads.keys()) {
      if (this.#isLocal(this.resources.workloads.get(key)) || this.maps.endpoints.has(`ep:${key}`)) this.#updateEndpoint(key);
    }
  }

  /** The endpoint entries and policy entries of one workload (empty when it is not local). */
  #updateEndpoint(key: string): void {
    const w = this.resources.workloads.get(key);
    const epEntries = new Map<string, Entry>();
    const polEntries = new Map<string, Entry>();
    if (w && this.#isLocal(w) && w.ips.length > 0) {
      const endpointId = this.#endpointId(key, w);
      const p = this.resources.policies.get(key);
      let flags = 0;
      if (p?.ingress?.enforced || p?.authorization?.enforced) flags |= EndpointFlags.INGRESS_ENFORCED;
      if (p?.egress?.enforced) flags |= EndpointFlags.EGRESS_ENFORCED;
      for (const ip of w.ips) {
        put(epEntries, endpoints.encodeKey(ip),
          endpoints.encodeValue({ endpointId, identity: w.identity, ifindex: this.#ifindexes.get(ip) ?? 0, flags }),
        );
      }
      if (p) {
        for (const [k, v] of expandEndpointPolicy(endpointId, p, this.#prefixes, { proxyPort: this.proxyPort, waypointPort: this.#waypointPort })) {
          put(polEntries, policy.encodeKey(k), policy.encodeValue(v));
        }
      }
    } else {
      this.#endpointIds.release(key);
    }
    this.maps.endpoints.set(`ep:${key}`, epEntries);
    this.maps.policy.set(`pol:${key}`, polEntries);
  }

  #endpointId(key: string, w: Workload__Output): number {
    if (this.#endpointIds.get(key) === undefined) {
      const adopted = w.ips.map((ip) => this.#endpointIdByIp.get(ip)).find((id) => id !== undefined);
      if (adopted !== undefined) this.#endpointIds.seed(key, adopted);
    }
    return this.#endpointIds.take(key);
  }

  #revNat(name: string, vips: string[], port: number, proto: number): number {
    if (this.#revNatIds.get(name) === undefined) {
      for (const vip of vips) {
        const adopted = this.#revNatByVip.get(`${vip}|${port}|${proto}`);
        if (adopted !== undefined) {
          this.#revNatByVip.delete(`${vip}|${port}|${proto}`);
          this.#revNatIds.seed(name, adopted);
          break;
        }
      }
    }
    return this.#revNatIds.take(name);
  }

  #updateService(key: string, s: Service__Output | undefined): void {
    const svcEntries = new Map<string, Entry>();
    const slotEntries = new Map<string, Entry>();
    const backendEntries = new Map<string, Entry>();
    const revNatNames: string[] = [];
    const backendNames: string[] = [];
    for (const port of s?.ports ?? []) {
      const proto = PROTOCOLS[port.protocol];
      if (!proto) continue;
      for (const family of [AF_INET, AF_INET6]) {
        const vips = (s?.vips ?? []).filter((v) => familyOf(v) === family);
        if (vips.length === 0) continue;
        const name = `${key}|${port.port}|${proto}|${family}`;
        revNatNames.push(name);
        const revNatId = this.#revNat(name, vips, port.port, proto);
        const candidates = port.backends.filter((b) => familyOf(b.address) === family);
        let chosen = candidates.filter((b) => b.ready);
        if (chosen.length === 0) chosen = candidates.filter((b) => b.serving);
        const ids: number[] = [];
        const idBytes = new Map<number, Buffer>();
        for (const b of chosen) {
          const bname = `${b.address}|${b.port}|${proto}`;
          if (backendNames.includes(bname)) continue;
          backendNames.push(bname);
          const id = this.#backendIds.take(bname);
          ids.push(id);
          const idBuf = encodeU32(id);
          idBytes.set(id, idBuf);
          put(backendEntries, idBuf, encode(backends.VALUE, { addr: b.address, port: b.port, proto, flags: 0 }));
          if (this.#draining.delete(bname)) this.maps.backends.set(`drain:${bname}`, new Map());
        }
        const slots = assignSlots(this.#slots.get(revNatId) ?? [], ids);
        this.#slots.set(revNatId, slots);
        // a slot's value is the backend id: the same bytes as the backend's key
        slots.forEach((id, slot) => put(slotEntries, encode(lbSlots.KEY, { revNatId, slot }), idBytes.get(id) ?? encodeU32(id)));
        const value = encode(services.VALUE, { revNatId, count: slots.length, flags: port.needs_l7 ? ServiceFlags.NO_SOCK_LB : 0 });
        for (const vip of vips) put(svcEntries, encode(services.KEY, { addr: vip, port: port.port, proto }), value);
      }
    }
    const owner = `svc:${key}`;
    this.maps.services.set(owner, svcEntries);
    this.maps.lbSlots.set(owner, slotEntries);
    this.maps.backends.set(owner, backendEntries);
    this.#releaseServiceIds(key, revNatNames, backendNames);
  }

  /** Keeps a backend no service uses (established connections may still point at it). */
  #drain(name: string, key: Buffer, value: Buffer): void {
    if (this.#backendRefs.has(name)) return;
    const id = this.#backendIds.get(name);
    if (id === undefined) return;
    this.#draining.set(name, id);
    const entries: OwnerEntries = new Map();
    put(entries, key, value);
    this.maps.backends.set(`drain:${name}`, entries);
  }

  get draining(): number {
    return this.#draining.size;
  }

  /** Drops the draining backends that no conntrack entry uses (ids from the SERVICE-scope entries). */
  releaseDrained(inUse: ReadonlySet<number>): number {
    let released = 0;
    for (const [name, id] of [...this.#draining]) {
      if (inUse.has(id)) continue;
      this.#draining.delete(name);
      this.#backendIds.release(name);
      this.maps.backends.set(`drain:${name}`, new Map());
      released++;
    }
    return released;
  }

  /** Forgets the rev-NAT ids a service no longer uses; backends it no longer uses start draining. */
  #releaseServiceIds(key: string, revNatNames: string[], backendNames: string[]): void {
    for (const name of this.#serviceIds.get(`r:${key}`) ?? []) {
      if (revNatNames.includes(name)) continue;
      const id = this.#revNatIds.get(name);
      if (id !== undefined) this.#slots.delete(id);
      this.#revNatIds.release(name);
    }
    for (const name of backendNames) this.#backendRefs.set(name, (this.#backendRefs.get(name) ?? 0) + 1);
    for (const name of this.#serviceIds.get(`b:${key}`) ?? []) {
      const refs = (this.#backendRefs.get(name) ?? 1) - 1;
      if (refs > 0) {
        this.#backendRefs.set(name, refs);
      } else {
        this.#backendRefs.delete(name);
        const id = this.#backendIds.get(name);
        const [addr, port, proto] = name.split('|') as [string, string, string];
        if (id !== undefined) {
          this.#drain(name, backends.encodeKey(id), backends.encodeValue({ addr, port: Number(port), proto: Number(proto), flags: 0 }));
        }
      }
    }
    this.#serviceIds.set(`r:${key}`, revNatNames);
    this.#serviceIds.set(`b:${key}`, backendNames);
  }
}

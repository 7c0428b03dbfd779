// The incremental translator: MeshSnapshot → Envoy resources per client class (node proxy of each
// node, proxyless gRPC clients, waypoints). The snapshot shares unchanged views between versions,
// so the translator revisits only what changed: a Service whose view, route attachments and
// needs-L7 marks are the same objects as last time is skipped whole; a filter chain whose inputs
// are the same is reused (encoded and checked once, shared by every node); a listener is
// reassembled from its chains' bytes. Every new resource is encoded and checked; one that fails
// its checks or its cross-references is not served — the last good version stays — and the
// failure is kept in `issues` with the mesh object that caused it.
import type { HTTPRouteFilter } from '../../config/resources.js';
import type { MeshSnapshot, ServicePortRoutes, ServicePortView, ServiceView } from '../../config/snapshot/types.js';
import { servicePortKey } from '../../config/snapshot/types.js';
import { validateResource } from '../validate/index.js';
import { assembleListener, buildChain, DENY_ALL_FILTER, servedChain, type ChainBuilt } from './chains.js';
import { passthroughCluster, serviceCluster } from './clusters.js';
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  INVALID_BACKEND_CLUSTER,
  LISTENER_TYPE,
  PASSTHROUGH_CLUSTER,
  ROUTE_TYPE,
  SECRET_TYPE,
} from './constants.js';
import { changedKeys } from './diff.js';
import { finish } from './encode.js';
import type { Built, ResourceChecker } from './encode.js';
import { directLoadAssignment } from './endpoints.js';
import { apiListener, transparentListener, type DestinationChain } from './listeners.js';
import { Family, Memo } from './memo.js';
import { clusterName, hostPortName, serviceHost } from './names.js';
import { proxylessRoutes } from './proxyless.js';
import { rbacFilters, serviceRbacFilters, type IdentityAddresses } from './rbac.js';
import { buildRoute, defaultRoute, routeConfiguration } from './routes.js';
import type { IssueSink } from './routes.js';
import { proxySecrets } from './secrets.js';
import type { ClientClass, Json, TranslateIssue } from './types.js';
import { clientClassKey } from './types.js';
import { WaypointTranslator } from './waypoint.js';

/** The route configuration of the node proxy's workload (inbound) chains: pass through, after RBAC. */
export const INBOUND_ROUTE = 'inbound|passthrough';

/** The resources of one client class: type URL → name → Built (the maps are shared, never mutated). */
export interface ClassResources {
  key: string;
  client: ClientClass;
  resources: ReadonlyMap<string, ReadonlyMap<string, Built>>;
}

export interface Translation {
  /** The snapshot version translated. */
  version: string;
  classes: ReadonlyMap<string, ClassResources>;
  /** Every current problem: resources withheld (with the object at fault) and warnings. */
  issues: readonly TranslateIssue[];
  /** Resources (and filter chains) built in this round; everything else was reused. */
  stats: { built: number };
}

export interface TranslatorOptions {
  /** The rule checker every resource goes through; default xds/validate's validateResource. */
  checker?: ResourceChecker;
}

/** What one Service port produced last time, and from which views. */
interface PortUnit {
  view: ServicePortView;
  fqdn: string;
  attachment: ServicePortRoutes | undefined;
  mirrors: string;
  clusterDomain: string;
  l7: boolean;
  routes: { routes: Json[]; issues: TranslateIssue[] };
  cluster: Built;
  endpoints: Built;
  listener: Built;
  proxylessRoute: Built;
  proxyRoute?: Built;
}

interface ServiceUnit {
  service: ServiceView;
  ports: Map<number, PortUnit>;
}

interface ChainEntry {
  deps: readonly unknown[];
  built: ChainBuilt;
}

/** The service key of a service port key (`namespace/name|port/protocol`). */
function serviceOfPortKey(key: string): string {
  return key.slice(0, key.lastIndexOf('|'));
}

function sameDeps(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameList<T>(a: readonly T[] | undefined, b: readonly T[]): boolean {
  return !!a && a.length === b.length && a.every((x, i) => x === b[i]);
}

export class Translator {
  private readonly checker: ResourceChecker;
  private readonly memo = new Memo<Built>();
  private built = 0;
  private previous: MeshSnapshot | undefined;
  private readonly units = new Map<string, ServiceUnit>();
  private readonly families = {
    /** Service clusters, as proxyless clients get them. */
    clusters: new Family(CLUSTER_TYPE),
    /** Service clusters and the passthrough cluster, as proxies get them. */
    proxyClusters: new Family(CLUSTER_TYPE),
    endpoints: new Family(ENDPOINT_TYPE),
    proxyRoutes: new Family(ROUTE_TYPE),
    proxylessRoutes: new Family(ROUTE_TYPE),
    proxylessListeners: new Family(LISTENER_TYPE),
    secrets: new Family(SECRET_TYPE),
  };
  private readonly vipChains = new Map<string, ChainEntry>();
  private vipList: ChainBuilt[] = [];
  private readonly podChains = new Map<string, ChainEntry>();
  private podList: ChainBuilt[] = [];
  private podVersion = 0;
  private readonly nodes = new Map<string, { chains: readonly ChainBuilt[]; family: Family; proxyPort: number; versions: string }>();
  private readonly waypoints: WaypointTranslator;
  private addressCache: { identities: unknown; workloads: unknown; byIdentity: Map<number, string[]> } | undefined;

  constructor(options: TranslatorOptions = {}) {
    this.checker = options.checker ?? validateResource;
    this.waypoints = new WaypointTranslator(this.memo, (t, n, m, o, r, i) => this.finish(t, n, m, o, r, i));
  }

  private finish(typeUrl: string, name: string, message: Json, origin: string, refs: readonly string[], issues: readonly TranslateIssue[]): Built {
    this.built++;
    return finish(typeUrl, name, message, origin, refs, issues, this.checker);
  }

  translate(snapshot: MeshSnapshot): Translation {
    const startBuilt = this.built;
    const prev = this.previous;
    this.translateSecrets(snapshot);
    const changedServices = this.syncServices(snapshot, prev);
    this.syncVipChains(snapshot, prev, changedServices);
    this.syncPodChains(snapshot, prev);
    const classes = new Map<string, ClassResources>();
    for (const node of snapshot.nodes.keys()) {
      const client: ClientClass = { role: 'node-proxy', node };
      const key = clientClassKey(client);
      classes.set(key, { key, client, resources: this.nodeResources(snapshot, node) });
    }
    for (const name of this.nodes.keys()) if (!snapshot.nodes.has(name)) this.nodes.delete(name);
    classes.set('proxyless', {
      key: 'proxyless',
      client: { role: 'proxyless' },
      resources: new Map([
        [CLUSTER_TYPE, this.families.clusters.map],
        [ENDPOINT_TYPE, this.families.endpoints.map],
        [LISTENER_TYPE, this.families.proxylessListeners.map],
        [ROUTE_TYPE, this.families.proxylessRoutes.map],
      ]),
    });
    if (this.waypoints.active(snapshot, prev)) {
      const inputs = { snapshot, routes: this.families.proxyRoutes.map, secrets: this.families.secrets.map, addresses: this.identityAddresses(snapshot) };
      for (const w of this.waypoints.translate(inputs)) classes.set(w.key, w);
      this.memo.sweep();
    }
    this.previous = snapshot;
    const issues = [
      ...Object.values(this.families).flatMap((f) => f.issues()),
      ...[...this.nodes.values()].flatMap((n) => n.family.issues()),
      ...this.waypoints.issues(),
    ];
    return { version: snapshot.version, classes, issues, stats: { built: this.built - startBuilt } };
  }

  // ---- clusters, endpoints, routes, proxyless listeners of every Service port ----

  /** Re-translates the Services whose views, route attachments or L7 marks changed; returns their keys. */
  private syncServices(snapshot: MeshSnapshot, prev: MeshSnapshot | undefined): Set<string> {
    const domain = snapshot.meshConfig.clusterDomain;
    const keys = new Set<string>();
    if (!prev || prev.meshConfig.clusterDomain !== domain) {
      for (const key of snapshot.services.keys()) keys.add(key);
      for (const key of this.units.keys()) keys.add(key);
    } else {
      for (const key of changedKeys(prev.services, snapshot.services)) keys.add(key);
      if (keys.size > 0) for (const key of this.mirroring) keys.add(key);
      for (const key of changedKeys(prev.attachments, snapshot.attachments)) keys.add(serviceOfPortKey(key));
      for (const key of changedKeys(prev.serviceL7, snapshot.serviceL7)) keys.add(serviceOfPortKey(key));
    }
    if (keys.size === 0) return keys;
    const f = this.families;
    for (const family of Object.values(f)) family.resetNamesChanged();
    if (!f.proxyClusters.has(PASSTHROUGH_CLUSTER)) f.proxyClusters.set(this.finish(CLUSTER_TYPE, PASSTHROUGH_CLUSTER, passthroughCluster(), 'MeshConfig', [], []));
    const changedRoutes: [Family, Built][] = [];
    for (const key of keys) {
      const unit = this.units.get(key);
      const service = snapshot.services.get(key);
      if (service) {
        this.syncService(snapshot, service, unit, changedRoutes);
      } else if (unit) {
        for (const port of unit.ports.values()) this.dropPort(port);
        this.units.delete(key);
        this.mirroring.delete(key);
      }
    }
    // Cross-references, once every cluster is in: every cluster a route configuration names must
    // be served. When clusters came or went, every route configuration is checked again.
    const recheck: [Family, Built][] = f.clusters.namesChanged ? [] : changedRoutes;
    if (f.clusters.namesChanged) {
      for (const unit of this.units.values()) {
        for (const port of unit.ports.values()) {
          recheck.push([f.proxylessRoutes, port.proxylessRoute]);
          if (port.proxyRoute) recheck.push([f.proxyRoutes, port.proxyRoute]);
        }
      }
    }
    for (const [family, built] of recheck) family.set(this.crossChecked(built, f.clusters));
    if (!f.proxyRoutes.has(INBOUND_ROUTE)) {
      f.proxyRoutes.set(this.finish(ROUTE_TYPE, INBOUND_ROUTE, routeConfiguration(INBOUND_ROUTE, [defaultRoute(PASSTHROUGH_CLUSTER)]), 'MeshConfig', [PASSTHROUGH_CLUSTER], []));
    }
    for (const family of Object.values(f)) family.commit();
    return keys;
  }

  /** Services whose routes mirror to other Services (re-checked whenever Services change). */
  private readonly mirroring = new Set<string>();

  private syncService(snapshot: MeshSnapshot, service: ServiceView, unit: ServiceUnit | undefined, changedRoutes: [Family, Built][]): void {
    const f = this.families;
    const domain = snapshot.meshConfig.clusterDomain;
    const ports = new Map<number, PortUnit>();
    const origin = `Service/${service.key}`;
    const eligible = service.type !== 'ExternalName';
    for (const view of eligible ? service.ports : []) {
      if (view.protocol !== 'TCP') continue;
      const old = unit?.ports.get(view.port);
      const spKey = servicePortKey(service.key, view.port, view.protocol);
      const attachment = snapshot.attachments.get(spKey);
      const mirrors = attachment ? mirrorSignature(snapshot, attachment) : '';
      const l7 = snapshot.serviceL7.has(spKey);
      const fqdn = service.fqdn;
      const name = clusterName(fqdn, view.port);
      const sameName = old?.fqdn === fqdn;
      const cluster = sameName && old?.view.isHttp2 === view.isHttp2 ? old.cluster : this.finish(CLUSTER_TYPE, name, serviceCluster(service, view, 'marked'), origin, [name], []);
      const endpoints = sameName && old?.view === view ? old.endpoints : this.finish(ENDPOINT_TYPE, name, directLoadAssignment(service, view), origin, [], []);
      const hostPort = hostPortName(fqdn, view.port);
      const listener = sameName && old ? old.listener : this.finish(LISTENER_TYPE, hostPort, apiListener(hostPort), origin, [hostPort], []);
      const sameRoutes = sameName && old?.attachment === attachment && old?.mirrors === mirrors && old?.clusterDomain === domain;
      const routes = sameRoutes && old ? old.routes : this.routesOf(snapshot, service, view, attachment);
      const routeOrigin = attachment ? (attachment.grpc[0]?.route ?? attachment.http[0]?.route ?? origin) : origin;
      let proxylessRoute = old?.proxylessRoute;
      if (!sameRoutes || !proxylessRoute) {
        const issues: TranslateIssue[] = [...routes.issues];
        const adapted = proxylessRoutes(routes.routes, (i) => issues.push(i));
        proxylessRoute = this.finish(ROUTE_TYPE, hostPort, routeConfiguration(hostPort, adapted), routeOrigin, routeRefs(adapted), issues);
        changedRoutes.push([f.proxylessRoutes, proxylessRoute]);
      }
      let proxyRoute: Built | undefined;
      if (l7) {
        proxyRoute = sameRoutes && old?.proxyRoute ? old.proxyRoute : this.finish(ROUTE_TYPE, hostPort, routeConfiguration(hostPort, routes.routes), routeOrigin, routeRefs(routes.routes), routes.issues);
        if (proxyRoute !== old?.proxyRoute) changedRoutes.push([f.proxyRoutes, proxyRoute]);
      }
      const next: PortUnit = { view, fqdn, attachment, mirrors, clusterDomain: domain, l7, routes, cluster, endpoints, listener, proxylessRoute, ...(proxyRoute ? { proxyRoute } : {}) };
      if (old && (old.fqdn !== fqdn || (old.proxyRoute && !proxyRoute))) this.dropPort(old, next);
      f.clusters.set(cluster);
      f.proxyClusters.set(cluster);
      f.endpoints.set(endpoints);
      f.proxylessListeners.set(listener);
      ports.set(view.port, next);
    }
    for (const [port, old] of unit?.ports ?? []) if (!ports.has(port)) this.dropPort(old);
    this.units.set(service.key, { service, ports });
    if ([...ports.values()].some((p) => p.mirrors !== '')) this.mirroring.add(service.key);
    else this.mirroring.delete(service.key);
  }

  /** Removes what a port unit served (all of it, or what `replacement` no longer serves). */
  private dropPort(old: PortUnit, replacement?: PortUnit): void {
    const f = this.families;
    const renamed = !replacement || replacement.fqdn !== old.fqdn;
    if (renamed) {
      for (const family of [f.clusters, f.proxyClusters, f.endpoints]) family.delete(old.cluster.name);
      f.proxylessListeners.delete(old.listener.name);
      f.proxylessRoutes.delete(old.proxylessRoute.name);
    }
    if (old.proxyRoute && (renamed || !replacement?.proxyRoute)) f.proxyRoutes.delete(old.proxyRoute.name);
  }

  /** The Envoy routes of one Service port: its attached routes in precedence order, or the default route. */
  private routesOf(snapshot: MeshSnapshot, service: ServiceView, port: ServicePortView, attachment: ServicePortRoutes | undefined): { routes: Json[]; issues: TranslateIssue[] } {
    const clusterDomain = snapshot.meshConfig.clusterDomain;
    const issues: TranslateIssue[] = [];
    const report: IssueSink = (i) => issues.push(i);
    if (!attachment) return { routes: [defaultRoute(clusterName(service.fqdn, port.port))], issues };
    const routes: Json[] = [];
    for (const m of [...attachment.grpc, ...attachment.http]) {
      const routeNamespace = m.route.split('/')[1] as string;
      const resolveMirror = (f: HTTPRouteFilter['requestMirror']) => {
        const ref = f?.backendRef;
        if (!ref) return undefined;
        const ns = ref.namespace ?? routeNamespace;
        const target = snapshot.services.get(`${ns}/${ref.name}`);
        const targetPort = ref.port ?? port.port;
        if (!target || !target.ports.some((p) => p.port === targetPort)) {
          report({ object: m.route, field: `spec.rules[${m.ruleIndex}].filters`, message: `RequestMirror backend ${ns}/${ref.name}:${targetPort} not found; mirror left out` });
          return undefined;
        }
        return clusterName(serviceHost(ref.name, ns, clusterDomain), targetPort);
      };
      routes.push(buildRoute(m, resolveMirror, report));
    }
    return { routes, issues };
  }

  /** A route configuration whose clusters exist, or an invalid copy naming the missing ones. */
  private crossChecked(built: Built, clusters: Family): Built {
    if (built.invalid) return built;
    const missing = built.refs.filter((c) => c !== INVALID_BACKEND_CLUSTER && c !== PASSTHROUGH_CLUSTER && !clusters.has(c));
    if (missing.length === 0) return built;
    const issue: TranslateIssue = { object: built.origin, message: `route configuration ${built.name} names clusters that are not served: ${missing.join(', ')}`, resource: { typeUrl: ROUTE_TYPE, name: built.name } };
    return { ...built, issues: [...built.issues, issue], invalid: true };
  }

  private translateSecrets(snapshot: MeshSnapshot): void {
    const trustDomain = snapshot.meshConfig.trustDomain;
    if (this.previous?.meshConfig.trustDomain === trustDomain && this.families.secrets.map.size > 0) return;
    const origin = snapshot.meshConfig.source ?? 'MeshConfig';
    for (const secret of proxySecrets(trustDomain)) this.families.secrets.set(this.finish(SECRET_TYPE, secret.name as string, secret, origin, [], []));
    this.families.secrets.commit();
  }

  // ---- the node proxy's filter chains ----

  /** Addresses of each identity's workloads, recomputed only when identities or workloads changed. */
  private identityAddresses(snapshot: MeshSnapshot): IdentityAddresses {
    const cache = this.addressCache;
    if (!cache || cache.identities !== snapshot.identities || cache.workloads !== snapshot.workloads) {
      this.addressCache = { identities: snapshot.identities, workloads: snapshot.workloads, byIdentity: new Map() };
    }
    const byIdentity = (this.addressCache as NonNullable<typeof this.addressCache>).byIdentity;
    return (id) => {
      let ips = byIdentity.get(id);
      if (!ips) {
        ips = [];
        for (const w of snapshot.identities.get(id)?.workloads ?? []) ips.push(...(snapshot.workloads.get(w)?.ips ?? []));
        byIdentity.set(id, ips);
      }
      return ips;
    };
  }

  /** A chain reused while its inputs are the same objects, else built (the last good one kept on failure). */
  private chain(cache: Map<string, ChainEntry>, key: string, deps: readonly unknown[], make: () => { d: DestinationChain; origin: string; issues: TranslateIssue[] }): ChainBuilt {
    const entry = cache.get(key);
    if (entry && sameDeps(entry.deps, deps)) return entry.built;
    const { d, origin, issues } = make();
    this.built++;
    const built = servedChain(buildChain(d, origin, issues, this.checker), entry?.built, d, this.checker);
    cache.set(key, { deps, built });
    return built;
  }

  /** Service key → its service port keys with a VIP chain. */
  private readonly vipByService = new Map<string, Set<string>>();
  private vipVersion = 0;

  /** The VIP chains (the same on every node), revisited for the Services and L7 marks that changed. */
  private syncVipChains(snapshot: MeshSnapshot, prev: MeshSnapshot | undefined, changedServices: ReadonlySet<string>): void {
    const everything = !prev || prev.identities !== snapshot.identities || prev.workloads !== snapshot.workloads || prev.workloadPolicies !== snapshot.workloadPolicies;
    const candidates = new Set<string>();
    if (everything) {
      for (const key of snapshot.serviceL7.keys()) candidates.add(key);
      for (const key of this.vipChains.keys()) candidates.add(key);
    } else {
      for (const key of changedKeys(prev.serviceL7, snapshot.serviceL7)) candidates.add(key);
      for (const service of changedServices) for (const key of this.vipByService.get(service) ?? []) candidates.add(key);
      for (const service of changedServices) {
        for (const port of this.units.get(service)?.ports.values() ?? []) if (port.l7) candidates.add(servicePortKey(service, port.view.port, port.view.protocol));
      }
    }
    let changed = false;
    for (const spKey of candidates) {
      const before = this.vipChains.get(spKey)?.built;
      const after = this.vipChain(snapshot, spKey);
      if (after === before) continue;
      changed = true;
      const service = serviceOfPortKey(spKey);
      let keys = this.vipByService.get(service);
      if (after) {
        if (!keys) this.vipByService.set(service, (keys = new Set()));
        keys.add(spKey);
      } else {
        this.vipChains.delete(spKey);
        keys?.delete(spKey);
        if (keys?.size === 0) this.vipByService.delete(service);
      }
    }
    if (changed) {
      this.vipList = [...this.vipChains.values()].map((e) => e.built);
      this.vipVersion++;
    }
  }

  /** The chain of one Service VIP:port that needs L7, or undefined when it needs none. */
  private vipChain(snapshot: MeshSnapshot, spKey: string): ChainBuilt | undefined {
    const l7 = snapshot.serviceL7.get(spKey);
    const service = l7 ? snapshot.services.get(l7.service) : undefined;
    const port = service?.ports.find((p) => p.port === l7?.port && p.protocol === l7?.protocol);
    if (!l7 || !service || !port || l7.vips.length === 0) return undefined;
    const name = `vip|${l7.vips.join(',')}:${port.port}`;
    const origin = `Service/${service.key}`;
    // The chain names its route configuration; it depends on it being served, not on its content.
    // With none served (every version failed its checks) the VIP still needs L7: its chain denies
    // every request rather than leave the flow to the passthrough default (fail closed).
    const routeName = hostPortName(service.fqdn, port.port);
    if (!this.families.proxyRoutes.has(routeName)) {
      return this.chain(this.vipChains, spKey, [l7, service.fqdn, port.port, 'deny'], () => ({
        d: { name, addresses: l7.vips, port: port.port, routeName: INBOUND_ROUTE, httpFilters: [DENY_ALL_FILTER] },
        origin,
        issues: [{ object: origin, message: `route configuration ${routeName} is not served; ${name} denies every request` }],
      }));
    }
    const policies = service.workloads.map((w) => snapshot.workloadPolicies.get(w));
    const backends = service.workloads.map((w) => `${w}:${port.endpoints.find((e) => e.pod === w)?.port ?? ''}`).join(',');
    const deps = [l7, service.fqdn, port.port, snapshot.identities, snapshot.workloads, backends, ...policies];
    return this.chain(this.vipChains, spKey, deps, () => {
      const issues: TranslateIssue[] = [];
      const httpFilters = serviceRbacFilters(service, port, policies, this.identityAddresses(snapshot), (x) => issues.push(x));
      return { d: { name, addresses: l7.vips, port: port.port, routeName, httpFilters }, origin, issues };
    });
  }

  /**
   * The workload chains, the same on every node like the VIP chains: the datapath decides "needs
   * L7" on the source pod's node and steers the flow to that node's proxy with the original
   * destination, which may be a pod on any node. A node proxy lacking the chain of a remote L7 pod
   * would pass the flow through and bypass its policy. True when the list changed.
   */
  private syncPodChains(snapshot: MeshSnapshot, prev: MeshSnapshot | undefined): boolean {
    if (
      prev &&
      prev.l7 === snapshot.l7 &&
      prev.identities === snapshot.identities &&
      prev.workloads === snapshot.workloads &&
      prev.workloadPolicies === snapshot.workloadPolicies &&
      this.podChains.size > 0
    ) {
      return false;
    }
    const list: ChainBuilt[] = [];
    const seen = new Set<string>();
    for (const [key, l7] of snapshot.l7) {
      const workload = snapshot.workloads.get(l7.workload);
      if (!workload?.nodeName) continue;
      const policy = snapshot.workloadPolicies.get(workload.key);
      seen.add(key);
      const built = this.chain(this.podChains, key, [l7, workload, policy, snapshot.identities, snapshot.workloads], () => {
        const issues: TranslateIssue[] = [];
        const httpFilters = policy ? rbacFilters(policy, l7.port, this.identityAddresses(snapshot), (x) => issues.push(x)) : [];
        return { d: { name: `pod|${workload.ips.join(',')}:${l7.port}`, addresses: workload.ips, port: l7.port, routeName: INBOUND_ROUTE, httpFilters }, origin: `Pod/${workload.key}`, issues };
      });
      list.push(built);
    }
    for (const key of this.podChains.keys()) if (!seen.has(key)) this.podChains.delete(key);
    const changed = !sameList(this.podList, list);
    this.podList = list;
    if (changed) this.podVersion++;
    return changed;
  }

  private shared: { versions: string; chains: readonly ChainBuilt[]; built: Built } | undefined;

  /** The transparent listener, the same on every node (every L7 destination's chain): assembled once per version. */
  private transparent(versions: string, proxyPort: number): { chains: readonly ChainBuilt[]; built: Built } {
    if (this.shared?.versions !== versions) {
      const chains = [...this.vipList, ...this.podList];
      const skeleton = this.memo.get(`skeleton|${proxyPort}`, [], () => {
        const listener = transparentListener(proxyPort, []);
        return this.finish(LISTENER_TYPE, listener.name as string, listener, 'MeshConfig', [], []);
      });
      this.shared = { versions, chains, built: assembleListener(skeleton, chains) };
    }
    return this.shared;
  }

  private nodeResources(snapshot: MeshSnapshot, node: string): ReadonlyMap<string, ReadonlyMap<string, Built>> {
    const proxyPort = snapshot.meshConfig.proxyPort;
    const versions = `${this.vipVersion}/${this.podVersion}/${proxyPort}`;
    let state = this.nodes.get(node);
    if (!state || state.versions !== versions) {
      const { chains, built } = this.transparent(versions, proxyPort);
      const family = state?.family ?? new Family(LISTENER_TYPE);
      if (!state || state.proxyPort !== proxyPort || !sameList(state.chains, chains)) {
        family.set(built);
        family.commit();
      }
      state = { chains, family, proxyPort, versions };
      this.nodes.set(node, state);
    }
    return new Map([
      [CLUSTER_TYPE, this.families.proxyClusters.map],
      [ENDPOINT_TYPE, this.families.endpoints.map],
      [LISTENER_TYPE, state.family.map],
      [ROUTE_TYPE, this.families.proxyRoutes.map],
      [SECRET_TYPE, this.families.secrets.map],
    ]);
  }
}

/** The clusters a list of routes names (forwarding and mirrors). */
export function routeRefs(routes: readonly Json[]): string[] {
  const refs = new Set<string>();
  for (const r of routes) {
    const action = r.route as Json | undefined;
    if (!action) continue;
    if (typeof action.cluster === 'string') refs.add(action.cluster);
    for (const c of ((action.weighted_clusters as Json | undefined)?.clusters as Json[] | undefined) ?? []) refs.add(c.name as string);
    for (const m of (action.request_mirror_policies as Json[] | undefined) ?? []) refs.add(m.cluster as string);
  }
  return [...refs];
}

/** Which mirror targets of an attachment exist now (mirrors name Services outside the attachment). */
function mirrorSignature(snapshot: MeshSnapshot, attachment: ServicePortRoutes): string {
  let signature = '';
  for (const m of [...attachment.http, ...attachment.grpc]) {
    for (const f of m.filters) {
      const ref = f.requestMirror?.backendRef;
      if (!ref) continue;
      const ns = ref.namespace ?? (m.route.split('/')[1] as string);
      const target = snapshot.services.get(`${ns}/${ref.name}`);
      signature += `${ns}/${ref.name}:${target ? target.ports.map((p) => p.port).join(',') : '-'};`;
    }
  }
  return signature;
}

// The incremental translator: MeshSnapshot → Envoy resources per client class (node proxy of each
// node, proxyless gRPC clients, waypoints). Every resource is built once per distinct set of
// snapshot views it reads (Memo) and encoded and checked once; a resource that fails its checks
// or its cross-references is not served — the last good version stays — and the failure is kept
// in `issues` with the mesh object that caused it.
import type { HTTPRouteFilter } from '../../config/resources.js';
import type { MeshSnapshot, ServicePortRoutes, ServicePortView, ServiceView } from '../../config/snapshot/types.js';
import { servicePortKey } from '../../config/snapshot/types.js';
import { passthroughCluster, serviceCluster, servicePorts } from './clusters.js';
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  INVALID_BACKEND_CLUSTER,
  LISTENER_TYPE,
  PASSTHROUGH_CLUSTER,
  ROUTE_TYPE,
  SECRET_TYPE,
} from './constants.js';
import { validateResource } from '../validate/index.js';
import { finish } from './encode.js';
import type { Built, ResourceChecker } from './encode.js';
import { loadAssignment } from './endpoints.js';
import { apiListener, destinationFilterChain, transparentListener } from './listeners.js';
import { Family, Memo } from './memo.js';
import { clusterName, hostPortName, serviceHost } from './names.js';
import { proxylessRoutes } from './proxyless.js';
import { rbacFilters, serviceRbacFilters } from './rbac.js';
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
  /** Resources built in this round vs reused from earlier rounds. */
  stats: { built: number; reused: number };
}

export interface TranslatorOptions {
  /** The rule checker every resource goes through; default xds/validate's validateResource. */
  checker?: ResourceChecker;
}

/** A memo key part for one service port. */
function portKey(service: ServiceView, port: ServicePortView): string {
  return `${service.key}|${port.port}`;
}

export class Translator {
  private readonly checker: ResourceChecker;
  private readonly memo = new Memo<Built>();
  private readonly routeMemo = new Memo<{ routes: Json[]; issues: TranslateIssue[] }>();
  private readonly chainMemo = new Memo<{ chain: Json; issues: TranslateIssue[] }>();
  private readonly families = {
    markedClusters: new Family(CLUSTER_TYPE),
    plainClusters: new Family(CLUSTER_TYPE),
    endpoints: new Family(ENDPOINT_TYPE),
    proxyRoutes: new Family(ROUTE_TYPE),
    proxylessRoutes: new Family(ROUTE_TYPE),
    proxylessListeners: new Family(LISTENER_TYPE),
    secrets: new Family(SECRET_TYPE),
  };
  private readonly nodeListeners = new Map<string, Family>();
  private readonly waypoints: WaypointTranslator;
  private addressCache: { identities: unknown; workloads: unknown; byIdentity: Map<number, string[]> } | undefined;

  constructor(options: TranslatorOptions = {}) {
    this.checker = options.checker ?? validateResource;
    this.waypoints = new WaypointTranslator(this.memo, (t, n, m, o, r, i) => this.finish(t, n, m, o, r, i));
  }

  private finish(typeUrl: string, name: string, message: Json, origin: string, refs: readonly string[], issues: readonly TranslateIssue[]): Built {
    return finish(typeUrl, name, message, origin, refs, issues, this.checker);
  }

  translate(snapshot: MeshSnapshot): Translation {
    const start = { built: this.memo.built, reused: this.memo.reused };
    for (const family of Object.values(this.families)) family.begin();
    this.translateServices(snapshot);
    this.translateSecrets(snapshot);
    const classes = new Map<string, ClassResources>();
    for (const node of snapshot.nodes.keys()) {
      const client: ClientClass = { role: 'node-proxy', node };
      classes.set(clientClassKey(client), { key: clientClassKey(client), client, resources: this.nodeResources(snapshot, node) });
    }
    for (const name of this.nodeListeners.keys()) if (!snapshot.nodes.has(name)) this.nodeListeners.delete(name);
    const proxyless: ClientClass = { role: 'proxyless' };
    classes.set('proxyless', {
      key: 'proxyless',
      client: proxyless,
      resources: new Map([
        [CLUSTER_TYPE, this.families.plainClusters.map],
        [ENDPOINT_TYPE, this.families.endpoints.map],
        [LISTENER_TYPE, this.families.proxylessListeners.map],
        [ROUTE_TYPE, this.families.proxylessRoutes.map],
      ]),
    });
    const waypointInputs = {
      snapshot,
      routes: this.families.proxyRoutes.map,
      secrets: this.families.secrets.map,
      addresses: this.identityAddresses(snapshot),
    };
    for (const w of this.waypoints.translate(waypointInputs)) {
      classes.set(w.key, w);
    }
    this.memo.sweep();
    this.routeMemo.sweep();
    this.chainMemo.sweep();
    const issues = [
      ...Object.values(this.families).flatMap((f) => f.issues()),
      ...[...this.nodeListeners.values()].flatMap((f) => f.issues()),
      ...this.waypoints.issues(),
    ];
    return {
      version: snapshot.version,
      classes,
      issues,
      stats: { built: this.memo.built - start.built, reused: this.memo.reused - start.reused },
    };
  }

  // ---- clusters, endpoints, routes of every Service port ----

  private translateServices(snapshot: MeshSnapshot): void {
    const f = this.families;
    for (const [service, port] of servicePorts(snapshot)) {
      const key = portKey(service, port);
      const name = clusterName(service.fqdn, port.port);
      const origin = `Service/${service.namespace}/${service.name}`;
      const clusterDeps = [service.fqdn, port.port, port.isHttp2];
      f.markedClusters.put(this.memo.get(`cm|${key}`, clusterDeps, () => this.finish(CLUSTER_TYPE, name, serviceCluster(service, port, 'marked'), origin, [name], [])));
      f.plainClusters.put(this.memo.get(`cp|${key}`, clusterDeps, () => this.finish(CLUSTER_TYPE, name, serviceCluster(service, port, 'plain'), origin, [name], [])));
      f.endpoints.put(this.memo.get(`e|${key}`, [port, service.fqdn], () => this.finish(ENDPOINT_TYPE, name, loadAssignment(service, port), origin, [], [])));
      f.proxylessListeners.put(this.memo.get(`pl|${key}`, [service.fqdn, port.port], () => {
        const listenerName = hostPortName(service.fqdn, port.port);
        return this.finish(LISTENER_TYPE, listenerName, apiListener(listenerName), origin, [listenerName], []);
      }));
    }
    f.markedClusters.put(this.memo.get('passthrough', [], () => this.finish(CLUSTER_TYPE, PASSTHROUGH_CLUSTER, passthroughCluster(), 'MeshConfig', [], [])));
    f.markedClusters.end();
    f.plainClusters.end();
    f.endpoints.end();
    const clustersChanged = f.plainClusters.namesChanged;
    for (const [service, port] of servicePorts(snapshot)) {
      const spKey = servicePortKey(service.key, port.port, port.protocol);
      const attachment = snapshot.attachments.get(spKey);
      const name = hostPortName(service.fqdn, port.port);
      const routes = this.routesOf(snapshot, service, port, attachment);
      const origin = attachment ? attachment.http[0]?.route ?? attachment.grpc[0]?.route ?? `Service/${service.key}` : `Service/${service.key}`;
      const proxyless = this.memo.get(`rp|${spKey}`, [routes], () => {
        const issues: TranslateIssue[] = [...routes.issues];
        const adapted = proxylessRoutes(routes.routes, (i) => issues.push(i));
        return this.finish(ROUTE_TYPE, name, routeConfiguration(name, adapted), origin, routeRefs(adapted), issues);
      });
      f.proxylessRoutes.put(this.crossChecked(proxyless, f.plainClusters, clustersChanged));
      if (snapshot.serviceL7.has(spKey)) {
        const proxy = this.memo.get(`rn|${spKey}`, [routes], () =>
          this.finish(ROUTE_TYPE, name, routeConfiguration(name, routes.routes), origin, routeRefs(routes.routes), routes.issues),
        );
        f.proxyRoutes.put(this.crossChecked(proxy, f.markedClusters, clustersChanged));
      }
    }
    f.proxyRoutes.put(this.memo.get('inbound', [], () => this.finish(ROUTE_TYPE, INBOUND_ROUTE, routeConfiguration(INBOUND_ROUTE, [defaultRoute(PASSTHROUGH_CLUSTER)]), 'MeshConfig', [PASSTHROUGH_CLUSTER], [])));
    f.proxyRoutes.end();
    f.proxylessRoutes.end();
    f.proxylessListeners.end();
  }

  /** The Envoy routes of one Service port: its attached routes in precedence order, or the default route. */
  private routesOf(snapshot: MeshSnapshot, service: ServiceView, port: ServicePortView, attachment: ServicePortRoutes | undefined): { routes: Json[]; issues: TranslateIssue[] } {
    const clusterDomain = snapshot.meshConfig.clusterDomain;
    const mirrors = attachment ? mirrorSignature(snapshot, attachment) : '';
    return this.routeMemo.get(portKey(service, port), [attachment, service.fqdn, port.port, mirrors, clusterDomain], () => {
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
    });
  }

  /** A route configuration whose clusters exist, or an invalid copy naming the missing ones. */
  private crossChecked(built: Built, clusters: Family, recheck: boolean): Built {
    if (built.invalid || (!recheck && this.checkedRoutes.has(built))) return built;
    const missing = built.refs.filter((c) => c !== INVALID_BACKEND_CLUSTER && !clusters.has(c));
    if (missing.length === 0) {
      this.checkedRoutes.add(built);
      return built;
    }
    const issue: TranslateIssue = { object: built.origin, message: `route configuration ${built.name} names clusters that are not served: ${missing.join(', ')}`, resource: { typeUrl: ROUTE_TYPE, name: built.name } };
    return { ...built, issues: [...built.issues, issue], invalid: true };
  }

  private readonly checkedRoutes = new WeakSet<Built>();

  private translateSecrets(snapshot: MeshSnapshot): void {
    const trustDomain = snapshot.meshConfig.trustDomain;
    for (const secret of proxySecrets(trustDomain)) {
      const name = secret.name as string;
      this.families.secrets.put(this.memo.get(`s|${name}`, [trustDomain], () => this.finish(SECRET_TYPE, name, secret, snapshot.meshConfig.source ?? 'MeshConfig', [], [])));
    }
    this.families.secrets.end();
  }

  // ---- the node proxy ----

  /** Addresses of each identity's workloads, recomputed only when identities or workloads changed. */
  private identityAddresses(snapshot: MeshSnapshot): (id: number) => readonly string[] {
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

  /** The filter chain of a Service VIP:port: its routes, guarded by the policies of all its backends. */
  private vipChain(snapshot: MeshSnapshot, spKey: string): { chain: Json; issues: TranslateIssue[] } | undefined {
    const l7 = snapshot.serviceL7.get(spKey);
    const service = l7 ? snapshot.services.get(l7.service) : undefined;
    const port = service?.ports.find((p) => p.port === l7?.port && p.protocol === l7?.protocol);
    if (!l7 || !service || !port || l7.vips.length === 0) return undefined;
    const routeName = hostPortName(service.fqdn, port.port);
    if (!this.families.proxyRoutes.has(routeName)) return undefined;
    const policies = service.workloads.map((w) => snapshot.workloadPolicies.get(w));
    return this.chainMemo.get(`vip|${spKey}`, [l7, service, port, snapshot.identities, snapshot.workloads, ...policies], () => {
      const issues: TranslateIssue[] = [];
      const filters = serviceRbacFilters(service, port, policies, this.identityAddresses(snapshot), (x) => issues.push(x));
      const chain = destinationFilterChain({
        name: `vip|${l7.vips.join(',')}:${port.port}`,
        addresses: l7.vips,
        port: port.port,
        routeName,
        httpFilters: filters,
      });
      return { chain, issues };
    });
  }

  /** The filter chain of a workload port on this node: its own policies, then passthrough. */
  private workloadChain(snapshot: MeshSnapshot, key: string): { chain: Json; issues: TranslateIssue[] } | undefined {
    const l7 = snapshot.l7.get(key);
    const workload = l7 ? snapshot.workloads.get(l7.workload) : undefined;
    if (!l7 || !workload || !this.families.proxyRoutes.has(INBOUND_ROUTE)) return undefined;
    const policy = snapshot.workloadPolicies.get(workload.key);
    return this.chainMemo.get(`pod|${key}`, [l7, workload, policy, snapshot.identities, snapshot.workloads], () => {
      const issues: TranslateIssue[] = [];
      const filters = policy ? rbacFilters(policy, l7.port, this.identityAddresses(snapshot), (x) => issues.push(x)) : [];
      const chain = destinationFilterChain({
        name: `pod|${workload.ips.join(',')}:${l7.port}`,
        addresses: workload.ips,
        port: l7.port,
        routeName: INBOUND_ROUTE,
        httpFilters: filters,
      });
      return { chain, issues };
    });
  }

  private nodeResources(snapshot: MeshSnapshot, node: string): ReadonlyMap<string, ReadonlyMap<string, Built>> {
    let family = this.nodeListeners.get(node);
    if (!family) this.nodeListeners.set(node, (family = new Family(LISTENER_TYPE)));
    family.begin();
    const chains: { chain: Json; issues: TranslateIssue[] }[] = [];
    for (const key of snapshot.serviceL7.keys()) {
      const c = this.vipChain(snapshot, key);
      if (c) chains.push(c);
    }
    for (const [key, l7] of snapshot.l7) {
      if (snapshot.workloads.get(l7.workload)?.nodeName !== node) continue;
      const c = this.workloadChain(snapshot, key);
      if (c) chains.push(c);
    }
    const proxyPort = snapshot.meshConfig.proxyPort;
    family.put(this.memo.get(`listener|${node}`, [proxyPort, ...chains], () => {
      const listener = transparentListener(proxyPort, chains.map((c) => c.chain));
      const refs = chains.map((c) => routeNameOfChain(c.chain));
      return this.finish(LISTENER_TYPE, listener.name as string, listener, `Node/${node}`, refs, chains.flatMap((c) => c.issues));
    }));
    family.end();
    return new Map([
      [CLUSTER_TYPE, this.families.markedClusters.map],
      [ENDPOINT_TYPE, this.families.endpoints.map],
      [LISTENER_TYPE, family.map],
      [ROUTE_TYPE, this.families.proxyRoutes.map],
      [SECRET_TYPE, this.families.secrets.map],
    ]);
  }
}

function routeNameOfChain(chain: Json): string {
  const hcm = ((chain.filters as Json[])[0] as Json).typed_config as Json;
  return (hcm.rds as Json).route_config_name as string;
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

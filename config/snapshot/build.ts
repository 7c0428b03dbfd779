// buildSnapshot: folds the objects in force into an immutable MeshSnapshot. Given the previous
// snapshot it recomputes only the units whose inputs changed (one service, its routes' attachments,
// the workloads it marks L7…) and shares every other view with the previous snapshot; without one
// (or after a change to a mesh-wide kind) it computes everything. Both paths run the same steps, so
// an incremental build equals a full build of the same objects.
import type { ConfigIssue } from '../source.js';
import type { EndpointSlice, MeshObject, Node, Pod, Service } from '../resources.js';
import { identityLabels, matchesMap, smallestKey, sortedLabels } from './labels.js';
import type { Labels } from './labels.js';
import { EMPTY_LIST, frozenList } from './frozen.js';
import { Marks, freezeMarks, hasPolicyMarks, policyMarks, serviceL7, thawMarks } from './l7.js';
import { computePolicy } from './policies.js';
import type { Policy, PolicyContext } from './policies.js';
import { compareGrpc, compareHttp, computeRoute } from './routes.js';
import type { Route, RouteContext, RouteContribution } from './routes.js';
import { buildServiceView, podIps, podReady, routeSignature } from './services.js';
import type { Mutable, ServiceInputs } from './services.js';
import { BuildState, GLOBAL_KINDS, USE_WAYPOINT_LABEL } from './state.js';
import { sortStrings, sortedStrings } from './sorted.js';
import { usable } from './usable.js';
import type {
  AttachedGrpcMatch,
  AttachedHttpMatch,
  IdentityView,
  L4Protocol,
  MeshSnapshot,
  NamespaceView,
  NodeView,
  PeerSet,
  ServicePortRoutes,
  ServiceView,
  WaypointRef,
  WorkloadPortL7,
  WorkloadView,
} from './types.js';
import { RESERVED_IDENTITIES } from './types.js';
import { computeWorkloadPolicy } from './workload-policy.js';
import type { NamedPortLookup, SelectingPolicy } from './workload-policy.js';

export interface BuildOptions {
  /**
   * Object keys known to have changed since `previous` (added, changed or removed). When given, the
   * builder trusts it instead of comparing every object with the previous snapshot's.
   */
  changedKeys?: Iterable<string>;
}

const states = new WeakMap<MeshSnapshot, BuildState>();

const ROUTE_KINDS = new Set(['HTTPRoute', 'GRPCRoute']);
const POLICY_KINDS = new Set(['NetworkPolicy', 'CiliumNetworkPolicy', 'AuthorizationPolicy']);

function keyOf(object: MeshObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

function serviceOfSlice(slice: EndpointSlice | undefined): string | undefined {
  const name = slice?.metadata.labels?.['kubernetes.io/service-name'];
  return slice && name ? `${slice.metadata.namespace ?? ''}/${name}` : undefined;
}

function selectorOf(service: Service | undefined): Labels | undefined {
  const selector = service?.spec?.selector;
  if (selector) for (const key in selector) if (Object.hasOwn(selector, key)) return selector;
  return undefined;
}

/** The smallest key of a selector: a service is indexed under that one pair of its selector. */
function firstKey(selector: Labels): string {
  return smallestKey(selector) as string;
}

function isWorkloadPod(pod: Pod | undefined): pod is Pod {
  return !!pod && !pod.spec?.hostNetwork && podIps(pod).length > 0;
}

function changedKeys(objects: ReadonlyMap<string, MeshObject>, before: ReadonlyMap<string, MeshObject>): Set<string> {
  const changed = new Set<string>();
  for (const [key, object] of objects) if (before.get(key) !== object) changed.add(key);
  for (const key of before.keys()) if (!objects.has(key)) changed.add(key);
  return changed;
}

function kindOfKey(key: string): string {
  return key.slice(0, key.indexOf('/'));
}

function touchesGlobalKind(keys: Iterable<string>): boolean {
  for (const key of keys) if (GLOBAL_KINDS.has(kindOfKey(key))) return true;
  return false;
}

/** Pods selected by services, from both sides. */
interface Selection {
  /** Pod key → the services selecting it, in service order. */
  readonly servicesOf: Map<string, string[]>;
  /** Service key → the pods it selects, as podsSelectedBy finds them. */
  readonly podsOf: Map<string, Pod[]>;
}

/** One build: the dirty sets of each step and the changes to the output maps. */
class Build {
  readonly dirtyPods = new Set<string>();
  readonly oldPods = new Map<string, Pod | undefined>();
  readonly oldServices = new Map<string, Service | undefined>();
  readonly dirtyServices = new Set<string>();
  readonly dirtyRoutes = new Set<string>();
  readonly dirtyPolicies = new Set<string>();
  readonly dirtyNodes = new Set<string>();
  readonly dirtyNamespaces = new Set<string>();
  readonly dirtyWorkloads = new Set<string>();
  /** Workloads that appeared, disappeared or changed identity. */
  readonly membershipChanged = new Set<string>();
  readonly dirtyWorkloadPolicies = new Set<string>();
  readonly dirtyL7Services = new Set<string>();
  readonly dirtyL7Workloads = new Set<string>();
  /** Pod IPs whose workload changed (the keys of the workloadsByIp update). */
  changedIps: ReadonlyMap<string, unknown> = new Map();
  readonly identityChanged = new Set<number>();
  /** Identity before this build of the workloads in membershipChanged. */
  readonly previousIdentity = new Map<string, number | undefined>();
  /** Services that appeared, disappeared or changed selector. */
  readonly selectorChangedServices = new Set<string>();
  readonly signatureChanged = new Set<string>();
  issuesChanged: boolean;
  remapped = false;
  /**
   * A full build's selection of pods by services, found once from the services' side and read by
   * both the workload views (a pod's services) and the service views (a service's pods).
   */
  private selection: Selection | undefined;

  constructor(
    readonly state: BuildState,
    readonly objects: ReadonlyMap<string, MeshObject>,
    /** True for a build from scratch: every unit is dirty, so nothing needs propagating. */
    readonly full: boolean,
  ) {
    this.issuesChanged = full;
  }

  setIssues(unit: string, issues: readonly ConfigIssue[]): void {
    const before = this.state.issuesByUnit.get(unit);
    if (issues.length === 0) {
      if (before) {
        this.state.issuesByUnit.delete(unit);
        this.issuesChanged = true;
      }
      return;
    }
    this.state.issuesByUnit.set(unit, issues);
    this.issuesChanged = true;
  }

  /**
   * Runs one unit's computation; a throw (an object of a shape validation should have refused)
   * becomes an issue on the object, and the unit is left out of the snapshot. The object is
   * `kind/key` (`key` alone without a kind), named only when needed (it is, for 10,000s of units).
   */
  guard<T>(step: string, kind: string, key: string, compute: () => T): T | undefined {
    try {
      const result = compute();
      if (this.state.leftOut.size > 0) this.clearLeftOut(`broken:${step}:`, objectName(kind, key));
      return result;
    } catch (err) {
      const object = objectName(kind, key);
      const message = `left out of the ${step} view: ${err instanceof Error ? err.message : String(err)}`;
      this.leaveOut(`broken:${step}:${object}`, [{ severity: 'error', source: 'snapshot', object, message }]);
      return undefined;
    }
  }

  /** The object when it has the minimal shape every step relies on; otherwise an issue. */
  private usable(key: string, object: MeshObject | undefined): MeshObject | undefined {
    const ok = usable(object);
    if (object !== undefined && !ok) {
      this.leaveOut(`unusable:${key}`, [{ severity: 'error', source: 'snapshot', object: key, message: 'left out: metadata.name, namespace or labels are not of the right type' }]);
    } else {
      this.clearLeftOut('unusable:', key);
    }
    return ok;
  }

  private leaveOut(unit: string, issues: readonly ConfigIssue[]): void {
    this.state.leftOut.add(unit);
    this.setIssues(unit, issues);
  }

  /** Drops the issue of a unit left out before (its name is only built when some unit is). */
  private clearLeftOut(prefix: string, object: string): void {
    if (this.state.leftOut.size === 0) return;
    const unit = prefix + object;
    if (this.state.leftOut.delete(unit)) this.setIssues(unit, []);
  }

  // ---- step 1: raw indexes
  applyChanges(keys: Iterable<string>): void {
    for (const key of keys) this.applyChange(key, usable(this.state.objects.get(key)), this.objects.get(key));
    this.state.objects = this.objects;
  }

  /** A full build's step 1: every object is new (no lookups by key). */
  applyAll(): void {
    this.objects.forEach((object, key) => this.applyChange(key, undefined, object));
    this.state.objects = this.objects;
  }

  private applyChange(key: string, before: MeshObject | undefined, object: MeshObject | undefined): void {
    const s = this.state;
    const after = this.usable(key, object);
    this.countNamespace(before, -1);
    this.countNamespace(after, 1);
    const kind = kindOfKey(key);
    const name = key.slice(kind.length + 1);
    if (kind === 'Pod') this.applyPod(name, before as Pod | undefined, after as Pod | undefined);
    else if (kind === 'Service') this.applyService(name, before as Service | undefined, after as Service | undefined);
    else if (kind === 'EndpointSlice') this.applySlice(key, before as EndpointSlice | undefined, after as EndpointSlice | undefined);
    else if (ROUTE_KINDS.has(kind)) {
      if (after) s.routes.set(key, after as Route);
      else s.routes.delete(key);
      this.dirtyRoutes.add(key);
    } else if (POLICY_KINDS.has(kind)) {
      if (after) s.policyObjects.set(key, after as Policy);
      else s.policyObjects.delete(key);
      this.dirtyPolicies.add(key);
    } else if (kind === 'Node') this.dirtyNodes.add(key);
  }

  private countNamespace(object: MeshObject | undefined, delta: number): void {
    const namespace = object?.kind === 'Namespace' ? object.metadata.name : object?.metadata.namespace;
    if (!namespace) return;
    const count = (this.state.objectsPerNamespace.get(namespace) ?? 0) + delta;
    if (count === 0) this.state.objectsPerNamespace.delete(namespace);
    else this.state.objectsPerNamespace.set(namespace, count);
    if (count === 0 || (count === 1 && delta === 1)) this.dirtyNamespaces.add(namespace);
  }

  private applyPod(key: string, before: Pod | undefined, after: Pod | undefined): void {
    const s = this.state;
    // What moved matters to an incremental build only: a full one has every unit dirty.
    if (!this.full && !this.oldPods.has(key)) this.oldPods.set(key, before);
    const namespace = key.slice(0, key.indexOf('/'));
    if (before) s.podsBySelectorPair.delete(namespace, before.metadata.labels ?? {}, key);
    if (after) {
      s.pods.set(key, after);
      s.podsBySelectorPair.add(namespace, after.metadata.labels ?? {}, key);
    } else {
      s.pods.delete(key);
    }
    this.dirtyPods.add(key);
  }

  private applyService(key: string, before: Service | undefined, after: Service | undefined): void {
    const s = this.state;
    if (!this.full && !this.oldServices.has(key)) this.oldServices.set(key, before);
    this.indexSelector(key, before, false);
    if (after) {
      s.services.set(key, after);
      this.indexSelector(key, after, true);
    } else {
      s.services.delete(key);
    }
    this.dirtyServices.add(key);
    if (this.full) return;
    if (!before !== !after || JSON.stringify(selectorOf(before)) !== JSON.stringify(selectorOf(after))) this.selectorChangedServices.add(key);
  }

  private indexSelector(key: string, service: Service | undefined, present: boolean): void {
    const selector = selectorOf(service);
    if (!selector) return;
    const namespace = (service as Service).metadata.namespace ?? '';
    const first = firstKey(selector);
    if (present) this.state.servicesBySelectorPair.add(namespace, first, selector[first] as string, key);
    else this.state.servicesBySelectorPair.delete(namespace, first, selector[first] as string, key);
  }

  private applySlice(key: string, before: EndpointSlice | undefined, after: EndpointSlice | undefined): void {
    const s = this.state;
    const oldService = serviceOfSlice(before);
    const newService = serviceOfSlice(after);
    if (oldService) {
      s.slicesByService.delete(oldService, key);
      this.dirtyServices.add(oldService);
    }
    if (after) s.slices.set(key, after);
    else s.slices.delete(key);
    if (newService) {
      s.slicesByService.add(newService, key);
      this.dirtyServices.add(newService);
    }
  }

  // ---- step 2: workloads and identities
  /** Services of a namespace whose selector matches the labels. */
  servicesSelecting(namespace: string, labels: Labels): string[] {
    const s = this.state;
    const out: string[] = [];
    for (const key in labels) {
      const services = s.servicesBySelectorPair.get(namespace, key, labels[key] as string);
      if (!services) continue;
      for (const service of services) {
        const selector = selectorOf(s.services.get(service));
        if (selector && matchesMap(selector, labels)) out.push(service);
      }
    }
    // A service is indexed under its first selector pair only, so it is found once.
    return sortStrings(out);
  }

  private podsSelectedBy(service: Service | undefined): Pod[] {
    const out: Pod[] = [];
    this.forEachSelectedPod(service, (_, pod) => out.push(pod));
    return out;
  }

  /** Calls `visit` for each pod the service's selector selects, in the index's order. */
  private forEachSelectedPod(service: Service | undefined, visit: (key: string, pod: Pod) => void): void {
    const selector = selectorOf(service);
    if (!selector) return;
    const first = firstKey(selector);
    for (const key of this.state.podsBySelectorPair.get((service as Service).metadata.namespace ?? '', first, selector[first] as string) ?? []) {
      const pod = this.state.pods.get(key) as Pod;
      if (matchesMap(selector, pod.metadata.labels ?? {})) visit(key, pod);
    }
  }

  /** Which services select each pod, and which pods each service selects (a full build's, once). */
  private selectionOfAll(): Selection {
    const servicesOf = new Map<string, string[]>();
    const podsOf = new Map<string, Pod[]>();
    this.state.services.forEach((service, key) => {
      const pods: Pod[] = [];
      this.forEachSelectedPod(service, (podKey, pod) => {
        pods.push(pod);
        const services = servicesOf.get(podKey);
        if (services) services.push(key);
        else servicesOf.set(podKey, [key]);
      });
      podsOf.set(key, pods);
    });
    return { servicesOf, podsOf };
  }

  /** The services selecting a pod, sorted. */
  private servicesOfPod(key: string, pod: Pod): string[] {
    if (!this.selection) return this.servicesSelecting(pod.metadata.namespace ?? '', pod.metadata.labels ?? {});
    const services = this.selection.servicesOf.get(key);
    return services ? sortStrings(services) : [];
  }

  updateWorkloads(): void {
    const s = this.state;
    if (this.full) this.selection = this.selectionOfAll();
    for (const key of this.dirtyPods) this.dirtyWorkloads.add(key);
    for (const service of this.full ? [] : this.selectorChangedServices) {
      for (const version of [this.oldServices.get(service), s.services.get(service)]) {
        for (const pod of this.podsSelectedBy(version)) this.dirtyWorkloads.add(keyOf(pod));
      }
    }
    // Identity label sets first, so that ids are allocated for all of them at once; identityKeyOf
    // then holds the label set of every dirty workload that is one.
    for (const key of this.dirtyWorkloads) {
      const pod = s.pods.get(key);
      const next = this.guard('identity', 'Pod', key, () => {
        if (!isWorkloadPod(pod)) return undefined;
        const namespace = pod.metadata.namespace ?? '';
        const identity = identityLabels(namespace, serviceAccountOf(pod), pod.metadata.labels ?? {}, s.namespaceLabels(namespace));
        return { key: `${namespace}\u0000${identity.canonical}`, labels: identity.labels };
      });
      const previous = s.identityKeyOf.get(key);
      if (previous !== next?.key) {
        if (next) s.allocator.acquire(next.key, next.labels);
        if (previous !== undefined) s.allocator.release(previous);
        if (next) s.identityKeyOf.set(key, next.key);
        else s.identityKeyOf.delete(key);
      }
    }
    const changes = s.allocator.commit();
    if (changes.remapped) {
      this.remapped = true;
      return;
    }
    for (const id of changes.removed) {
      const view = s.out.identities.get(id) as IdentityView;
      s.selectors.identityChanged(id, view.labels, false, this.dirtyPolicies);
      this.identityChanged.add(id);
    }
    for (const id of changes.added) {
      const labels = s.allocator.labelsOfId(id) as Labels;
      s.selectors.identityChanged(id, labels, true, this.dirtyPolicies);
      this.identityChanged.add(id);
    }

    const workloads = new Map<string, WorkloadView | undefined>();
    const byIp = new Map<string, string | undefined>();
    for (const key of this.dirtyWorkloads) {
      const before = s.out.workloads.get(key);
      const pod = s.pods.get(key);
      const identityKey = s.identityKeyOf.get(key);
      const view = identityKey === undefined ? undefined : this.guard('workload', 'Pod', key, () => this.workloadView(key, pod as Pod, s.allocator.idOf(identityKey) as number));
      workloads.set(key, view);
      for (const ip of before?.ips ?? []) byIp.set(ip, undefined);
      for (const ip of view?.ips ?? []) byIp.set(ip, key);
      if (before?.identity !== view?.identity) {
        // A full build recomputes every policy: it needs no record of who moved.
        if (!this.full) {
          this.membershipChanged.add(key);
          this.previousIdentity.set(key, before?.identity);
        }
        if (before) {
          s.identityWorkloads.delete(before.identity, key);
          this.identityChanged.add(before.identity);
        }
        if (view) {
          s.identityWorkloads.add(view.identity, key);
          this.identityChanged.add(view.identity);
        }
      }
    }
    s.out.workloads = s.out.workloads.updateWith(workloads);
    s.out.workloadsByIp = s.out.workloadsByIp.update(byIp);
    this.changedIps = byIp;
    // A full build starts its identities with the reserved ones.
    const identities = this.full ? reservedIdentities() : new Map<number, IdentityView | undefined>();
    for (const id of this.identityChanged) {
      const labels = s.allocator.labelsOfId(id);
      identities.set(
        id,
        labels
          ? Object.freeze({
              id,
              namespace: labels['io.kubernetes.pod.namespace'] ?? '',
              labels,
              workloads: Object.freeze(sortedStrings(s.identityWorkloads.get(id))),
            })
          : undefined,
      );
    }
    s.out.identities = s.out.identities.updateWith(identities);
  }

  private workloadView(key: string, pod: Pod, identity: number): WorkloadView {
    const namespace = pod.metadata.namespace ?? '';
    const serviceAccount = serviceAccountOf(pod);
    // Fields are assigned one by one, optional ones only when present (no spreads: 10,000s of pods).
    const view: Mutable<WorkloadView> = { key, namespace, name: pod.metadata.name } as Mutable<WorkloadView>;
    if (pod.metadata.uid) view.uid = pod.metadata.uid;
    view.ips = frozenList(podIps(pod));
    if (pod.spec?.nodeName) view.nodeName = pod.spec.nodeName;
    view.labels = sortedLabels(pod.metadata.labels);
    view.serviceAccount = serviceAccount;
    view.spiffeId = this.state.namespaceStrings(namespace).spiffePrefix + serviceAccount;
    view.identity = identity;
    view.phase = pod.status?.phase ?? '';
    view.ready = podReady(pod);
    view.containerPorts = containerPortsOf(pod);
    view.services = frozenList(this.servicesOfPod(key, pod));
    return Object.freeze(view);
  }

  // ---- step 3: services
  private waypointOf(service: Service): WaypointRef | undefined {
    const s = this.state;
    const namespace = service.metadata.namespace ?? '';
    const name = service.metadata.labels?.[USE_WAYPOINT_LABEL] ?? s.namespaceLabels(namespace)[USE_WAYPOINT_LABEL];
    if (!name || name === 'none') return undefined;
    const gateway = `${namespace}/${name}`;
    return Object.freeze({ gateway, found: s.waypoints.has(gateway) });
  }

  /** Services whose endpoints or workloads follow the pods changed (a full build has them all dirty). */
  private servicesOfChangedPods(): void {
    const s = this.state;
    for (const [key, before] of this.oldPods) {
      const namespace = key.slice(0, key.indexOf('/'));
      for (const pod of [before, s.pods.get(key)]) {
        if (pod) for (const service of this.servicesSelecting(namespace, pod.metadata.labels ?? {})) this.dirtyServices.add(service);
      }
    }
    for (const key of this.dirtyWorkloads) for (const service of s.servicesByEndpointPod.get(key) ?? []) this.dirtyServices.add(service);
    for (const ip of this.changedIps.keys()) for (const service of s.servicesByAddress.get(ip) ?? []) this.dirtyServices.add(service);
  }

  updateServices(): void {
    const s = this.state;
    if (!this.full) this.servicesOfChangedPods();

    const views = new Map<string, ServiceView | undefined>();
    const byVip = new Map<string, string | undefined>();
    for (const key of this.dirtyServices) {
      const before = s.out.services.get(key);
      const view = this.guard('service', 'Service', key, () => this.serviceView(key));
      views.set(key, view);
      for (const vip of before?.vips ?? []) byVip.set(vip, undefined);
      for (const vip of view?.vips ?? []) byVip.set(vip, key);
      // A full build recomputes every route: no need to find those a service change affects.
      if (!this.full && routeSignature(before) !== routeSignature(view)) this.signatureChanged.add(key);
      this.dirtyL7Services.add(key);
    }
    s.out.services = s.out.services.updateWith(views);
    s.out.servicesByVip = s.out.servicesByVip.updateWith(byVip);
  }

  private serviceView(key: string): ServiceView | undefined {
    const s = this.state;
    const service = s.services.get(key);
    const refs = s.serviceRefs.get(key);
    for (const address of refs?.addresses ?? []) s.servicesByAddress.delete(address, key);
    for (const pod of refs?.pods ?? []) s.servicesByEndpointPod.delete(pod, key);
    s.serviceRefs.delete(key);
    if (!service) return undefined;
    const addresses: string[] = [];
    const slices = sortedStrings(s.slicesByService.get(key)).map((k) => s.slices.get(k) as EndpointSlice);
    const inputs: ServiceInputs = {
      service,
      fqdnSuffix: s.namespaceStrings(service.metadata.namespace ?? '').fqdnSuffix,
      slices,
      selectedPods: this.selection?.podsOf.get(key) ?? this.podsSelectedBy(service),
      workloadByIp: (ip) => {
        addresses.push(ip);
        return s.out.workloadsByIp.get(ip);
      },
      isWorkload: (pod) => s.out.workloads.has(pod),
    };
    const waypoint = this.waypointOf(service);
    if (waypoint) inputs.waypoint = waypoint;
    const view = buildServiceView(inputs);
    // Only a service without selector takes its workload list from its endpoints' pods.
    const pods = view.selector ? [] : endpointPods(view);
    for (const address of addresses) s.servicesByAddress.add(address, key);
    for (const pod of pods) s.servicesByEndpointPod.add(pod, key);
    // Most services look up no address and take no pods from endpoints: nothing to keep then.
    if (addresses.length > 0 || pods.length > 0) s.serviceRefs.set(key, { addresses, pods });
    return view;
  }

  // ---- step 4: routes and attachments
  updateRoutes(): void {
    const s = this.state;
    for (const service of this.signatureChanged) for (const route of s.routesByService.get(service) ?? []) this.dirtyRoutes.add(route);
    const ctx: RouteContext = {
      service: (key) => s.out.services.get(key),
      grants: (namespace) => s.grants.get(namespace) ?? [],
    };
    const dirtyPorts = new Set<string>();
    const views = new Map<string, ReturnType<typeof computeRoute>['view'] | undefined>();
    for (const key of this.dirtyRoutes) {
      const before = s.routeResults.get(key);
      for (const service of before?.refs ?? []) s.routesByService.delete(service, key);
      for (const port of before?.contributions.keys() ?? []) {
        s.routesByPort.delete(port, key);
        dirtyPorts.add(port);
      }
      const route = s.routes.get(key);
      if (!route) {
        s.routeResults.delete(key);
        views.set(key, undefined);
        this.setIssues(`route:${key}`, []);
        continue;
      }
      const result = this.guard('route', '', key, () => computeRoute(route, ctx));
      if (!result) {
        s.routeResults.delete(key);
        views.set(key, undefined);
        continue;
      }
      s.routeResults.set(key, result);
      views.set(key, result.view);
      for (const service of result.refs) s.routesByService.add(service, key);
      for (const port of result.contributions.keys()) {
        s.routesByPort.add(port, key);
        dirtyPorts.add(port);
      }
      this.setIssues(`route:${key}`, result.issues);
    }
    s.out.routes = s.out.routes.updateWith(views);

    const attachments = new Map<string, ServicePortRoutes | undefined>();
    for (const port of dirtyPorts) {
      attachments.set(port, this.attachment(port));
      this.dirtyL7Services.add(port.slice(0, port.indexOf('|')));
    }
    s.out.attachments = s.out.attachments.updateWith(attachments);
  }

  private attachment(portKey: string): ServicePortRoutes | undefined {
    const s = this.state;
    const routes = s.routesByPort.get(portKey);
    if (!routes) return undefined;
    const http: RouteContribution[] = [];
    const grpc: RouteContribution[] = [];
    for (const route of routes) {
      for (const c of s.routeResults.get(route)?.contributions.get(portKey) ?? []) (c.match.kind === 'HTTPRoute' ? http : grpc).push(c);
    }
    http.sort(compareHttp);
    grpc.sort(compareGrpc);
    const bar = portKey.indexOf('|');
    const service = portKey.slice(0, bar);
    const [port, protocol] = portKey.slice(bar + 1).split('/') as [string, L4Protocol];
    return Object.freeze({
      key: portKey,
      service,
      port: Number(port),
      protocol,
      vips: s.out.services.get(service)?.vips ?? EMPTY_LIST,
      http: Object.freeze(http.map((c) => c.match as AttachedHttpMatch)),
      grpc: Object.freeze(grpc.map((c) => c.match as AttachedGrpcMatch)),
    });
  }

  // ---- step 5: policies
  updatePolicies(): void {
    const s = this.state;
    for (const key of this.full ? [] : this.membershipChanged) {
      const before = this.previousIdentity.get(key);
      const after = s.out.workloads.get(key)?.identity;
      for (const id of [before, after]) if (id !== undefined) for (const p of s.policiesByIdentity.get(id) ?? []) this.dirtyPolicies.add(p);
    }
    for (const service of this.selectorChangedServices) for (const p of s.policiesByService.get(service) ?? []) this.dirtyPolicies.add(p);
    if (this.dirtyWorkloads.size > 0) for (const p of s.namedEgressPolicies) this.dirtyPolicies.add(p);

    const views = new Map<string, ReturnType<typeof computePolicy>['policy'] | undefined>();
    // One context for every policy: selectors are registered for the policy being computed.
    let user = '';
    const ctx: PolicyContext = {
      trustDomain: s.meshConfig.trustDomain,
      select: (selector) => s.selectors.select(selector, user),
      workloadsOf: (id) => s.identityWorkloads.get(id) ?? EMPTY_LIST,
      service: (k) => s.out.services.get(k),
    };
    for (const key of this.dirtyPolicies) {
      const before = s.policyResults.get(key);
      s.selectors.release(key);
      for (const id of before?.policy.selectedIdentities ?? []) s.policiesByIdentity.delete(id, key);
      for (const service of before?.services ?? []) s.policiesByService.delete(service, key);
      for (const w of before?.policy.selectedWorkloads ?? []) this.dirtyWorkloadPolicies.add(w);
      s.namedEgressPolicies.delete(key);
      const policy = s.policyObjects.get(key);
      if (!policy) {
        s.policyResults.delete(key);
        views.set(key, undefined);
        this.setIssues(`policy:${key}`, []);
        continue;
      }
      user = key;
      const result = this.guard('policy', '', key, () => computePolicy(policy, ctx));
      if (!result) {
        s.policyResults.delete(key);
        views.set(key, undefined);
        continue;
      }
      s.policyResults.set(key, result);
      views.set(key, result.policy);
      for (const id of result.policy.selectedIdentities) s.policiesByIdentity.add(id, key);
      for (const service of result.services) s.policiesByService.add(service, key);
      for (const w of result.policy.selectedWorkloads) this.dirtyWorkloadPolicies.add(w);
      if (result.namedEgress) s.namedEgressPolicies.add(key);
      this.setIssues(`policy:${key}`, result.issues);
    }
    s.out.policies = s.out.policies.updateWith(views);
  }

  // ---- step 6: per-workload policy
  updateWorkloadPolicies(): void {
    const s = this.state;
    for (const key of this.dirtyWorkloads) this.dirtyWorkloadPolicies.add(key);
    const lookup: NamedPortLookup = { peerPorts: (peers, name, protocol) => this.peerPorts(peers, name, protocol) };
    const views = new Map<string, ReturnType<typeof computeWorkloadPolicy> | undefined>();
    for (const key of this.dirtyWorkloadPolicies) {
      this.dirtyL7Workloads.add(key);
      const workload = s.out.workloads.get(key);
      if (!workload) {
        views.set(key, undefined);
        continue;
      }
      const selecting: SelectingPolicy[] = sortedStrings(s.policiesByIdentity.get(workload.identity)).map((p) => {
        const result = s.policyResults.get(p) as NonNullable<ReturnType<typeof s.policyResults.get>>;
        return { key: p, layer: result.policy.layer, groups: result.groups };
      });
      views.set(key, this.guard('workload policy', 'Pod', key, () => computeWorkloadPolicy(workload, selecting, lookup)));
    }
    s.out.workloadPolicies = s.out.workloadPolicies.updateWith(views);
  }

  private peerPorts(peers: PeerSet, name: string, protocol: L4Protocol | 'ANY'): Map<number, number[]> {
    const s = this.state;
    const out = new Map<number, Set<number>>();
    const consider = (workload: WorkloadView | undefined) => {
      for (const cp of workload?.containerPorts ?? []) {
        if (cp.name !== name || (protocol !== 'ANY' && protocol !== cp.protocol)) continue;
        let ids = out.get(cp.port);
        if (!ids) out.set(cp.port, (ids = new Set()));
        ids.add((workload as WorkloadView).identity);
      }
    };
    if (peers.any) for (const workload of s.out.workloads.values()) consider(workload);
    else for (const id of peers.identities) for (const key of s.identityWorkloads.get(id) ?? []) consider(s.out.workloads.get(key));
    const sorted = new Map<number, number[]>();
    for (const port of [...out.keys()].sort((a, b) => a - b)) sorted.set(port, [...(out.get(port) as Set<number>)].sort((a, b) => a - b));
    return sorted;
  }

  // ---- step 7: needs-L7
  updateL7(): void {
    const s = this.state;
    const servicePorts = new Map<string, ReturnType<typeof serviceL7>['ports'][number] | undefined>();
    for (const key of this.dirtyL7Services) {
      const before = s.serviceL7.get(key);
      for (const port of before?.ports ?? []) servicePorts.set(port.key, undefined);
      for (const workload of workloadsOf(before?.marks)) {
        s.l7ServicesByWorkload.delete(workload, key);
        this.dirtyL7Workloads.add(workload);
      }
      const view = s.out.services.get(key);
      // Without a waypoint only an attached route marks a service, and no route names most services.
      if (!view || (!view.waypoint && !s.routesByService.get(key))) {
        s.serviceL7.delete(key);
        continue;
      }
      const result = this.guard('L7', 'Service', key, () => serviceL7(view, (port) => s.out.attachments.get(port)));
      if (!result || result.ports.length === 0) {
        s.serviceL7.delete(key);
        continue;
      }
      s.serviceL7.set(key, result);
      for (const port of result.ports) servicePorts.set(port.key, port);
      for (const workload of workloadsOf(result.marks)) {
        s.l7ServicesByWorkload.add(workload, key);
        this.dirtyL7Workloads.add(workload);
      }
    }
    s.out.serviceL7 = s.out.serviceL7.updateWith(servicePorts);

    const entries = new Map<string, WorkloadPortL7 | undefined>();
    for (const workload of this.dirtyL7Workloads) {
      if (!this.full) for (const entry of s.l7ByWorkload.get(workload) ?? []) entries.set(entry.key, undefined);
      const marked = this.workloadL7(workload);
      for (const entry of marked) entries.set(entry.key, entry);
      if (marked.length > 0) s.l7ByWorkload.set(workload, marked);
      else s.l7ByWorkload.delete(workload);
    }
    s.out.l7 = s.out.l7.updateWith(entries);
  }

  /**
   * A workload's entries of the needs-L7 set: those of the one service marking it when nothing
   * else does (shared with that service's result), else the services' and its policy's merged.
   */
  private workloadL7(workload: string): readonly WorkloadPortL7[] {
    const s = this.state;
    const policy = s.out.workloadPolicies.get(workload);
    const policyMarked = hasPolicyMarks(policy);
    const service = s.l7ServicesByWorkload.only(workload);
    const only = service === undefined ? undefined : s.serviceL7.get(service)?.marks.get(workload);
    if (only && !policyMarked) return only;
    const services = sortedStrings(s.l7ServicesByWorkload.get(workload));
    if (services.length === 0 && !policyMarked) return EMPTY_LIST;
    const marks = new Marks();
    for (const service of services) thawMarks(s.serviceL7.get(service)?.marks.get(workload) ?? EMPTY_LIST, marks);
    if (policy) policyMarks(policy, marks);
    return freezeMarks(marks);
  }

  // ---- nodes and namespaces
  updateNodesAndNamespaces(): void {
    const s = this.state;
    const nodes = new Map<string, NodeView | undefined>();
    for (const key of this.dirtyNodes) {
      const node = usable(this.objects.get(key)) as Node | undefined;
      const name = key.slice(key.lastIndexOf('/') + 1);
      nodes.set(name, node ? this.guard('node', '', key, () => nodeView(node)) : undefined);
    }
    s.out.nodes = s.out.nodes.updateWith(nodes);
    const namespaces = new Map<string, NamespaceView | undefined>();
    for (const name of this.dirtyNamespaces) {
      if (!s.objectsPerNamespace.has(name)) {
        namespaces.set(name, undefined);
        continue;
      }
      const labels = s.namespaceLabels(name);
      const waypoint = labels[USE_WAYPOINT_LABEL];
      namespaces.set(name, Object.freeze({ name, labels, declared: s.declaredNamespaces.has(name), ...(waypoint ? { useWaypoint: waypoint } : {}) }));
    }
    s.out.namespaces = s.out.namespaces.updateWith(namespaces);
  }

  issues(): readonly ConfigIssue[] {
    const s = this.state;
    if (!this.issuesChanged) return s.issueList;
    const all = [...s.globalIssues];
    for (const list of s.issuesByUnit.values()) all.push(...list);
    all.sort((a, b) => (a.object ?? '').localeCompare(b.object ?? '') || (a.field ?? '').localeCompare(b.field ?? '') || a.message.localeCompare(b.message));
    s.issueList = Object.freeze(all.map((i) => Object.freeze(i)));
    return s.issueList;
  }
}

/** The pods a service's endpoints point at, each once. */
function endpointPods(view: ServiceView): string[] {
  const pods = new Set<string>();
  for (const port of view.ports) for (const endpoint of port.endpoints) if (endpoint.pod) pods.add(endpoint.pod);
  return [...pods];
}

/** An object's key from its kind and namespaced key (the key alone when no kind is given). */
function objectName(kind: string, key: string): string {
  return kind === '' ? key : `${kind}/${key}`;
}

function containerPortsOf(pod: Pod): WorkloadView['containerPorts'] {
  const out: WorkloadView['containerPorts'][number][] = [];
  for (const container of pod.spec?.containers ?? []) {
    for (const port of container.ports ?? []) {
      const view: Mutable<WorkloadView['containerPorts'][number]> = {} as Mutable<WorkloadView['containerPorts'][number]>;
      if (port.name) view.name = port.name;
      view.port = port.containerPort;
      view.protocol = port.protocol ?? 'TCP';
      out.push(Object.freeze(view));
    }
  }
  return frozenList(out);
}

function serviceAccountOf(pod: Pod): string {
  const name = pod.spec?.serviceAccountName;
  return typeof name === 'string' && name !== '' ? name : 'default';
}

function workloadsOf(marks: ReadonlyMap<string, readonly WorkloadPortL7[]> | undefined): Iterable<string> {
  return marks?.keys() ?? [];
}

function nodeView(node: Node): NodeView {
  const addresses = (node.status?.addresses ?? []).map((a) => Object.freeze({ type: a.type, address: a.address }));
  const internal = addresses.find((a) => a.type === 'InternalIP');
  const podCIDRs = node.spec?.podCIDRs && node.spec.podCIDRs.length > 0 ? node.spec.podCIDRs : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
  return Object.freeze({
    name: node.metadata.name,
    ...(internal ? { internalIP: internal.address } : {}),
    addresses: Object.freeze(addresses),
    podCIDRs: Object.freeze([...podCIDRs]),
    labels: sortedLabels(node.metadata.labels),
  });
}

function reservedIdentities(): Map<number, IdentityView | undefined> {
  const out = new Map<number, IdentityView | undefined>();
  for (const [name, id] of Object.entries(RESERVED_IDENTITIES)) {
    if (id === 0) continue;
    out.set(id, Object.freeze({ id, reserved: name as keyof typeof RESERVED_IDENTITIES, namespace: '', labels: Object.freeze({ [`reserved:${name}`]: '' }), workloads: EMPTY_LIST }));
  }
  return out;
}

/** Runs the steps over the objects changed, or (none given) over all objects of a fresh state. */
function run(state: BuildState, objects: ReadonlyMap<string, MeshObject>, changed?: Iterable<string>): Build | undefined {
  const build = new Build(state, objects, changed === undefined);
  if (changed === undefined) build.applyAll();
  else build.applyChanges(changed);
  build.updateNodesAndNamespaces();
  build.updateWorkloads();
  if (build.remapped) return undefined;
  build.updateServices();
  build.updateRoutes();
  build.updatePolicies();
  build.updateWorkloadPolicies();
  build.updateL7();
  return build;
}

function fresh(objects: ReadonlyMap<string, MeshObject>): Build {
  return run(new BuildState(objects), objects) as Build;
}

/**
 * Folds `objects` (keyed by objectKey) into a new snapshot. With `previous`, only what changed is
 * recomputed; the result is the same as a build without it.
 */
export function buildSnapshot(objects: ReadonlyMap<string, MeshObject>, previous?: MeshSnapshot, options: BuildOptions = {}): MeshSnapshot {
  const prior = previous ? states.get(previous) : undefined;
  let build: Build | undefined;
  // A previous snapshot of no objects (the store's first) has nothing to share: build afresh.
  if (prior && prior.owner === previous && prior.objects.size > 0) {
    prior.owner = undefined;
    const keys = options.changedKeys ? new Set(options.changedKeys) : changedKeys(objects, prior.objects);
    if (!touchesGlobalKind(keys)) build = run(prior, objects, keys);
  }
  build ??= fresh(objects);
  const s = build.state;
  const generation = (previous?.generation ?? 0) + 1;
  const snapshot: MeshSnapshot = Object.freeze({
    version: String(generation),
    generation,
    builtAt: new Date().toISOString(),
    objects,
    meshConfig: s.meshConfig,
    namespaces: s.out.namespaces,
    nodes: s.out.nodes,
    services: s.out.services,
    servicesByVip: s.out.servicesByVip,
    workloads: s.out.workloads,
    workloadsByIp: s.out.workloadsByIp,
    identities: s.out.identities,
    attachments: s.out.attachments,
    routes: s.out.routes,
    policies: s.out.policies,
    workloadPolicies: s.out.workloadPolicies,
    l7: s.out.l7,
    serviceL7: s.out.serviceL7,
    issues: build.issues(),
  });
  s.owner = snapshot;
  states.set(snapshot, s);
  return snapshot;
}

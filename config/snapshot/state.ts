// What the snapshot builder keeps between builds: the raw objects indexed (by namespace, by
// selector label, by the service a slice belongs to), the derived units (route and policy results,
// identity allocation, selector cache) and the output maps. A snapshot's state is handed on to the
// next build and mutated there; a snapshot whose state was already used builds its successor from
// scratch.
import { HBONE_PORT } from '../ports.js';
import type { ConfigIssue } from '../source.js';
import type { Gateway, MeshConfig, MeshObject, Namespace, Pod, ReferenceGrant, Service, EndpointSlice } from '../resources.js';
import { IdentityAllocator } from './identity-allocator.js';
import type { Labels } from './labels.js';
import { sortedLabels } from './labels.js';
import { LayeredMap } from './layered-map.js';
import type { ServiceL7Result } from './l7.js';
import type { Policy, PolicyResult } from './policies.js';
import type { Route, RouteResult } from './routes.js';
import { SelectorCache } from './selector-cache.js';
import { LabelPairIndex, LazyLabelPairIndex, SetIndex } from './set-index.js';
import { usable } from './usable.js';
import type {
  IdentityView,
  MeshSnapshot,
  NamespaceView,
  NodeView,
  ResolvedMeshConfig,
  ResolvedPolicy,
  RouteView,
  ServicePortL7,
  ServicePortRoutes,
  ServiceView,
  WorkloadPolicy,
  WorkloadPortL7,
  WorkloadView,
} from './types.js';

/** Kinds whose change rebuilds everything (they feed every view: defaults, labels, waypoints, grants). */
export const GLOBAL_KINDS = new Set(['MeshConfig', 'Namespace', 'Gateway', 'ReferenceGrant']);

export const WAYPOINT_CLASS = 'skiff-waypoint';
export const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';

export interface Outputs {
  namespaces: LayeredMap<string, NamespaceView>;
  nodes: LayeredMap<string, NodeView>;
  services: LayeredMap<string, ServiceView>;
  servicesByVip: LayeredMap<string, string>;
  workloads: LayeredMap<string, WorkloadView>;
  workloadsByIp: LayeredMap<string, string>;
  identities: LayeredMap<number, IdentityView>;
  attachments: LayeredMap<string, ServicePortRoutes>;
  routes: LayeredMap<string, RouteView>;
  policies: LayeredMap<string, ResolvedPolicy>;
  workloadPolicies: LayeredMap<string, WorkloadPolicy>;
  l7: LayeredMap<string, WorkloadPortL7>;
  serviceL7: LayeredMap<string, ServicePortL7>;
}

/** See BuildState.namespaceStrings. */
export interface NamespaceStrings {
  /** `.<namespace>.svc.<clusterDomain>`. */
  readonly fqdnSuffix: string;
  /** `spiffe://<trustDomain>/ns/<namespace>/sa/`. */
  readonly spiffePrefix: string;
}

function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65536 ? value : fallback;
}

export class BuildState {
  /** The one snapshot whose successor may reuse (and change) this state; later ones build afresh. */
  owner: MeshSnapshot | undefined;
  objects: ReadonlyMap<string, MeshObject> = new Map();

  // ---- global inputs (a change rebuilds from scratch)
  readonly meshConfig: ResolvedMeshConfig;
  readonly declaredNamespaces = new Map<string, Labels>();
  /** Gateways of the waypoint class, by `namespace/name`. */
  readonly waypoints = new Set<string>();
  readonly grants = new Map<string, ReferenceGrant[]>();
  readonly globalIssues: ConfigIssue[] = [];

  // ---- raw indexes
  readonly pods = new Map<string, Pod>();
  /** (namespace, key, value) → pods with that label (label keys some service selects by). */
  readonly podsBySelectorPair = new LazyLabelPairIndex<string>((visit) => {
    this.pods.forEach((pod, key) => visit(key.slice(0, key.indexOf('/')), pod.metadata.labels ?? {}, key));
  });
  readonly services = new Map<string, Service>();
  /** (namespace, key, value) of the first selector pair → services with that selector pair. */
  readonly servicesBySelectorPair = new LabelPairIndex<string>();
  readonly slices = new Map<string, EndpointSlice>();
  readonly slicesByService = new SetIndex<string, string>();
  readonly routes = new Map<string, Route>();
  readonly policyObjects = new Map<string, Policy>();
  readonly objectsPerNamespace = new Map<string, number>();

  // ---- derived units
  readonly allocator = new IdentityAllocator();
  readonly identityKeyOf = new Map<string, string>();
  readonly identityWorkloads = new SetIndex<number, string>();
  readonly selectors = new SelectorCache();
  /** Endpoint address (slice endpoint without targetRef) → services that looked it up. */
  readonly servicesByAddress = new SetIndex<string, string>();
  /** Workload key → services whose endpoints point at it. */
  readonly servicesByEndpointPod = new SetIndex<string, string>();
  readonly serviceRefs = new Map<string, { addresses: string[]; pods: string[] }>();
  readonly routeResults = new Map<string, RouteResult>();
  readonly routesByService = new SetIndex<string, string>();
  readonly routesByPort = new SetIndex<string, string>();
  readonly policyResults = new Map<string, PolicyResult>();
  readonly policiesByIdentity = new SetIndex<number, string>();
  readonly policiesByService = new SetIndex<string, string>();
  readonly namedEgressPolicies = new Set<string>();
  readonly serviceL7 = new Map<string, ServiceL7Result>();
  readonly l7ServicesByWorkload = new SetIndex<string, string>();
  /** A workload's entries in the needs-L7 set. */
  readonly l7ByWorkload = new Map<string, readonly WorkloadPortL7[]>();
  readonly issuesByUnit = new Map<string, readonly ConfigIssue[]>();
  /** The units of issuesByUnit that are objects left out (unusable, or a step threw on them). */
  readonly leftOut = new Set<string>();
  issueList: readonly ConfigIssue[] = Object.freeze([]);
  private readonly namespaceStringsCache = new Map<string, NamespaceStrings>();

  out: Outputs = {
    namespaces: LayeredMap.empty(),
    nodes: LayeredMap.empty(),
    services: LayeredMap.empty(),
    servicesByVip: LayeredMap.empty(),
    workloads: LayeredMap.empty(),
    workloadsByIp: LayeredMap.empty(),
    identities: LayeredMap.empty(),
    attachments: LayeredMap.empty(),
    routes: LayeredMap.empty(),
    policies: LayeredMap.empty(),
    workloadPolicies: LayeredMap.empty(),
    l7: LayeredMap.empty(),
    serviceL7: LayeredMap.empty(),
  };

  /** Reads the global inputs of `objects`. */
  constructor(objects: ReadonlyMap<string, MeshObject>) {
    const configs: MeshConfig[] = [];
    for (const object of objects.values()) {
      if (!GLOBAL_KINDS.has(object?.kind) || !usable(object)) continue;
      switch (object.kind) {
        case 'MeshConfig':
          configs.push(object);
          break;
        case 'Namespace':
          this.declaredNamespaces.set(object.metadata.name, namespaceLabels(object));
          break;
        case 'Gateway':
          if ((object as Gateway).spec?.gatewayClassName === WAYPOINT_CLASS) this.waypoints.add(`${object.metadata.namespace ?? ''}/${object.metadata.name}`);
          break;
        case 'ReferenceGrant': {
          const namespace = object.metadata.namespace ?? '';
          const list = this.grants.get(namespace) ?? [];
          list.push(object);
          this.grants.set(namespace, list);
          break;
        }
        default:
          break;
      }
    }
    configs.sort((a, b) => configKey(a).localeCompare(configKey(b)));
    const chosen = configs[0];
    if (configs.length > 1) {
      this.globalIssues.push({
        severity: 'warning',
        source: 'snapshot',
        object: configKey(configs[1] as MeshConfig),
        message: `more than one MeshConfig; ${configKey(chosen as MeshConfig)} is in force`,
      });
    }
    const spec = chosen?.spec ?? {};
    this.meshConfig = Object.freeze({
      ...(chosen ? { source: configKey(chosen) } : {}),
      trustDomain: spec.trustDomain || 'cluster.local',
      encryption: spec.encryption ?? 'none',
      proxyPort: positive(spec.proxyPort, 15001),
      hbonePort: positive(spec.hbonePort, HBONE_PORT),
      clusterDomain: spec.clusterDomain || 'cluster.local',
      ...(spec.ingressProxyPort ? { ingressProxyPort: spec.ingressProxyPort } : {}),
      certificateTTL: spec.certificateTTL || '24h',
    });
  }

  /**
   * The strings every service or workload of a namespace starts or ends with, made once per
   * namespace (10,000s of FQDNs and SPIFFE IDs are then one join each).
   */
  namespaceStrings(namespace: string): NamespaceStrings {
    let strings = this.namespaceStringsCache.get(namespace);
    if (!strings) {
      strings = {
        fqdnSuffix: `.${namespace}.svc.${this.meshConfig.clusterDomain}`,
        spiffePrefix: `spiffe://${this.meshConfig.trustDomain}/ns/${namespace}/sa/`,
      };
      this.namespaceStringsCache.set(namespace, strings);
    }
    return strings;
  }

  /** Labels of a namespace as Kubernetes shows them (with kubernetes.io/metadata.name). */
  namespaceLabels(namespace: string): Labels {
    return this.declaredNamespaces.get(namespace) ?? Object.freeze({ 'kubernetes.io/metadata.name': namespace });
  }
}

function configKey(config: MeshConfig): string {
  return `MeshConfig/${config.metadata.namespace ?? ''}/${config.metadata.name}`;
}

function namespaceLabels(namespace: Namespace): Labels {
  return sortedLabels({ ...(namespace.metadata.labels ?? {}), 'kubernetes.io/metadata.name': namespace.metadata.name });
}

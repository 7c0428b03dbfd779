// The Kubernetes config source: one informer per mesh kind (per watched namespace for namespaced
// kinds) against an API server; every object is validated, an invalid one is reported (with its
// Kubernetes name and field) while its last good version stays in force, a deleted one is removed.
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { logger } from '../log.js';
import { objectKey, type MeshObject } from '../resources.js';
import type { ConfigIssue, ConfigSource } from '../source.js';
import { validateObject } from '../validate/index.js';
import type { BackoffOptions } from './kube-backoff.js';
import { KubeInformer, type InformerState } from './kube-informer.js';
import { KUBE_RESOURCES, apiVersionOf, type KubeResource } from './kube-kinds.js';

const log = logger('kubernetes');

export interface KubernetesSourceOptions {
  /** A loaded kubeconfig; else `kubeconfigPath`; else the default (KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeConfig?: KubeConfig;
  kubeconfigPath?: string;
  /** Watch namespaced kinds only in these namespaces (default: all). Cluster-scoped kinds are always watched. */
  namespaces?: string[];
  /** Back-off between failed lists/watches (default 500 ms doubling to 30 s, jittered). */
  backoff?: BackoffOptions;
  /** How often a kind the server does not serve (CRD not installed, RBAC) is tried again, ms (default 60,000). */
  unavailableRetryMs?: number;
  /** Objects per list page (default 500). */
  listPageSize?: number;
}

/** What one informer is doing, for status pages and tests. */
export interface KubeWatchStatus {
  kind: string;
  apiVersion: string;
  namespace?: string;
  path: string;
  state: InformerState;
  /** The resourceVersion the informer resumes from. */
  resourceVersion: string;
  problem?: string;
}

function loadKubeConfig(options: KubernetesSourceOptions): KubeConfig {
  if (options.kubeConfig) return options.kubeConfig;
  const kubeConfig = new KubeConfig();
  if (options.kubeconfigPath) kubeConfig.loadFromFile(options.kubeconfigPath);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

export class KubernetesSource implements ConfigSource {
  readonly name = 'kubernetes';
  private readonly kubeConfig: KubeConfig;
  private readonly informers: KubeInformer[] = [];
  private readonly current = new Map<string, MeshObject>();
  private readonly objectIssues = new Map<string, ConfigIssue[]>();
  private readonly informerIssues = new Map<KubeInformer, ConfigIssue>();
  private issueList: ConfigIssue[] | undefined = [];
  private readonly listeners: (() => void)[] = [];
  private readonly settled = new Set<KubeInformer>();
  private settledAll: (() => void) | undefined;
  private started = false;

  constructor(private readonly options: KubernetesSourceOptions = {}) {
    this.kubeConfig = loadKubeConfig(options);
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('KubernetesSource already started');
    this.started = true;
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig: no current cluster (set current-context)');
    log.info({ server: cluster.server, namespaces: this.options.namespaces ?? 'all' }, 'watching Kubernetes');
    for (const resource of KUBE_RESOURCES) {
      const scopes = resource.namespaced && this.options.namespaces ? this.options.namespaces : [undefined];
      for (const namespace of scopes) this.informers.push(this.makeInformer(resource, namespace));
    }
    const allSettled = new Promise<void>((resolve) => (this.settledAll = resolve));
    for (const informer of this.informers) informer.start();
    await allSettled;
    log.info({ objects: this.current.size, issues: this.issues().length }, 'Kubernetes first list complete');
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((informer) => informer.stop()));
    this.settledAll?.(); // a start() still waiting returns
  }

  /** The objects in force (a live view: it changes as events arrive; onChange tells when). */
  objects(): ReadonlyMap<string, MeshObject> {
    return this.current;
  }

  issues(): readonly ConfigIssue[] {
    this.issueList ??= [...this.informerIssues.values(), ...[...this.objectIssues.values()].flat()];
    return this.issueList;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Per informer: its collection, state and resourceVersion. */
  status(): KubeWatchStatus[] {
    return this.informers.map((informer) => ({
      kind: informer.resource.kind,
      apiVersion: apiVersionOf(informer.resource),
      ...(informer.namespace !== undefined ? { namespace: informer.namespace } : {}),
      path: informer.path,
      state: informer.state,
      resourceVersion: informer.resourceVersion(),
      ...(this.informerIssues.has(informer) ? { problem: this.informerIssues.get(informer)?.message } : {}),
    }));
  }

  private makeInformer(resource: KubeResource, namespace: string | undefined): KubeInformer {
    const source = `kubernetes:${apiVersionOf(resource)}/${resource.kind}`;
    const informer: KubeInformer = new KubeInformer(
      this.kubeConfig,
      resource,
      namespace,
      {
        upsert: (object) => this.upsert(resource, source, object),
        remove: (object) => this.remove(resource, object),
        state: (state, problem) => this.informerState(informer, source, state, problem),
      },
      { backoff: this.options.backoff, unavailableRetryMs: this.options.unavailableRetryMs, listPageSize: this.options.listPageSize },
    );
    return informer;
  }

  private upsert(resource: KubeResource, source: string, raw: KubernetesObject): void {
    const key = objectKey(resource.kind, raw.metadata?.namespace, raw.metadata?.name ?? '');
    const result = validateObject(raw, { source });
    const issues = result.issues.map((issue) => ({ ...issue, source, object: issue.object ?? key }));
    if (result.object) {
      this.current.set(key, result.object);
    } else {
      const kept = this.current.get(key)?.metadata.resourceVersion;
      log.warn(
        { object: key, resourceVersion: raw.metadata?.resourceVersion, kept: kept ?? 'none' },
        'invalid Kubernetes object; its last good version stays in force',
      );
    }
    this.setObjectIssues(key, issues);
    this.changed();
  }

  private remove(resource: KubeResource, raw: KubernetesObject): void {
    const key = objectKey(resource.kind, raw.metadata?.namespace, raw.metadata?.name ?? '');
    this.current.delete(key);
    this.setObjectIssues(key, []);
    this.changed();
  }

  private setObjectIssues(key: string, issues: ConfigIssue[]): void {
    if (issues.length === 0 && !this.objectIssues.has(key)) return;
    if (issues.length === 0) this.objectIssues.delete(key);
    else this.objectIssues.set(key, issues);
    this.issueList = undefined;
  }

  private informerState(informer: KubeInformer, source: string, state: InformerState, problem: string | undefined): void {
    if (state !== 'listing') this.settle(informer);
    const hadIssue = this.informerIssues.delete(informer);
    if (problem !== undefined) this.informerIssues.set(informer, { severity: 'warning', source, message: problem });
    if (hadIssue || problem !== undefined) {
      this.issueList = undefined;
      this.changed();
    }
  }

  private settle(informer: KubeInformer): void {
    if (this.settled.has(informer)) return;
    this.settled.add(informer);
    if (this.settled.size === this.informers.length) this.settledAll?.();
  }

  private changed(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        log.error({ err }, 'onChange listener threw');
      }
    }
  }
}

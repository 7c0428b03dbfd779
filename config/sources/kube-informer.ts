// One Kubernetes collection (a kind, cluster-wide or in one namespace) kept in sync through the
// client library's ListWatch: list, then watch from the list's resourceVersion with bookmarks;
// re-list on 410 Gone (the library does this for both an HTTP 410 and an ERROR event with code
// 410); back-off with jitter on errors; a collection the server does not serve (404: CRD not
// installed, 403: not allowed) is reported once and retried slowly. Never throws.
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  ListWatch,
  RequestContext,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { logger } from '../log.js';
import { Backoff, sleep, withJitter, type BackoffOptions } from './kube-backoff.js';
import { apiVersionOf, collectionPath, type KubeResource } from './kube-kinds.js';

const log = logger('kubernetes');

/** `listing` until the first list is applied; `unavailable` while the server does not serve the collection. */
export type InformerState = 'listing' | 'synced' | 'unavailable';

export interface InformerEvents {
  upsert(object: KubernetesObject): void;
  remove(object: KubernetesObject): void;
  /** The state changed (first list applied, collection unavailable, served again). */
  state(state: InformerState, problem?: string): void;
}

export interface InformerOptions {
  backoff?: BackoffOptions;
  /** How often a collection the server does not serve is tried again, ms (default 60,000). */
  unavailableRetryMs?: number;
  /** Time limit of one list request (one page), ms (default 60,000). */
  listTimeoutMs?: number;
  /** Objects per list page (`limit`; default 500, as client-go's informers). */
  listPageSize?: number;
}

/** An HTTP failure of the API server, with its status code and the Status message when it sent one. */
class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

type WatchCallback = (phase: string, object: KubernetesObject, event?: unknown) => void;
type DoneCallback = (err: unknown) => void;

/** The ListWatch reports the moments the library itself does not expose through these hooks. */
interface WatchHooks {
  readonly signal: AbortSignal;
  /** The ListWatch is about to watch: a list (if one was needed) has been applied. */
  watching(): void;
  /** The watch request was answered 200. */
  connected(): void;
  event(phase: string, object: KubernetesObject): void;
}

/**
 * The library's Watch, plus what ListWatch does not do: ask for bookmarks, tell the informer
 * when a list was applied and a watch answered, and start nothing once stopped.
 */
class InformerWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly hooks: WatchHooks,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback,
    done: DoneCallback,
  ): Promise<AbortController> {
    if (this.hooks.signal.aborted) return abortedController();
    this.hooks.watching();
    let failed = false;
    const onEvent: WatchCallback = (phase, object, event) => {
      if (object && typeof object === 'object') normalize(object);
      this.hooks.event(phase, object);
      callback(phase, object, event);
    };
    const onDone: DoneCallback = (err) => {
      if (err) failed = true;
      done(err);
    };
    try {
      const controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, onEvent, onDone);
      if (this.hooks.signal.aborted) controller.abort();
      else if (!failed) this.hooks.connected();
      return controller;
    } catch (err) {
      // The library throws (instead of calling done) when it cannot even build the request.
      onDone(err);
      return abortedController();
    }
  }
}

function abortedController(): AbortController {
  const controller = new AbortController();
  controller.abort();
  return controller;
}

/** Drops what skiff never reads and can be large (managedFields). */
function normalize(object: KubernetesObject): void {
  if (object.metadata) delete object.metadata.managedFields;
}

function statusCodeOf(err: unknown): number | undefined {
  if (err && typeof err === 'object' && 'statusCode' in err && typeof err.statusCode === 'number') return err.statusCode;
  return undefined;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}

/** The message of a Kubernetes Status body, or the start of whatever else came back. */
function statusMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // not JSON; fall through
  }
  return body.slice(0, 200);
}

const http = new IsomorphicFetchHttpLibrary();

/** Consecutive failures after which a list/watch failure is logged as a warning. */
const PERSISTENT_FAILURE = 3;

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

export class KubeInformer {
  readonly resource: KubeResource;
  readonly namespace: string | undefined;
  readonly path: string;
  private currentState: InformerState = 'listing';
  private problem: string | undefined;
  private readonly listWatch: ListWatch<KubernetesObject>;
  private readonly backoff: Backoff;
  private readonly unavailableRetryMs: number;
  private readonly listTimeoutMs: number;
  private readonly listPageSize: number;
  private readonly abort = new AbortController();
  /** A list came back and is being applied; the next watch marks the informer synced. */
  private listed = false;

  constructor(
    private readonly kubeConfig: KubeConfig,
    resource: KubeResource,
    namespace: string | undefined,
    private readonly events: InformerEvents,
    options: InformerOptions = {},
  ) {
    this.resource = resource;
    this.namespace = resource.namespaced ? namespace : undefined;
    this.path = collectionPath(resource, this.namespace);
    this.backoff = new Backoff(options.backoff);
    this.unavailableRetryMs = options.unavailableRetryMs ?? 60_000;
    this.listTimeoutMs = options.listTimeoutMs ?? 60_000;
    this.listPageSize = options.listPageSize ?? 500;
    const signal = this.abort.signal;
    const watch = new InformerWatch(kubeConfig, {
      signal,
      watching: () => {
        if (this.listed) this.setState('synced');
        this.listed = false;
      },
      connected: () => {
        this.backoff.reset();
        this.setState('synced');
      },
      event: (phase, object) => this.onWatchEvent(phase, object),
    });
    this.listWatch = new ListWatch(this.path, watch, () => this.list(), false, undefined, undefined, {
      // The library waits 1 s, doubling to 30 s, between watches that ended without an event;
      // that delay is rescaled to our back-off and jittered.
      delayFn: (ms) => sleep(withJitter(Math.min(this.backoff.maxMs, (ms / 1000) * this.backoff.initialMs)), signal),
    });
    this.listWatch.on('add', (object) => this.events.upsert(object));
    this.listWatch.on('update', (object) => this.events.upsert(object));
    this.listWatch.on('delete', (object) => this.events.remove(object));
    this.listWatch.on('error', (err) => this.onError(err));
  }

  get state(): InformerState {
    return this.currentState;
  }

  /** The resourceVersion the next watch resumes from ('' before the first list or after a 410). */
  resourceVersion(): string {
    return this.listWatch.latestResourceVersion();
  }

  /** Starts listing and watching in the background; state() tells how far it got. */
  start(): void {
    this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.listWatch.stop();
  }

  private run(): void {
    if (this.abort.signal.aborted) return;
    this.listWatch.start().catch((err: unknown) => this.onError(err));
  }

  /**
   * The whole collection, page by page (one consistent snapshot: every page carries the first
   * page's resourceVersion). An expired continue token (410) fails the list; the retry starts over.
   */
  private async list(): Promise<KubernetesListObject<KubernetesObject>> {
    const items: KubernetesObject[] = [];
    const apiVersion = apiVersionOf(this.resource);
    let resourceVersion = '';
    let token: string | undefined;
    do {
      const page = await this.listPage(token);
      // Items of a built-in List carry no apiVersion/kind; objects from watch events and CRD lists do.
      for (const item of page.items) {
        item.apiVersion ??= apiVersion;
        item.kind ??= this.resource.kind;
        normalize(item);
        items.push(item);
      }
      resourceVersion = page.resourceVersion;
      token = page.continue;
    } while (token);
    this.backoff.reset();
    this.listed = true;
    return { metadata: { resourceVersion }, items };
  }

  private async listPage(token: string | undefined): Promise<{ items: KubernetesObject[]; resourceVersion: string; continue?: string }> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const query = new URLSearchParams({ limit: String(this.listPageSize) });
    if (token) query.set('continue', token);
    const request = new RequestContext(`${cluster.server}${this.path}?${query}`, HttpMethod.GET);
    request.setHeaderParam('Accept', 'application/json');
    await this.kubeConfig.applySecurityAuthentication(request);
    request.setSignal(AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.listTimeoutMs)]));
    const response = await http.send(request).toPromise();
    const body = await response.body.text();
    if (response.httpStatusCode !== 200) {
      throw new KubeApiError(response.httpStatusCode, `list ${this.path}: HTTP ${response.httpStatusCode}: ${statusMessage(body)}`);
    }
    // Raw JSON: the library's own V1ListMeta type calls `continue` `_continue`.
    const list = JSON.parse(body) as { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown } };
    const resourceVersion = list.metadata?.resourceVersion;
    if (!Array.isArray(list.items) || typeof resourceVersion !== 'string') {
      throw new Error(`list ${this.path}: the answer is not a Kubernetes List with a resourceVersion`);
    }
    const next = list.metadata?.continue;
    return { items: list.items as KubernetesObject[], resourceVersion, ...(typeof next === 'string' && next !== '' ? { continue: next } : {}) };
  }

  private onWatchEvent(phase: string, object: KubernetesObject): void {
    if (phase !== 'ERROR') {
      this.backoff.reset();
      return;
    }
    const status = object as { code?: number; message?: string };
    // 410 (resourceVersion too old) makes the library re-list once the server closes the watch.
    const level = status.code === 410 ? 'info' : 'warn';
    log[level]({ path: this.path, code: status.code }, `watch error event: ${status.message ?? 'no message'}`);
  }

  private onError(err: unknown): void {
    if (this.abort.signal.aborted) return; // a stop aborts requests; that is no failure
    const code = statusCodeOf(err);
    let delay: number;
    if (code === 404 || code === 403) {
      delay = withJitter(this.unavailableRetryMs);
      const why = code === 404 ? `the API server does not serve ${this.path} (CustomResourceDefinition not installed?)` : `not allowed to list/watch ${this.path} (RBAC)`;
      const problem = `${why}; trying again every ${formatMs(this.unavailableRetryMs)}`;
      if (this.currentState !== 'unavailable') log.warn({ path: this.path, code }, problem);
      this.setState('unavailable', problem);
    } else {
      delay = this.backoff.next();
      // A cut watch or a restarting API server is routine; only a failure that persists is a warning.
      const fields = { path: this.path, attempt: this.backoff.attempts, retryInMs: delay, err: describe(err) };
      if (this.backoff.attempts === PERSISTENT_FAILURE) log.warn(fields, 'list/watch keeps failing; backing off');
      else if (this.backoff.attempts === 1) log.info(fields, 'list/watch failed; backing off');
      else log.debug(fields, 'list/watch failed again');
    }
    void sleep(delay, this.abort.signal).then(() => this.run());
  }

  private setState(state: InformerState, problem?: string): void {
    if (state === this.currentState && problem === this.problem) return;
    if (this.currentState === 'unavailable' && state !== 'unavailable') log.info({ path: this.path }, 'now served by the API server');
    this.currentState = state;
    this.problem = problem;
    this.events.state(state, problem);
  }
}

// One xDS stream (SotW or Delta): the client's identity from its first request, its per-type
// state, and the push: plan every type in make-before-break order (CDS → EDS → LDS → RDS → SDS,
// then other types), warming (a changed Cluster pulls its ClusterLoadAssignment, a Listener its
// RouteConfigurations), removals last, and writes that respect the stream's backpressure so a slow
// client only ever delays itself.
import type { Logger } from '../config/log.js';
import type { SnapshotCache } from './cache.js';
import { CREDENTIAL_HEADER, type ClientInfo, clientInfoFromNode } from './client-info.js';
import type { Node__Output } from './generated/envoy/config/core/v3/Node.js';
import type { XdsMetrics } from './metrics.js';
import type { CallStatus, StreamCall } from './grpc/handlers.js';
import { PUSH_ORDER, TypeUrl } from './protos.js';
import type { Pushable } from './push-queue.js';
import type { ResourceEntry, ResourceSnapshot, TypeSnapshot } from './snapshot.js';
import { TypeState, type TypeStateView } from './type-state.js';
import { DeltaField, SotwField, bytesField } from './wire.js';

export type Mode = 'sotw' | 'delta';

/** What a connection needs from the server that owns it. */
export interface ConnectionHost {
  readonly cache: SnapshotCache;
  readonly metrics: XdsMetrics;
  readonly log: Logger;
  schedule(connection: Connection): void;
  /** Bytes handed to streams but not yet written out changed by `delta` (the server's global budget). */
  buffered(delta: number): void;
  /** The client identified itself (first request). */
  attach(connection: Connection): void;
  detach(connection: Connection): void;
}

/** One response to send: its shared body (without nonce), the version it carries, for which type. */
export interface Step {
  state: TypeState;
  version: string;
  body: Buffer;
}

/** The outcome of planning one type: what to send now, what to send last (removals), and which names changed. */
export interface TypePlan {
  upsert: { version: string; body: Buffer } | null;
  removal: { version: string; body: Buffer } | null;
  changed: readonly string[];
}

export const NO_PLAN: TypePlan = { upsert: null, removal: null, changed: [] };

/** A client with more unwritten response bytes than this gets no further push until it reads. */
const CLIENT_BUFFER_LIMIT = 4 * 1024 * 1024;

/** The field number of `nonce` in each protocol's responses. */
const NONCE_FIELD: Record<Mode, number> = { sotw: SotwField.nonce, delta: DeltaField.nonce };

/** The type whose resources a changed resource of this type needs sent after it (warming). */
const WARMS: Record<string, string> = { [TypeUrl.cluster]: TypeUrl.endpoint, [TypeUrl.listener]: TypeUrl.route };

function pushRank(typeUrl: string): number {
  const index = PUSH_ORDER.indexOf(typeUrl);
  return index === -1 ? PUSH_ORDER.length : index;
}

/** What a connection uses of its call once the handlers are set: the credential header and the response side. */
type Responses = Pick<StreamCall<unknown>, 'header' | 'write' | 'end'>;

/** A client's entry in /debug/syncz. */
export interface ClientView {
  streamId: number;
  id: string;
  role: string;
  mode: Mode;
  classKey: string;
  node: { id: string; cluster: string; nodeName?: string; namespace?: string; name?: string; userAgent: string; metadata: Record<string, unknown> };
  connectedAt: string;
  types: TypeStateView[];
}

/** What a client was last sent for one type, for config dumps. */
export interface SentResources {
  typeUrl: string;
  version: string;
  sentAt: number;
  entries: ResourceEntry[];
}

/** What every discovery request (SotW and Delta) carries. */
interface Request {
  node: Node__Output | null;
  type_url: string;
}

export abstract class Connection<R extends Request = Request> implements Pushable {
  private static nextStreamId = 1;
  readonly streamId = Connection.nextStreamId++;
  abstract readonly mode: Mode;
  info: ClientInfo | undefined;
  classKey = '';
  queued = false;
  queuedAt = 0;
  /** The client's types in push order: a handful, so a short list (no Map per client). */
  private ordered: readonly TypeState[] = [];
  /** Response bytes written to the stream whose write has not completed (the client is not reading). */
  private inFlight = 0;
  private blocked = false;
  private pushAfterDrain = false;
  private closed = false;
  private nonces = 0;
  private readonly connectedAt = Date.now();
  private readonly call: Responses;

  constructor(
    protected readonly host: ConnectionHost,
    call: StreamCall<R>,
    /** Set for the per-type services (CDS, EDS, …): requests may omit type_url, others are refused. */
    protected readonly onlyType?: string,
  ) {
    this.call = call;
    call.onMessage = (request) => this.receive(request);
    // The client half-closing ends the stream (OK); a call that closed on its own just lets go of it.
    const close = () => this.close();
    call.onEnd = close;
    call.onClose = close;
  }

  /** One request about one type (the stream's client identified, the type usable here). */
  protected abstract onRequest(state: TypeState, request: R): void;

  /** Plans one type against the current TypeSnapshot; `forced` are names warming requires. */
  protected abstract planType(state: TypeState, current: TypeSnapshot, forced: readonly string[]): TypePlan;

  private receive(request: R): void {
    this.identify(request.node);
    const typeUrl = this.requestType(request.type_url);
    if (typeUrl) this.onRequest(this.state(typeUrl), request);
  }

  /** Reads the node from the first request only; later requests' node fields are ignored. */
  private identify(node: Node__Output | null): void {
    if (this.info) return;
    this.info = clientInfoFromNode(node, `stream-${this.streamId}`, this.call.header(CREDENTIAL_HEADER));
    this.classKey = this.host.cache.classOf(this.info);
    this.host.attach(this);
    this.host.cache.requestClass(this.classKey, this.info);
  }

  /** The type URL a request is about, or undefined (logged) when the request is unusable here. */
  private requestType(typeUrl: string): string | undefined {
    const resolved = typeUrl || this.onlyType;
    if (!resolved || (this.onlyType && resolved !== this.onlyType)) {
      this.host.log.warn({ client: this.info?.id, typeUrl, service: this.onlyType }, 'request ignored: no usable type_url for this stream');
      return undefined;
    }
    return resolved;
  }

  private state(typeUrl: string): TypeState {
    for (const state of this.ordered) if (state.typeUrl === typeUrl) return state;
    const state = new TypeState(typeUrl);
    // concat makes an array of exactly the length needed (a spread leaves room to grow in every client's list)
    this.ordered = this.ordered.concat(state).sort((a, b) => pushRank(a.typeUrl) - pushRank(b.typeUrl) || (a.typeUrl < b.typeUrl ? -1 : 1));
    return state;
  }

  /** Records the client's answer to the latest response of a type: ACK, or NACK with its error_detail. */
  protected answer(state: TypeState, errorDetail: string | undefined): void {
    state.answeredNonce = state.nonce;
    if (errorDetail !== undefined) {
      state.nack = { version: state.version, nonce: state.nonce, errorDetail, at: Date.now() };
      this.host.metrics.nacks.inc({ type_url: state.typeUrl });
      this.host.log.warn({ client: this.info?.id, typeUrl: state.typeUrl, version: state.version, errorDetail }, 'NACK: the rejected version stays parked until the resources change');
    } else {
      state.markAcked(Date.now());
      this.host.metrics.acks.inc({ type_url: state.typeUrl });
    }
  }

  /** Sends what changed for every subscribed type (called by the push queue). */
  push(): void {
    if (this.closed) return;
    if (this.blocked) {
      this.pushAfterDrain = true;
      return;
    }
    const snapshot = this.host.cache.get(this.classKey);
    if (!snapshot || !this.info) return;
    const steps = this.plan(snapshot);
    for (const step of steps) this.send(step);
    if (steps.length > 0) this.host.metrics.pushLatency.observe((Date.now() - this.queuedAt) / 1000);
  }

  private plan(snapshot: ResourceSnapshot): Step[] {
    const upserts: Step[] = [];
    const removals: Step[] = [];
    const warm = new Map<string, string[]>();
    for (const state of this.ordered) {
      if (!state.subscribed) continue;
      const plan = this.planType(state, snapshot.get(state.typeUrl), warm.get(state.typeUrl) ?? []);
      const next = WARMS[state.typeUrl];
      if (next && plan.changed.length > 0) {
        const entries = snapshot.get(state.typeUrl).entries;
        warm.set(next, plan.changed.flatMap((name) => entries.get(name)?.refs ?? []));
      }
      if (plan.upsert) upserts.push({ state, ...plan.upsert });
      if (plan.removal) removals.unshift({ state, ...plan.removal });
    }
    return [...upserts, ...removals];
  }

  /**
   * One response on the wire: the nonce field, then the body every client of the class shares
   * (field order does not matter in protobuf), handed to the call as two parts so the shared bytes
   * are never copied per client.
   */
  private send(step: Step): void {
    const nonce = (++this.nonces).toString(36);
    step.state.nonce = nonce;
    step.state.version = step.version;
    step.state.sentAt = Date.now();
    this.host.metrics.pushes.inc({ type_url: step.state.typeUrl, mode: this.mode });
    const nonceBytes = bytesField(NONCE_FIELD[this.mode], nonce);
    const bytes = nonceBytes.length + step.body.length;
    this.inFlight += bytes;
    this.host.buffered(bytes);
    this.call.write([nonceBytes, step.body], () => this.written(bytes));
    if (this.inFlight > CLIENT_BUFFER_LIMIT) this.blocked = true;
  }

  /** A response left for the network; a client that had stopped reading gets its merged push now. */
  private written(bytes: number): void {
    if (this.closed) return;
    this.inFlight -= bytes;
    this.host.buffered(-bytes);
    if (this.blocked && this.inFlight <= CLIENT_BUFFER_LIMIT / 2) {
      this.blocked = false;
      if (this.pushAfterDrain) {
        this.pushAfterDrain = false;
        this.host.schedule(this);
      }
    }
  }

  /** Ends the stream; with a status (e.g. UNAVAILABLE on shutdown) the client sees it and retries. */
  close(status?: CallStatus): void {
    if (this.closed) return;
    this.closed = true;
    this.host.buffered(-this.inFlight);
    this.inFlight = 0;
    this.host.detach(this);
    this.call.end(status);
  }

  view(): ClientView {
    const info = this.info;
    const now = Date.now();
    const snapshot = this.classKey ? this.host.cache.get(this.classKey) : undefined;
    return {
      streamId: this.streamId,
      id: info?.id ?? '',
      role: info?.role ?? 'proxyless',
      mode: this.mode,
      classKey: this.classKey,
      node: {
        id: info?.id ?? '',
        cluster: info?.cluster ?? '',
        ...(info?.nodeName ? { nodeName: info.nodeName } : {}),
        ...(info?.namespace ? { namespace: info.namespace } : {}),
        ...(info?.name ? { name: info.name } : {}),
        userAgent: info?.userAgent ?? '',
        metadata: info?.metadata ?? {},
      },
      connectedAt: new Date(this.connectedAt).toISOString(),
      types: this.ordered.map((state) => state.view(now, snapshot?.get(state.typeUrl))),
    };
  }

  /** Per type, the resources this client was sent (the versions its copy reflects). */
  sentResources(): SentResources[] {
    const out: SentResources[] = [];
    for (const state of this.ordered) {
      if (!state.sent) continue;
      const entries = [...state.sent.entries.values()].filter((entry) => state.wasInScope(entry.name));
      out.push({ typeUrl: state.typeUrl, version: state.version, sentAt: state.sentAt, entries });
    }
    return out;
  }
}

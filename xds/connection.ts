// One xDS stream (SotW or Delta): the client's identity from its first request, its per-type
// state, and the push: plan every type in make-before-break order (CDS → EDS → LDS → RDS → SDS,
// then other types), warming (a changed Cluster pulls its ClusterLoadAssignment, a Listener its
// RouteConfigurations), removals last, and writes that respect the stream's backpressure so a slow
// client only ever delays itself.
import type * as grpc from '@grpc/grpc-js';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { Logger } from '../config/log.js';
import type { SnapshotCache } from './cache.js';
import { CREDENTIAL_HEADER, type ClientInfo, clientInfoFromNode } from './client-info.js';
import type { Node__Output } from './generated/envoy/config/core/v3/Node.js';
import type { XdsMetrics } from './metrics.js';
import { PUSH_ORDER, TypeUrl } from './protos.js';
import type { Pushable } from './push-queue.js';
import type { ResourceEntry, ResourceSnapshot, TypeSnapshot } from './snapshot.js';
import { TypeState, type TypeStateView } from './type-state.js';
import { bytesField } from './wire.js';

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

/** The type whose resources a changed resource of this type needs sent after it (warming). */
const WARMS: Record<string, string> = { [TypeUrl.cluster]: TypeUrl.endpoint, [TypeUrl.listener]: TypeUrl.route };

function pushRank(typeUrl: string): number {
  const index = PUSH_ORDER.indexOf(typeUrl);
  return index === -1 ? PUSH_ORDER.length : index;
}

/** The HTTP/2 stream under a grpc-js call, as far as response writes need it. */
interface RawStream {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array, callback?: () => void): boolean;
}

/** grpc-js's message decoder of a call (state 0: between messages). */
interface CallDecoder {
  readState: number;
  readPartialMessage: unknown[];
  readCompressFlag: Buffer;
}

const NO_COMPRESSION = Buffer.alloc(1);

/**
 * The HTTP/2 stream and the message decoder under a grpc-js call, reached through grpc-js's
 * (private) call chain. Either is undefined when grpc-js's internals differ: then the call's public
 * API is used and only the memory savings they allow are lost.
 */
function callInternals(call: object): { stream?: RawStream; decoder?: CallDecoder } {
  let link = (call as { call?: unknown }).call;
  for (let depth = 0; depth < 16 && typeof link === 'object' && link !== null; depth++) {
    const { stream, decoder } = link as { stream?: Partial<RawStream>; decoder?: Partial<CallDecoder> };
    if (typeof stream?.cork === 'function' && typeof stream.write === 'function' && 'headersSent' in stream) {
      const usable = typeof decoder?.readState === 'number' && Array.isArray(decoder.readPartialMessage);
      return { stream: stream as RawStream, ...(usable ? { decoder: decoder as CallDecoder } : {}) };
    }
    link = (link as { nextCall?: unknown }).nextCall;
  }
  return {};
}

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

export abstract class Connection implements Pushable {
  private static nextStreamId = 1;
  readonly streamId = Connection.nextStreamId++;
  abstract readonly mode: Mode;
  info: ClientInfo | undefined;
  classKey = '';
  queued = false;
  queuedAt = 0;
  protected readonly types = new Map<string, TypeState>();
  private ordered: TypeState[] = [];
  /** Response bytes written to the stream whose write has not completed (the client is not reading). */
  private inFlight = 0;
  private blocked = false;
  private pushAfterDrain = false;
  private closed = false;
  private nonces = 0;
  private readonly connectedAt = Date.now();
  private readonly raw: RawStream | undefined;

  constructor(
    protected readonly host: ConnectionHost,
    private readonly call: grpc.ServerDuplexStream<unknown, Buffer>,
    /** Set for the per-type services (CDS, EDS, …): requests may omit type_url, others are refused. */
    protected readonly onlyType: string | undefined,
    private readonly nonceField: number,
  ) {
    const { stream, decoder } = callInternals(call);
    this.raw = stream;
    // Between messages grpc-js's decoder still holds slices of the last request's DATA chunks, and
    // each slice pins a whole socket read buffer (64 KB) for as long as the stream stays idle.
    if (decoder) {
      call.on('data', () => {
        if (decoder.readState !== 0) return;
        decoder.readPartialMessage = [];
        decoder.readCompressFlag = NO_COMPRESSION;
      });
    }
  }

  /** Plans one type against the current TypeSnapshot; `forced` are names warming requires. */
  protected abstract planType(state: TypeState, current: TypeSnapshot, forced: readonly string[]): TypePlan;

  /** Reads the node from the first request only; later requests' node fields are ignored. */
  protected identify(node: Node__Output | null): void {
    if (this.info) return;
    const credential = this.call.metadata.get(CREDENTIAL_HEADER)[0];
    this.info = clientInfoFromNode(node, `stream-${this.streamId}`, typeof credential === 'string' ? credential : undefined);
    this.classKey = this.host.cache.classOf(this.info);
    this.host.attach(this);
    this.host.cache.requestClass(this.classKey, this.info);
  }

  /** The type URL a request is about, or undefined (logged) when the request is unusable here. */
  protected requestType(typeUrl: string): string | undefined {
    const resolved = typeUrl || this.onlyType;
    if (!resolved || (this.onlyType && resolved !== this.onlyType)) {
      this.host.log.warn({ client: this.info?.id, typeUrl, service: this.onlyType }, 'request ignored: no usable type_url for this stream');
      return undefined;
    }
    return resolved;
  }

  protected state(typeUrl: string): TypeState {
    let state = this.types.get(typeUrl);
    if (!state) {
      state = new TypeState(typeUrl);
      this.types.set(typeUrl, state);
      this.ordered = [...this.types.values()].sort((a, b) => pushRank(a.typeUrl) - pushRank(b.typeUrl) || (a.typeUrl < b.typeUrl ? -1 : 1));
    }
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

  private send(step: Step): void {
    const nonce = (++this.nonces).toString(36);
    step.state.nonce = nonce;
    step.state.version = step.version;
    step.state.sentAt = Date.now();
    this.host.metrics.pushes.inc({ type_url: step.state.typeUrl, mode: this.mode });
    const nonceBytes = bytesField(this.nonceField, nonce);
    const bytes = nonceBytes.length + step.body.length;
    this.inFlight += bytes;
    this.host.buffered(bytes);
    this.write(step.body, nonceBytes, () => this.written(bytes));
    if (this.inFlight > CLIENT_BUFFER_LIMIT) this.blocked = true;
  }

  /**
   * One response on the wire. Straight onto the HTTP/2 stream where grpc-js allows it: a gRPC frame
   * of [prefix + nonce field] and the body itself, so the body bytes every client shares are never
   * copied per client (grpc-js would copy each message twice over: stamp the nonce, then frame).
   */
  private write(body: Buffer, nonceBytes: Uint8Array, done: () => void): void {
    const raw = this.raw;
    if (raw && !raw.destroyed && !raw.writableEnded) {
      if (!raw.headersSent) this.call.sendMetadata(new Metadata());
      if (raw.headersSent) {
        const head = Buffer.allocUnsafe(5 + nonceBytes.length);
        head[0] = 0;
        head.writeUInt32BE(nonceBytes.length + body.length, 1);
        head.set(nonceBytes, 5);
        raw.cork();
        raw.write(head);
        raw.write(body, done);
        raw.uncork();
        return;
      }
    }
    // the nonce field appended: field order does not matter on the wire
    this.call.write(Buffer.concat([body, nonceBytes]), done);
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
  close(status?: { code: GrpcStatus; details: string }): void {
    if (this.closed) return;
    this.closed = true;
    this.host.buffered(-this.inFlight);
    this.inFlight = 0;
    this.host.detach(this);
    if (status) this.call.emit('error', status);
    else this.call.end();
  }

  get isClosed(): boolean {
    return this.closed;
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

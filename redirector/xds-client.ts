// The redirector's Delta ADS client of the control plane (node.metadata.role `redirector`,
// node_name): wildcard subscriptions to skiff's resource types, every response decoded and checked
// before it is taken — one bad resource NACKs the whole response (error_detail names it) and the
// last good state stays. The stream reconnects with jittered back-off; the resources held are kept
// across control plane restarts and announced (initial_resource_versions) so that only differences
// come back. With a bootstrap token (call metadata `x-skiff-token`, read from the token file at
// every connect) the stream is attested: it also subscribes to this node's WorkloadCertificates and
// the TrustBundle (identity.proto) beside the redirector's own types.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Logger } from '../config/log.js';
import {
  IdentityType,
  TOKEN_HEADER,
  decodeIdentityResource,
  type TrustBundle__Output,
  type WorkloadCertificate__Output,
} from '../proto/skiff/v1alpha1/identity-wire.js';
import {
  decodeRedirectorResource,
  isRedirectorType,
  REDIRECTOR_TYPE_URLS,
  type RedirectorMessages,
  type RedirectorTypeUrl,
} from '../proto/skiff/v1alpha1/wire.js';
import { identityResourceProblem } from './tunnel/certificates.js';
import { resourceProblem } from './validate.js';

// The fields of envoy.service.discovery.v3.Delta{Discovery}Request/Response this client uses.
interface Any {
  type_url: string;
  value: Buffer;
}
interface DeltaResource {
  name: string;
  version: string;
  resource: Any | null;
}
interface DeltaResponse {
  type_url: string;
  nonce: string;
  system_version_info: string;
  resources: DeltaResource[];
  removed_resources: string[];
}
interface DeltaRequest {
  node?: { id: string; cluster: string; user_agent_name: string; metadata: { fields: Record<string, { stringValue: string }> } };
  type_url: string;
  resource_names_subscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code: number; message: string };
}

type AdsStream = grpc.ClientDuplexStream<DeltaRequest, DeltaResponse>;
type AdsClient = grpc.Client & { DeltaAggregatedResources(metadata: grpc.Metadata): AdsStream };

function loadAdsClient(): grpc.ServiceClientConstructor {
  const require = createRequire(import.meta.url);
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const definition = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d)),
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: grpc.ServiceClientConstructor } } } };
  };
  return pkg.envoy.service.discovery.v3.AggregatedDiscoveryService;
}

type IdentityTypeUrl = (typeof IdentityType)[keyof typeof IdentityType];
/** Every type the agent subscribes to: the redirector's and the identity protocol's. */
export type AgentTypeUrl = RedirectorTypeUrl | IdentityTypeUrl;
export const AGENT_TYPE_URLS: readonly AgentTypeUrl[] = [...REDIRECTOR_TYPE_URLS, IdentityType.workloadCertificate, IdentityType.trustBundle];

/** Decoded message shapes per type URL. */
export type AgentMessage<U extends AgentTypeUrl> = U extends RedirectorTypeUrl
  ? RedirectorMessages[U][1]
  : U extends typeof IdentityType.workloadCertificate
    ? WorkloadCertificate__Output
    : TrustBundle__Output;

function decodeAgentResource(url: AgentTypeUrl, bytes: Uint8Array): AgentMessage<AgentTypeUrl> {
  return isRedirectorType(url) ? decodeRedirectorResource(url, bytes) : decodeIdentityResource(url, bytes);
}

/** One accepted change of one type: resources added or changed, and names removed. */
export interface ResourceUpdate<U extends AgentTypeUrl = AgentTypeUrl> {
  typeUrl: U;
  updated: Map<string, AgentMessage<U>>;
  removed: string[];
}

export interface TypeStatus {
  /** Resources held. */
  resources: number;
  lastAckNonce: string;
  lastNackNonce: string;
  lastNackError: string;
  acks: number;
  nacks: number;
}

export interface XdsClientOptions {
  /** HOST:PORT of the control plane. */
  address: string;
  node: string;
  /** The agent's admin address, announced in node metadata (`admin_address`) for the CLI. */
  adminAddress?: string;
  /** The node's bootstrap token, asked at every connect. Without it the stream is unattested and
   * subscribes to the redirector's types only. */
  token?: () => string | undefined;
  /** Called with each accepted response; throwing NACKs it. */
  onUpdate(update: ResourceUpdate): void;
  log: Logger;
  /** Back-off bounds (default 200 ms .. 5 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class RedirectorXdsClient {
  readonly #options: XdsClientOptions;
  readonly #client: AdsClient;
  /** type → name → version held. */
  readonly #versions = new Map<string, Map<string, string>>();
  readonly status = new Map<string, TypeStatus>();
  /** The types subscribed to. */
  readonly #types: readonly AgentTypeUrl[];
  #stream: AdsStream | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backoffMs: number;
  #stopped = false;
  connected = false;
  connects = 0;

  constructor(options: XdsClientOptions) {
    this.#options = options;
    this.#backoffMs = options.minBackoffMs ?? 200;
    const Client = loadAdsClient();
    this.#client = new Client(options.address, grpc.credentials.createInsecure()) as unknown as AdsClient;
    this.#types = options.token ? AGENT_TYPE_URLS : REDIRECTOR_TYPE_URLS;
    for (const url of this.#types) {
      this.#versions.set(url, new Map());
      this.status.set(url, { resources: 0, lastAckNonce: '', lastNackNonce: '', lastNackError: '', acks: 0, nacks: 0 });
    }
  }

  start(): void {
    this.#connect();
  }

  #connect(): void {
    if (this.#stopped) return;
    const metadata = new grpc.Metadata();
    const token = this.#token();
    if (token) metadata.set(TOKEN_HEADER, token);
    const stream = this.#client.DeltaAggregatedResources(metadata);
    this.#stream = stream;
    this.connects++;
    stream.on('data', (response: DeltaResponse) => {
      this.#up(stream);
      this.#onResponse(stream, response);
    });
    this.#watchReady(stream);
    stream.on('error', (err: grpc.ServiceError) => this.#lost(stream, err.details || err.message));
    stream.on('end', () => this.#lost(stream, 'stream ended'));
    let first = true;
    for (const typeUrl of this.#types) {
      const request: DeltaRequest = {
        type_url: typeUrl,
        resource_names_subscribe: [],
        initial_resource_versions: Object.fromEntries(this.#versions.get(typeUrl) ?? []),
      };
      if (first) request.node = this.#nodeMessage();
      first = false;
      stream.write(request);
    }
  }

  #token(): string | undefined {
    try {
      return this.#options.token?.();
    } catch (err) {
      this.#options.log.error({ error: (err as Error).message }, 'cannot read the bootstrap token: connecting unattested (no certificates)');
      return undefined;
    }
  }

  /** The stream is up once the channel is READY (a resumed stream may get no response at all). */
  #watchReady(stream: AdsStream): void {
    const channel = this.#client.getChannel();
    const check = () => {
      if (stream !== this.#stream) return;
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) {
        this.#up(stream);
        return;
      }
      channel.watchConnectivityState(state, Date.now() + 1000, check);
    };
    check();
  }

  #up(stream: AdsStream): void {
    if (this.connected || stream !== this.#stream) return;
    this.connected = true;
    this.#backoffMs = this.#options.minBackoffMs ?? 200;
    this.#options.log.info({ address: this.#options.address }, 'connected to the control plane');
  }

  #nodeMessage(): NonNullable<DeltaRequest['node']> {
    const fields: Record<string, { stringValue: string }> = { role: { stringValue: 'redirector' }, node_name: { stringValue: this.#options.node } };
    if (this.#options.adminAddress) fields.admin_address = { stringValue: this.#options.adminAddress };
    return { id: `redirector~${this.#options.node}`, cluster: 'skiff', user_agent_name: 'skiff-redirector', metadata: { fields } };
  }

  #lost(stream: AdsStream, why: string): void {
    if (stream !== this.#stream) return;
    this.#stream = undefined;
    this.connected = false;
    stream.removeAllListeners('data');
    stream.cancel();
    if (this.#stopped) return;
    const delay = this.#backoffMs * (0.75 + Math.random() / 2);
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#options.maxBackoffMs ?? 5000);
    this.#options.log.warn({ why, retryInMs: Math.round(delay) }, 'control plane stream lost; keeping the last state');
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  #subscribed(url: string): url is AgentTypeUrl {
    return (this.#types as readonly string[]).includes(url);
  }

  #onResponse(stream: AdsStream, response: DeltaResponse): void {
    const typeUrl = response.type_url;
    if (!this.#subscribed(typeUrl)) {
      stream.write({ type_url: typeUrl, response_nonce: response.nonce, error_detail: { code: 3, message: `unknown type ${typeUrl}` } });
      return;
    }
    const status = this.status.get(typeUrl) as TypeStatus;
    let update: ResourceUpdate;
    try {
      update = this.#decode(typeUrl, response);
      this.#options.onUpdate(update);
    } catch (err) {
      const message = (err as Error).message;
      status.nacks++;
      status.lastNackNonce = response.nonce;
      status.lastNackError = message;
      this.#options.log.error({ typeUrl, error: message }, 'resources refused (NACK); the last good state stays');
      stream.write({ type_url: typeUrl, response_nonce: response.nonce, error_detail: { code: 3, message } });
      return;
    }
    const versions = this.#versions.get(typeUrl) as Map<string, string>;
    for (const r of response.resources) versions.set(r.name, r.version);
    for (const name of response.removed_resources) versions.delete(name);
    status.resources = versions.size;
    status.acks++;
    status.lastAckNonce = response.nonce;
    stream.write({ type_url: typeUrl, response_nonce: response.nonce });
  }

  #decode(typeUrl: AgentTypeUrl, response: DeltaResponse): ResourceUpdate {
    const updated = new Map<string, AgentMessage<AgentTypeUrl>>();
    for (const r of response.resources) {
      if (!r.resource || r.resource.type_url !== typeUrl) throw new Error(`${r.name}: resource of type '${r.resource?.type_url ?? ''}' in a ${typeUrl} response`);
      let message: AgentMessage<AgentTypeUrl>;
      try {
        message = decodeAgentResource(typeUrl, r.resource.value);
      } catch (err) {
        throw new Error(`${r.name}: cannot decode: ${(err as Error).message}`);
      }
      const problem = isRedirectorType(typeUrl) ? resourceProblem(typeUrl, r.name, message as never) : identityResourceProblem(typeUrl, message as never);
      if (problem) throw new Error(`${r.name}: ${problem}`);
      updated.set(r.name, message);
    }
    return { typeUrl, updated, removed: [...response.removed_resources] };
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#stream?.cancel();
    this.#client.close();
  }
}

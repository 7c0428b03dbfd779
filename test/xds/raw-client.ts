// A protocol-level xDS test client written from Envoy's xds_protocol document: one raw gRPC
// bidi stream (SotW StreamAggregatedResources or Delta DeltaAggregatedResources) whose requests
// the test writes field by field and whose responses it reads decoded with Envoy's protos.
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { messageType, root } from '../../xds/protos.js';

export interface RawResource {
  name: string;
  /** Delta only: the resource version. */
  version: string;
  typeUrl: string;
  message: Record<string, unknown>;
}

export interface RawResponse {
  /** version_info (SotW) or system_version_info (Delta). */
  version: string;
  typeUrl: string;
  nonce: string;
  resources: RawResource[];
  /** Delta only. */
  removed: string[];
}

export interface NodeSpec {
  id: string;
  metadata?: Record<string, string>;
}

const sotwRequest = root.lookupType('envoy.service.discovery.v3.DiscoveryRequest');
const sotwResponse = root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
const deltaRequest = root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
const deltaResponse = root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
const conversion = { longs: String, enums: String, defaults: true, bytes: Buffer };

export function nodeMessage(node: NodeSpec): object {
  const fields = Object.fromEntries(Object.entries(node.metadata ?? {}).map(([k, v]) => [k, { stringValue: v }]));
  return { id: node.id, cluster: 'test', metadata: { fields } };
}

function decodeResource(typeUrl: string, value: Buffer, version: string): RawResource {
  const type = messageType(typeUrl);
  const message = type ? (type.toObject(type.decode(value), conversion) as Record<string, unknown>) : {};
  const name = String(message.name ?? message.cluster_name ?? '');
  return { name, version, typeUrl, message };
}

function decodeSotw(bytes: Buffer): RawResponse {
  const r = sotwResponse.toObject(sotwResponse.decode(bytes), conversion) as {
    version_info: string; type_url: string; nonce: string; resources: { type_url: string; value: Buffer }[];
  };
  return { version: r.version_info, typeUrl: r.type_url, nonce: r.nonce, resources: r.resources.map((a) => decodeResource(a.type_url, a.value, '')), removed: [] };
}

function decodeDelta(bytes: Buffer): RawResponse {
  const r = deltaResponse.toObject(deltaResponse.decode(bytes), conversion) as {
    system_version_info: string; type_url: string; nonce: string; removed_resources: string[];
    resources: { name: string; version: string; resource: { type_url: string; value: Buffer } | null }[];
  };
  return {
    version: r.system_version_info,
    typeUrl: r.type_url,
    nonce: r.nonce,
    resources: r.resources.map((res) => ({ ...decodeResource(res.resource?.type_url ?? '', res.resource?.value ?? Buffer.alloc(0), res.version), name: res.name })),
    removed: r.removed_resources,
  };
}

function method(path: string, encode: protobuf.Type, decode: (b: Buffer) => RawResponse): grpc.MethodDefinition<object, RawResponse> {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: (request: object) => Buffer.from(encode.encode(encode.fromObject(request)).finish()),
    requestDeserialize: () => ({}),
    responseSerialize: () => Buffer.alloc(0),
    responseDeserialize: decode,
  };
}

const AdsClient = grpc.makeGenericClientConstructor(
  {
    sotw: method('/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', sotwRequest, decodeSotw),
    delta: method('/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources', deltaRequest, decodeDelta),
    cds: method('/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters', sotwRequest, decodeSotw),
  },
  'ads',
);

export type StreamKind = 'sotw' | 'delta' | 'cds';

/** A SotW request: fields as in envoy.service.discovery.v3.DiscoveryRequest. */
export interface SotwRequest {
  node?: NodeSpec;
  type_url?: string;
  resource_names?: string[];
  version_info?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message: string };
}

/** A Delta request: fields as in envoy.service.discovery.v3.DeltaDiscoveryRequest. */
export interface DeltaRequest {
  node?: NodeSpec;
  type_url: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code?: number; message: string };
}

export class RawXdsClient {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<object, RawResponse>;
  private readonly queue: RawResponse[] = [];
  private waiters: ((r: RawResponse) => void)[] = [];
  /** The status the stream ended with, once it ended. */
  status: grpc.StatusObject | undefined;

  /** `metadata`: call metadata of the stream (e.g. a bootstrap token). */
  constructor(port: number, kind: StreamKind, metadata?: grpc.Metadata) {
    this.client = new AdsClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const open = (this.client as unknown as Record<StreamKind, (m?: grpc.Metadata) => grpc.ClientDuplexStream<object, RawResponse>>)[kind];
    this.call = open.call(this.client, metadata);
    this.call.on('data', (response: RawResponse) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(response);
      else this.queue.push(response);
    });
    this.call.on('status', (status: grpc.StatusObject) => (this.status = status));
    this.call.on('error', () => undefined);
  }

  /** The node id of the first request that carried a node. */
  nodeId = '';

  send(request: SotwRequest | DeltaRequest): void {
    const { node, ...rest } = request;
    if (node && !this.nodeId) this.nodeId = node.id;
    this.call.write(node ? { ...rest, node: nodeMessage(node) } : rest);
  }

  /** The next response (in arrival order); fails after timeoutMs. */
  next(timeoutMs = 3000): Promise<RawResponse> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no xDS response within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (r: RawResponse) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves with the responses that arrived within ms (normally asserted empty). */
  async quiet(ms = 300): Promise<RawResponse[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.queue.splice(0);
  }

  /** Waits for the stream's final status. */
  async ended(timeoutMs = 3000): Promise<grpc.StatusObject> {
    const deadline = Date.now() + timeoutMs;
    while (!this.status && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!this.status) throw new Error('stream did not end');
    return this.status;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

export function names(response: RawResponse): string[] {
  return response.resources.map((r) => r.name);
}

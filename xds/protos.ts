// Envoy's protos (shipped with @grpc/grpc-js-xds), loaded once with protobufjs: the xDS type URLs,
// request decoding, resource encoding by type URL, and JSON rendering for config dumps.
import protobuf from 'protobufjs';
import { locateProto } from './proto-dirs.js';
// The Envoy .proto files loaded here; scripts/gen-xds-types.mjs generates TypeScript types from the same list.
import PROTO_FILES from './envoy-protos.json' with { type: 'json' };
// The typed_config types the translator emits that nothing here encodes by name (TcpProxy, RBAC,
// OriginalDst, transport sockets, upstream protocol options): loaded so config dumps decode them.
import DUMP_PROTO_FILES from './envoy-dump-protos.json' with { type: 'json' };
import type { DiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import type { DeltaDiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';

const TYPE_PREFIX = 'type.googleapis.com/';

export const TypeUrl = {
  cluster: `${TYPE_PREFIX}envoy.config.cluster.v3.Cluster`,
  endpoint: `${TYPE_PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  listener: `${TYPE_PREFIX}envoy.config.listener.v3.Listener`,
  route: `${TYPE_PREFIX}envoy.config.route.v3.RouteConfiguration`,
  secret: `${TYPE_PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`,
  httpConnectionManager: `${TYPE_PREFIX}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
} as const;

/** Make-before-break order of the Envoy types; any other type URL follows, in name order. */
export const PUSH_ORDER: readonly string[] = [TypeUrl.cluster, TypeUrl.endpoint, TypeUrl.listener, TypeUrl.route, TypeUrl.secret];

/** Types whose SotW responses always carry the full state (removal by absence). */
export function isFullStateType(typeUrl: string): boolean {
  return typeUrl === TypeUrl.listener || typeUrl === TypeUrl.cluster;
}


function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => locateProto(target) ?? target;
  root.loadSync([...PROTO_FILES, ...DUMP_PROTO_FILES], { keepCase: true });
  root.resolveAll();
  return root;
}

export const root = loadRoot();

/** The message type a type URL names, or undefined when it is not one of the loaded protos. */
export function messageType(typeUrl: string): protobuf.Type | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  try {
    return root.lookupType(name);
  } catch {
    return undefined;
  }
}

function requiredType(name: string): protobuf.Type {
  return root.lookupType(name);
}

const discoveryRequest = requiredType('envoy.service.discovery.v3.DiscoveryRequest');
const deltaDiscoveryRequest = requiredType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
const requestOptions: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true, bytes: Buffer };
/** Options for human-facing JSON (config dumps): Any expanded with `@type`, enums as names, bytes in base64. */
export const jsonOptions: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, json: true };

export function decodeDiscoveryRequest(bytes: Uint8Array): DiscoveryRequest__Output {
  return discoveryRequest.toObject(discoveryRequest.decode(bytes), requestOptions) as DiscoveryRequest__Output;
}

export function decodeDeltaDiscoveryRequest(bytes: Uint8Array): DeltaDiscoveryRequest__Output {
  return deltaDiscoveryRequest.toObject(deltaDiscoveryRequest.decode(bytes), requestOptions) as DeltaDiscoveryRequest__Output;
}

/** Encodes a plain object (field names as in the .proto; Any as `{'@type': url, ...}`) of the type a URL names. */
export function encodeResource(typeUrl: string, message: object): Uint8Array {
  const type = messageType(typeUrl);
  if (!type) throw new Error(`no proto loaded for ${typeUrl}; pass the encoded bytes instead`);
  return type.encode(type.fromObject(message)).finish();
}

/** Decodes resource bytes into JSON form (Any expanded), or undefined when the type is unknown. */
export function resourceToJson(typeUrl: string, value: Uint8Array): Record<string, unknown> | undefined {
  const type = messageType(typeUrl);
  if (!type) return undefined;
  return type.toObject(type.decode(value), jsonOptions);
}

/** Decodes resource bytes into the generated `__Output` shape (defaults, oneofs), for inspection. */
export function decodeResource<T>(typeUrl: string, value: Uint8Array): T {
  const type = messageType(typeUrl);
  if (!type) throw new Error(`no proto loaded for ${typeUrl}`);
  return type.toObject(type.decode(value), requestOptions) as T;
}

// The wire format of skiff's own xDS resource types (redirector.proto), shared by the control
// plane's translator (xds/translate/redirector.ts) and the node agent (redirector/): their type
// URLs, and encoding/decoding with protobufjs. The TypeScript types are generated from the .proto
// (generated/, by proto/gen-types.mjs); neither side imports the other.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { EndpointPolicy, EndpointPolicy__Output } from './generated/skiff/v1alpha1/EndpointPolicy.js';
import type { Identity, Identity__Output } from './generated/skiff/v1alpha1/Identity.js';
import type { NodeConfig, NodeConfig__Output } from './generated/skiff/v1alpha1/NodeConfig.js';
import type { Service, Service__Output } from './generated/skiff/v1alpha1/Service.js';
import type { Workload, Workload__Output } from './generated/skiff/v1alpha1/Workload.js';

export type { Backend, Backend__Output } from './generated/skiff/v1alpha1/Backend.js';
export type { CidrPeer, CidrPeer__Output } from './generated/skiff/v1alpha1/CidrPeer.js';
export type { DirectionPolicy, DirectionPolicy__Output } from './generated/skiff/v1alpha1/DirectionPolicy.js';
export type { NodeInfo, NodeInfo__Output } from './generated/skiff/v1alpha1/NodeInfo.js';
export type { PolicyEntry, PolicyEntry__Output } from './generated/skiff/v1alpha1/PolicyEntry.js';
export type { Protocol__Output } from './generated/skiff/v1alpha1/Protocol.js';
export type { ServicePort, ServicePort__Output } from './generated/skiff/v1alpha1/ServicePort.js';
export type { Verdict__Output } from './generated/skiff/v1alpha1/Verdict.js';
export type { EndpointPolicy, EndpointPolicy__Output, Identity, Identity__Output, NodeConfig, NodeConfig__Output };
export type { Service, Service__Output, Workload, Workload__Output };

/** The redirector's resource types (`type.googleapis.com/skiff.v1alpha1.<Message>`). */
export const RedirectorType = {
  nodeConfig: 'type.googleapis.com/skiff.v1alpha1.NodeConfig',
  identity: 'type.googleapis.com/skiff.v1alpha1.Identity',
  workload: 'type.googleapis.com/skiff.v1alpha1.Workload',
  service: 'type.googleapis.com/skiff.v1alpha1.Service',
  endpointPolicy: 'type.googleapis.com/skiff.v1alpha1.EndpointPolicy',
} as const;

export type RedirectorTypeUrl = (typeof RedirectorType)[keyof typeof RedirectorType];
export const REDIRECTOR_TYPE_URLS: readonly RedirectorTypeUrl[] = Object.values(RedirectorType);

/** Input (encode) and output (decode) message shapes per type URL. */
export interface RedirectorMessages {
  [RedirectorType.nodeConfig]: [NodeConfig, NodeConfig__Output];
  [RedirectorType.identity]: [Identity, Identity__Output];
  [RedirectorType.workload]: [Workload, Workload__Output];
  [RedirectorType.service]: [Service, Service__Output];
  [RedirectorType.endpointPolicy]: [EndpointPolicy, EndpointPolicy__Output];
}

/** redirector.proto, next to this module (copied to dist/ by scripts/copy-assets.mjs). */
export const protoPath = fileURLToPath(new URL('./redirector.proto', import.meta.url));

const root = new protobuf.Root().loadSync(protoPath, { keepCase: true });
root.resolveAll();

function messageType(url: RedirectorTypeUrl): protobuf.Type {
  return root.lookupType(url.slice(url.lastIndexOf('/') + 1));
}

/** Encodes a message of one of the redirector's types (checked by protobufjs before encoding). */
export function encodeRedirectorResource<U extends RedirectorTypeUrl>(url: U, message: RedirectorMessages[U][0]): Uint8Array {
  const type = messageType(url);
  const built = type.fromObject(message as Record<string, unknown>);
  const problem = type.verify(built);
  if (problem) throw new Error(`${url}: ${problem}`);
  return type.encode(built).finish();
}

/** Decodes bytes of one of the redirector's types into the generated output shape (defaults filled). */
export function decodeRedirectorResource<U extends RedirectorTypeUrl>(url: U, bytes: Uint8Array): RedirectorMessages[U][1] {
  const type = messageType(url);
  return type.toObject(type.decode(bytes), {
    enums: String,
    longs: String,
    defaults: true,
    arrays: true,
    objects: true,
  }) as RedirectorMessages[U][1];
}

/** True when url is one of the redirector's type URLs. */
export function isRedirectorType(url: string): url is RedirectorTypeUrl {
  return (REDIRECTOR_TYPE_URLS as readonly string[]).includes(url);
}

// The wire side of WireGuardKeyService (redirector.proto): how a node publishes its WireGuard
// tunnel's public keys to the control plane, shared by the control plane (xds/ca/) and the node
// agent (redirector/). Callers authenticate like CertificateService's: call metadata
// `x-skiff-node` and `x-skiff-token` (identity-wire.ts NODE_HEADER, TOKEN_HEADER).
import * as protoLoader from '@grpc/proto-loader';
import { protoPath } from './wire.js';

export type { PublishWireGuardKeysRequest, PublishWireGuardKeysRequest__Output } from './generated/skiff/v1alpha1/PublishWireGuardKeysRequest.js';
export type { PublishWireGuardKeysResponse } from './generated/skiff/v1alpha1/PublishWireGuardKeysResponse.js';

/** A WireGuard public key: 32 bytes, base64 (what `wg pubkey` prints). */
export function isWireGuardKey(key: string): boolean {
  return /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(key);
}

let definition: protoLoader.ServiceDefinition | undefined;

/** The gRPC service definition of skiff.v1alpha1.WireGuardKeyService (loaded once). */
export function wireGuardKeyServiceDefinition(): protoLoader.ServiceDefinition {
  definition ??= protoLoader.loadSync(protoPath, { keepCase: true, longs: String, defaults: true })['skiff.v1alpha1.WireGuardKeyService'] as protoLoader.ServiceDefinition;
  return definition;
}

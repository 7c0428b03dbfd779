// The wire format of skiff's identity protocol (identity.proto), shared by the control plane's CA
// (xds/ca/) and the node agents (redirector/, node tunnels): type URLs of the xDS resources,
// their encoding with protobufjs, the call metadata that carries a node's bootstrap token, and the
// gRPC definition of CertificateService. Neither side imports the other.
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { TrustBundle, TrustBundle__Output } from './generated/skiff/v1alpha1/TrustBundle.js';
import type { WorkloadCertificate, WorkloadCertificate__Output } from './generated/skiff/v1alpha1/WorkloadCertificate.js';

export type { IssueWorkloadCertificateRequest, IssueWorkloadCertificateRequest__Output } from './generated/skiff/v1alpha1/IssueWorkloadCertificateRequest.js';
export type { IssueWorkloadCertificateResponse, IssueWorkloadCertificateResponse__Output } from './generated/skiff/v1alpha1/IssueWorkloadCertificateResponse.js';
export type { TrustBundle, TrustBundle__Output, WorkloadCertificate, WorkloadCertificate__Output };

export const IdentityType = {
  workloadCertificate: 'type.googleapis.com/skiff.v1alpha1.WorkloadCertificate',
  trustBundle: 'type.googleapis.com/skiff.v1alpha1.TrustBundle',
} as const;

/** The WorkloadCertificate resource name of the node agent's own certificate. */
export const NODE_CERTIFICATE_NAME = 'node';

/** Call metadata: the bootstrap token of the caller (xDS streams and CertificateService calls). */
export const TOKEN_HEADER = 'x-skiff-token';
/** Call metadata of CertificateService calls: the node the caller claims to be. */
export const NODE_HEADER = 'x-skiff-node';

/** identity.proto, next to this module (copied to dist/ by scripts/copy-assets.mjs). */
export const identityProtoPath = fileURLToPath(new URL('./identity.proto', import.meta.url));

const root = new protobuf.Root().loadSync(identityProtoPath, { keepCase: true });
root.resolveAll();

interface IdentityMessages {
  [IdentityType.workloadCertificate]: [WorkloadCertificate, WorkloadCertificate__Output];
  [IdentityType.trustBundle]: [TrustBundle, TrustBundle__Output];
}
type IdentityTypeUrl = keyof IdentityMessages;

function messageType(url: IdentityTypeUrl): protobuf.Type {
  return root.lookupType(url.slice(url.lastIndexOf('/') + 1));
}

export function encodeIdentityResource<U extends IdentityTypeUrl>(url: U, message: IdentityMessages[U][0]): Uint8Array {
  const type = messageType(url);
  const decoded = type.fromObject(message as Record<string, unknown>);
  const problem = type.verify(decoded);
  if (problem) throw new Error(`${url}: ${problem}`);
  return type.encode(decoded).finish();
}

export function decodeIdentityResource<U extends IdentityTypeUrl>(url: U, bytes: Uint8Array): IdentityMessages[U][1] {
  const type = messageType(url);
  return type.toObject(type.decode(bytes), { longs: String, defaults: true, arrays: true }) as IdentityMessages[U][1];
}

/** The gRPC service definition of skiff.v1alpha1.CertificateService (for servers and clients). */
export function certificateServiceDefinition(): protoLoader.ServiceDefinition {
  const pkg = protoLoader.loadSync(identityProtoPath, { keepCase: true, longs: String, defaults: true });
  return pkg['skiff.v1alpha1.CertificateService'] as protoLoader.ServiceDefinition;
}

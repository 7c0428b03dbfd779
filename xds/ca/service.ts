// skiff.v1alpha1.CertificateService over gRPC: IssueWorkloadCertificate(csr, workload) for a node
// agent that keeps its keys. The caller names its node in call metadata `x-skiff-node` and proves it
// with `x-skiff-token` (its bootstrap token); it gets certificates only for workloads on that node
// (or, with an empty workload, its own node certificate).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../config/log.js';
import { logger } from '../../config/log.js';
import type { MeshSnapshot } from '../../config/snapshot/types.js';
import {
  NODE_HEADER,
  TOKEN_HEADER,
  certificateServiceDefinition,
  type IssueWorkloadCertificateRequest__Output,
  type IssueWorkloadCertificateResponse,
} from '../../proto/skiff/v1alpha1/identity-wire.js';
import { IssuanceError, type WorkloadIdentities } from './identities.js';

const STATUS: Record<IssuanceError['code'], grpc.status> = {
  unauthenticated: grpc.status.UNAUTHENTICATED,
  'permission-denied': grpc.status.PERMISSION_DENIED,
  'not-found': grpc.status.NOT_FOUND,
  'invalid-argument': grpc.status.INVALID_ARGUMENT,
};

/** A call metadata value ('' when absent). */
export function callHeader(metadata: grpc.Metadata, name: string): string {
  const value = metadata.get(name)[0];
  return typeof value === 'string' ? value : '';
}

/** Adds CertificateService to a gRPC server; `mesh` gives the snapshot in force at each call. */
export function addCertificateService(server: grpc.Server, identities: WorkloadIdentities, mesh: () => MeshSnapshot, log: Logger = logger('ca')): void {
  const implementation: grpc.UntypedServiceImplementation = {
    IssueWorkloadCertificate(
      call: grpc.ServerUnaryCall<IssueWorkloadCertificateRequest__Output, IssueWorkloadCertificateResponse>,
      done: grpc.sendUnaryData<IssueWorkloadCertificateResponse>,
    ) {
      const node = callHeader(call.metadata, NODE_HEADER);
      const workload = call.request.workload;
      try {
        const issued = identities.issueForNode(mesh(), node, callHeader(call.metadata, TOKEN_HEADER), workload, call.request.csr_pem);
        log.info({ node, workload, spiffeId: issued.spiffeId, serial: issued.serial, notAfter: issued.notAfter.toISOString() }, 'certificate issued');
        done(null, {
          spiffe_id: issued.spiffeId,
          cert_chain_pem: issued.certChainPem,
          root_ca_pem: identities.ca.rootPem,
          serial: issued.serial,
          not_before_ms: issued.notBefore.getTime(),
          not_after_ms: issued.notAfter.getTime(),
        });
      } catch (error) {
        if (!(error instanceof IssuanceError)) {
          log.error({ node, workload, err: (error as Error).message }, 'certificate issuance failed');
          done({ code: grpc.status.INTERNAL, details: 'certificate issuance failed' });
          return;
        }
        log.warn({ node, workload, reason: error.message }, 'certificate refused');
        done({ code: STATUS[error.code], details: error.message });
      }
    },
  };
  server.addService(certificateServiceDefinition(), implementation);
}

/** A standalone gRPC server for CertificateService; returns the server and its bound port. */
export async function serveCertificates(address: string, identities: WorkloadIdentities, mesh: () => MeshSnapshot): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  addCertificateService(server, identities, mesh);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return { server, port };
}

// skiff.v1alpha1.CertificateService over gRPC: IssueWorkloadCertificate(csr, workload) for a node
// agent that keeps its keys. The caller names its node in call metadata `x-skiff-node` and proves it
// with `x-skiff-token` (its bootstrap token); it gets certificates only for workloads on that node
// (or, with an empty workload, its own node certificate).
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
import { type CallInfo, GrpcError, Status } from '../grpc/handlers.js';
import type { GrpcServer } from '../grpc/server.js';
import { IssuanceError, type WorkloadIdentities } from './identities.js';

const STATUS: Record<IssuanceError['code'], Status> = {
  unauthenticated: Status.UNAUTHENTICATED,
  'permission-denied': Status.PERMISSION_DENIED,
  'not-found': Status.NOT_FOUND,
  'invalid-argument': Status.INVALID_ARGUMENT,
};

/** Adds CertificateService to a gRPC server; `mesh` gives the snapshot in force at each call. */
export function addCertificateService(server: GrpcServer, identities: WorkloadIdentities, mesh: () => MeshSnapshot, log: Logger = logger('ca')): void {
  server.addService(certificateServiceDefinition(), {
    IssueWorkloadCertificate(request: IssueWorkloadCertificateRequest__Output, call: CallInfo): IssueWorkloadCertificateResponse {
      const node = call.header(NODE_HEADER) ?? '';
      const { workload, csr_pem: csrPem } = request;
      try {
        const issued = identities.issueForNode(mesh(), node, call.header(TOKEN_HEADER) ?? '', workload, csrPem);
        log.info({ node, workload, spiffeId: issued.spiffeId, serial: issued.serial, notAfter: issued.notAfter.toISOString() }, 'certificate issued');
        return {
          spiffe_id: issued.spiffeId,
          cert_chain_pem: issued.certChainPem,
          root_ca_pem: identities.ca.rootPem,
          serial: issued.serial,
          not_before_ms: issued.notBefore.getTime(),
          not_after_ms: issued.notAfter.getTime(),
        };
      } catch (error) {
        if (!(error instanceof IssuanceError)) {
          log.error({ node, workload, err: (error as Error).message }, 'certificate issuance failed');
          throw new GrpcError(Status.INTERNAL, 'certificate issuance failed');
        }
        log.warn({ node, workload, reason: error.message }, 'certificate refused');
        throw new GrpcError(STATUS[error.code], error.message);
      }
    },
  });
}

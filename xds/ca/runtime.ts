// The control plane's identity runtime: the CA from where the flags say (a directory, user files,
// or a Kubernetes Secret), bootstrap tokens (key in the CA directory, one token file per node and
// waypoint of the mesh), the SVID cache on a rotation timer, the SDS/redirector overlay on each class's
// resources (with the WireGuard keys nodes published in each redirector's NodeConfig), and
// CertificateService and WireGuardKeyService on the xDS server's port.
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../config/log.js';
import { logger } from '../../config/log.js';
import type { MeshSnapshot } from '../../config/snapshot/types.js';
import type { ClientInfo } from '../client-info.js';
import type { GrpcServer } from '../grpc/server.js';
import type { SnapshotInput } from '../snapshot.js';
import type { CertificateAuthority } from './authority.js';
import { WAYPOINT_CLASS } from '../../config/snapshot/state.js';
import { BootstrapTokens, nodeSubject, waypointSubject } from './attest.js';
import { certificateTtlMs, WorkloadIdentities } from './identities.js';
import { loadOrCreateCaSecret } from './kube.js';
import { IdentitySecrets, baseClassKey } from './sds.js';
import { addCertificateService } from './service.js';
import { loadCaFiles, loadOrCreateCaDirectory } from './store.js';
import { SvidCache } from './svids.js';
import { WireGuardKeyStore, addWireGuardKeyService } from './wireguard-keys.js';
import { RedirectorType } from '../../proto/skiff/v1alpha1/wire.js';
import { nodeConfigResource, redirectorClassKey } from '../translate/redirector.js';

export interface IdentityOptions {
  /** Where a generated root and the bootstrap token key are kept (tokens are written under it). */
  caDir: string;
  /** A root (or intermediate chain) and key the user provides, instead of a generated root. */
  caCert?: string;
  caKey?: string;
  /** `namespace/name` of a kubernetes.io/tls Secret holding the root (created when absent). */
  caSecret?: string;
  /** The kubeconfig for caSecret (default: the default kubeconfig). */
  kubeconfig?: string;
  log?: Logger;
}

/** The CA the options name. */
export async function loadAuthority(options: IdentityOptions, trustDomain: string): Promise<CertificateAuthority> {
  if (options.caCert || options.caKey) {
    if (!options.caCert || !options.caKey) throw new Error('give both --ca-cert and --ca-key');
    return loadCaFiles(options.caCert, options.caKey);
  }
  if (options.caSecret) {
    const [namespace, name] = options.caSecret.split('/');
    if (!namespace || !name) throw new Error(`--ca-secret must be NAMESPACE/NAME, not '${options.caSecret}'`);
    const kubeConfig = new KubeConfig();
    if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
    else kubeConfig.loadFromDefault();
    return loadOrCreateCaSecret({ kubeConfig, trustDomain, namespace, name, ...(options.log ? { log: options.log } : {}) });
  }
  return loadOrCreateCaDirectory(options.caDir, { trustDomain, ...(options.log ? { log: options.log } : {}) });
}

export class IdentityRuntime {
  readonly secrets: IdentitySecrets;
  private readonly log: Logger;
  private readonly written = new Set<string>();
  private readonly wireguardKeys: WireGuardKeyStore;
  private stopRotation: () => void = () => undefined;
  /** Recomputes every class (given to startRotation); a node's new WireGuard keys use it too. */
  private republish: () => void = () => undefined;

  private constructor(
    readonly identities: WorkloadIdentities,
    private readonly caDir: string,
    log: Logger,
  ) {
    this.log = log;
    this.secrets = new IdentitySecrets(identities, { log });
    this.wireguardKeys = new WireGuardKeyStore(caDir, log);
  }

  /** Loads or creates the CA and the token key for the mesh in force. */
  static async start(options: IdentityOptions, mesh: MeshSnapshot): Promise<IdentityRuntime> {
    const log = options.log ?? logger('ca');
    const ca = await loadAuthority(options, mesh.meshConfig.trustDomain);
    const tokens = BootstrapTokens.loadOrCreate(options.caDir);
    const svids = new SvidCache(ca, { ttlMs: certificateTtlMs(mesh) });
    const runtime = new IdentityRuntime(new WorkloadIdentities(ca, tokens, svids), options.caDir, log);
    runtime.writeTokens(mesh);
    return runtime;
  }

  /** The class of a client (attested or `unattested|…`), for SnapshotCacheOptions.classOf. */
  classOf(client: ClientInfo): string {
    return this.secrets.classOf(client);
  }

  /** The resources of a class: `translated(baseClass)` with the CA's secrets and identity resources. */
  resources(mesh: MeshSnapshot, classKey: string, translated: (baseClass: string) => SnapshotInput): SnapshotInput {
    const base = baseClassKey(classKey);
    const input = this.secrets.resources(mesh, classKey, translated(base));
    const prefix = redirectorClassKey('');
    if (!base.startsWith(prefix) || this.wireguardKeys.all().size === 0) return input;
    return { ...input, [RedirectorType.nodeConfig]: [nodeConfigResource(base.slice(prefix.length), mesh, this.wireguardKeys.all())] };
  }

  /** After every class was recomputed for a mesh: token files for new nodes, unused SVIDs dropped. */
  afterRound(mesh: MeshSnapshot): void {
    this.writeTokens(mesh);
    this.secrets.endRound();
  }

  /** Rotates SVIDs on a timer; `republish` recomputes every class (the rotated certificates are new resources). */
  startRotation(republish: () => void): void {
    this.republish = republish;
    this.stopRotation = this.identities.svids.startRotation((rotated) => {
      this.log.info({ identities: rotated.length }, 'certificates rotated');
      republish();
    });
  }

  /** Adds CertificateService and WireGuardKeyService to the xDS server (XdsServerOptions.addServices);
   * a node's new WireGuard keys republish every class through the callback given to startRotation. */
  addServices(server: GrpcServer, mesh: () => MeshSnapshot): void {
    addCertificateService(server, this.identities, mesh, this.log);
    addWireGuardKeyService(server, this.identities, this.wireguardKeys, () => this.republish(), this.log);
  }

  stop(): void {
    this.stopRotation();
  }

  /**
   * Writes the bootstrap token of each node of the mesh (Nodes and Pods' nodeName) and each
   * waypoint (Gateway of class skiff-waypoint) not written yet: `<caDir>/bootstrap-tokens/`
   * `node.<node>.token`, `waypoint.<namespace>.<name>.token`.
   */
  private writeTokens(mesh: MeshSnapshot): void {
    const subjects = new Set([...mesh.nodes.keys()].map(nodeSubject));
    for (const workload of mesh.workloads.values()) if (workload.nodeName) subjects.add(nodeSubject(workload.nodeName));
    for (const object of mesh.objects.values()) {
      if (object.kind === 'Gateway' && object.spec.gatewayClassName === WAYPOINT_CLASS) subjects.add(waypointSubject(object.metadata.namespace ?? 'default', object.metadata.name));
    }
    for (const subject of subjects) {
      if (this.written.has(subject)) continue;
      const path = this.identities.tokens.writeToken(this.caDir, subject);
      this.written.add(subject);
      this.log.info({ subject, path }, 'bootstrap token written');
    }
  }
}

// Identity material served over xDS. SDS: the translator's secrets (`default`, `ROOTCA`) filled
// with inline PEM from the CA, plus one tls_certificate secret per SPIFFE ID of the workloads on a
// node proxy's node (named by the SPIFFE ID); the redirector of node N gets skiff's
// WorkloadCertificate for those identities and its node certificate, and the TrustBundle.
// Private keys go only to an attested client: its stream's bootstrap token must prove the node
// (or waypoint) its metadata names. Every other client is put in an `unattested|` class that gets
// the trust bundle but no certificate or key; Envoys wait for `default` (fail closed).
import type { MeshSnapshot } from '../../config/snapshot/types.js';
import { logger } from '../../config/log.js';
import type { Logger } from '../../config/log.js';
import { IdentityType, NODE_CERTIFICATE_NAME, encodeIdentityResource } from '../../proto/skiff/v1alpha1/identity-wire.js';
import { type ClientInfo, defaultClassKey } from '../client-info.js';
import type { ResourceInput, SnapshotInput } from '../snapshot.js';
import { SECRET_DEFAULT_CERT, SECRET_TYPE } from '../translate/constants.js';
import { proxySecrets } from '../translate/secrets.js';
import type { Json } from '../translate/types.js';
import { formatViolations, validateResource } from '../validate/index.js';
import { nodeSpiffeId } from './authority.js';
import { type WorkloadIdentities, nodeProxySpiffeId, nodeWorkloadIdentities, waypointSpiffeId } from './identities.js';
import type { CachedSvid } from './svids.js';

/** Prefix of the class of a client whose bootstrap token did not prove who it claims to be. */
export const UNATTESTED = 'unattested|';

/** The class whose translated resources an (unattested) class is served. */
export function baseClassKey(classKey: string): string {
  return classKey.startsWith(UNATTESTED) ? classKey.slice(UNATTESTED.length) : classKey;
}

/** Who a class's key material is for: the identity of `default` and the extra per-workload identities. */
interface ClassIdentities {
  own?: string;
  workloads: Map<string, string[]>;
  /** The redirector of this node (WorkloadCertificate resources). */
  redirectorNode?: string;
}

export class IdentitySecrets {
  private readonly log: Logger;
  /** SPIFFE IDs used since the last endRound (the others leave the cache). */
  private readonly used = new Set<string>();
  /** Checked secrets per SVID (a rotated SVID is a new object: its secrets are built anew). */
  private readonly built = new WeakMap<CachedSvid, Map<string, Json | undefined>>();
  private root: { trustDomain: string; secret: Json | undefined } | undefined;

  constructor(
    readonly identities: WorkloadIdentities,
    options: { log?: Logger } = {},
  ) {
    this.log = options.log ?? logger('ca');
  }

  /**
   * The class of a client (SnapshotCacheOptions.classOf): the default class when its role needs no
   * attestation or its token proves it, else `unattested|<default class>`.
   */
  classOf(client: ClientInfo): string {
    const key = defaultClassKey(client);
    if (this.attested(client)) return key;
    if (client.role !== 'proxyless') this.log.warn({ client: client.id, role: client.role, class: key }, 'xDS client without a valid bootstrap token: served no certificates');
    return `${UNATTESTED}${key}`;
  }

  private attested(client: ClientInfo): boolean {
    switch (client.role) {
      case 'node-proxy':
      case 'redirector':
        return this.identities.isNode(client.nodeName ?? '', client.credential);
      case 'waypoint':
        return this.identities.isWaypoint(client.namespace ?? '', client.name ?? '', client.credential);
      default:
        return true;
    }
  }

  private classIdentities(mesh: MeshSnapshot, classKey: string): ClassIdentities {
    const td = mesh.meshConfig.trustDomain;
    const none: ClassIdentities = { workloads: new Map() };
    if (classKey.startsWith(UNATTESTED)) return none;
    const [role, ...rest] = classKey.split('/');
    if (role === 'node-proxy' && rest[0]) return { own: nodeProxySpiffeId(td, rest[0]), workloads: nodeWorkloadIdentities(mesh, rest[0]) };
    if (role === 'redirector' && rest[0]) return { workloads: nodeWorkloadIdentities(mesh, rest[0]), redirectorNode: rest[0] };
    if (role === 'waypoint' && rest.length === 2) return { own: waypointSpiffeId(td, rest[0] as string, rest[1] as string), workloads: new Map() };
    return none;
  }

  private svid(spiffeId: string): CachedSvid {
    this.used.add(spiffeId);
    return this.identities.svids.get(spiffeId);
  }

  /** A secret that passes Envoy's rules, or undefined (logged) when it does not. */
  private checked(secret: Json): Json | undefined {
    const violations = validateResource(SECRET_TYPE, secret);
    if (violations.length === 0) return secret;
    this.log.error({ secret: secret.name, problems: formatViolations(violations) }, 'secret withheld: it breaks Envoy rules');
    return undefined;
  }

  /** The tls_certificate secret `name` of an SVID, built and checked once per certificate. */
  private certificateSecret(trustDomain: string, name: string, svid: CachedSvid): Json | undefined {
    let byName = this.built.get(svid);
    if (!byName) {
      byName = new Map();
      this.built.set(svid, byName);
    }
    const key = `${trustDomain} ${name}`;
    if (!byName.has(key)) {
      const [tls] = proxySecrets(trustDomain, { certChainPem: svid.certChainPem, privateKeyPem: svid.privateKeyPem, rootCaPem: this.identities.ca.rootPem });
      byName.set(key, this.checked({ ...tls, name }));
    }
    return byName.get(key);
  }

  /** The ROOTCA secret of a trust domain, built and checked once. */
  private rootSecret(trustDomain: string): Json | undefined {
    if (this.root?.trustDomain !== trustDomain) {
      const [, root] = proxySecrets(trustDomain, { certChainPem: '', privateKeyPem: '', rootCaPem: this.identities.ca.rootPem });
      this.root = { trustDomain, secret: this.checked(root as Json) };
    }
    return this.root.secret;
  }

  /** The SDS secrets of a class: ROOTCA always; `default` and per-workload certificates only for attested proxies. */
  secrets(mesh: MeshSnapshot, classKey: string): Json[] {
    const td = mesh.meshConfig.trustDomain;
    const who = this.classIdentities(mesh, classKey);
    const out = [this.rootSecret(td)];
    if (who.own) out.push(this.certificateSecret(td, SECRET_DEFAULT_CERT, this.svid(who.own)));
    if (!who.redirectorNode) for (const id of who.workloads.keys()) out.push(this.certificateSecret(td, id, this.svid(id)));
    return out.filter((secret): secret is Json => secret !== undefined);
  }

  /** The redirector's identity resources: WorkloadCertificate per identity on its node and `node`, and the TrustBundle. */
  redirectorResources(mesh: MeshSnapshot, classKey: string): SnapshotInput {
    const td = mesh.meshConfig.trustDomain;
    const rootCaPem = this.identities.ca.rootPem;
    const who = this.classIdentities(mesh, classKey);
    const certificates: ResourceInput[] = [];
    const add = (name: string, svid: CachedSvid, workloads: string[]) => {
      certificates.push({ name, value: encodeIdentityResource(IdentityType.workloadCertificate, {
        spiffe_id: svid.spiffeId,
        workloads,
        cert_chain_pem: svid.certChainPem,
        private_key_pem: svid.privateKeyPem,
        root_ca_pem: rootCaPem,
        serial: svid.serial,
        not_before_ms: svid.notBefore.getTime(),
        not_after_ms: svid.notAfter.getTime(),
        refresh_after_ms: svid.refreshAfter.getTime(),
      }) });
    };
    if (who.redirectorNode) {
      add(NODE_CERTIFICATE_NAME, this.svid(nodeSpiffeId(td, who.redirectorNode)), []);
      for (const [id, workloads] of who.workloads) add(id, this.svid(id), workloads);
    }
    const bundle = { name: td, value: encodeIdentityResource(IdentityType.trustBundle, { trust_domain: td, root_ca_pem: rootCaPem }) };
    return { [IdentityType.workloadCertificate]: certificates, [IdentityType.trustBundle]: [bundle] };
  }

  /**
   * A class's resources: the translated `base` (for its base class) with the SDS secrets replaced
   * by the CA's, and for redirectors the identity types added.
   */
  resources(mesh: MeshSnapshot, classKey: string, base: SnapshotInput): SnapshotInput {
    this.identities.follow(mesh);
    if (baseClassKey(classKey).startsWith('redirector/')) return { ...base, ...this.redirectorResources(mesh, classKey) };
    return { ...base, [SECRET_TYPE]: this.secrets(mesh, classKey).map((message) => ({ name: message.name as string, message })) };
  }

  /** Ends a round over every class: SVIDs no class used since the last round leave the cache. */
  endRound(): void {
    this.identities.svids.retain(this.used);
    this.used.clear();
  }
}

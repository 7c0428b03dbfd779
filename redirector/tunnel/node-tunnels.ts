// The node tunnels the agent runs, as NodeConfig.encryption says: `hbone` runs an HboneTunnel fed
// with the mesh's workloads, the node's policies and the certificates the control plane issued this
// node; `wireguard` runs a WireGuardTunnel with one peer per remote node (endpoint = its InternalIP,
// allowed IPs = its pod CIDRs, keys as the nodes published them); `none` runs neither. Switching
// modes at run time closes the old tunnel after the new one is up.
//
// WireGuard keys: the node publishes its public key through the control plane (WireGuardKeyService)
// whenever its own NodeInfo does not show it, and rotates it on a period, make-before-break
// (wireguard.ts): publish the next key, wait until the control plane pushes it back in this node's
// NodeConfig (every redirector gets that NodeConfig in the same push) and a grace period more, then
// switch the interface to it and publish it as the public key.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../config/log.js';
import type { WorkloadCertificate__Output } from '../../proto/skiff/v1alpha1/identity-wire.js';
import { isWireGuardKey } from '../../proto/skiff/v1alpha1/wireguard-keys-wire.js';
import type { EndpointPolicy__Output, NodeConfig__Output, NodeInfo__Output, Service__Output, Workload__Output } from '../../proto/skiff/v1alpha1/wire.js';
import { tunnelCertificates } from './certificates.js';
import { HBONE_PORT } from './hbone.js';
import { HboneTunnel } from './hbone-tunnel.js';
import { WireGuardKeyPublisher } from './key-publisher.js';
import type { NodeTunnels } from './tunnel-status.js';
import { WireGuardTunnel, type WireGuardPeer } from './wireguard.js';

/** Default WireGuard key rotation period. */
export const DEFAULT_KEY_ROTATION_MS = 24 * 3600_000;
/** How long a rotation waits after the control plane pushed the next key, before switching to it. */
const DEFAULT_ROTATION_GRACE_MS = 1000;
/** How long a rotation waits for the control plane to push the next key back. */
const ECHO_TIMEOUT_MS = 30_000;

export interface NodeTunnelOptions {
  node: string;
  /** The control plane's xDS address (WireGuardKeyService is served there). */
  xds: string;
  /** The node's bootstrap token. */
  token: () => string | undefined;
  /** The HBONE outbound listener (the port the datapath steers cross-node flows to). */
  hboneOutboundPort: number;
  /** WireGuard key rotation period (0 = never). */
  keyRotationMs?: number;
  rotationGraceMs?: number;
  /** Called after every change the tunnels followed (to steer flows by what runs now). */
  onChange?: () => void;
  log: Logger;
}

/** What the tunnels are made from: the agent's resources. */
export interface TunnelInputs {
  nodeConfig: NodeConfig__Output;
  workloads: Iterable<Workload__Output>;
  /** The mesh's Services (HBONE sends flows to the VIPs of those that use a waypoint to it). */
  services?: Iterable<Service__Output>;
  policies: Iterable<EndpointPolicy__Output>;
  certificates: ReadonlyMap<string, WorkloadCertificate__Output>;
}

export class NodeTunnelManager {
  readonly #options: NodeTunnelOptions;
  readonly #tunnels: NodeTunnels;
  readonly #publisher: WireGuardKeyPublisher;
  readonly #log: Logger;
  #latest: TunnelInputs | undefined;
  #applying: Promise<void> | undefined;
  #hbonePort = 0;
  /** The peers last given to the WireGuard tunnel (JSON). */
  #appliedPeers = '';
  #own: NodeInfo__Output | undefined;
  #publishing = false;
  #publishAgain = false;
  #lastPublished = '';
  #rotationTimer: NodeJS.Timeout | undefined;
  #rotating = false;
  #echo: (() => void) | undefined;
  #stopped = false;

  /** `tunnels` is filled and emptied as the tunnels start and stop (the agent reports it). */
  constructor(options: NodeTunnelOptions, tunnels: NodeTunnels) {
    this.#options = options;
    this.#tunnels = tunnels;
    this.#log = options.log;
    this.#publisher = new WireGuardKeyPublisher({ address: options.xds, node: options.node, token: options.token });
  }

  /** Takes the latest resources; the tunnels follow them, one change at a time. */
  update(inputs: TunnelInputs): void {
    this.#latest = inputs;
    if (this.#applying || this.#stopped) return;
    this.#applying = (async () => {
      let retryMs = 1000;
      while (this.#latest && !this.#stopped) {
        const next = this.#latest;
        this.#latest = undefined;
        try {
          await this.#apply(next);
          retryMs = 1000;
        } catch (err) {
          this.#log.error({ error: (err as Error).message, retryInMs: retryMs }, 'node tunnel update failed; retrying');
          this.#latest ??= next;
          await sleep(retryMs);
          retryMs = Math.min(retryMs * 2, 30_000);
        } finally {
          this.#options.onChange?.();
        }
      }
    })().finally(() => {
      this.#applying = undefined;
    });
  }

  async #apply(inputs: TunnelInputs): Promise<void> {
    const mode = inputs.nodeConfig.encryption || 'none';
    const hbonePort = inputs.nodeConfig.hbone_port || HBONE_PORT;
    if (mode === 'hbone') {
      if (this.#tunnels.hbone && this.#hbonePort !== hbonePort) await this.#closeHbone();
      if (!this.#tunnels.hbone) {
        this.#tunnels.hbone = new HboneTunnel({ hbonePort, outboundPort: this.#options.hboneOutboundPort, log: this.#log });
        this.#hbonePort = hbonePort;
        this.#log.info({ inboundPort: hbonePort, outboundPort: this.#options.hboneOutboundPort }, 'hbone tunnel starting');
      }
      await this.#tunnels.hbone.update({
        nodeConfig: inputs.nodeConfig,
        workloads: [...inputs.workloads],
        services: [...(inputs.services ?? [])],
        policies: [...inputs.policies],
        certificates: tunnelCertificates(inputs.certificates),
      });
      this.#log.debug({ certificates: inputs.certificates.size }, 'hbone tunnel updated');
    } else if (mode === 'wireguard') {
      if (!this.#tunnels.wireguard) {
        this.#tunnels.wireguard = await WireGuardTunnel.start({ log: this.#log });
        this.#appliedPeers = '';
        this.#startRotation();
      }
      // most updates are workloads and policies: the peers change only with the nodes and their keys
      const peers = this.#peers(inputs.nodeConfig);
      const key = JSON.stringify(peers);
      if (key !== this.#appliedPeers) {
        await this.#tunnels.wireguard.setPeers(peers);
        this.#appliedPeers = key;
      }
      this.#own = inputs.nodeConfig.nodes.find((n) => n.name === this.#options.node);
      if (this.#own?.wireguard_next_public_key && this.#own.wireguard_next_public_key === this.#tunnels.wireguard.nextPublicKey) this.#echo?.();
      if (!this.#published()) this.#publish();
    }
    if (mode !== 'hbone' && this.#tunnels.hbone) await this.#closeHbone();
    if (mode !== 'wireguard' && this.#tunnels.wireguard) {
      clearInterval(this.#rotationTimer);
      // still reported (tunnel status) until its interface is really gone (close never throws)
      await this.#tunnels.wireguard.close();
      delete this.#tunnels.wireguard;
      this.#log.info({ encryption: mode }, 'wireguard tunnel closed');
    }
  }

  async #closeHbone(): Promise<void> {
    const hbone = this.#tunnels.hbone;
    if (!hbone) return;
    delete this.#tunnels.hbone;
    await hbone.close();
    this.#log.info('hbone tunnel closed');
  }

  /** Every remote node with its published keys (a node without a valid key or an InternalIP: its
   * pods routed into the tunnel and unreachable, never reached in clear). */
  #peers(nc: NodeConfig__Output): WireGuardPeer[] {
    const peers: WireGuardPeer[] = [];
    for (const n of nc.nodes) {
      if (n.name === this.#options.node) continue;
      const publicKey = n.internal_ip && isWireGuardKey(n.wireguard_public_key) ? n.wireguard_public_key : '';
      const next = isWireGuardKey(n.wireguard_next_public_key) ? n.wireguard_next_public_key : undefined;
      peers.push({ node: n.name, endpoint: n.internal_ip, publicKey, nextPublicKey: next, podCidrs: [...n.pod_cidrs] });
    }
    return peers;
  }

  /** The tunnel's keys as published (`public next`). */
  #keys(wireguard: WireGuardTunnel): string {
    return `${wireguard.publicKey} ${wireguard.nextPublicKey ?? ''}`;
  }

  /** Whether the control plane has the tunnel's keys: this node's NodeInfo shows them, or (a node
   * the control plane lists no Node for) they were published. */
  #published(): boolean {
    const wireguard = this.#tunnels.wireguard;
    if (!wireguard) return true;
    if (!this.#own) return this.#lastPublished === this.#keys(wireguard);
    return this.#own.wireguard_public_key === wireguard.publicKey && this.#own.wireguard_next_public_key === (wireguard.nextPublicKey ?? '');
  }

  /** Publishes the tunnel's keys until the control plane takes them (one call at a time). */
  #publish(): void {
    if (this.#publishing) {
      this.#publishAgain = true;
      return;
    }
    this.#publishing = true;
    void (async () => {
      let backoffMs = 500;
      for (;;) {
        const wireguard = this.#tunnels.wireguard;
        if (!wireguard || this.#stopped) break;
        this.#publishAgain = false;
        try {
          await this.#publisher.publish(wireguard.publicKey, wireguard.nextPublicKey);
          this.#lastPublished = this.#keys(wireguard);
          this.#log.info({ publicKey: wireguard.publicKey, nextPublicKey: wireguard.nextPublicKey }, 'wireguard keys published');
          if (!this.#publishAgain) break;
        } catch (err) {
          this.#log.warn({ error: (err as Error).message, retryInMs: backoffMs }, 'cannot publish the wireguard keys; retrying');
          await sleep(backoffMs);
          backoffMs = Math.min(backoffMs * 2, 10_000);
        }
      }
    })().finally(() => {
      this.#publishing = false;
    });
  }

  #startRotation(): void {
    const period = this.#options.keyRotationMs ?? DEFAULT_KEY_ROTATION_MS;
    if (period <= 0) return;
    this.#rotationTimer = setInterval(() => {
      this.rotateKey().catch((err: Error) => this.#log.error({ error: err.message }, 'wireguard key rotation failed'));
    }, period);
  }

  /** One make-before-break key rotation through the control plane; resolves once it is committed and published. */
  async rotateKey(): Promise<void> {
    const wireguard = this.#tunnels.wireguard;
    if (!wireguard || this.#rotating) return;
    this.#rotating = true;
    try {
      const next = wireguard.beginKeyRotation();
      const echoed = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), ECHO_TIMEOUT_MS);
        this.#echo = () => {
          clearTimeout(timer);
          resolve(true);
        };
        if (this.#own?.wireguard_next_public_key === next) this.#echo();
      });
      this.#publish();
      if (!(await echoed)) throw new Error(`the control plane did not push the next key within ${ECHO_TIMEOUT_MS / 1000} s; keeping the current key`);
      await sleep(this.#options.rotationGraceMs ?? DEFAULT_ROTATION_GRACE_MS);
      // a stopped agent leaves the interface to the next one: never switch keys behind its back
      if (this.#stopped || this.#tunnels.wireguard !== wireguard) return;
      await wireguard.commitKeyRotation();
      this.#publish();
    } finally {
      this.#echo = undefined;
      this.#rotating = false;
    }
  }

  /** Closes the HBONE listeners; a kernel WireGuard interface stays (WireGuardTunnel.release). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#rotationTimer);
    await this.#applying;
    await this.#closeHbone();
    const wireguard = this.#tunnels.wireguard;
    delete this.#tunnels.wireguard;
    await wireguard?.release();
    this.#publisher.close();
  }
}

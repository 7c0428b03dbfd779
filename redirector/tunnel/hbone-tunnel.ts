// One node's HBONE tunnel (MeshConfig `encryption: hbone`): the directory of the mesh, the pool of
// outbound sessions, the outbound transparent listener and the inbound HBONE server, updated from
// the redirector's resources and reporting their status.
import { logger, type Logger } from '../../config/log.js';
import { HBONE_OUTBOUND_PORT, HBONE_PORT } from './hbone.js';
import { ResourceDirectory, type DirectoryResources } from './hbone-directory.js';
import { HboneInbound, type InboundConnect } from './hbone-inbound.js';
import { HboneOutbound } from './hbone-outbound.js';
import { HbonePool, type PooledSessionStatus } from './hbone-pool.js';

export interface HboneTunnelOptions {
  host?: string;
  /** The inbound HBONE port (default 15008; 0 picks one). */
  hbonePort?: number;
  /** The remote nodes' HBONE port (default: hbonePort, or 15008). */
  remoteHbonePort?: number;
  /** The outbound transparent listener's port (default 15009). */
  outboundPort?: number;
  log?: Logger;
}

export interface HboneStatus {
  inboundPort: number;
  outboundPort: number;
  certificates: { spiffeId: string; serial: string; notAfterMs: number }[];
  sessions: PooledSessionStatus[];
  outbound: HboneOutbound['counters'];
  inbound: HboneInbound['counters'];
  recentInbound: InboundConnect[];
}

export class HboneTunnel {
  readonly directory = new ResourceDirectory();
  readonly pool: HbonePool;
  readonly inbound: HboneInbound;
  readonly outbound: HboneOutbound;
  #ports = { inbound: 0, outbound: 0 };

  constructor(options: HboneTunnelOptions = {}) {
    const log = options.log ?? logger('hbone');
    this.pool = new HbonePool({ log });
    this.inbound = new HboneInbound(this.directory, {
      host: options.host,
      port: options.hbonePort ?? HBONE_PORT,
      identities: () => this.directory.identities(),
      log,
    });
    this.outbound = new HboneOutbound(this.directory, this.pool, {
      host: options.host,
      port: options.outboundPort ?? HBONE_OUTBOUND_PORT,
      hbonePort: options.remoteHbonePort ?? (options.hbonePort || HBONE_PORT),
      log,
    });
  }

  /** Applies the resources; the first call starts the listeners. */
  async update(resources: DirectoryResources): Promise<void> {
    this.directory.update(resources);
    if (!this.#ports.inbound) {
      this.#ports = { inbound: await this.inbound.listen(), outbound: await this.outbound.listen() };
    }
  }

  status(): HboneStatus {
    return {
      inboundPort: this.#ports.inbound,
      outboundPort: this.#ports.outbound,
      certificates: this.directory.certificates().map((c) => ({ spiffeId: c.spiffeId, serial: c.serial, notAfterMs: c.notAfterMs })),
      sessions: this.pool.status(),
      outbound: { ...this.outbound.counters },
      inbound: { ...this.inbound.counters },
      recentInbound: [...this.inbound.recent],
    };
  }

  async close(): Promise<void> {
    this.pool.close();
    await Promise.all([this.inbound.close(), this.outbound.close()]);
  }
}

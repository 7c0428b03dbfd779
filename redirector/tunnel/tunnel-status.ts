// What `skiff tunnel status` shows of one node (the redirector's admin API, /debug/tunnel): the
// configured encryption mode and, for the tunnels running, WireGuard peers with handshakes and
// bytes, HBONE certificates with their expiry, pooled sessions and flow counters.
import type { HboneStatus, HboneTunnel } from './hbone-tunnel.js';
import type { WireGuardStatus, WireGuardTunnel } from './wireguard.js';

/** The tunnels a node runs (none, one, or both while switching modes). */
export interface NodeTunnels {
  wireguard?: WireGuardTunnel;
  hbone?: HboneTunnel;
}

export interface TunnelStatus {
  node: string;
  /** MeshConfig encryption as the control plane sent it (`none` when not yet known). */
  encryption: string;
  wireguard?: WireGuardStatus;
  hbone?: HboneStatus;
}

export async function tunnelStatus(node: string, encryption: string | undefined, tunnels: NodeTunnels): Promise<TunnelStatus> {
  return {
    node,
    encryption: encryption || 'none',
    wireguard: await tunnels.wireguard?.status(),
    hbone: tunnels.hbone?.status(),
  };
}

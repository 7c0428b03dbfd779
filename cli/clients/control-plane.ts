// Client of the control plane's admin HTTP API (default 127.0.0.1:15014): /debug/syncz (every xDS
// client's per-type sync state) and /debug/config_dump?proxy=ID (Envoy ConfigDump JSON).
import type { ClientView, TypeStateView } from '../../xds/index.js';
import { getJson } from './http.js';

export const DEFAULT_CONTROL_PLANE_ADMIN = '127.0.0.1:15014';

/** What the control plane would send now and what the client last ACKed (served once the admin exposes them). */
export interface TypeStateDetail extends TypeStateView {
  current?: { version: string; resources: Record<string, string> };
  ackedResources?: Record<string, string>;
}

export interface SyncClient extends Omit<ClientView, 'types'> {
  types: TypeStateDetail[];
}

export interface Syncz {
  clients: SyncClient[];
  /** The control plane's identity and build (served once the admin exposes them). */
  controlPlane?: { id?: string; version?: string; snapshotVersion?: string };
}

export interface ConfigDump {
  configs: Record<string, unknown>[];
}

export class ControlPlaneClient {
  constructor(readonly address: string = DEFAULT_CONTROL_PLANE_ADMIN) {}

  syncz(proxy?: string): Promise<Syncz> {
    return getJson<Syncz>(this.address, proxy ? `/debug/syncz?proxy=${encodeURIComponent(proxy)}` : '/debug/syncz');
  }

  configDump(proxy: string): Promise<ConfigDump> {
    return getJson<ConfigDump>(this.address, `/debug/config_dump?proxy=${encodeURIComponent(proxy)}`);
  }
}

// The xDS package's public surface: what the translator, the control-plane command and the CLI use.
export { SnapshotCache, type SnapshotCacheOptions } from './cache.js';
export { type ClientInfo, type Role, ROLES, clientInfoFromNode, defaultClassKey } from './client-info.js';
export { type ClientView, type Mode, type SentResources } from './connection.js';
export { type TypeStateView } from './type-state.js';
export { XdsServer, type XdsServerOptions } from './server.js';
export { AdminServer, type AdminOptions, type ControlPlaneView } from './admin.js';
export { configDump } from './config-dump.js';
export { PUSH_ORDER, TypeUrl, isFullStateType } from './protos.js';
export {
  ResourceEntry,
  type ResourceInput,
  ResourceSnapshot,
  SnapshotError,
  type SnapshotInput,
  TypeSnapshot,
  buildSnapshot,
} from './snapshot.js';

// The mesh snapshot module: buildSnapshot, the snapshot's types, and its plain-data form.
export * from './types.js';
export { buildSnapshot, type BuildOptions } from './build.js';
export { LayeredMap } from './layered-map.js';
export { snapshotToData, type SnapshotData } from './serialize.js';

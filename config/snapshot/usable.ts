// The minimal shape of an object that the snapshot's indexes rely on. Validation refuses worse
// input before it gets here; this keeps a source that skipped validation from crashing a build.
import type { MeshObject } from '../resources.js';

function isStringRecord(value: unknown): boolean {
  if (value === undefined) return true;
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  for (const key in record) if (typeof record[key] !== 'string') return false;
  return true;
}

/** The object if its metadata has the shape every index relies on (name, namespace, labels). */
export function usable(object: MeshObject | undefined): MeshObject | undefined {
  if (!object || typeof object !== 'object') return undefined;
  const meta = (object as { metadata?: unknown }).metadata as Record<string, unknown> | undefined;
  if (!meta || typeof meta !== 'object' || typeof meta.name !== 'string') return undefined;
  if (meta.namespace !== undefined && typeof meta.namespace !== 'string') return undefined;
  return isStringRecord(meta.labels) ? object : undefined;
}

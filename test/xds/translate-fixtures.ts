// Test fixtures for the translator: mesh objects from YAML text or a directory (parsed and
// validated exactly as the directory source does), snapshots, and lookups into a translation.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocuments } from '../../config/parse/yaml.js';
import { objectKey, type MeshObject } from '../../config/resources.js';
import { buildSnapshot, type MeshSnapshot } from '../../config/snapshot/index.js';
import { validateObject } from '../../config/validate/index.js';
import type { Built } from '../../xds/translate/encode.js';
import type { Translation } from '../../xds/translate/translator.js';
import type { Json } from '../../xds/translate/types.js';

export const EXAMPLE_MESH = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));

/** The objects of YAML text; throws on any parse or validation error (fixtures must be valid). */
export function objectsFromYaml(text: string, source = 'fixture.yaml'): Map<string, MeshObject> {
  const objects = new Map<string, MeshObject>();
  const { documents, issues } = parseDocuments(text, source);
  if (issues.length > 0) throw new Error(`fixture YAML: ${issues.map((i) => i.message).join('; ')}`);
  for (const doc of documents) {
    const result = validateObject(doc.raw, { source, line: doc.line, lineOf: doc.lineOf });
    if (!result.object) throw new Error(`fixture object invalid: ${JSON.stringify(result.issues)}`);
    const o = result.object;
    objects.set(objectKey(o.kind, o.metadata.namespace, o.metadata.name), o);
  }
  return objects;
}

/** The objects of every YAML file in a directory (sorted by name). */
export function objectsFromDirectory(dir: string): Map<string, MeshObject> {
  const objects = new Map<string, MeshObject>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const [k, v] of objectsFromYaml(readFileSync(join(dir, file), 'utf8'), file)) objects.set(k, v);
  }
  return objects;
}

export function snapshotOf(objects: ReadonlyMap<string, MeshObject>, previous?: MeshSnapshot): MeshSnapshot {
  return buildSnapshot(objects, previous);
}

/** One served resource of a client class; throws when it is not served. */
export function served(t: Translation, classKey: string, typeUrl: string, name: string): Built {
  const built = t.classes.get(classKey)?.resources.get(typeUrl)?.get(name);
  if (!built) throw new Error(`${classKey} is not served ${typeUrl} ${name}; it has ${[...(t.classes.get(classKey)?.resources.get(typeUrl)?.keys() ?? [])].join(', ')}`);
  return built;
}

/** The message of a served resource. */
export function message(t: Translation, classKey: string, typeUrl: string, name: string): Json {
  return served(t, classKey, typeUrl, name).message;
}

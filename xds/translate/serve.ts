// What the control plane serves each client class for a mesh snapshot: the Envoy translation
// (node proxies, waypoints, proxyless gRPC clients) and the redirectors' own resources. The mesh
// is translated once per snapshot, incrementally, by one long-lived Translator; every class reads
// that one translation.
import type { MeshSnapshot } from '../../config/snapshot/types.js';
import { PUSH_ORDER, type SnapshotInput } from '../index.js';
import { toSnapshotInput } from './publish.js';
import { redirectorClassKey, redirectorClassResources } from './redirector.js';
import { Translator, type Translation } from './translator.js';
import type { TranslateIssue } from './types.js';

const REDIRECTOR_PREFIX = redirectorClassKey('');

/** An empty but consistent resource set, for a class the mesh has nothing for (yet). */
function emptyInput(): SnapshotInput {
  return Object.fromEntries(PUSH_ORDER.map((typeUrl) => [typeUrl, []]));
}

export class MeshResources {
  private readonly translator = new Translator();
  private last: { mesh: MeshSnapshot; translation: Translation } | undefined;

  /** The translation of a snapshot, computed on first use and kept until the next snapshot. */
  translation(mesh: MeshSnapshot): Translation {
    if (this.last?.mesh !== mesh) this.last = { mesh, translation: this.translator.translate(mesh) };
    return this.last.translation;
  }

  /** The resources of one client class (`node-proxy/N`, `waypoint/NS/NAME`, `proxyless`, `redirector/N`). */
  forClass(mesh: MeshSnapshot, classKey: string): SnapshotInput {
    if (classKey.startsWith(REDIRECTOR_PREFIX)) return redirectorClassResources(mesh, classKey.slice(REDIRECTOR_PREFIX.length));
    const resources = this.translation(mesh).classes.get(classKey);
    return resources ? toSnapshotInput(resources) : emptyInput();
  }

  /** The problems of the current translation: resources withheld (with the object at fault) and warnings. */
  issues(mesh: MeshSnapshot): readonly TranslateIssue[] {
    return this.translation(mesh).issues;
  }
}

// What every config source (the watched directory, the Kubernetes informers) offers the mesh
// store: the objects currently in force, the problems found in its input, and change notification.
import type { MeshObject } from './resources.js';

/** One problem in the input: where it is (file and line, or Kubernetes object), which field, and why. */
export interface ConfigIssue {
  severity: 'error' | 'warning';
  /** A file path, or `kubernetes:<apiVersion>/<kind>` for objects from an API server. */
  source: string;
  line?: number;
  column?: number;
  /** kind/namespace/name of the object, when known. */
  object?: string;
  /** JSON-path-like field, e.g. `spec.rules[0].backendRefs[1].weight`. */
  field?: string;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const place = issue.line !== undefined ? `${issue.source}:${issue.line}${issue.column !== undefined ? `:${issue.column}` : ''}` : issue.source;
  const object = issue.object ? ` ${issue.object}` : '';
  const field = issue.field ? ` ${issue.field}` : '';
  return `${place}:${object}${field}: ${issue.message}`;
}

export interface ConfigSource {
  /** A short name for logs and status (`dir:/etc/skiff`, `kubernetes`). */
  readonly name: string;
  /** Loads the initial state; resolves once the first full state is known. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The objects in force, keyed by objectKey(kind, namespace, name). Last good versions are kept. */
  objects(): ReadonlyMap<string, MeshObject>;
  /** Problems in the current input. */
  issues(): readonly ConfigIssue[];
  /** Called after every change in objects() or issues(); the store debounces. */
  onChange(listener: () => void): void;
}

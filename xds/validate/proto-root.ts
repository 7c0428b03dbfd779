// Envoy's v3 API (every v3 .proto shipped in @grpc/grpc-js-xds/deps, plus the xds/udpa protos they
// use) loaded once, lazily, into one protobufjs Root with field options kept, so the
// protoc-gen-validate `(validate.rules)` annotations can be read back by the validator. Others may
// reuse this Root: one loaded copy of the API per process.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import protobuf from 'protobufjs';
import { ENVOY_DEPS_DIR, locateProto } from '../proto-dirs.js';

const bundled = protobuf.common as unknown as { get(file: string): object | null };

function protoFilesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...protoFilesUnder(path));
    else if (entry.endsWith('.proto')) found.push(path);
  }
  return found;
}

const IMPORT = /^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm;

/**
 * Whether a file and everything it imports can be found. A few Envoy protos (tracing) import
 * opencensus/opentelemetry protos that grpc-js-xds does not ship; those files are left out.
 */
function importsResolve(target: string, known: Map<string, boolean>, visiting: Set<string>): boolean {
  const cached = known.get(target);
  if (cached !== undefined) return cached;
  if (visiting.has(target)) return true;
  if (bundled.get(target)) return true;
  const path = locateProto(target);
  if (!path) {
    known.set(target, false);
    return false;
  }
  visiting.add(target);
  let ok = true;
  for (const match of readFileSync(path, 'utf8').matchAll(IMPORT)) {
    if (!importsResolve(match[1], known, visiting)) ok = false;
  }
  visiting.delete(target);
  known.set(target, ok);
  return ok;
}

/** Every v3 Envoy proto (and xds/udpa v3/v1 proto) whose imports all resolve, as import names. */
function apiFiles(): string[] {
  const candidates: string[] = [];
  for (const [base, top] of [['envoy-api', 'envoy'], ['xds', 'xds'], ['xds', 'udpa']]) {
    const baseDir = join(ENVOY_DEPS_DIR, base);
    for (const path of protoFilesUnder(join(baseDir, top))) {
      const name = relative(baseDir, path);
      if (/\/v3\/|\/v1\//.test(name)) candidates.push(name);
    }
  }
  const known = new Map<string, boolean>();
  return candidates.sort().filter((name) => importsResolve(name, known, new Set()));
}

let cached: protobuf.Root | undefined;

/** The Root with all of Envoy's v3 API, loaded on first use (a few hundred ms) and kept. */
export function envoyRoot(): protobuf.Root {
  if (cached) return cached;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => locateProto(target) ?? target;
  root.loadSync(apiFiles(), { keepCase: true });
  root.resolveAll();
  cached = root;
  resolveAnyByUrl(root);
  return root;
}

/**
 * protobufjs converts an Any written as `{ '@type': url, ...fields }` by looking the type up from
 * the Any's namespace (splitting, joining and walking names) every time: the translator converts
 * tens of thousands. Here a full `type.googleapis.com/…` URL is resolved through typeForUrl's
 * cache; the conversion itself is protobufjs's (anything else goes to its own converter).
 */
function resolveAnyByUrl(root: protobuf.Root): void {
  const any = root.lookupType('google.protobuf.Any').setup();
  const convert = any.fromObject;
  const fromObject = (object: { [k: string]: unknown }, depth?: number): protobuf.Message => {
    const reused = frozenAnys.get(object);
    if (reused) return reused;
    const url = object['@type'];
    const type = typeof url === 'string' && url.includes('/') && !url.startsWith('.') ? typeForUrl(url) : undefined;
    if (!type || (depth ?? 0) > protobuf.util.recursionLimit) return convert(object, depth);
    const contents = type.fromObject(object, (depth ?? 0) + 1);
    const value = type.encode(contents).finish();
    const message = any.create({ type_url: url, value });
    anyContents.set(message, { value, contents });
    if (Object.isFrozen(object) && deeplyFrozen(object)) frozenAnys.set(object, message);
    return message;
  };
  any.fromObject = fromObject as typeof any.fromObject;
}

/**
 * Anys converted from deeply frozen objects (constant typed configs such as the router filter's,
 * in every HTTP connection manager): converted once, the one message shared by every parent.
 */
const frozenAnys = new WeakMap<object, protobuf.Message>();

function deeplyFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(deeplyFrozen);
}

/** Each Any converted from object form: the message its bytes were encoded from. */
const anyContents = new WeakMap<object, { value: Uint8Array; contents: protobuf.Message }>();

/**
 * The message an Any's bytes were encoded from, when the Any was converted from object form here
 * and still holds those very bytes: the same fields the bytes decode to, with no decoding.
 */
export function anyContentsOf(any: { value?: unknown }): protobuf.Message | undefined {
  const entry = anyContents.get(any);
  return entry && entry.value === any.value ? entry.contents : undefined;
}

/** The message type with a full name such as `envoy.config.cluster.v3.Cluster`; throws if unknown. */
export function lookupType(fullName: string): protobuf.Type {
  return envoyRoot().lookupType(fullName.startsWith('.') ? fullName.slice(1) : fullName);
}

/** The message type a type URL (`type.googleapis.com/<full name>`) names, or undefined if none. */
export function typeForUrl(typeUrl: string): protobuf.Type | undefined {
  // Looked up once per URL: the checker asks for every Any and every resource it sees.
  if (urlTypes.has(typeUrl)) return urlTypes.get(typeUrl);
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  const found = name === '' ? undefined : envoyRoot().lookup(name);
  const type = found instanceof protobuf.Type ? found : undefined;
  urlTypes.set(typeUrl, type);
  return type;
}

const urlTypes = new Map<string, protobuf.Type | undefined>();

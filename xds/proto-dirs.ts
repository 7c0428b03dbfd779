// Where Envoy's .proto files (shipped in @grpc/grpc-js-xds/deps) and their imports are found, for
// every loader in xds/: the encoder's Root, the validator's full Root and the access log service.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
/** grpc-js-xds's deps folder: envoy-api, xds (xds and udpa), googleapis, protoc-gen-validate. */
export const ENVOY_DEPS_DIR = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
/** The include dirs of Envoy's protos, in search order. */
export const ENVOY_PROTO_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(ENVOY_DEPS_DIR, d));
/** ENVOY_PROTO_DIRS, then protobufjs's own dir (it supplies google/protobuf/descriptor.proto). */
const includeDirs = [...ENVOY_PROTO_DIRS, dirname(require.resolve('protobufjs/package.json'))];

/** The file an import names, or undefined when no include dir has it. */
export function locateProto(target: string): string | undefined {
  for (const dir of includeDirs) {
    const candidate = join(dir, target);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

// Generates TypeScript types for the Envoy xDS wire formats from Envoy's own protos (shipped in
// @grpc/grpc-js-xds/deps) into xds/generated/ (not committed; run by `npm run build`). Relative
// imports get `.js` so the output resolves as ES modules; lint and checking are off for generated code.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const deps = 'node_modules/@grpc/grpc-js-xds/deps';
const out = 'xds/generated';
const protos = JSON.parse(readFileSync('xds/envoy-protos.json', 'utf8'));

// Skip when the output was generated from the same list by the same generator (builds run often).
const stamp = JSON.stringify({ protos, generator: readFileSync(new URL(import.meta.url), 'utf8') });
const stampFile = join(out, '.stamp');
if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) process.exit(0);
rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    'node_modules/@grpc/proto-loader/build/bin/proto-loader-gen-types.js',
    '--keepCase', '--longs', 'String', '--enums', 'String', '--defaults', '--oneofs',
    '--includeDirs', `${deps}/envoy-api`, `${deps}/xds`, `${deps}/googleapis`, `${deps}/protoc-gen-validate`,
    '-O', out, '--grpcLib', '@grpc/grpc-js', ...protos,
  ],
  { stdio: 'inherit' },
);

function fixUp(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      fixUp(path);
      continue;
    }
    const text = readFileSync(path, 'utf8').replace(/from '(\.[^']+)'/g, "from '$1.js'");
    writeFileSync(path, `/* eslint-disable */\n// @ts-nocheck\n${text}`);
  }
}
fixUp(out);
writeFileSync(stampFile, stamp);

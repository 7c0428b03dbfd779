// Copies the non-TypeScript files that compiled modules load at run time (our .proto files) into
// dist/, next to the modules that load them.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['config', 'xds', 'envoy', 'redirector', 'cli', 'bpf', 'proto'];
function copyAssets(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (entry !== 'build' && entry !== 'node_modules') copyAssets(path);
    } else if (entry.endsWith('.proto')) {
      cpSync(path, join('dist', path));
    }
  }
}
for (const root of roots) copyAssets(root);

// `npm run bench [-- NAME...]`: runs every benchmark, or the named ones, each printing its table.
import { benchmarks } from './index.js';

const names = process.argv.slice(2);
const unknown = names.filter((n) => !benchmarks.some((b) => b.name === n));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}\n`);
  process.exit(2);
}
for (const bench of benchmarks) {
  if (names.length > 0 && !names.includes(bench.name)) continue;
  process.stdout.write(`\n=== ${bench.name}: ${bench.summary}\n`);
  await bench.run();
}

// The list of benchmarks `npm run bench` knows, by name.
import type { Benchmark } from './benchmark.js';
import { datapathBenchmark } from './datapath.js';
import { mapsBenchmark } from './maps.js';
import { meshBenchmark } from './mesh.js';
import { xdsBenchmark } from './xds.js';
import { translateBenchmark } from './translate.js';
import { tunnelsBenchmark } from './tunnels.js';

export const benchmarks: Benchmark[] = [meshBenchmark, datapathBenchmark, mapsBenchmark, translateBenchmark, xdsBenchmark, tunnelsBenchmark];

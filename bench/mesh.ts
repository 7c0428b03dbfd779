// `npm run bench -- mesh`: a 10,000-service mesh (100,000 endpoints in EndpointSlices, 2,000
// HTTPRoutes, 5,000 policies) written as YAML files, then built from those files as the control
// plane does it (DirectorySource reads, parses and validates them; MeshStore builds the first
// snapshot), timed as one figure with its parts, and changed one endpoint at a time incrementally.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DirectorySource } from '../config/sources/directory.js';
import type { EndpointSlice, MeshObject } from '../config/resources.js';
import { logger } from '../config/log.js';
import { buildSnapshot, LayeredMap } from '../config/snapshot/index.js';
import { MeshStore } from '../config/store.js';
import { median, printTable, quantile, type Benchmark } from './benchmark.js';
import { ipOf, namespaceOf, writeMesh, type MeshSize } from './fixtures/mesh-generator.js';

const SIZE: MeshSize = { services: 10_000, endpointsPerService: 10, routes: 2_000, policies: 5_000, namespaces: 20, perFile: 100 };
const CHANGES = 50;
const RUNS = 3;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function mb(bytes: number): number {
  return bytes / 1024 / 1024;
}

/** A copy of one slice with one endpoint moved to a new address (as a pod restart would). */
function changedSlice(slice: EndpointSlice, round: number): EndpointSlice {
  const endpoints = slice.endpoints.map((e, k) => (k === round % slice.endpoints.length ? { ...e, addresses: [ipOf(round + 1, 11)], conditions: { ready: round % 2 === 0 } } : e));
  return { ...slice, endpoints };
}

interface Timing {
  /** Read, parse and validate every file (the directory source's start). */
  loadMs: number;
  /** Merge and build the first snapshot (the store's start). */
  buildMs: number;
  totalMs: number;
  cpuMs: number;
  /** CPU time of the merge and first snapshot build alone. */
  buildCpuMs: number;
}

/** The mesh loaded from its files as the control plane loads it: the directory source, then the store's first snapshot. */
async function loadFromFiles(dir: string): Promise<{ store: MeshStore; timing: Timing }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const source = new DirectorySource(dir, { watch: false, pollIntervalMs: 3_600_000 });
  await source.start();
  const loaded = performance.now();
  const buildCpu = process.cpuUsage();
  const store = new MeshStore([source], { logger: quiet });
  await store.start();
  const built = performance.now();
  const used = process.cpuUsage(cpu);
  const buildUsed = process.cpuUsage(buildCpu);
  return {
    store,
    timing: { loadMs: loaded - started, buildMs: built - loaded, totalMs: built - started, cpuMs: (used.user + used.system) / 1000, buildCpuMs: (buildUsed.user + buildUsed.system) / 1000 },
  };
}

const quiet = logger('bench.mesh');
quiet.level = 'warn';

export const meshBenchmark: Benchmark = {
  name: 'mesh',
  summary: 'mesh snapshot: 10k services / 100k endpoints / 2k routes / 5k policies built from files (read, parse, validate, snapshot), one endpoint change',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-mesh-'));
    try {
      await writeMesh(dir, SIZE);
      const runs: Timing[] = [];
      let store: MeshStore | undefined;
      let firstLoadRss = 0;
      for (let run = 0; run < RUNS; run++) {
        await store?.stop();
        store = undefined; // the previous load is garbage before the next one starts
        gc();
        const loaded = await loadFromFiles(dir);
        store = loaded.store;
        runs.push(loaded.timing);
        if (run === 0) firstLoadRss = process.resourceUsage().maxRSS * 1024;
      }
      if (!store) throw new Error('no run');
      const errors = store.issues().filter((i) => i.severity === 'error');
      if (errors.length > 0) process.stderr.write(`mesh bench: ${errors.length} input errors, first: ${errors[0]?.message}\n`);

      let current = store.current();
      if (!(current.objects instanceof LayeredMap)) throw new Error('the store no longer hands the snapshot a LayeredMap');
      let objects = current.objects as LayeredMap<string, MeshObject>;
      let endpoints = 0;
      for (const service of current.services.values()) for (const port of service.ports) endpoints += port.endpoints.length;

      const foldMs: number[] = [];
      for (let round = 0; round < CHANGES; round++) {
        // Every other change hits a service with an HTTPRoute, whose backends' L7 marks follow.
        const service = round % 2 === 0 ? (round * 5 * 7) % SIZE.services : (round * 7 + 1) % SIZE.services;
        const key = `EndpointSlice/${namespaceOf(SIZE, service)}/svc-${service}-abcde`;
        const next = changedSlice(objects.get(key) as EndpointSlice, round);
        objects = objects.update(new Map([[key, next]]));
        const started = performance.now();
        current = buildSnapshot(objects, current, { changedKeys: [key] });
        foldMs.push(performance.now() - started);
      }
      const unhintedMs: number[] = [];
      for (let round = 0; round < 5; round++) {
        const key = `EndpointSlice/${namespaceOf(SIZE, round)}/svc-${round}-abcde`;
        objects = objects.update(new Map([[key, changedSlice(objects.get(key) as EndpointSlice, round + CHANGES)]]));
        const started = performance.now();
        current = buildSnapshot(objects, current);
        unhintedMs.push(performance.now() - started);
      }
      gc();
      const memory = process.memoryUsage();
      const peakRss = process.resourceUsage().maxRSS * 1024;
      await store.stop();

      const total = median(runs.map((r) => r.totalMs));
      const cold = runs[0] as Timing;
      const fold = median(foldMs);
      printTable(
        `mesh snapshot from files: ${current.services.size} services, ${endpoints} endpoints, ${current.routes.size} HTTPRoutes, ${current.policies.size} policies, ${current.workloads.size} pods, ${current.l7.size} L7 ports`,
        ['measure', 'target', 'measured', 'verdict'],
        [
          [`full build from files: read, parse, validate, snapshot (median of ${RUNS})`, '< 2 s', seconds(total), total < 2000 ? 'ok' : 'MISSED'],
          ['  of which read + parse + validate (DirectorySource)', '-', seconds(median(runs.map((r) => r.loadMs))), '-'],
          ['  of which merge + snapshot build (MeshStore)', '-', seconds(median(runs.map((r) => r.buildMs))), '-'],
          [`full build from files, CPU time (median of ${RUNS})`, '-', seconds(median(runs.map((r) => r.cpuMs))), '-'],
          ['  of which merge + snapshot build (MeshStore), CPU time: median / first run', '-', `${seconds(median(runs.map((r) => r.buildCpuMs)))} / ${seconds(cold.buildCpuMs)}`, '-'],
          ['full build from files, first run (cold code, as a starting control plane): wall / CPU', '-', `${seconds(cold.totalMs)} / ${seconds(cold.cpuMs)}`, '-'],
          [`one endpoint change folded (median of ${CHANGES})`, '< 5 ms', `${fold.toFixed(2)} ms`, fold < 5 ? 'ok' : 'MISSED'],
          [`one endpoint change folded (p90 of ${CHANGES})`, '-', `${quantile(foldMs, 0.9).toFixed(2)} ms`, '-'],
          ['one endpoint change, keys found by diffing (median of 5)', '-', `${median(unhintedMs).toFixed(2)} ms`, '-'],
          ['ratio full build from files / one change', '-', `${Math.round(total / fold)}x`, '-'],
          ['heap used (objects, file states, snapshot)', '< 500 MB', `${mb(memory.heapUsed).toFixed(0)} MB`, mb(memory.heapUsed) < 500 ? 'ok' : 'MISSED'],
          ['RSS peak while loading from files (first load, as a starting control plane)', '< 500 MB', `${mb(firstLoadRss).toFixed(0)} MB`, mb(firstLoadRss) < 500 ? 'ok' : 'MISSED'],
          [`RSS now / peak of the whole run (${RUNS} loads, ${CHANGES + 5} changes)`, '-', `${mb(memory.rss).toFixed(0)} / ${mb(peakRss).toFixed(0)} MB`, '-'],
        ],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

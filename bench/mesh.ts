// `npm run bench -- mesh`: a 10,000-service mesh (100,000 endpoints in EndpointSlices, 2,000
// HTTPRoutes, 5,000 policies) written as YAML files, then loaded through the DirectorySource,
// folded into a full snapshot, and changed one endpoint at a time incrementally.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DirectorySource } from '../config/sources/directory.js';
import type { EndpointSlice, MeshObject } from '../config/resources.js';
import { buildSnapshot, LayeredMap, type MeshSnapshot } from '../config/snapshot/index.js';
import { median, printTable, quantile, type Benchmark } from './benchmark.js';
import { ipOf, namespaceOf, writeMesh, type MeshSize } from './fixtures/mesh-generator.js';

const SIZE: MeshSize = { services: 10_000, endpointsPerService: 10, routes: 2_000, policies: 5_000, namespaces: 20, perFile: 100 };
const CHANGES = 50;

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

export const meshBenchmark: Benchmark = {
  name: 'mesh',
  summary: 'mesh snapshot: load 10k services / 100k endpoints / 2k routes / 5k policies from files, full build, one endpoint change',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-mesh-'));
    try {
      await writeMesh(dir, SIZE);
      const source = new DirectorySource(dir, { watch: false, pollIntervalMs: 3_600_000 });
      let started = performance.now();
      await source.start();
      const loadMs = performance.now() - started;
      const loaded = source.objects();
      await source.stop();
      const errors = source.issues().filter((i) => i.severity === 'error');
      if (errors.length > 0) process.stderr.write(`mesh bench: ${errors.length} input errors, first: ${errors[0]?.message}\n`);

      let objects = LayeredMap.empty<string, MeshObject>().update(new Map(loaded));
      const fullMs: number[] = [];
      const fullCpuMs: number[] = [];
      let snapshot: MeshSnapshot | undefined;
      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      let snapshotHeap = 0;
      for (let run = 0; run < 3; run++) {
        snapshot = undefined;
        gc();
        const cpu = process.cpuUsage();
        started = performance.now();
        snapshot = buildSnapshot(objects);
        fullMs.push(performance.now() - started);
        const used = process.cpuUsage(cpu);
        fullCpuMs.push((used.user + used.system) / 1000);
        if (run === 0) {
          gc();
          snapshotHeap = process.memoryUsage().heapUsed - heapBefore;
        }
      }
      let current = snapshot as MeshSnapshot;
      let endpoints = 0;
      for (const service of current.services.values()) for (const port of service.ports) endpoints += port.endpoints.length;

      const foldMs: number[] = [];
      for (let round = 0; round < CHANGES; round++) {
        // Every other change hits a service with an HTTPRoute, whose backends' L7 marks follow.
        const service = round % 2 === 0 ? (round * 5 * 7) % SIZE.services : (round * 7 + 1) % SIZE.services;
        const key = `EndpointSlice/${namespaceOf(SIZE, service)}/svc-${service}-abcde`;
        const next = changedSlice(objects.get(key) as EndpointSlice, round);
        objects = objects.update(new Map([[key, next]]));
        started = performance.now();
        current = buildSnapshot(objects, current, { changedKeys: [key] });
        foldMs.push(performance.now() - started);
      }
      const unhintedMs: number[] = [];
      for (let round = 0; round < 5; round++) {
        const key = `EndpointSlice/${namespaceOf(SIZE, round)}/svc-${round}-abcde`;
        objects = objects.update(new Map([[key, changedSlice(objects.get(key) as EndpointSlice, round + CHANGES)]]));
        started = performance.now();
        current = buildSnapshot(objects, current);
        unhintedMs.push(performance.now() - started);
      }
      gc();
      const memory = process.memoryUsage();

      const fold = median(foldMs);
      const full = median(fullMs);
      printTable(
        `mesh snapshot: ${current.services.size} services, ${endpoints} endpoints, ${current.routes.size} HTTPRoutes, ${current.policies.size} policies, ${current.workloads.size} pods, ${current.l7.size} L7 ports`,
        ['measure', 'target', 'measured', 'verdict'],
        [
          ['load + parse + validate files (DirectorySource)', '-', `${(loadMs / 1000).toFixed(2)} s`, '-'],
          ['full snapshot build (median of 3)', '< 2 s', `${(full / 1000).toFixed(2)} s`, full < 2000 ? 'ok' : 'MISSED'],
          ['full snapshot build, CPU time (median of 3)', '-', `${(median(fullCpuMs) / 1000).toFixed(2)} s`, '-'],
          [`one endpoint change folded (median of ${CHANGES})`, '< 5 ms', `${fold.toFixed(2)} ms`, fold < 5 ? 'ok' : 'MISSED'],
          [`one endpoint change folded (p90 of ${CHANGES})`, '-', `${quantile(foldMs, 0.9).toFixed(2)} ms`, '-'],
          ['one endpoint change, keys found by diffing (median of 5)', '-', `${median(unhintedMs).toFixed(2)} ms`, '-'],
          ['ratio full build / one change', '-', `${Math.round(full / fold)}x`, '-'],
          ['heap of one snapshot (views and indexes)', '-', `${mb(snapshotHeap).toFixed(0)} MB`, '-'],
          ['heap used (parsed objects + snapshot)', '< 500 MB', `${mb(memory.heapUsed).toFixed(0)} MB`, mb(memory.heapUsed) < 500 ? 'ok' : 'MISSED'],
          ['RSS (includes the YAML loader\'s peak)', '< 500 MB', `${mb(memory.rss).toFixed(0)} MB`, mb(memory.rss) < 500 ? 'ok' : 'MISSED'],
        ],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

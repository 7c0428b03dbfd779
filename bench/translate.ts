// `npm run bench -- translate`: the mesh of the mesh benchmark (10,000 Services, 100,000 endpoints,
// 2,000 HTTPRoutes, 5,000 policies) on 10 nodes, translated into Envoy resources for every client
// class (10 node proxies, proxyless clients), every resource encoded and checked: a full
// translation, then one endpoint change and one route change at a time, incrementally, side by
// side with translating the same snapshot from scratch.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DirectorySource } from '../config/sources/directory.js';
import type { EndpointSlice, HTTPRoute, MeshObject, Node } from '../config/resources.js';
import { buildSnapshot, LayeredMap, type MeshSnapshot } from '../config/snapshot/index.js';
import type { ResourceChecker } from '../xds/translate/encode.js';
import { Translator, type Translation } from '../xds/translate/translator.js';
import { validateResource } from '../xds/validate/index.js';
import { median, printTable, type Benchmark } from './benchmark.js';
import { ipOf, namespaceOf, writeMesh, type MeshSize } from './fixtures/mesh-generator.js';

const SIZE: MeshSize = { services: 10_000, endpointsPerService: 10, routes: 2_000, policies: 5_000, namespaces: 20, perFile: 100 };
const NODES = 10;
const ENDPOINT_CHANGES = 40;
const ROUTE_CHANGES = 20;

/** Nodes node-0, node-5, … node-45: the generator places pods on node-0/10/20/30/40. */
function nodes(): Map<string, MeshObject> {
  const out = new Map<string, MeshObject>();
  for (let k = 0; k < NODES; k++) {
    const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${k * 5}` }, spec: { podCIDR: `10.${100 + k}.0.0/16` } };
    out.set(`Node//node-${k * 5}`, node);
  }
  return out;
}

function changedSlice(slice: EndpointSlice, round: number): EndpointSlice {
  const endpoints = slice.endpoints.map((e, k) => (k === round % slice.endpoints.length ? { ...e, addresses: [ipOf(round + 1, 11)], conditions: { ready: round % 2 === 0 } } : e));
  return { ...slice, endpoints };
}

function changedRoute(route: HTTPRoute, round: number): HTTPRoute {
  const rules = structuredClone(route.spec.rules ?? []);
  const split = rules[1]?.backendRefs ?? [];
  if (split[0]) split[0].weight = 50 + (round % 40);
  if (split[1]) split[1].weight = 50 - (round % 40);
  return { ...route, spec: { ...route.spec, rules } };
}

function count(t: Translation): { classes: number; resources: number } {
  let resources = 0;
  for (const c of t.classes.values()) for (const m of c.resources.values()) resources += m.size;
  return { classes: t.classes.size, resources };
}

/** Wall-clock and process CPU time of one run, in ms. */
interface Timing {
  wall: number;
  cpu: number;
}

function timed<T>(run: () => T): [T, Timing] {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = run();
  const wall = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return [result, { wall, cpu: (cpu.user + cpu.system) / 1000 }];
}

function medians(timings: Timing[]): [wall: number, cpu: number] {
  return [median(timings.map((x) => x.wall)), median(timings.map((x) => x.cpu))];
}

function ms(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(2)} ms`;
}

export const translateBenchmark: Benchmark = {
  name: 'translate',
  summary: 'Envoy translation: 10k services / 100k endpoints / 2k routes / 5k policies, 10 nodes; full, one endpoint change, one route change',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-translate-'));
    try {
      await writeMesh(dir, SIZE);
      const source = new DirectorySource(dir, { watch: false, pollIntervalMs: 3_600_000 });
      await source.start();
      await source.stop();
      let objects = LayeredMap.empty<string, MeshObject>().update(new Map([...source.objects(), ...nodes()]));
      let snapshot: MeshSnapshot = buildSnapshot(objects);

      // Full translation, every class, every resource encoded and checked (fresh translator each
      // time); the checker's own time is summed call by call, the rest is building and encoding.
      const full: Timing[] = [];
      const checkMs: number[] = [];
      let translator = new Translator();
      let t: Translation | undefined;
      for (let run = 0; run < 3; run++) {
        let checking = 0;
        const checker: ResourceChecker = (typeUrl, resource) => {
          const started = performance.now();
          const violations = validateResource(typeUrl, resource);
          checking += performance.now() - started;
          return violations;
        };
        translator = new Translator({ checker });
        const fresh = translator;
        let timing: Timing;
        [t, timing] = timed(() => fresh.translate(snapshot));
        full.push(timing);
        checkMs.push(checking);
      }
      const sizes = count(t as Translation);
      const withheld = (t as Translation).issues.filter((i) => i.resource).length;

      const endpoint: Timing[] = [];
      const endpointBuilt: number[] = [];
      for (let round = 0; round < ENDPOINT_CHANGES; round++) {
        const service = round % 2 === 0 ? (round * 5 * 7) % SIZE.services : (round * 7 + 1) % SIZE.services;
        const key = `EndpointSlice/${namespaceOf(SIZE, service)}/svc-${service}-abcde`;
        objects = objects.update(new Map([[key, changedSlice(objects.get(key) as EndpointSlice, round)]]));
        snapshot = buildSnapshot(objects, snapshot, { changedKeys: [key] });
        const [r, timing] = timed(() => translator.translate(snapshot));
        endpoint.push(timing);
        endpointBuilt.push(r.stats.built);
      }

      const route: Timing[] = [];
      const routeBuilt: number[] = [];
      for (let round = 0; round < ROUTE_CHANGES; round++) {
        const r = (round * 37) % SIZE.routes;
        const key = `HTTPRoute/${namespaceOf(SIZE, (r * 5) % SIZE.services)}/route-${r}`;
        objects = objects.update(new Map([[key, changedRoute(objects.get(key) as HTTPRoute, round)]]));
        snapshot = buildSnapshot(objects, snapshot, { changedKeys: [key] });
        const [result, timing] = timed(() => translator.translate(snapshot));
        route.push(timing);
        routeBuilt.push(result.stats.built);
      }

      const [fullWall, fullCpu] = medians(full);
      const checks = median(checkMs);
      const building = median(full.map((x, i) => x.wall - (checkMs[i] as number)));
      const [endpointWall, endpointCpu] = medians(endpoint);
      const [routeWall, routeCpu] = medians(route);
      printTable(
        `Envoy translation (load average ${loadavg()[0]?.toFixed(2)} on ${availableParallelism()} CPUs): ${snapshot.services.size} services, ${snapshot.routes.size} routes, ${snapshot.policies.size} policies, ${snapshot.nodes.size} nodes → ${sizes.classes} client classes, ${sizes.resources} served resources (${withheld} withheld)`,
        ['measure', 'target', 'baseline: full translation', 'ours', 'ours, CPU time', 'ratio', 'verdict'],
        [
          ['full translation, all classes (median of 3)', '< 2 s', '-', ms(fullWall), ms(fullCpu), '-', fullWall < 2000 ? 'ok' : 'MISSED'],
          ['  of which building + encoding', '-', '-', ms(building), '-', '-', '-'],
          ['  of which checking every resource against every rule (timed in the checker)', '-', '-', ms(checks), '-', '-', '-'],
          [`one endpoint change (median of ${ENDPOINT_CHANGES}; ${median(endpointBuilt)} resources rebuilt)`, '< 5 ms', ms(fullWall), ms(endpointWall), ms(endpointCpu), `${Math.round(fullWall / endpointWall)}x`, endpointWall < 5 ? 'ok' : 'MISSED'],
          [`one route change (median of ${ROUTE_CHANGES}; ${median(routeBuilt)} resources rebuilt)`, '< 20 ms', ms(fullWall), ms(routeWall), ms(routeCpu), `${Math.round(fullWall / routeWall)}x`, routeWall < 20 ? 'ok' : 'MISSED'],
        ],
      );
      process.stdout.write('(CPU time: of this process, GC threads included; on a busy machine it is nearer than wall time to what an idle one takes)\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

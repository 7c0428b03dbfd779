// `npm run bench -- maps`: the redirector's path from resources to the kernel. 10,000 services ×
// 10 backends go from empty through the desired state and the reconciler into real pinned maps
// (datapath.bpf.o loaded under a temporary bpffs directory); then one endpoint changes at a time
// (a backend's address moves, as a pod restart does) and the time until it is in the kernel is
// measured. Needs root (eBPF).
import { rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ensureBpffs, type BpfMap } from '../bpf/libbpf.js';
import { loadDatapath } from '../bpf/maps/index.js';
import { DesiredState, MAP_KINDS, MAP_NAMES, type MapKind } from '../redirector/desired-state.js';
import { Reconciler } from '../redirector/reconciler.js';
import { decodeRedirectorResource, encodeRedirectorResource, RedirectorType, type Service__Output } from '../proto/skiff/v1alpha1/wire.js';
import { median, printTable, quantile, type Benchmark } from './benchmark.js';

const SERVICES = 10_000;
const BACKENDS = 10;
const CHANGES = 200;

function ip(n: number, base: number): string {
  return `${base}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function service(i: number, moved = -1, round = 0): Service__Output {
  return {
    namespace: `ns-${i % 20}`,
    name: `svc-${i}`,
    vips: [ip(i, 100)],
    ports: [
      {
        name: 'http',
        port: 80,
        protocol: 'TCP',
        needs_l7: false,
        backends: Array.from({ length: BACKENDS }, (_, b) => ({
          address: b === moved ? ip(SERVICES * BACKENDS + round, 10) : ip(i * BACKENDS + b, 10),
          port: 8080,
          node_name: 'node-a',
          pod: '',
          ready: true,
          serving: true,
          terminating: false,
        })),
      },
    ],
    waypoint: null,
  };
}

export const mapsBenchmark: Benchmark = {
  name: 'maps',
  summary: 'Redirector: 10,000 services × 10 backends into real maps; one endpoint change to the kernel',
  async run() {
    ensureBpffs();
    const pinRoot = `/sys/fs/bpf/skiff-bench-maps-${process.pid}`;
    ensureBpffs(pinRoot);
    const object = loadDatapath({ pinRoot, maxEntries: { skf_ct: 1024, skf_events: 1 << 16 } });
    try {
      const maps = Object.fromEntries(MAP_KINDS.map((k) => [k, object.map(MAP_NAMES[k])])) as Record<MapKind, BpfMap>;

      // the wire: decoding what the control plane sends (reported beside, not part of the target)
      const services = Array.from({ length: SERVICES }, (_, i) => service(i));
      const encoded = services.map((s) => encodeRedirectorResource(RedirectorType.service, s));
      let started = performance.now();
      for (const bytes of encoded) decodeRedirectorResource(RedirectorType.service, bytes);
      const decodeMs = performance.now() - started;

      started = performance.now();
      const cpuStart = process.cpuUsage();
      const reconciler = new Reconciler(maps);
      const desired = new DesiredState({ node: 'node-a' }, reconciler.actual);
      for (const s of services) desired.setService(`${s.namespace}/${s.name}`, s);
      const computedMs = performance.now() - started;
      desired.discardDirty();
      const full = reconciler.apply(desired.contents());
      const fullMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuStart);
      const fullCpuMs = (cpu.user + cpu.system) / 1000;

      const changeMs: number[] = [];
      let changeWrites = 0;
      for (let round = 0; round < CHANGES; round++) {
        const i = (round * 7919) % SERVICES;
        const s = service(i, round % BACKENDS, round);
        const t0 = performance.now();
        desired.setService(`${s.namespace}/${s.name}`, s);
        const r = reconciler.apply(desired.contents(), desired.takeDirty());
        changeMs.push(performance.now() - t0);
        changeWrites += r.writes;
        desired.setService(`${s.namespace}/${s.name}`, services[i] as Service__Output);
        reconciler.apply(desired.contents(), desired.takeDirty());
      }

      const restart = new Reconciler(maps);
      const readoptStart = performance.now();
      const again = new DesiredState({ node: 'node-a' }, restart.actual);
      for (const s of services) again.setService(`${s.namespace}/${s.name}`, s);
      const readopt = restart.apply(again.contents());
      const readoptMs = performance.now() - readoptStart;

      const [load] = loadavg();
      printTable(
        `Redirector maps: ${SERVICES} services × ${BACKENDS} backends (${full.writes} entries), ${CHANGES} endpoint changes (load average ${load?.toFixed(1)} on ${cpus().length} CPUs)`,
        ['measure', 'target', 'measured', 'entries written'],
        [
          ['program from empty (desired state + reconcile), ms', '< 2000', fullMs, full.writes],
          ['  the same, CPU time of this process, ms', '', fullCpuMs, ''],
          ['  of which computing the desired state, ms', '', computedMs, ''],
          ['one endpoint change to the kernel, median ms', '< 5', median(changeMs), changeWrites / CHANGES],
          ['one endpoint change to the kernel, p99 ms', '', quantile(changeMs, 0.99), ''],
          ['restart: read back + recompute + reconcile, ms', '', readoptMs, readopt.writes + readopt.deletes],
          ['decoding the 10,000 Service resources (wire), ms', '', decodeMs, ''],
        ],
      );
    } finally {
      object.close();
      rmSync(pinRoot, { recursive: true, force: true });
    }
  },
};

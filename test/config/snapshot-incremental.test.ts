// Property: folding random changes into the previous snapshot gives exactly what a build from
// scratch of the same objects gives (every derived view), with and without the changed-keys hint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectKey, type AuthorizationPolicy, type CiliumNetworkPolicy, type MeshObject, type NetworkPolicy } from '../../config/resources.js';
import { buildSnapshot, snapshotToData, type MeshSnapshot } from '../../config/snapshot/index.js';
import { httpRoute, pod, rng, service, slice } from './snapshot-objects.js';

const NAMESPACES = ['a', 'b'];
const APPS = ['web', 'api', 'db', 'cache'];

function randomObject(r: () => number): MeshObject {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
  const ns = pick(NAMESPACES);
  const app = pick(APPS);
  const n = Math.floor(r() * 6);
  const ip = `10.0.${NAMESPACES.indexOf(ns)}.${n + 10 * APPS.indexOf(app)}`;
  switch (Math.floor(r() * 9)) {
    case 0:
    case 1:
      return pod(ns, `${app}-${n}`, r() < 0.1 ? '' : ip, { app, ...(r() < 0.3 ? { tier: pick(['x', 'y']) } : {}) }, {
        sa: pick(['s1', 's2']),
        ports: [{ name: 'http', containerPort: 8080 + Math.floor(r() * 2) }, { name: 'admin', containerPort: 9000 }],
        ...(r() < 0.1 ? { phase: 'Pending' } : {}),
      });
    case 2:
      return service(ns, app, `10.96.${NAMESPACES.indexOf(ns)}.${APPS.indexOf(app)}`, [{ name: 'http', port: 80, targetPort: r() < 0.5 ? 'http' : 8080 }, { name: 'grpc', port: 90, targetPort: 9000 }], r() < 0.8 ? { app } : undefined);
    case 3:
      return slice(ns, app, `${app}-s${n % 2}`, [{ name: 'http', port: 8080 }], Array.from({ length: 1 + Math.floor(r() * 3) }, (_, i) => ({
        ip: `10.0.${NAMESPACES.indexOf(ns)}.${i + 10 * APPS.indexOf(app)}`,
        ...(r() < 0.5 ? { pod: `${app}-${i}` } : {}),
        ready: r() < 0.8,
      })));
    case 4:
      return httpRoute(ns, `route-${n % 3}`, { name: app, ...(r() < 0.5 ? { port: 80 } : {}), ...(r() < 0.2 ? { namespace: pick(NAMESPACES) } : {}) }, [
        { matches: [{ path: { type: 'PathPrefix', value: `/${pick(APPS)}` } }], backendRefs: [{ name: pick(APPS), port: 80, weight: n }, { name: pick(APPS), namespace: pick(NAMESPACES), port: 80 }] },
      ]);
    case 5: {
      const np: NetworkPolicy = {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: `np-${n % 3}`, namespace: ns },
        spec: {
          podSelector: { matchLabels: { app } },
          ...(r() < 0.5 ? { policyTypes: ['Ingress', 'Egress'] as ('Ingress' | 'Egress')[] } : {}),
          ingress: [{ from: [{ podSelector: { matchLabels: { app: pick(APPS) } } }, { namespaceSelector: {}, podSelector: { matchLabels: { tier: 'x' } } }], ports: [{ port: 'http' }] }],
          egress: [{ to: [{ podSelector: { matchLabels: { app: pick(APPS) } } }], ports: [{ port: 'http' }, { port: 53, protocol: 'UDP' }] }],
        },
      };
      return np;
    }
    case 6: {
      const cnp: CiliumNetworkPolicy = {
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumNetworkPolicy',
        metadata: { name: `cnp-${n % 3}`, namespace: ns },
        spec: {
          endpointSelector: { matchLabels: { app } },
          ingress: [{ fromEndpoints: [{ matchLabels: { app: pick(APPS) } }], toPorts: [{ ports: [{ port: r() < 0.5 ? '8080' : 'http', protocol: 'TCP' }], ...(r() < 0.6 ? { rules: { http: [{ method: 'GET', path: '/x' }] } } : {}) }] }],
        },
      };
      return cnp;
    }
    case 7: {
      const ap: AuthorizationPolicy = {
        apiVersion: 'security.istio.io/v1',
        kind: 'AuthorizationPolicy',
        metadata: { name: `ap-${n % 3}`, namespace: ns },
        spec: {
          ...(r() < 0.5 ? { selector: { matchLabels: { app } } } : { targetRefs: [{ kind: 'Service', group: '', name: app }] }),
          action: r() < 0.7 ? 'ALLOW' : 'DENY',
          rules: [{ from: [{ source: { principals: [`cluster.local/ns/${ns}/sa/${pick(['s1', 's2'])}`] } }], ...(r() < 0.5 ? { to: [{ operation: { paths: ['/admin*'] } }] } : {}) }],
        },
      };
      return ap;
    }
    default:
      return {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: `node-${n % 2}` },
        status: { addresses: [{ type: 'InternalIP', address: `172.30.0.${n}` }] },
      };
  }
}

function keyOf(o: MeshObject): string {
  return objectKey(o.kind, o.metadata.namespace, o.metadata.name);
}

function derived(snapshot: MeshSnapshot): string {
  const data = snapshotToData(snapshot) as unknown as Record<string, unknown>;
  delete data.version;
  delete data.generation;
  delete data.builtAt;
  return JSON.stringify(data);
}

for (const hinted of [true, false]) {
  test(`incremental builds equal full builds over random changes (${hinted ? 'with' : 'without'} the changed-keys hint)`, () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = rng(seed * 7919 + (hinted ? 1 : 0));
      const objects = new Map<string, MeshObject>();
      for (let i = 0; i < 40; i++) {
        const o = randomObject(r);
        objects.set(keyOf(o), o);
      }
      let snapshot = buildSnapshot(new Map(objects));
      for (let step = 0; step < 60; step++) {
        const changed = new Set<string>();
        const burst = 1 + Math.floor(r() * 3);
        for (let j = 0; j < burst; j++) {
          if (r() < 0.25 && objects.size > 0) {
            const keys = [...objects.keys()];
            const key = keys[Math.floor(r() * keys.length)] as string;
            objects.delete(key);
            changed.add(key);
          } else {
            const o = randomObject(r);
            objects.set(keyOf(o), o);
            changed.add(keyOf(o));
          }
        }
        const next = new Map(objects);
        snapshot = buildSnapshot(next, snapshot, hinted ? { changedKeys: changed } : {});
        const full = buildSnapshot(next);
        const got = derived(snapshot);
        const want = derived(full);
        // Strings compare fast; on a difference, the structural diff says where.
        if (got !== want) assert.deepEqual(JSON.parse(got), JSON.parse(want), `seed ${seed} step ${step}: ${[...changed].join(', ')}`);
      }
    }
  });
}

test('a snapshot used twice as previous still gives correct successors', () => {
  const a = pod('a', 'web-1', '10.0.0.1', { app: 'web' });
  const b = pod('a', 'web-2', '10.0.0.2', { app: 'web' });
  const base = buildSnapshot(new Map([[keyOf(a), a]]));
  const first = buildSnapshot(new Map([[keyOf(a), a], [keyOf(b), b]]), base);
  const second = buildSnapshot(new Map(), base);
  assert.equal(first.workloads.size, 2);
  assert.equal(second.workloads.size, 0);
  assert.equal(base.workloads.size, 1, 'the previous snapshot is not changed by its successors');
});

test('views a change does not touch are the previous objects; recomputed equal views too', () => {
  const web = service('a', 'web', '10.96.0.1', [{ name: 'http', port: 80, targetPort: 8080 }], { app: 'web' });
  const api = service('a', 'api', '10.96.0.2', [{ name: 'http', port: 80, targetPort: 8080 }], { app: 'api' });
  const webSlice = slice('a', 'web', 'web-1', [{ name: 'http', port: 8080 }], [{ ip: '10.0.0.1', pod: 'web-1' }]);
  const objects = new Map<string, MeshObject>([web, api, webSlice, pod('a', 'api-1', '10.0.0.2', { app: 'api' })].map((o) => [keyOf(o), o]));
  const first = buildSnapshot(new Map(objects));
  const moved = slice('a', 'web', 'web-1', [{ name: 'http', port: 8080 }], [{ ip: '10.0.0.9', pod: 'web-1' }]);
  objects.set(keyOf(moved), moved);
  const second = buildSnapshot(new Map(objects), first, { changedKeys: [keyOf(moved)] });
  assert.equal(second.services.get('a/api'), first.services.get('a/api'));
  assert.notEqual(second.services.get('a/web'), first.services.get('a/web'));
  assert.equal(second.workloads.get('a/api-1'), first.workloads.get('a/api-1'));
  // The same object again (a re-list that changed nothing): every view stays the same object.
  const copy = { ...moved };
  objects.set(keyOf(copy), copy);
  const third = buildSnapshot(new Map(objects), second, { changedKeys: [keyOf(copy)] });
  assert.equal(third.services.get('a/web'), second.services.get('a/web'));
  assert.equal(third.services, second.services);
  assert.equal(third.version, '3');
});

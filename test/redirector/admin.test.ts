// The redirector admin API over a real loaded datapath (its kernel maps, in-process): the conntrack
// table at /debug/maps/ct (decoded, named, capped by ?limit= with the truncation said in headers),
// and the metrics read from the maps (flow events lost from the per-CPU skf_ev_lost, each map's
// max_entries) next to the process's default metrics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { ensureBpffs, numPossibleCpus, type BpfObject } from '../../bpf/libbpf.js';
import { backends, conntrack, CtFlags, CtScope, events, loadDatapath } from '../../bpf/maps/index.js';
import { AdminServer } from '../../redirector/admin.js';
import type { Resources } from '../../redirector/desired-state.js';
import { viewConntrack } from '../../redirector/map-view.js';
import { AgentMetrics } from '../../redirector/metrics.js';
import { requireRoot } from '../helpers/netns.js';

requireRoot('the redirector admin test');
const pinRoot = `/sys/fs/bpf/skiff-admin-test-${process.pid}`;
let object: BpfObject;
let admin: AdminServer;
let base = '';
const metrics = new AgentMetrics();
const SEC = 1_000_000_000n;

const resources = {
  workloads: new Map([
    ['shop/client', { ips: ['10.10.0.2'] }],
    ['shop/web-1', { ips: ['10.10.0.11'] }],
  ]),
  services: new Map([['shop/web', { vips: ['10.96.0.10'] }]]),
  policies: new Map(),
  identities: new Map(),
} as unknown as Resources;

before(async () => {
  ensureBpffs();
  mkdirSync(pinRoot, { recursive: true });
  object = loadDatapath({ pinRoot });
  const ct = object.map(conntrack.MAP_NAME);
  const backendsMap = object.map(backends.MAP_NAME);
  backendsMap.update(backends.encodeKey(7), backends.encodeValue({ addr: '10.10.0.11', port: 8080, proto: 6, flags: 0 }));
  const now = conntrack.monotonicNowNs();
  const value = (v: Partial<conntrack.CtValue>): Buffer =>
    conntrack.encodeValue({ expires: now + 60n * SEC, packets: 3n, bytes: 180n, natAddr: '', natPort: 0, proxyPort: 0, revNatId: 0, backendId: 0, srcIdentity: 0, dstIdentity: 0, flags: 0, tcpFlagsOrig: 0, tcpFlagsReply: 0, ...v });
  ct.update(
    conntrack.encodeKey({ saddr: '10.10.0.2', daddr: '10.96.0.10', sport: 41000, dport: 80, proto: 6, scope: CtScope.SERVICE }),
    value({ backendId: 7, revNatId: 1 }),
  );
  ct.update(
    conntrack.encodeKey({ saddr: '10.10.0.2', daddr: '10.10.0.11', sport: 41000, dport: 8080, proto: 6, scope: CtScope.EGRESS }),
    value({ natAddr: '10.96.0.10', natPort: 80, backendId: 7, flags: CtFlags.DNAT | CtFlags.SEEN_REPLY }),
  );
  ct.update(conntrack.encodeKey({ saddr: '10.10.0.9', daddr: '10.10.0.11', sport: 5000, dport: 53, proto: 17, scope: CtScope.INGRESS }), value({ expires: now - SEC }));
  admin = new AdminServer({
    ready: () => true,
    metrics: () => {
      metrics.observeDatapath(object.maps(), { [backends.MAP_NAME]: 'backends' });
      return metrics.registry.metrics();
    },
    map: () => [],
    conntrack: (limit) => viewConntrack(ct, backendsMap, resources, limit),
    recentFlows: () => [],
    follow: () => () => undefined,
    state: () => ({}),
    tunnel: () => Promise.resolve({}),
  });
  base = `http://127.0.0.1:${await admin.listen('127.0.0.1:0')}`;
});

after(async () => {
  await admin?.close();
  object?.close();
  rmSync(pinRoot, { recursive: true, force: true });
});

type Row = Record<string, unknown>;

test('/debug/maps/ct: entries decoded with scope, flag names, NAT, service, backend pod and lifetime', async () => {
  const res = await fetch(`${base}/debug/maps/ct`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-skiff-total-entries'), '3');
  assert.equal(res.headers.get('x-skiff-truncated'), 'false');
  const rows = (await res.json()) as Row[];
  assert.equal(rows.length, 3);
  const egress = rows.find((r) => r.scope === 'EGRESS');
  assert.deepEqual({ ...egress, lifetime: undefined }, {
    tuple: '10.10.0.2:41000 -> 10.10.0.11:8080 TCP',
    scope: 'EGRESS',
    src: 'shop/client',
    dst: 'shop/web-1',
    flags: 'DNAT|SEEN_REPLY',
    nat: '10.96.0.10:80',
    service: 'shop/web',
    backend: '10.10.0.11:8080 (shop/web-1)',
    proxyPort: 0,
    packets: 3,
    bytes: 180,
    lifetime: undefined,
  });
  assert.match(String(egress?.lifetime), /^(59|60)(\.\d+)?s$/);
  const service = rows.find((r) => r.scope === 'SERVICE');
  assert.equal(service?.dst, 'shop/web', 'a VIP destination is named by its service');
  assert.equal(service?.backend, '10.10.0.11:8080 (shop/web-1)');
  const ingress = rows.find((r) => r.scope === 'INGRESS');
  assert.equal(ingress?.tuple, '10.10.0.9:5000 -> 10.10.0.11:53 UDP');
  assert.equal(ingress?.lifetime, 'expired');
  assert.equal(ingress?.flags, '');
});

test('/debug/maps/ct?limit=N returns at most N entries and says the rest were left out', async () => {
  const res = await fetch(`${base}/debug/maps/ct?limit=1`);
  assert.equal(((await res.json()) as Row[]).length, 1);
  assert.equal(res.headers.get('x-skiff-total-entries'), '3');
  assert.match(res.headers.get('x-skiff-truncated') ?? '', /^true: 1 of 3 entries shown/);
  assert.equal((await fetch(`${base}/debug/maps/ct?limit=lots`)).status, 400);
});

test('/metrics: flow events lost summed over CPUs, each map max_entries, default process metrics', async () => {
  const sample = (text: string, name: string) => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1]);
  let text = await (await fetch(`${base}/metrics`)).text();
  assert.equal(sample(text, 'skiff_redirector_flow_events_lost_total'), 0);
  assert.equal(sample(text, 'skiff_redirector_map_max_entries{map="skf_ct"}'), object.map(conntrack.MAP_NAME).maxEntries);
  assert.equal(sample(text, 'skiff_redirector_map_max_entries{map="backends"}'), object.map(backends.MAP_NAME).maxEntries, 'labelled as skiff_redirector_map_entries is');
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  // The datapath counts lost events per CPU: 2 on the first CPU, 3 on the last.
  const lost = object.map(events.LOST_MAP_NAME);
  const perCpu = Buffer.alloc(lost.valueBufferSize);
  const stride = lost.valueBufferSize / numPossibleCpus();
  perCpu.writeBigUInt64LE(2n, 0);
  perCpu.writeBigUInt64LE(numPossibleCpus() > 1 ? 3n : 5n, numPossibleCpus() > 1 ? stride * (numPossibleCpus() - 1) : 0);
  lost.update(Buffer.alloc(lost.keySize), perCpu);
  text = await (await fetch(`${base}/metrics`)).text();
  assert.equal(sample(text, 'skiff_redirector_flow_events_lost_total'), 5);
});

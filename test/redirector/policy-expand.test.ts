// The policy map entries an endpoint policy expands to, judged by what the datapath does with
// them: the kernel's lookup (most specific key first, default by the endpoint's enforced flag)
// must give every flow the verdict and proxy port the rules give it (deny wins, every layer must
// allow, L7 only where allowed). Random policies over a small space of peers and ports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandDirection, cidrPeerIdentities } from '../../redirector/policy-expand.js';
import { assignSlots } from '../../redirector/slots.js';
import { PolicyVerdict, Proto } from '../../bpf/maps/constants.js';
import type { PolicyKey, PolicyValue } from '../../bpf/maps/policy.js';
import type { DirectionPolicy__Output, PolicyEntry__Output, Protocol__Output } from '../../proto/skiff/v1alpha1/wire.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
const IDS = [300, 301, 302];
const PORTS: [number, number][] = [[0, 0], [80, 80], [81, 81], [80, 81], [443, 443]];
const PROTOS: Protocol__Output[] = ['PROTOCOL_ANY', 'TCP', 'UDP'];

function randomEntry(r: () => number): PolicyEntry__Output {
  const [port, end] = pick(r, PORTS);
  const allow = r() < 0.6;
  const anyPeer = r() < 0.3;
  return {
    any_peer: anyPeer,
    identities: anyPeer ? [] : IDS.filter(() => r() < 0.4),
    cidrs: [],
    protocol: pick(r, PROTOS),
    port,
    end_port: end,
    verdict: allow ? 'ALLOW' : 'DENY',
    proxy_port: allow && r() < 0.3 ? 15001 : 0,
    origin: 'random',
    via_waypoint: false,
  };
}

function covers(e: PolicyEntry__Output, id: number, proto: number, port: number): boolean {
  if (!e.any_peer && !e.identities.includes(id)) return false;
  if (e.protocol === 'TCP' && proto !== Proto.TCP) return false;
  if (e.protocol === 'UDP' && proto !== Proto.UDP) return false;
  return e.port === 0 || (port >= e.port && port <= Math.max(e.port, e.end_port));
}

/** What the rules say. */
function semantics(layers: DirectionPolicy__Output[], id: number, proto: number, port: number): { allow: boolean; proxy: number } {
  let allow = true;
  let proxy = 0;
  for (const layer of layers) {
    const hits = layer.entries.filter((e) => covers(e, id, proto, port));
    if (hits.some((e) => e.verdict === 'DENY')) allow = false;
    else if (!hits.some((e) => e.verdict === 'ALLOW') && layer.enforced) allow = false;
    for (const e of hits) if (e.verdict === 'ALLOW') proxy = Math.max(proxy, e.proxy_port);
  }
  return { allow, proxy: allow ? proxy : 0 };
}

/** What the datapath does (bpf/datapath/policy.h). */
function kernel(entries: Map<string, PolicyValue>, enforced: boolean, id: number, proto: number, port: number): { allow: boolean; proxy: number } {
  for (let i = 0; i < 6; i++) {
    const k = `${i < 3 ? id : 0}/${i % 3 === 2 ? 0 : proto}/${i % 3 === 0 ? port : 0}`;
    const v = entries.get(k);
    if (v) return v.verdict === PolicyVerdict.ALLOW ? { allow: true, proxy: v.proxyPort } : { allow: false, proxy: 0 };
  }
  return { allow: !enforced, proxy: 0 };
}

const keyText = (k: PolicyKey) => `${k.identity}/${k.proto}/${k.dport}`;

test('expanded policy entries give every flow the rules\' verdict and proxy port under the kernel lookup', () => {
  const r = rng(7);
  for (let round = 0; round < 300; round++) {
    const layers: DirectionPolicy__Output[] = Array.from({ length: 1 + Math.floor(r() * 2) }, () => ({
      enforced: r() < 0.6,
      entries: Array.from({ length: Math.floor(r() * 5) }, () => randomEntry(r)),
    }));
    const entries = new Map(expandDirection(1, 0, layers, []).map(([k, v]) => [keyText(k), v]));
    const enforced = layers.some((l) => l.enforced);
    for (const id of [...IDS, 303]) {
      for (const proto of [Proto.TCP, Proto.UDP]) {
        for (const port of [80, 81, 82, 443]) {
          assert.deepEqual(kernel(entries, enforced, id, proto, port), semantics(layers, id, proto, port), `round ${round}: ${id} ${proto}/${port} with ${JSON.stringify(layers)}`);
        }
      }
    }
  }
});

test('a CIDR peer stands for the identities of the prefixes inside it and outside its exceptions', () => {
  const prefixes = [
    { cidr: '10.0.0.0/8', identity: 1 << 24 },
    { cidr: '10.1.0.0/16', identity: (1 << 24) + 1 },
    { cidr: '10.1.2.0/24', identity: (1 << 24) + 2 },
    { cidr: '192.168.0.0/16', identity: (1 << 24) + 3 },
  ];
  assert.deepEqual(cidrPeerIdentities('10.0.0.0/8', ['10.1.0.0/16'], prefixes), [1 << 24]);
  assert.deepEqual(cidrPeerIdentities('10.1.0.0/16', [], prefixes), [(1 << 24) + 1, (1 << 24) + 2]);
  assert.deepEqual(cidrPeerIdentities('0.0.0.0/0', ['10.0.0.0/8'], prefixes), [(1 << 24) + 3]);
});

test('slot assignment moves as few slots as possible', () => {
  assert.deepEqual(assignSlots([], [5, 6, 7]), [5, 6, 7]);
  assert.deepEqual(assignSlots([5, 6, 7], [5, 7]), [5, 7], 'the last slot moves into the hole');
  assert.deepEqual(assignSlots([5, 6, 7], [5, 6, 7, 8]), [5, 6, 7, 8], 'growth appends');
  assert.deepEqual(assignSlots([5, 6, 7], [5, 7, 9]), [5, 9, 7], 'a replacement takes the freed slot');
  assert.deepEqual(assignSlots([5, 6, 7], []), []);
});

test('entries that need L7 only for a waypoint go to the HBONE outbound when given its port; a flow another L7 entry covers goes to the node proxy', () => {
  const l7 = (identities: number[], port: number, via: boolean): PolicyEntry__Output => ({
    any_peer: false, identities, cidrs: [], protocol: 'TCP', port, end_port: port, verdict: 'ALLOW', proxy_port: 15001, origin: 'l7', via_waypoint: via,
  });
  const layer: DirectionPolicy__Output = { enforced: false, entries: [l7([300], 80, true), l7([301], 80, true), l7([301], 0, false)] };
  const ports = (values: [PolicyKey, PolicyValue][]) => new Map(values.map(([k, v]) => [`${k.identity}/${k.dport}`, v.proxyPort]));
  const hbone = ports(expandDirection(1, 1, [layer], [], { proxyPort: 0, waypointPort: 15009 }));
  assert.equal(hbone.get('300/80'), 15009, 'to the waypoint over HBONE');
  assert.equal(hbone.get('301/80'), 15001, 'also needs the node proxy');
  assert.equal(hbone.get('301/0'), 15001);
  const plain = ports(expandDirection(1, 1, [layer], [], { proxyPort: 15001, waypointPort: 0 }));
  assert.equal(plain.get('300/80'), 15001, 'without HBONE, the node proxy as before');
});

// A node whose pinned skf_ct still has the 64-byte value layout of earlier datapaths, as an agent
// restarted with a newer skiff finds it: loadDatapath replaces the map with one of the current
// layout holding the same entries (established connections keep their state), and when the new
// object does not load, the old pin is put back as it was.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, ensureBpffs } from '../../bpf/libbpf.js';
import { conntrack, CtFlags, CtScope, loadDatapath, type MapName, type Tuple } from '../../bpf/maps/index.js';
import { requireRoot } from '../helpers/netns.js';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** Small maps: this test only loads the object. */
const sizes: Partial<Record<MapName, number>> = {
  skf_services: 64, skf_lb_slots: 64, skf_backends: 64, skf_ipcache: 64, skf_endpoints: 64, skf_policy: 64,
  skf_ct: 1024, skf_sock_rnat: 64, skf_events: 1 << 16,
};

function newPinRoot(name: string): string {
  requireRoot('the conntrack migration test');
  ensureBpffs();
  const root = `/sys/fs/bpf/skfmig-${process.pid.toString(36)}-${name}`;
  roots.push(root);
  ensureBpffs(root);
  return root;
}

const now = conntrack.monotonicNowNs();
const blank: conntrack.CtValue = {
  expires: now + 60_000_000_000n, packets: 1n, bytes: 60n, natAddr: '', natPort: 0, proxyPort: 0, revNatId: 0,
  backendId: 0, srcIdentity: 1001, dstIdentity: 1002, flags: 0, tcpFlagsOrig: 0x02, tcpFlagsReply: 0,
};
const entries: [Tuple, conntrack.CtValue][] = [
  [{ saddr: '10.1.0.2', daddr: '10.96.0.10', sport: 41000, dport: 80, proto: 6, scope: CtScope.SERVICE }, { ...blank, revNatId: 3, backendId: 7 }],
  [
    { saddr: '10.1.0.2', daddr: '10.1.0.11', sport: 41000, dport: 8080, proto: 6, scope: CtScope.EGRESS },
    { ...blank, packets: 9n, natAddr: '10.96.0.10', natPort: 80, revNatId: 3, backendId: 7, flags: CtFlags.DNAT | CtFlags.SEEN_REPLY, tcpFlagsReply: 0x12 },
  ],
  [{ saddr: 'fd00::9', daddr: 'fd00::2', sport: 5353, dport: 53, proto: 17, scope: CtScope.INGRESS }, { ...blank, expires: now + 5_000_000_000n }],
];

/** Pins an skf_ct of the 64-byte layout at root holding `entries`, as an earlier datapath left it. */
function pinLegacyConntrack(root: string): void {
  const path = join(root, conntrack.MAP_NAME);
  execFileSync('bpftool', ['map', 'create', path, 'type', 'lru_hash', 'key', '40', 'value', String(conntrack.LEGACY_VALUE_SIZE), 'entries', '1024', 'name', conntrack.MAP_NAME]);
  const map = BpfMap.fromPin(path);
  try {
    for (const [key, value] of entries) map.update(conntrack.encodeKey(key), conntrack.encodeValue(value).subarray(0, conntrack.LEGACY_VALUE_SIZE));
  } finally {
    map.close();
  }
}

/** The values of a conntrack map (hex), ordered like `entries` (undefined where a key is missing). */
function values(map: BpfMap): (string | undefined)[] {
  return entries.map(([key]) => map.lookup(conntrack.encodeKey(key))?.toString('hex'));
}

test('a pinned skf_ct of the 64-byte layout is replaced by one of the current layout holding the same entries', () => {
  const root = newPinRoot('ok');
  pinLegacyConntrack(root);
  const migrations: Record<string, number>[] = [];
  const object = loadDatapath({ pinRoot: root, maxEntries: sizes, onMigrated: (copied) => migrations.push(copied) });
  try {
    assert.deepEqual(migrations, [{ [conntrack.MAP_NAME]: entries.length }] as Record<string, number>[]);
    const ct = object.map(conntrack.MAP_NAME);
    assert.equal(ct.valueSize, conntrack.VALUE.size);
    // every field as it was, backendChecked 0 (a SERVICE entry fills its backend at its next packet)
    assert.deepEqual(values(ct), entries.map(([, value]) => conntrack.encodeValue({ ...value, backendChecked: 0n }).toString('hex')));
    const pinned = BpfMap.fromPin(join(root, conntrack.MAP_NAME));
    try {
      assert.equal(pinned.valueSize, conntrack.VALUE.size, 'the new map is pinned in place of the old');
      assert.equal([...pinned.keys()].length, entries.length);
    } finally {
      pinned.close();
    }
  } finally {
    object.close();
  }
  // the next restart reuses the new pin: nothing to migrate, the entries are there
  const again = loadDatapath({ pinRoot: root, maxEntries: sizes, onMigrated: (copied) => migrations.push(copied) });
  try {
    assert.equal(migrations.length, 1);
    assert.equal([...again.map(conntrack.MAP_NAME).keys()].length, entries.length);
  } finally {
    again.close();
  }
});

test('when the new datapath does not load, the old skf_ct pin is put back with its entries', () => {
  const root = newPinRoot('fail');
  pinLegacyConntrack(root);
  // a pinned skf_services no datapath can reuse (other key size) makes the load fail
  execFileSync('bpftool', ['map', 'create', join(root, 'skf_services'), 'type', 'hash', 'key', '8', 'value', '8', 'entries', '64', 'name', 'skf_services']);
  assert.throws(() => loadDatapath({ pinRoot: root, maxEntries: sizes }));
  const pinned = BpfMap.fromPin(join(root, conntrack.MAP_NAME));
  try {
    assert.equal(pinned.valueSize, conntrack.LEGACY_VALUE_SIZE);
    const legacy = [...pinned.entries()].map(([k, v]) => [conntrack.decodeKey(k).sport, v.length]);
    assert.deepEqual(legacy.sort(), entries.map(([k]) => [k.sport, conntrack.LEGACY_VALUE_SIZE]).sort());
  } finally {
    pinned.close();
  }
});

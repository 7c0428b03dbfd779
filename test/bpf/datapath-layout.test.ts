// The TypeScript map layouts (bpf/maps/*) against the C side: struct sizes and member offsets from
// the BTF of the built datapath.bpf.o, the constants from the preprocessed bpf/datapath/common.h,
// and round trips of every encoder through its decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as m from '../../bpf/maps/index.js';
import * as configMap from '../../bpf/maps/config.js';
import { cMemberName, type Struct } from '../../bpf/maps/struct.js';
import { TUPLE } from '../../bpf/maps/tuple.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface BtfStruct {
  size: number;
  members: Map<string, number>;
}

/** STRUCT name -> size and member bit offsets, from `bpftool btf dump file OBJ format raw`. */
function btfStructs(object: string): Map<string, BtfStruct> {
  const raw = execFileSync('bpftool', ['btf', 'dump', 'file', object, 'format', 'raw'], { encoding: 'utf8' });
  const structs = new Map<string, BtfStruct>();
  let current: BtfStruct | undefined;
  for (const line of raw.split('\n')) {
    const head = /^\[\d+\] STRUCT '(\w+)' size=(\d+)/.exec(line);
    if (head) {
      current = { size: Number(head[2]), members: new Map() };
      structs.set(head[1], current);
      continue;
    }
    const member = /^\s+'(\w+)' type_id=\d+ bits_offset=(\d+)/.exec(line);
    if (member && current) current.members.set(member[1], Number(member[2]));
    else if (!line.startsWith('\t')) current = undefined;
  }
  return structs;
}

const layouts: Struct<object>[] = [
  TUPLE,
  configMap.VALUE,
  m.services.KEY,
  m.services.VALUE,
  m.lbSlots.KEY,
  m.backends.VALUE,
  m.ipcache.KEY,
  m.ipcache.VALUE,
  m.endpoints.KEY,
  m.endpoints.VALUE,
  m.policy.KEY,
  m.policy.VALUE,
  m.conntrack.VALUE,
  m.events.RECORD,
  m.sockRnat.KEY,
  m.sockRnat.VALUE,
] as unknown as Struct<object>[];

test('every TypeScript struct layout matches the BTF of datapath.bpf.o (size and offsets)', () => {
  const btf = btfStructs(m.datapathObjectPath);
  for (const layout of layouts) {
    const c = btf.get(layout.cName);
    assert.ok(c, `struct ${layout.cName} is in the object's BTF`);
    assert.equal(layout.size, c.size, `sizeof(struct ${layout.cName})`);
    const covered = new Set<string>();
    for (const field of layout.fields) {
      const name = cMemberName(field.name);
      assert.equal(c.members.get(name), field.offset * 8, `offsetof(struct ${layout.cName}, ${name})`);
      covered.add(name);
    }
    const missing = [...c.members.keys()].filter((name) => !covered.has(name) && !name.startsWith('pad'));
    assert.deepEqual(missing, [], `members of struct ${layout.cName} the TypeScript side ignores`);
  }
});

/** #define NAME number, from preprocessing common.h as the BPF build does. */
function cConstants(): Map<string, number> {
  const out = execFileSync(
    'clang',
    ['-target', 'bpf', '-dM', '-E', '-I', `${root}bpf/build`, '-I', `${root}bpf/datapath`, `${root}bpf/datapath/common.h`],
    { encoding: 'utf8' },
  );
  const defines = new Map<string, number>();
  for (const match of out.matchAll(/^#define (\w+) (0x[0-9a-fA-F]+|\d+)$/gm)) {
    defines.set(match[1], Number(match[2]));
  }
  return defines;
}

test('the constants of bpf/maps/constants.ts equal the #defines of common.h', () => {
  const c = cConstants();
  const tables: [string, Record<string, number>][] = [
    ['VERDICT_', m.Verdict],
    ['REASON_', m.Reason],
    ['DIR_', m.Direction],
    ['POLICY_', m.PolicyVerdict],
    ['EP_F_', m.EndpointFlags],
    ['SVC_F_', m.ServiceFlags],
    ['CT_SCOPE_', m.CtScope],
    ['CT_F_', m.CtFlags],
    ['EV_', m.EventSource],
    ['IDENTITY_', m.Identity],
  ];
  for (const [prefix, table] of tables) {
    const fromC = Object.fromEntries([...c].filter(([name]) => name.startsWith(prefix)).map(([n, v]) => [n.slice(prefix.length), v]));
    assert.deepEqual(fromC, { ...table }, `${prefix}* constants`);
  }
  assert.equal(c.get('MARK_MASK'), m.MARK_MASK);
  assert.equal(c.get('MARK_TO_PROXY'), m.MARK_TO_PROXY);
  assert.equal(c.get('MARK_FROM_PROXY'), m.MARK_FROM_PROXY);
  assert.equal(c.get('SKF_AF_INET'), m.AF_INET);
  assert.equal(c.get('SKF_AF_INET6'), m.AF_INET6);
});

test('encoders and decoders round-trip, with network order where the C side uses it', () => {
  const key = m.services.encodeKey({ addr: '10.96.0.10', port: 80, proto: m.Proto.TCP });
  assert.equal(key.toString('hex'), `0a60000a${'00'.repeat(12)}0050${'06'}${'02'}`);
  assert.deepEqual(m.services.decodeKey(key), { addr: '10.96.0.10', port: 80, proto: 6, family: m.AF_INET });

  const ct = {
    saddr: 'fd00::1', daddr: 'fd00::2', sport: 40000, dport: 443, proto: m.Proto.TCP, scope: m.CtScope.INGRESS,
  };
  assert.deepEqual(m.conntrack.decodeKey(m.conntrack.encodeKey(ct)), { ...ct, family: m.AF_INET6 });

  const ip = m.ipcache.encodeKey({ cidr: '10.0.0.0/8' });
  assert.equal(ip.readUInt32LE(0), 40, 'LPM prefix covers the family word');
  assert.deepEqual(m.ipcache.decodeKey(ip), { cidr: '10.0.0.0/8' });
  assert.deepEqual(m.ipcache.decodeKey(m.ipcache.encodeKey({ cidr: 'fd00::5' })), { cidr: 'fd00::5/128' });

  const pk = { endpointId: 3, identity: 1002, dport: 8080, proto: 6, direction: m.Direction.EGRESS };
  assert.deepEqual(m.policy.decodeKey(m.policy.encodeKey(pk)), pk);
  const pv = { verdict: m.PolicyVerdict.ALLOW, flags: 0, proxyPort: 15001 };
  assert.equal(m.policy.encodeValue(pv).readUInt16LE(2), 15001, 'proxy_port is host order');
  assert.deepEqual(m.policy.decodeValue(m.policy.encodeValue(pv)), pv);

  const cv: m.conntrack.CtValue = {
    expires: 123n, packets: 4n, bytes: 500n, natAddr: '10.96.0.10', natPort: 80, proxyPort: 0, revNatId: 7,
    backendId: 2, srcIdentity: 1001, dstIdentity: 1002, flags: m.CtFlags.DNAT, tcpFlagsOrig: 0x12, tcpFlagsReply: 0x10,
    backendChecked: 99n,
  };
  assert.deepEqual(m.conntrack.decodeValue(m.conntrack.encodeValue(cv), m.AF_INET), cv);
  // a value of the 64-byte layout (a pinned map from before backendChecked) keeps every field
  const legacy = m.conntrack.encodeValue(cv).subarray(0, m.conntrack.LEGACY_VALUE_SIZE);
  assert.deepEqual(m.conntrack.decodeValue(m.conntrack.upgradeLegacyValue(legacy), m.AF_INET), { ...cv, backendChecked: 0n });

  const ep = { endpointId: 1, identity: 1001, ifindex: 9, flags: m.EndpointFlags.INGRESS_ENFORCED };
  assert.equal(m.endpoints.decodeKey(m.endpoints.encodeKey('10.1.2.3')), '10.1.2.3');
  assert.deepEqual(m.endpoints.decodeValue(m.endpoints.encodeValue(ep)), ep);

  const be = { addr: '10.77.0.21', port: 8000, proto: 6, flags: 0 };
  assert.deepEqual(m.backends.decodeValue(m.backends.encodeValue(be)), { ...be, family: m.AF_INET });
  assert.deepEqual(m.lbSlots.decodeKey(m.lbSlots.encodeKey({ revNatId: 7, slot: 3 })), { revNatId: 7, slot: 3 });

  const cfg = { proxyAddr4: '127.0.0.1', flags: 0, proxyAddr6: '::1', hbonePort: 15009 };
  assert.deepEqual(configMap.decodeValue(configMap.encodeValue(cfg)), cfg);
});

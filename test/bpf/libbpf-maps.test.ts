// The libbpf binding against the real kernel, without traffic: opening and loading objects, map
// CRUD, iteration, batch operations (and their per-element fallback), per-CPU values, pinning and
// reopening by pin, and the errors (errno, code, libbpf messages, verifier log).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  BpfError,
  BpfMap,
  BpfObject,
  ensureBpffs,
  ifindexOf,
  numPossibleCpus,
} from '../../bpf/libbpf.js';
import { objectPath, pinDir, u32, u64 } from './libbpf-fixtures.js';

const pins = pinDir('maps');
const opened: { close(): void }[] = [];
after(() => {
  for (const o of opened) o.close();
  pins.remove();
});

let pinRoots = 0;
/** Opens and loads a test object; its pinned-by-name maps go to pinRoot (a fresh one by default). */
function open(name: string, pinRoot = join(pins.path, `root${++pinRoots}`)): BpfObject {
  mkdirSync(pinRoot, { recursive: true });
  const obj = BpfObject.open(objectPath(name), { pinRoot });
  opened.push(obj);
  return obj;
}

function load(name: string, pinRoot?: string): BpfObject {
  return open(name, pinRoot).load();
}

function lpmKey(prefixlen: number, addr: string): Buffer {
  const key = Buffer.alloc(8);
  key.writeUInt32LE(prefixlen);
  Buffer.from(addr.split('.').map(Number)).copy(key, 4);
  return key;
}

test('an object lists its maps and programs with their kernel shapes', () => {
  const obj = load('tc_count');
  const names = obj.maps().map((m) => m.name).sort();
  assert.deepEqual(names, ['counters', 'events', 'percpu_packets', 'prefixes', 'table']);
  const table = obj.map('table');
  assert.equal(table.typeName, 'hash');
  assert.equal(table.keySize, 4);
  assert.equal(table.valueSize, 8);
  assert.equal(table.maxEntries, 4096);
  assert.ok(table.fd > 0);
  const prog = obj.program('count_packets');
  assert.equal(prog.typeName, 'sched_cls');
  assert.equal(prog.section, 'tc');
  assert.ok(prog.id > 0);
  assert.throws(() => obj.map('nope'), (e: BpfError) => e.code === 'ENOENT');
});

test('map CRUD: lookup, update with flags, delete, lookupAndDelete', () => {
  const table = load('tc_count').map('table');
  assert.equal(table.lookup(u32(1)), undefined);
  table.update(u32(1), u64(10));
  assert.deepEqual(table.lookup(u32(1)), u64(10));
  table.update(u32(1), u64(11), 'exist');
  assert.deepEqual(table.lookup(u32(1)), u64(11));
  assert.throws(() => table.update(u32(1), u64(12), 'noexist'), (e: BpfError) => {
    return e instanceof BpfError && e.code === 'EEXIST' && e.errno === 17 && /map update/.test(e.message);
  });
  assert.throws(() => table.update(u32(2), u64(12), 'exist'), (e: BpfError) => e.code === 'ENOENT');
  assert.equal(table.delete(u32(1)), true);
  assert.equal(table.delete(u32(1)), false);
  table.update(u32(3), u64(33));
  assert.deepEqual(table.lookupAndDelete(u32(3)), u64(33));
  assert.equal(table.lookup(u32(3)), undefined);
  assert.throws(() => table.lookup(Buffer.alloc(3)), (e: BpfError) => e.code === 'EINVAL');
});

test('keys() and entries() walk every element', () => {
  const table = load('tc_count').map('table');
  for (let i = 0; i < 100; i++) table.update(u32(i), u64(i * 2));
  const seen = new Map<number, bigint>();
  for (const [k, v] of table.entries()) seen.set(k.readUInt32LE(), v.readBigUInt64LE());
  assert.equal(seen.size, 100);
  for (let i = 0; i < 100; i++) assert.equal(seen.get(i), BigInt(i * 2));
  assert.equal([...table.keys()].length, 100);
});

test('batchUpdate and batchDelete write and remove many entries at once', () => {
  const table = load('tc_count').map('table');
  const keys = Array.from({ length: 1000 }, (_, i) => u32(i));
  table.batchUpdate(keys, keys.map((_, i) => u64(i + 7)));
  assert.equal([...table.keys()].length, 1000);
  assert.deepEqual(table.lookup(u32(999)), u64(1006));
  assert.equal(table.batchDelete(keys.slice(0, 600)), 600);
  assert.equal([...table.keys()].length, 400);
  // Keys already gone are skipped, not an error.
  assert.equal(table.batchDelete(keys.slice(590, 610)), 10);
  assert.equal([...table.keys()].length, 390);
});

test('batch operations fall back to one element at a time where the map type has none (LPM trie)', () => {
  const prefixes = load('tc_count').map('prefixes');
  const keys = [lpmKey(8, '10.0.0.0'), lpmKey(16, '10.1.0.0'), lpmKey(24, '10.1.2.0')];
  prefixes.batchUpdate(keys, [u32(1), u32(2), u32(3)]);
  assert.deepEqual(prefixes.lookup(lpmKey(32, '10.1.2.3')), u32(3));
  assert.deepEqual(prefixes.lookup(lpmKey(32, '10.1.9.9')), u32(2));
  assert.deepEqual(prefixes.lookup(lpmKey(32, '10.9.9.9')), u32(1));
  assert.equal(prefixes.batchDelete(keys.slice(1)), 2);
  assert.deepEqual(prefixes.lookup(lpmKey(32, '10.1.2.3')), u32(1));
});

test('per-CPU maps take and return one rounded-up value per possible CPU', () => {
  const map = load('tc_count').map('percpu_packets');
  const cpus = numPossibleCpus();
  assert.ok(cpus >= 1);
  assert.equal(map.perCpu, true);
  assert.equal(map.valueBufferSize, cpus * 8);
  map.update(u32(0), Buffer.concat(Array.from({ length: cpus }, (_, i) => u64(100 + i))));
  const values = map.perCpuValues(map.lookup(u32(0)) as Buffer);
  assert.deepEqual(values.map((v) => Number(v.readBigUInt64LE())), Array.from({ length: cpus }, (_, i) => 100 + i));
  assert.throws(() => map.update(u32(0), u64(1)), (e: BpfError) => e.code === 'EINVAL');
});

test('setMaxEntries before load sizes the map', () => {
  const obj = open('tc_count').setMaxEntries('table', 123);
  assert.equal(obj.load().map('table').maxEntries, 123);
});

test('maps pinned by name under pinRoot are reused by the next object, and pin/fromPin reopen a map', () => {
  const first = load('tc_count', pins.path);
  first.map('table').update(u32(42), u64(4242));
  first.map('counters').pin(join(pins.path, 'counters'));
  first.map('counters').update(u32(1), u64(77));
  first.close();
  assert.throws(() => first.map('table').fd, (e: BpfError) => e.code === 'EBADF');

  const second = load('tc_count', pins.path);
  assert.deepEqual(second.map('table').lookup(u32(42)), u64(4242));
  second.close();

  const table = BpfMap.fromPin(join(pins.path, 'table'));
  const counters = BpfMap.fromPin(join(pins.path, 'counters'));
  opened.push(table, counters);
  assert.equal(table.name, 'table');
  assert.equal(table.typeName, 'hash');
  assert.equal(table.keySize, 4);
  assert.deepEqual([...table.entries()], [[u32(42), u64(4242)]]);
  assert.deepEqual(counters.lookup(u32(1)), u64(77));
  table.close();
  assert.throws(() => table.lookup(u32(42)), (e: BpfError) => e.code === 'EBADF');
});

test('a program the verifier rejects fails to load with the verifier log', () => {
  const obj = open('verifier_reject');
  assert.throws(
    () => obj.load(),
    (e: unknown) => {
      assert.ok(e instanceof BpfError);
      assert.equal(e.code, 'EACCES');
      assert.equal(e.errno, 13);
      assert.match(e.libbpfMessage, /unchecked_lookup/);
      assert.match(e.verifierLog ?? '', /invalid mem access 'map_value_or_null'/);
      assert.match(e.message, /verifier: R0 invalid mem access/);
      return true;
    },
  );
});

test('failures carry errno and code: missing files and pins, array deletes, unknown interfaces', () => {
  assert.throws(() => BpfObject.open('/nonexistent.bpf.o'), (e: BpfError) => e.code === 'ENOENT' && e.errno === 2);
  assert.throws(() => BpfMap.fromPin(join(pins.path, 'missing')), (e: BpfError) => e.code === 'ENOENT');
  const counters = load('tc_count').map('counters');
  assert.throws(() => counters.delete(u32(0)), (e: BpfError) => e.code === 'EINVAL');
  assert.throws(() => ifindexOf('skiff-no-such'), (e: BpfError) => e.code === 'ENODEV');
  assert.equal(ifindexOf('lo'), 1);
});

test('an unprivileged process gets EPERM with errno 1', () => {
  const libbpf = fileURLToPath(new URL('../../bpf/libbpf.js', import.meta.url));
  const script = `import(${JSON.stringify(libbpf)}).then((b) => {
    try { b.BpfObject.open(${JSON.stringify(objectPath('tc_count'))}).load(); console.log('loaded'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, errno: e.errno, name: e.name })); }
  });`;
  const r = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '-e', script],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { code: 'EPERM', errno: 1, name: 'BpfError' });
});

test('ensureBpffs mounts a bpffs where there is none, once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bpffs-'));
  try {
    assert.equal(ensureBpffs(dir), true);
    assert.equal(ensureBpffs(dir), false);
    assert.match(spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout, /bpf/);
  } finally {
    spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

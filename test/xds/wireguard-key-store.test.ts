// The control plane's saved WireGuard keys: a damaged <ca-dir>/wireguard-keys.json is reported and
// skipped (the agents republish), never a failed start; valid entries of the file still count.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { WIREGUARD_KEYS_FILE, WireGuardKeyStore } from '../../xds/ca/wireguard-keys.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-wg-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');

function load(content: string): { store: WireGuardKeyStore; warnings: string[] } {
  writeFileSync(join(dir, WIREGUARD_KEYS_FILE), content);
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg as string) });
  return { store: new WireGuardKeyStore(dir, log), warnings };
}

test('saved keys load; an invalid entry is skipped with a warning naming its node', () => {
  const { store, warnings } = load(
    JSON.stringify({
      'node-a': { publicKey: KEY_A, nextPublicKey: '' },
      'node-b': { publicKey: 'not a key', nextPublicKey: '' },
      'node-c': 'a string',
      'node-d': { publicKey: KEY_A, nextPublicKey: KEY_B },
    }),
  );
  assert.deepEqual([...store.all()], [
    ['node-a', { publicKey: KEY_A, nextPublicKey: '' }],
    ['node-d', { publicKey: KEY_A, nextPublicKey: KEY_B }],
  ]);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0] ?? '', /invalid; skipped until it republishes/);
});

for (const [name, content] of [
  ['a truncated file', '{"node-a": {"publicKey": "'],
  ['an empty file', ''],
  ['a JSON array', '[1, 2]'],
  ['JSON null', 'null'],
]) {
  test(`${name} starts the store empty with a warning, and the next publication rewrites the file`, () => {
    const { store, warnings } = load(content as string);
    assert.equal(store.all().size, 0);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /starting without them until the agents republish/);
    assert.equal(store.set('node-a', { publicKey: KEY_A, nextPublicKey: '' }), true);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, WIREGUARD_KEYS_FILE), 'utf8')), { 'node-a': { publicKey: KEY_A, nextPublicKey: '' } });
  });
}

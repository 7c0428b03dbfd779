// The `skiff` dispatcher: help, unknown commands, and exit codes, through the real binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

function skiff(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
}

test('skiff --help lists the commands and exits 0', () => {
  const r = skiff('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Usage: skiff <command>/);
  assert.match(r.stdout, /version/);
});

test('an unknown command is a usage error (exit 2)', () => {
  const r = skiff('no-such-command');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'no-such-command'/);
});

test('skiff version prints the package version', () => {
  const r = skiff('version');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^skiff \d+\.\d+\.\d+\n$/);
});

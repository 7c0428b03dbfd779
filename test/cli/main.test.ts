// The `skiff` dispatcher: help, unknown commands, and exit codes, through the real binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll, registry } from '../../cli/commands/index.js';

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

// A module-loader hook (registered with node:module's register) that appends every URL the ESM
// loader loads to the file $SKIFF_LOAD_LOG: what a `skiff` run imported, without timing anything.
const recordLoads = `export function load(url, context, next) {
  appendFileSync(process.env.SKIFF_LOAD_LOG, url + '\\n');
  return next(url, context);
}
import { appendFileSync } from 'node:fs';`;
const registerHook = `import { register } from 'node:module';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(recordLoads)}`)});`;

/** Runs `skiff args…` and returns its result and the URLs of the modules it loaded. */
function skiffLoads(...args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-loads-'));
  try {
    const log = join(dir, 'loaded');
    const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(registerHook)}`, bin, ...args], {
      encoding: 'utf8',
      env: { ...process.env, SKIFF_LOAD_LOG: log },
    });
    return { ...r, loaded: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const commandModule = (url: string): string | undefined => /\/cli\/commands\/([\w-]+)\.js$/.exec(url)?.[1];
const heavy = (url: string): boolean => /node_modules\/(@grpc|@kubernetes|protobufjs)\/|\/xds\/|\/envoy\//.test(url);

test('skiff --help and skiff version load no heavy module; a command loads only its own module', () => {
  const help = skiffLoads('--help');
  assert.equal(help.status, 0);
  assert.ok(help.loaded.some((u) => u.endsWith('/cli/main.js')), 'the hook saw the CLI load');
  assert.deepEqual(help.loaded.map(commandModule).filter((m) => m && m !== 'index'), [], 'the list loads no command module');
  assert.deepEqual(help.loaded.filter(heavy), []);

  const version = skiffLoads('version');
  assert.equal(version.status, 0);
  assert.match(version.stdout, /^skiff \d+\.\d+\.\d+\n$/);
  assert.deepEqual(version.loaded.map(commandModule).filter((m) => m && m !== 'index'), ['version']);
  assert.deepEqual(version.loaded.filter(heavy), [], 'skiff version loads no gRPC, Kubernetes client, protos or xDS');

  const meshHelp = skiffLoads('mesh', '--help');
  assert.equal(meshHelp.status, 0);
  assert.match(meshHelp.stdout, /^Usage: skiff mesh /);
  assert.deepEqual(meshHelp.loaded.map(commandModule).filter((m) => m && m !== 'index'), ['mesh']);
});

test('the registry names and summaries agree with the command modules', async () => {
  const loaded = await loadAll();
  assert.deepEqual(
    loaded.map((c) => [c.name, c.summary]),
    registry.map((c) => [c.name, c.summary]),
  );
});

test('skiff help <command> prints its help; a usage error shows the command help and exits 2', () => {
  const help = skiff('help', 'version');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: skiff version/);
  const bad = skiff('completion', 'fish');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^skiff completion: /);
  assert.match(bad.stderr, /Usage: skiff completion bash\|zsh/);
  assert.equal(skiff().status, 2, 'no command is a usage error');
});

// DirectorySource against real files in a temporary directory: the example mesh, added, changed and
// removed files, half-written files, duplicates across files, unknown kinds, and both change paths
// (fs.watch and polling).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectorySource } from '../../config/sources/directory.js';
import { EXAMPLE_DIR, eventually, exampleFiles, withTempDir } from './directory-helpers.js';

const service = (name: string, port = 80, namespace = 'shop') => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  selector:
    app: ${name}
  ports:
    - port: ${port}
`;

/** A source that only changes when the test calls refresh(). */
async function manual(dir: string): Promise<DirectorySource> {
  const source = new DirectorySource(dir, { watch: false, pollIntervalMs: 3_600_000 });
  await source.start();
  return source;
}

test('every examples/mesh file loads with zero issues', async () => {
  const source = new DirectorySource(EXAMPLE_DIR, { watch: false });
  await source.start();
  try {
    assert.deepEqual(source.issues(), []);
    assert.equal(exampleFiles().length, 8);
    assert.equal(source.objects().size, 28);
    for (const key of ['Namespace//shop', 'Node//node-a', 'Node//node-b', 'MeshConfig/default/mesh', 'Service/shop/orders',
      'Pod/shop/orders-v2-5b8d9f6c7-q9r4n', 'EndpointSlice/shop/inventory-w5m8d', 'HTTPRoute/shop/orders-canary',
      'GRPCRoute/shop/inventory-grpc', 'CiliumNetworkPolicy/shop/orders-allow-frontend-post',
      'NetworkPolicy/shop/postgres-allow-orders', 'AuthorizationPolicy/shop/payments-orders-only']) {
      assert.ok(source.objects().has(key), key);
    }
  } finally {
    await source.stop();
  }
});

test('added, changed and removed files (recursively, .yml too, dot-entries skipped) change the objects', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'a.yaml'), service('web'));
    const source = await manual(dir);
    let changes = 0;
    source.onChange(() => changes++);
    try {
      assert.deepEqual([...source.objects().keys()], ['Service/shop/web']);
      await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
      await writeFile(join(dir, 'nested', 'deeper', 'b.yml'), service('api'));
      await writeFile(join(dir, '.hidden.yaml'), service('hidden'));
      await writeFile(join(dir, 'notes.txt'), 'not yaml');
      await source.refresh();
      assert.deepEqual([...source.objects().keys()].sort(), ['Service/shop/api', 'Service/shop/web']);
      assert.equal(changes, 1);

      await writeFile(join(dir, 'a.yaml'), service('web', 8080));
      await source.refresh();
      const web = source.objects().get('Service/shop/web') as { spec: { ports: { port: number }[] } };
      assert.equal(web.spec.ports[0]!.port, 8080);
      assert.equal(changes, 2);

      await writeFile(join(dir, 'a.yaml'), service('web', 8080)); // same content: no effective change
      await source.refresh();
      assert.equal(changes, 2);

      await rm(join(dir, 'nested'), { recursive: true });
      await source.refresh();
      assert.deepEqual([...source.objects().keys()], ['Service/shop/web']);
      assert.equal(changes, 3);
      assert.deepEqual(source.issues(), []);
    } finally {
      await source.stop();
    }
  });
});

test('a half-written file keeps its last good objects and reports the issue; the fixed file is picked up', async () => {
  await withTempDir(async (dir) => {
    const good = `${service('web')}---\n${service('api', 9090)}`;
    await writeFile(join(dir, 'app.yaml'), good);
    await writeFile(join(dir, 'other.yaml'), service('db', 5432));
    const source = await manual(dir);
    try {
      assert.equal(source.objects().size, 3);
      // Cut in the middle of the second document's flow mapping: a syntax error.
      await writeFile(join(dir, 'app.yaml'), `${service('web', 81)}---\napiVersion: v1\nkind: Service\nmetadata: {name: api,\n`);
      await source.refresh();
      assert.equal(source.objects().size, 3, 'nothing is lost');
      const web = source.objects().get('Service/shop/web') as { spec: { ports: { port: number }[] } };
      assert.equal(web.spec.ports[0]!.port, 80, 'none of a file that does not parse is trusted');
      const errors = source.issues().filter((i) => i.severity === 'error');
      assert.ok(errors.length >= 1);
      for (const issue of errors) {
        assert.equal(issue.source, join(dir, 'app.yaml'));
        assert.ok(issue.line !== undefined && issue.line >= 13, `line ${issue.line}`);
      }
      assert.ok(source.issues().some((i) => i.severity === 'warning' && /does not parse: keeping the last good version of its 2 object/.test(i.message)));

      // An invalid object: its last good version stays, and the issue names file, line, object, field.
      await writeFile(join(dir, 'other.yaml'), service('db', 70000));
      await source.refresh();
      const db = source.objects().get('Service/shop/db') as { spec: { ports: { port: number }[] } };
      assert.equal(db.spec.ports[0]!.port, 5432);
      await writeFile(join(dir, 'app.yaml'), `${service('web', 81)}---\n${service('api', 0)}`);
      await source.refresh();
      const webNow = source.objects().get('Service/shop/web') as { spec: { ports: { port: number }[] } };
      const api = source.objects().get('Service/shop/api') as { spec: { ports: { port: number }[] } };
      assert.deepEqual([webNow.spec.ports[0]!.port, api.spec.ports[0]!.port], [81, 9090], 'in a file that parses, valid objects apply and an invalid one keeps its last good version');
      const portIssue = source.issues().find((i) => i.field === 'spec.ports[0].port' && i.object === 'Service/shop/db');
      assert.deepEqual(portIssue && { source: portIssue.source, line: portIssue.line, object: portIssue.object }, { source: join(dir, 'other.yaml'), line: 10, object: 'Service/shop/db' });

      await writeFile(join(dir, 'app.yaml'), `${service('web', 82)}`);
      await writeFile(join(dir, 'other.yaml'), service('db', 5433));
      await source.refresh();
      assert.deepEqual(source.issues(), []);
      assert.deepEqual([...source.objects().keys()].sort(), ['Service/shop/db', 'Service/shop/web'], 'a fixed file that dropped api removes it');
    } finally {
      await source.stop();
    }
  });
});

test('a file truncated to empty keeps its objects for a moment, then is empty', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'app.yaml'), service('web'));
    const source = new DirectorySource(dir, { watch: false, pollIntervalMs: 3_600_000, debounceMs: 25 });
    await source.start();
    try {
      await writeFile(join(dir, 'app.yaml'), '');
      await source.refresh();
      assert.equal(source.objects().size, 1, 'a truncated file may be mid-rewrite');
      await eventually(() => source.objects().size === 0, 5000, 'the empty file to take effect');
      await writeFile(join(dir, 'app.yaml'), service('web'));
      await source.refresh();
      assert.equal(source.objects().size, 1);
    } finally {
      await source.stop();
    }
  });
});

test('the same object in two files: the first by path wins and the issue names both places', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'b.yaml'), `# second\n${service('web', 2)}`);
    await writeFile(join(dir, 'a.yaml'), service('web', 1));
    const source = await manual(dir);
    try {
      const web = source.objects().get('Service/shop/web') as { spec: { ports: { port: number }[] } };
      assert.equal(web.spec.ports[0]!.port, 1);
      assert.equal(source.issues().length, 1);
      const issue = source.issues()[0]!;
      assert.equal(issue.source, join(dir, 'b.yaml'));
      assert.equal(issue.line, 2);
      assert.equal(issue.object, 'Service/shop/web');
      assert.ok(issue.message.includes(`${join(dir, 'a.yaml')}:1`), issue.message);

      await rm(join(dir, 'a.yaml'));
      await source.refresh();
      const now = source.objects().get('Service/shop/web') as { spec: { ports: { port: number }[] } };
      assert.equal(now.spec.ports[0]!.port, 2, 'removing the winner leaves the other');
      assert.deepEqual(source.issues(), []);

      await writeFile(join(dir, 'b.yaml'), `${service('web', 3)}---\n${service('web', 4)}`);
      await source.refresh();
      assert.equal((source.objects().get('Service/shop/web') as { spec: { ports: { port: number }[] } }).spec.ports[0]!.port, 3);
      assert.equal(source.issues().length, 1);
      assert.equal(source.issues()[0]!.line, 12);
    } finally {
      await source.stop();
    }
  });
});

test('unknown kinds are warned about and ignored; the rest of the file loads', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'mixed.yaml'), `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\n${service('web')}`);
    const source = await manual(dir);
    try {
      assert.deepEqual([...source.objects().keys()], ['Service/shop/web']);
      assert.equal(source.issues().length, 1);
      assert.deepEqual({ ...source.issues()[0], message: undefined }, { severity: 'warning', source: join(dir, 'mixed.yaml'), line: 1, object: 'Deployment/default/web', message: undefined });
    } finally {
      await source.stop();
    }
  });
});

test('fs.watch picks up changes without polling, bursts coalesced', async () => {
  await withTempDir(async (dir) => {
    const source = new DirectorySource(dir, { pollIntervalMs: 3_600_000 });
    await source.start();
    let changes = 0;
    source.onChange(() => changes++);
    try {
      for (let i = 0; i < 20; i++) await writeFile(join(dir, `s${i}.yaml`), service(`s${i}`));
      await eventually(() => source.objects().size === 20, 5000, 'all 20 files through fs.watch');
      assert.ok(changes >= 1 && changes < 20, `${changes} changes for a burst of 20 files`);
      // An editor's save: write a temporary file, rename it over the original.
      await writeFile(join(dir, '.s0.yaml.tmp'), service('s0', 8443));
      await rename(join(dir, '.s0.yaml.tmp'), join(dir, 's0.yaml'));
      await eventually(() => (source.objects().get('Service/shop/s0') as { spec: { ports: { port: number }[] } }).spec.ports[0]!.port === 8443, 5000, 'the renamed file');
      await rm(join(dir, 's1.yaml'));
      await eventually(() => !source.objects().has('Service/shop/s1'), 5000, 'the removal');
    } finally {
      await source.stop();
    }
  });
});

test('polling alone picks up changes when watching is off, and a directory that appears later', async () => {
  await withTempDir(async (parent) => {
    const dir = join(parent, 'config');
    const source = new DirectorySource(dir, { watch: false, pollIntervalMs: 30 });
    await source.start();
    try {
      assert.equal(source.objects().size, 0);
      assert.equal(source.issues().length, 1);
      assert.match(source.issues()[0]!.message, /cannot read directory/);
      await mkdir(dir);
      await copyFile(join(EXAMPLE_DIR, '20-routes.yaml'), join(dir, 'routes.yaml'));
      await eventually(() => source.objects().size === 2 && source.issues().length === 0, 5000, 'the polled file');
    } finally {
      await source.stop();
    }
  });
});

test('a single file given instead of a directory is loaded and followed', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'mesh.yaml');
    await writeFile(file, service('web'));
    const source = await manual(file);
    try {
      assert.deepEqual([...source.objects().keys()], ['Service/shop/web']);
      await writeFile(file, `${service('web')}---\n${service('api')}`);
      await source.refresh();
      assert.deepEqual([...source.objects().keys()], ['Service/shop/web', 'Service/shop/api']);
      assert.deepEqual(source.issues(), []);
    } finally {
      await source.stop();
    }
  });
});

test('a directory that cannot be read keeps its files\' last good objects until it is back', async () => {
  await withTempDir(async (parent) => {
    const dir = join(parent, 'config');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'a.yaml'), service('web'));
    await writeFile(join(dir, 'sub', 'b.yaml'), service('api'));
    const source = await manual(dir);
    try {
      assert.equal(source.objects().size, 2);
      await rename(dir, join(parent, 'elsewhere'));
      await source.refresh();
      assert.equal(source.objects().size, 2, 'a vanished directory does not empty the mesh');
      assert.match(source.issues()[0]?.message ?? '', /cannot read directory/);
      await rename(join(parent, 'elsewhere'), dir);
      await rm(join(dir, 'sub'), { recursive: true });
      await source.refresh();
      assert.deepEqual([...source.objects().keys()], ['Service/shop/web'], 'once readable, removals count');
      assert.deepEqual(source.issues(), []);
    } finally {
      await source.stop();
    }
  });
});

test('symlinked directories are followed once (a loop is no duplicate); a throwing listener harms nothing', async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'team'));
    await writeFile(join(dir, 'team', 'web.yaml'), service('web'));
    await symlink('..', join(dir, 'team', 'loop'));
    await symlink(join(dir, 'team'), join(dir, 'team-link'));
    const source = await manual(dir);
    let calls = 0;
    source.onChange(() => {
      throw new Error('listener bug');
    });
    source.onChange(() => calls++);
    try {
      assert.deepEqual([...source.objects().keys()], ['Service/shop/web']);
      assert.deepEqual(source.issues(), []);
      await writeFile(join(dir, 'team', 'web.yaml'), service('web', 81));
      await source.refresh();
      assert.equal(calls, 1, 'the second listener still runs');
      assert.equal((source.objects().get('Service/shop/web') as { spec: { ports: { port: number }[] } }).spec.ports[0]!.port, 81);
    } finally {
      await source.stop();
    }
  });
});

test('many files read ahead of the parser: each file gets its own objects and issues, in path order, on every scan', async () => {
  await withTempDir(async (dir) => {
    const big = 'x'.repeat(4000);
    const file = (i: number) => join(dir, `f${String(i).padStart(2, '0')}.yaml`);
    const write = (i: number, port: number) =>
      writeFile(file(i), i % 7 === 3 ? `# too big\n${big}\n` : `${service(`svc-${i}`, port)}---\n${service('shared', i + 1)}`);
    for (let i = 0; i < 30; i++) await write(i, 80);
    const source = new DirectorySource(dir, { watch: false, pollIntervalMs: 3_600_000, maxFileBytes: 1000 });
    await source.start();
    try {
      const tooBig = [3, 10, 17, 24];
      const check = (port: number) => {
        for (let i = 0; i < 30; i++) {
          const svc = source.objects().get(`Service/shop/svc-${i}`) as { spec: { ports: { port: number }[] } } | undefined;
          if (tooBig.includes(i)) assert.equal(svc, undefined, `f${i} is over the size limit`);
          else assert.equal(svc?.spec.ports[0]?.port, i === 0 ? 80 : port, `svc-${i}`);
        }
        const shared = source.objects().get('Service/shop/shared') as { spec: { ports: { port: number }[] } };
        assert.equal(shared.spec.ports[0]!.port, 1, 'the first file by path wins');
        const sizes = source.issues().filter((i) => i.message.includes('more than the limit'));
        assert.deepEqual(sizes.map((i) => i.source), tooBig.map(file));
        const duplicates = source.issues().filter((i) => i.message.startsWith('duplicate object'));
        assert.equal(duplicates.length, 30 - tooBig.length - 1);
      };
      check(80);
      for (let i = 1; i < 30; i++) await write(i, 81);
      await source.refresh();
      check(81);
    } finally {
      await source.stop();
    }
  });
});

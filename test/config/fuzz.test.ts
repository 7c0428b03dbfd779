// Fuzzing the loader with a fixed seed: random and mutated YAML (from the example mesh: deleted,
// duplicated and retyped fields, truncation, huge strings, 10k-level nesting, 5 MB documents, alias
// bombs, duplicate objects, binary garbage) through parseDocuments, validateObject and
// DirectorySource. Nothing throws, the last good state is never lost, and every issue names its
// source, says why, and gives a line wherever the input had one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { appendFile, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { parseDocuments } from '../../config/parse/yaml.js';
import { objectKey } from '../../config/resources.js';
import type { ConfigIssue } from '../../config/source.js';
import { DirectorySource } from '../../config/sources/directory.js';
import { validateObject } from '../../config/validate/index.js';
import { EXAMPLE_DIR, eventually, exampleFiles, rng, withTempDir, type Rng } from './directory-helpers.js';

const SEED = 0x5eed2026;


const EXAMPLES = exampleFiles().map((name) => ({ name, text: readFileSync(join(EXAMPLE_DIR, name), 'utf8') }));

const RETYPES: unknown[] = [null, 0, -1, 65536, 1e21, 0.5, '', 'x', '☃️ ünïcode', true, [], [null], {}, { a: { b: [1] } }, 'A'.repeat(100_000)];

function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = prefix.length > 0 ? [prefix] : [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function parentOf(root: unknown, path: (string | number)[]): Record<string | number, unknown> {
  let node = root as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  return node;
}

/** A structural mutation of one document of a file: delete, duplicate or retype a field. */
function mutateObjects(r: Rng, text: string): string {
  const docs = parseAllDocuments(text, { logLevel: 'silent' }).map((d) => d.toJS() as unknown);
  const target = r.int(docs.length);
  const doc = docs[target];
  const all = paths(doc);
  if (all.length === 0) return text;
  const path = r.pick(all);
  const parent = parentOf(doc, path);
  const last = path[path.length - 1] as string | number;
  switch (r.int(4)) {
    case 0:
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
      break;
    case 1:
      if (Array.isArray(parent)) parent.push(structuredClone(parent[last as number]));
      else parent[`${String(last)}Copy`] = structuredClone(parent[last]);
      break;
    case 2:
      parent[last] = structuredClone(r.pick(RETYPES));
      break;
    default:
      docs.push(structuredClone(doc)); // a duplicate object
  }
  return docs.map((d) => stringify(d)).join('---\n');
}

/** A textual mutation: truncation, deleted or repeated ranges, garbage, indentation slips. */
function mutateText(r: Rng, text: string): string {
  const at = r.int(text.length + 1);
  const span = r.int(200);
  switch (r.int(7)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(0, at) + text.slice(at + span);
    case 2:
      return text.slice(0, at) + text.slice(at, at + span) + text.slice(at);
    case 3:
      return text.slice(0, at) + garbage(r, 1 + r.int(64)) + text.slice(at);
    case 4: {
      const lines = text.split('\n');
      const i = r.int(lines.length);
      lines[i] = r.pick([' ', '  ', '\t', '- ', '']) + (lines[i] ?? '');
      return lines.join('\n');
    }
    case 5:
      return text.slice(0, at) + r.pick([': ', '- ', '[', '{', '"', "'", '&a ', '*a ', '!!binary ', '? ', '|', '>', '%YAML 1.1\n', '---\n', '...\n', '#']) + text.slice(at);
    default:
      return text.replace(/(\d+)/, () => String(r.pick([-1, 0, 70000, 1e6, 2 ** 53])));
  }
}

function garbage(r: Rng, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(r.int(0x3000));
  return s;
}

function hostileInputs(): [string, string][] {
  let block = '';
  for (let i = 0; i < 200; i++) block += `${' '.repeat(i)}k${i}:\n`;
  const bombRows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) bombRows.push(`${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${new Array(9).fill(`*${'abcdefghi'[i - 1]}`).join(',')}]`);
  const bin = Buffer.alloc(65536);
  const r = rng(SEED ^ 1);
  for (let i = 0; i < bin.length; i++) bin[i] = r.int(256);
  return [
    ['deep flow nesting (10k levels)', `apiVersion: v1\nkind: Service\nmetadata: {name: deep}\nspec: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`],
    ['deep sequence nesting (10k levels)', `${'- '.repeat(10_000)}x\n`],
    ['deep block nesting', block],
    ['5 MB document', `apiVersion: v1\nkind: Service\nmetadata:\n  name: big\n  annotations:\n    blob: "${'b'.repeat(5 * 1024 * 1024)}"\n`],
    ['alias bomb', `${bombRows.join('\n')}\n`],
    ['binary garbage', bin.toString('latin1')],
    ['binary garbage (utf8)', bin.toString('utf8')],
    ['NUL bytes', 'apiVersion: v1\0\nkind: \0Service\n'],
    ['huge strings in fields', stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'n'.repeat(1_000_000) }, spec: { ports: [{ port: 80, name: 'p'.repeat(100_000) }] } })],
    ['many tiny documents', '---\n'.repeat(20_000)],
    ['duplicate keys', 'apiVersion: v1\nkind: Service\nkind: Pod\nmetadata: {name: x}\n'],
  ];
}

interface Load { issues: ConfigIssue[]; keys: string[] }

function loadText(text: string, source: string): Load {
  const parsed = parseDocuments(text, source);
  const issues = [...parsed.issues];
  const keys: string[] = [];
  for (const doc of parsed.documents) {
    const result = validateObject(doc.raw, { source, line: doc.line, lineOf: doc.lineOf });
    issues.push(...result.issues);
    if (result.object) keys.push(objectKey(result.object.kind, result.object.metadata.namespace, result.object.metadata.name));
  }
  return { issues, keys };
}

function assertIssuesNamePlaces(issues: readonly ConfigIssue[], label: string): void {
  for (const issue of issues) {
    assert.ok(typeof issue.source === 'string' && issue.source.length > 0, `${label}: issue without source ${JSON.stringify(issue)}`);
    assert.ok(typeof issue.message === 'string' && issue.message.length > 0, `${label}: issue without message`);
    assert.ok(issue.severity === 'error' || issue.severity === 'warning', label);
  }
}

test('random and mutated YAML through parse + validate: never throws, every issue has source, message and line', () => {
  const r = rng(SEED);
  const started = Date.now();
  let iterations = 0;
  let withIssues = 0;
  for (let i = 0; i < 200; i++) {
    const example = r.pick(EXAMPLES);
    let text = example.text;
    const rounds = 1 + r.int(3);
    for (let k = 0; k < rounds; k++) text = r.next() < 0.5 ? mutateObjects(r, text) : mutateText(r, text);
    const label = `iteration ${i} (${example.name})`;
    const { issues } = loadText(text, example.name);
    assertIssuesNamePlaces(issues, label);
    for (const issue of issues) assert.ok(issue.line !== undefined && issue.line >= 1, `${label}: issue without line ${JSON.stringify(issue)}`);
    if (issues.length > 0) withIssues++;
    iterations++;
  }
  for (const [name, text] of hostileInputs()) {
    const { issues } = loadText(text, name);
    assertIssuesNamePlaces(issues, name);
    for (const issue of issues) assert.ok(issue.line !== undefined, `${name}: issue without line`);
    iterations++;
  }
  console.log(`fuzz parse+validate: seed ${SEED.toString(16)}, ${iterations} inputs, ${withIssues} with issues, ${Date.now() - started} ms`);
  assert.ok(withIssues > 80, 'the mutations must actually break things');
});

test('mutated files through DirectorySource: never throws, never loses the last good state, recovers', async () => {
  await withTempDir(async (dir) => {
    for (const { name } of EXAMPLES) await copyFile(join(EXAMPLE_DIR, name), join(dir, name));
    const source = new DirectorySource(dir, { watch: false, pollIntervalMs: 3_600_000 });
    await source.start();
    try {
      const baseline = new Map([...source.objects()]);
      assert.equal(baseline.size, 28);
      assert.deepEqual(source.issues(), []);
      const byFile = new Map(EXAMPLES.map(({ name, text }) => [name, loadText(text, name).keys]));
      const r = rng(SEED ^ 2);
      const hostile = hostileInputs();
      const started = Date.now();
      let iterations = 0;
      for (let i = 0; i < 80 + hostile.length; i++) {
        const example = r.pick(EXAMPLES);
        const path = join(dir, example.name);
        const text = i < hostile.length ? (hostile[i] as [string, string])[1] : r.next() < 0.5 ? mutateObjects(r, example.text) : mutateText(r, example.text);
        const label = `iteration ${i} (${example.name})`;
        const before = new Map(source.objects());
        await writeFile(path, text);
        await source.refresh();
        assertIssuesNamePlaces(source.issues(), label);
        const broken = source.issues().some((issue) => issue.severity === 'error' && issue.source === path);
        if (broken) {
          for (const key of byFile.get(example.name) ?? []) assert.ok(source.objects().has(key), `${label}: lost ${key}`);
        }
        if (source.issues().some((issue) => issue.source === path && /does not parse/.test(issue.message))) {
          for (const key of byFile.get(example.name) ?? []) assert.equal(source.objects().get(key), before.get(key), `${label}: a file that does not parse changed ${key}`);
        }
        for (const [key, object] of before) {
          if (!(byFile.get(example.name) ?? []).includes(key)) assert.equal(source.objects().get(key), object, `${label}: other files' ${key} changed`);
        }
        await writeFile(path, example.text);
        await source.refresh();
        assert.deepEqual(source.issues(), [], `${label}: restoring the file clears its issues`);
        assert.deepEqual([...source.objects().keys()].sort(), [...baseline.keys()].sort(), `${label}: restoring the file restores its objects`);
        iterations++;
      }
      console.log(`fuzz directory: seed ${(SEED ^ 2).toString(16)}, ${iterations} file rewrites, ${Date.now() - started} ms`);
    } finally {
      await source.stop();
    }
  });
});

test('a file written in pieces while watched ends in its full state with nothing lost on the way', async () => {
  await withTempDir(async (dir) => {
    const orders = EXAMPLES.find((e) => e.name === '11-orders.yaml')!;
    await writeFile(join(dir, 'orders.yaml'), orders.text);
    const source = new DirectorySource(dir, { pollIntervalMs: 100, debounceMs: 5 });
    await source.start();
    try {
      const keys = [...source.objects().keys()];
      assert.equal(keys.length, 8);
      const lost: string[] = [];
      source.onChange(() => {
        for (const key of keys) if (!source.objects().has(key)) lost.push(key);
      });
      // Rewrite the file in pieces cut inside documents (never at a document boundary).
      const cuts = [0.13, 0.37, 0.61, 0.88].map((f) => Math.floor(orders.text.length * f));
      await writeFile(join(dir, 'orders.yaml'), orders.text.slice(0, cuts[0]));
      for (let i = 0; i < cuts.length; i++) {
        await new Promise((resolve) => setTimeout(resolve, 30));
        await appendFile(join(dir, 'orders.yaml'), orders.text.slice(cuts[i], cuts[i + 1]));
      }
      await eventually(() => source.issues().length === 0, 5000, 'the completed file');
      assert.deepEqual([...source.objects().keys()], keys);
      assert.deepEqual(lost, [], 'no object went missing while the file was half-written');
    } finally {
      await source.stop();
    }
  });
});

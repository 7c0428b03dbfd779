// The YAML fast path (config/parse/fast-yaml.ts) held to the full parser: wherever it answers, it
// gives the same values and document lines and the full parser finds no problem; it answers for
// the manifests skiff is fed (the example mesh, the benchmark's generated mesh, the common forms)
// and gives up on everything outside its subset. Field lines of fast-path documents still come
// from the full parser, for the one document asked. Mutated input (seeded) checks the agreement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fastParseDocuments } from '../../config/parse/fast-yaml.js';
import { parseDocuments, parseFully } from '../../config/parse/yaml.js';
import { EXAMPLE_DIR, exampleFiles, rng, withTempDir } from './directory-helpers.js';
import { writeMesh } from '../../bench/fixtures/mesh-generator.js';
import { readdir, readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const DEPTH = 64;
const SIZE = 1536 * 1024;

/** Asserts that the fast path, if it answers, agrees with the full parser; returns whether it answered. */
function agrees(text: string, label: string): boolean {
  const fast = fastParseDocuments(text, DEPTH, SIZE);
  if (!fast) return false;
  const full = parseFully(text, label);
  assert.deepEqual(full.issues, [], `${label}: the fast path took input the full parser has issues with:\n${text}`);
  assert.deepEqual(
    fast.map((d) => ({ raw: d.raw, line: d.line })),
    full.documents.map((d) => ({ raw: d.raw, line: d.line })),
    `${label}: fast and full parsers disagree on:\n${text}`,
  );
  return true;
}

const COMMON_FORMS = [
  'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: {app: web, "tier": \'front\'}\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n',
  '# comment\n\n  # indented comment\nkey: value # trailing\nlist:\n  - a\n  -   b\n  - - nested\n    - compact\n  -\n    late: item\n  - \nafter: 1\n',
  'n: [1, -2, +3, 0o17, 0x1F, 1.5, -.5, 1e3, 2.5E-2, .inf, -.Inf, .NaN, 007, 1.0, 12.]\n',
  'almost: [10.0.0.1, 1.2.3, 1., ., -., +.5, 1_000, 0b1, 0o8, 0xG, 1e, 1e+5, -1E-5, nulls, trueish, Falsey, NuLL, ~x, 12:30, .5.5]\n',
  'special: [~, null, Null, NULL, true, True, TRUE, false, FALSE, yes, no, on, off, y, n, nil]\n',
  'quoted: ["a\\"b", "tab\\tnew\\nline", "\\u00e9\\/\\\\", \'it\'\'s\', "", \'\', "#not comment"]\n',
  'url: http://example.com:8080/path?q=1#frag\nimage: nginx:1.25\ncolon: a:b\ntime: 12:30:00\n',
  'plain: a b  c   \nhash: a#b\nspecial: -1\ndash: -x\nq: ?x\nc: :x\nbrackets: a[0]{1},2\n',
  'empty:\nnull_value: ~\nflow_empty: {}\nseq_empty: []\nnested: {a: {b: [c, {d: e}]}}\n',
  '"quoted key": 1\n\'single key\': 2\nkey with spaces  : 3\n',
  '- a\n- b: 1\n  c: 2\n- [x, y]\n- {k: v}\n',
  '{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n  "metadata": {"name": "json", "labels": {"a": "1"}}\n}\n',
  '---\nfirst: 1\n---\n# only a comment\n---\nsecond:\n  - x\n--- # marker comment\nthird: [\n    1,\n    2,\n  ]\n',
  'a:\n  b:\n    c:\n      d: deep\n  e: back\nf: top\n',
  'unicode: "☃️ ünïcode"\nplain_unicode: ünïcode snow ☃\n',
];

const OUTSIDE_SUBSET = [
  'a: &anchor 1\nb: *anchor\n',
  'a: !!str 1\n',
  'script: |\n  echo hi\n',
  'folded: >-\n  one\n  two\n',
  'multi: one\n  two\n',
  'multi: "one\n  two"\n',
  'a: 1\na: 2\n',
  'a: 1\n"a": 2\n',
  'a:\tb\n',
  'a: 1\r\nb: 2\r\n',
  '%YAML 1.2\n---\na: 1\n',
  'a: 1\n...\n',
  '? complex\n: key\n',
  '<<: {a: 1}\n',
  '__proto__: {polluted: true}\n',
  'constructor: 1\n',
  '{toString: 2}\n',
  '1: numeric key\n',
  'true: bool key\n',
  'a: b: c\n',
  'a: - b\n',
  '--- {a: 1}\n',
  '[a: b]\n',
  '{a, b}\n',
  'a: "\\x41"\n',
  '\ufeffa: 1\n',
];

test('the fast path answers for the common forms of manifests, exactly as the full parser', () => {
  for (const [i, text] of COMMON_FORMS.entries()) assert.ok(agrees(text, `form ${i}`), `the fast path gave up on form ${i}:\n${text}`);
});

test('the fast path gives up on what it does not cover, and the full parser decides', () => {
  for (const text of OUTSIDE_SUBSET) assert.equal(fastParseDocuments(text, DEPTH, SIZE), undefined, `the fast path answered for:\n${text}`);
});

test('keys that Object.prototype also has are left to the full parser, which loads them as plain keys', () => {
  assert.deepEqual(parseDocuments('constructor: 1\ntoString: {valueOf: 2}\n', 'proto-keys.yaml').documents.map((d) => d.raw), [{ constructor: 1, toString: { valueOf: 2 } }]);
});

test('the fast path gives up near the limits: deep nesting and large documents go to the full parser', () => {
  assert.equal(fastParseDocuments(`a: ${'['.repeat(100)}${']'.repeat(100)}\n`, DEPTH, SIZE), undefined);
  assert.equal(fastParseDocuments(`${'- '.repeat(10_000)}x\n`, DEPTH, SIZE), undefined);
  assert.equal(fastParseDocuments(`data: "${'x'.repeat(2000)}"\n---\nok: 1\n`, DEPTH, 1000), undefined);
  const deep = parseDocuments(`a: ${'['.repeat(100)}${']'.repeat(100)}\n---\nok: 1\n`, 'deep.yaml');
  assert.deepEqual(deep.documents.map((d) => d.raw), [{ ok: 1 }]);
  assert.match(deep.issues[0]?.message ?? '', /deeper than 64/);
});

test('the fast path keeps no file text alive once the objects read from it are gone', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const documents: string[] = [];
  for (let d = 0; d < 4000; d++) documents.push(`kind: Pod\nmetadata: {name: pod-with-a-long-name-${d}, namespace: ns-${d % 7}}\nimage: registry.example/app:${d}\n`);
  const heapAfter = (read: () => void): number => {
    read();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const before = heapAfter(() => undefined);
  // ~15 MB of text, a new string: what the cache keeps of it must not hold it.
  const after = heapAfter(() => {
    const text = `${documents.join('---\n')}---\n`.repeat(30).replaceAll('pod-with', `pod${Math.random()}-with`);
    assert.ok(fastParseDocuments(text, DEPTH, SIZE)?.length === 120_000);
  });
  assert.ok(after - before < 2_000_000, `the heap kept ${((after - before) / 1e6).toFixed(1)} MB after the objects were dropped`);
});

test('the example mesh and the benchmark mesh take the fast path', async () => {
  for (const name of exampleFiles()) assert.ok(agrees(readFileSync(join(EXAMPLE_DIR, name), 'utf8'), name), `${name} left the fast path`);
  await withTempDir(async (dir) => {
    await writeMesh(dir, { services: 60, endpointsPerService: 3, routes: 20, policies: 30, namespaces: 3, perFile: 20 });
    for (const name of await readdir(dir)) assert.ok(agrees(await readFile(join(dir, name), 'utf8'), name), `${name} left the fast path`);
  });
});

test('field lines of fast-path documents come from the full parser, counted from the file start', () => {
  const text = '# header\n---\nkind: A\n---\n\nkind: B\nspec:\n  rules:\n  - name: r0\n  - name: r1\n    weight: 5\n';
  const { documents, issues } = parseDocuments(text, 'lines.yaml');
  assert.deepEqual(issues, []);
  assert.ok(fastParseDocuments(text, DEPTH, SIZE), 'this text is in the subset');
  assert.deepEqual(documents.map((d) => d.line), [3, 6]);
  const second = documents[1]!;
  assert.equal(second.lineOf(['spec', 'rules', 1, 'weight']), 11);
  assert.equal(second.lineOf(['spec', 'rules', 1]), 10);
  assert.equal(second.lineOf(['spec', 'missing']), 7);
  assert.equal(documents[0]!.lineOf(['kind']), 3);
});

test('mutated manifests: wherever the fast path answers, it agrees with the full parser', () => {
  const r = rng(0xfa57);
  const bases = [...COMMON_FORMS, ...exampleFiles().map((name) => readFileSync(join(EXAMPLE_DIR, name), 'utf8'))];
  const pieces = [' ', '  ', '\n', ': ', ':', '- ', '-', '#', ' #', '[', ']', '{', '}', ',', '"', "'", '\\', '---\n', '0', '1.5', 'x', 'true', '~', '&a', '*a', '!', '|', '?', '\t'];
  let answered = 0;
  const rounds = 3000;
  for (let round = 0; round < rounds; round++) {
    let text = r.pick(bases);
    for (let edits = 1 + r.int(3); edits > 0; edits--) {
      const at = r.int(text.length + 1);
      const cut = r.int(3);
      text = text.slice(0, at) + (r.int(4) === 0 ? '' : r.pick(pieces)) + text.slice(at + cut);
    }
    if (agrees(text, `mutation ${round}`)) answered++;
  }
  assert.ok(answered > rounds / 10, `the fast path answered only ${answered} of ${rounds} mutations: too few to judge`);
});

// parseDocuments: field line numbers, multi-document files, syntax errors beside good documents,
// and hostile input rejected with an issue instead of an exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDocuments } from '../../config/parse/yaml.js';

const ROUTE = `# leading comment
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: orders-canary
spec:
  rules:
    - backendRefs:
        - name: orders-v1
          weight: 90
        - name: orders-v2
          weight: 10
`;

test('lineOf gives the line of nested map keys and list items', () => {
  const { documents, issues } = parseDocuments(ROUTE, 'route.yaml');
  assert.deepEqual(issues, []);
  assert.equal(documents.length, 1);
  const doc = documents[0]!;
  assert.equal(doc.line, 2, 'the document starts at its first content line');
  assert.equal(doc.lineOf(['kind']), 3);
  assert.equal(doc.lineOf(['metadata', 'name']), 5);
  assert.equal(doc.lineOf(['spec', 'rules', 0]), 8);
  assert.equal(doc.lineOf(['spec', 'rules', 0, 'backendRefs', 1]), 11);
  assert.equal(doc.lineOf(['spec', 'rules', 0, 'backendRefs', 1, 'weight']), 12);
  assert.equal(doc.lineOf([]), 2);
});

test('lineOf a missing field gives its nearest present ancestor', () => {
  const doc = parseDocuments(ROUTE, 'route.yaml').documents[0]!;
  assert.equal(doc.lineOf(['spec', 'rules', 0, 'backendRefs', 1, 'port']), 11);
  assert.equal(doc.lineOf(['spec', 'rules', 7, 'matches']), 7);
  assert.equal(doc.lineOf(['status']), 2);
});

test('multi-document files: each document knows its own lines; empty documents are skipped', () => {
  const text = ['---', 'a: 1', '---', '---', '# only a comment', '---', 'b:', '  c: 2', '...', ''].join('\n');
  const { documents, issues } = parseDocuments(text, 'multi.yaml');
  assert.deepEqual(issues, []);
  assert.deepEqual(documents.map((d) => d.raw), [{ a: 1 }, { b: { c: 2 } }]);
  assert.deepEqual(documents.map((d) => d.line), [2, 7]);
  assert.equal(documents[1]!.lineOf(['b', 'c']), 8);
});

test('a syntax error is an issue with line and column; the good documents around it load', () => {
  const text = ['kind: A', '---', 'kind: B', 'spec: [1, 2', '---', 'kind: C', ''].join('\n');
  const { documents, issues } = parseDocuments(text, 'broken.yaml');
  assert.deepEqual(documents.map((d) => d.raw), [{ kind: 'A' }, { kind: 'C' }]);
  assert.equal(documents[1]!.line, 6);
  assert.ok(issues.length >= 1);
  for (const issue of issues) {
    assert.equal(issue.severity, 'error');
    assert.equal(issue.source, 'broken.yaml');
    assert.ok(issue.line !== undefined && issue.line >= 3 && issue.line <= 5, `line ${issue.line}`);
    assert.ok(issue.column !== undefined && issue.column >= 1);
    assert.ok(issue.message.length > 0);
  }
});

test('duplicate keys reject the document, naming the line of the repeated key', () => {
  const { documents, issues } = parseDocuments('kind: A\nmetadata:\n  name: x\n  name: y\n', 'dup.yaml');
  assert.equal(documents.length, 0);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.line, 4);
  assert.match(issues[0]!.message, /unique/);
});

test('an alias bomb is rejected by the alias limit', () => {
  const rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (const [name, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e']]) {
    rows.push(`${name}: &${name} [${new Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const { documents, issues } = parseDocuments(`${rows.join('\n')}\n---\nok: true\n`, 'bomb.yaml');
  assert.deepEqual(documents.map((d) => d.raw), [{ ok: true }]);
  assert.equal(issues.length, 1);
  assert.match(issues[0]!.message, /alias/i);
  assert.equal(issues[0]!.line, 1);
});

test('a few aliases within the limit load', () => {
  const { documents, issues } = parseDocuments('labels: &l {app: orders}\nselector: *l\n', 'alias.yaml');
  assert.deepEqual(issues, []);
  assert.deepEqual(documents[0]!.raw, { labels: { app: 'orders' }, selector: { app: 'orders' } });
});

test('nesting deeper than the limit is rejected (flow and block), the rest of the file loads', () => {
  const flow = `a: ${'['.repeat(10_000)}${']'.repeat(10_000)}`;
  let block = '';
  for (let i = 0; i < 100; i++) block += `${' '.repeat(i)}k:\n`;
  const { documents, issues } = parseDocuments(`${flow}\n---\n${block}---\nok: 1\n`, 'deep.yaml');
  assert.deepEqual(documents.map((d) => d.raw), [{ ok: 1 }]);
  assert.equal(issues.length, 2);
  for (const issue of issues) assert.match(issue.message, /nests deeper than 64/);
  assert.deepEqual(issues.map((i) => i.line), [1, 3]);
});

test('a document over the size limit is rejected without throwing', () => {
  const big = `data: "${'x'.repeat(5 * 1024 * 1024)}"\n`;
  const { documents, issues } = parseDocuments(`${big}---\nok: 1\n`, 'big.yaml');
  assert.deepEqual(documents.map((d) => d.raw), [{ ok: 1 }]);
  assert.equal(issues.length, 1);
  assert.match(issues[0]!.message, /more than the limit/);
  const small = parseDocuments('data: "xxxxxxxxxx"\n', 'small.yaml', { maxDocumentBytes: 8 });
  assert.equal(small.documents.length, 0);
  assert.equal(small.issues.length, 1);
});

test('binary garbage and odd scalars never throw', () => {
  const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256)).toString('latin1');
  const { issues } = parseDocuments(garbage, 'garbage.yaml');
  for (const issue of issues) assert.ok(issue.message && issue.source === 'garbage.yaml' && issue.line !== undefined);
  assert.deepEqual(parseDocuments('', 'empty.yaml'), { documents: [], issues: [] });
  assert.deepEqual(parseDocuments('just a string\n', 's.yaml').documents.map((d) => d.raw), ['just a string']);
});

test('__proto__ keys stay plain data', () => {
  const { documents } = parseDocuments('__proto__: {polluted: true}\n', 'proto.yaml');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(documents[0]!.raw), Object.prototype);
});

test('an oversized document in the middle keeps the line numbers of the documents after it', () => {
  const text = `a: 1\n---\nbig: "${'y'.repeat(2000)}"\nmore: 2\n---\nc: 3\n`;
  const { documents, issues } = parseDocuments(text, 'mid.yaml', { maxDocumentBytes: 1000 });
  assert.deepEqual(documents.map((d) => [d.raw, d.line]), [[{ a: 1 }, 1], [{ c: 3 }, 6]]);
  assert.deepEqual(issues.map((i) => i.line), [3]);
});

test('a map key that is a map or a list rejects the document', () => {
  const { documents, issues } = parseDocuments('a: 1\n? [x, y]\n: 2\n---\nok: 1\n', 'keys.yaml');
  assert.deepEqual(documents.map((d) => d.raw), [{ ok: 1 }]);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.line, 2);
  assert.match(issues[0]!.message, /map key must be a plain value/);
});

// Multi-document YAML → plain JavaScript values, one per document, each able to tell the line of any
// field path inside it. Bad documents become issues (file, line, column, why) and never hide the
// good documents around them; hostile input (huge documents, deep nesting, alias bombs, duplicate
// keys) is rejected with an issue, never by throwing. Plain manifests take the fast path
// (fast-yaml.ts), which keeps no positions: a document asked for a field's line is parsed again,
// alone, by the full parser; everything else goes through the full parser from the start.
import { Composer, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Parser, type CST, type Document, type Node as YamlNode } from 'yaml';
import type { ConfigIssue } from '../source.js';
import { fastParseDocuments, type FastDocument } from './fast-yaml.js';

export type FieldPath = (string | number)[];

export interface ParsedDocument {
  raw: unknown;
  /** 1-based line of the document start (its first content line). */
  line: number;
  /**
   * 1-based line of a field path inside this document, e.g. ['spec','rules',0,'backendRefs',1,'weight'];
   * when the path is not present, the line of its nearest present ancestor.
   */
  lineOf(path: FieldPath): number | undefined;
}

export interface ParseLimits {
  /** Largest accepted document, in characters (default 1.5 MiB, the Kubernetes object limit). */
  maxDocumentBytes: number;
  /** Deepest accepted nesting of maps and sequences (default 64). */
  maxDepth: number;
  /** Most alias expansions per document (default 100). */
  maxAliasCount: number;
}

const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxDocumentBytes: 1536 * 1024,
  maxDepth: 64,
  maxAliasCount: 100,
};

type ParsedYamlDocument = Document.Parsed;

export interface ParseResult {
  documents: ParsedDocument[];
  issues: ConfigIssue[];
}

export function parseDocuments(text: string, source: string, limits: Partial<ParseLimits> = {}): ParseResult {
  const limit = { ...DEFAULT_PARSE_LIMITS, ...limits };
  const fast = fastParseDocuments(text, limit.maxDepth, limit.maxDocumentBytes);
  if (fast) return { documents: fast.map((doc) => withLazyLines(text, source, doc, limit)), issues: [] };
  return parseFully(text, source, limit);
}

/** A fast-path document whose lineOf parses its own text again, fully, on first use. */
function withLazyLines(text: string, source: string, doc: FastDocument, limit: ParseLimits): ParsedDocument {
  let full: ParsedDocument | null | undefined;
  return {
    raw: doc.raw,
    line: doc.line,
    lineOf: (path) => {
      if (full === undefined) {
        const again = parseFully(text.slice(doc.start, doc.end), source, limit).documents;
        full = again.length === 1 ? (again[0] as ParsedDocument) : null;
      }
      const line = full?.lineOf(path);
      return line === undefined ? undefined : line + doc.startLine - 1;
    },
  };
}

/** The full parser alone (positions kept, every problem reported): what the fast path must agree with. */
export function parseFully(text: string, source: string, limit: ParseLimits = DEFAULT_PARSE_LIMITS): ParseResult {
  const documents: ParsedDocument[] = [];
  const issues: ConfigIssue[] = [];
  const lineCounter = new LineCounter();
  const position = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: Math.max(1, pos.line), column: Math.max(1, pos.col) };
  };
  let parsed: ParsedYamlDocument[];
  const tooDeep: number[] = [];
  try {
    if (text.length > limit.maxDocumentBytes) text = blankOversized(text, limit.maxDocumentBytes, source, issues);
    // Documents nested too deeply are dropped at the token level, before the (recursive) composer sees them.
    const tokens = withinDepth(new Parser(lineCounter.addNewLine).parse(text), limit.maxDepth, tooDeep);
    const composer = new Composer({ prettyErrors: false, uniqueKeys: true, logLevel: 'silent' });
    parsed = Array.from(composer.compose(tokens)) as ParsedYamlDocument[];
  } catch (err) {
    issues.push({ severity: 'error', source, line: 1, message: `cannot parse YAML: ${errorMessage(err)}` });
    return { documents, issues };
  }
  for (const offset of tooDeep) {
    issues.push({ severity: 'error', source, ...position(offset), message: `document nests deeper than ${limit.maxDepth} levels` });
  }
  for (const doc of parsed) {
    const start = doc.contents?.range[0] ?? doc.range[0];
    const at = position(start);
    const reject = (message: string, offset = start) => {
      const p = offset === start ? at : position(offset);
      issues.push({ severity: 'error', source, line: p.line, column: p.column, message });
    };
    const size = doc.range[2] - doc.range[0];
    if (size > limit.maxDocumentBytes) {
      reject(`document is ${size} bytes, more than the limit of ${limit.maxDocumentBytes}`);
      continue;
    }
    const complexKey = findComplexKey(doc.contents);
    if (complexKey !== undefined) {
      reject('a map key must be a plain value, not a map or a list', complexKey);
      continue;
    }
    if (doc.errors.length > 0) {
      for (const e of doc.errors) reject(e.message, e.pos[0]);
      continue;
    }
    for (const w of doc.warnings) {
      const p = position(w.pos[0]);
      issues.push({ severity: 'warning', source, line: p.line, column: p.column, message: w.message });
    }
    let raw: unknown;
    try {
      raw = doc.toJS({ maxAliasCount: limit.maxAliasCount });
    } catch (err) {
      reject(`cannot load document: ${errorMessage(err)}`);
      continue;
    }
    if (raw === null || raw === undefined) continue; // an empty document (`---` alone, or only comments)
    documents.push({
      raw,
      line: at.line,
      lineOf: (path) => {
        const offset = offsetOf(doc, path);
        return offset === undefined ? undefined : position(offset).line;
      },
    });
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { documents, issues };
}

/**
 * Replaces documents longer than `max` by their newlines alone (so later lines keep their numbers)
 * and reports them, before the parser spends seconds on them. Documents are split at the `---` and
 * `...` marker lines, which end a document wherever they stand at the start of a line.
 */
function blankOversized(text: string, max: number, source: string, issues: ConfigIssue[]): string {
  const marker = /^(---|\.\.\.)(?=[ \t\r\n]|$)/gm;
  const starts = [0];
  for (const m of text.matchAll(marker)) if (m.index !== undefined && m.index > 0) starts.push(m.index);
  starts.push(text.length);
  const parts: string[] = [];
  let line = 1;
  for (let i = 0; i + 1 < starts.length; i++) {
    const chunk = text.slice(starts[i], starts[i + 1]);
    const newlines = chunk.split('\n').length - 1;
    if (chunk.length > max) {
      const first = chunk.startsWith('---') && newlines > 0 ? line + 1 : line;
      issues.push({ severity: 'error', source, line: first, message: `document is ${chunk.length} bytes, more than the limit of ${max}` });
      parts.push('\n'.repeat(newlines));
    } else {
      parts.push(chunk);
    }
    line += newlines;
  }
  return parts.join('');
}

/** Passes the parser's tokens on, except documents nested deeper than `maxDepth` (their offsets go to `dropped`). */
function* withinDepth(tokens: Iterable<CST.Token>, maxDepth: number, dropped: number[]): Generator<CST.Token> {
  for (const token of tokens) {
    if (token.type === 'document' && token.value && cstDepthExceeds(token.value, maxDepth)) {
      dropped.push(token.value.offset);
      continue;
    }
    yield token;
  }
}

/** Whether collections nest deeper than `maxDepth` in a token tree, walked without recursion. */
function cstDepthExceeds(root: CST.Token, maxDepth: number): boolean {
  const stack: { token: CST.Token; depth: number }[] = [{ token: root, depth: 0 }];
  while (stack.length > 0) {
    const { token, depth } = stack.pop() as { token: CST.Token; depth: number };
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth + 1 > maxDepth) return true;
    for (const item of token.items as CST.CollectionItem[]) {
      if (item.key) stack.push({ token: item.key, depth: depth + 1 });
      if (item.value) stack.push({ token: item.value, depth: depth + 1 });
    }
  }
  return false;
}

/** The offset of a map key that is itself a map or a list (Kubernetes objects have only plain keys). */
function findComplexKey(root: unknown): number | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (!isMap(node) && !isSeq(node)) continue;
    for (const item of node.items as unknown[]) {
      if (!isPair(item)) {
        stack.push(item);
        continue;
      }
      if (isMap(item.key) || isSeq(item.key)) return (item.key as YamlNode).range?.[0] ?? 0;
      stack.push(item.value);
    }
  }
  return undefined;
}

/** The source offset of a field path: of the key (for a map field) or item (for a list index). */
function offsetOf(doc: ParsedYamlDocument, path: FieldPath): number | undefined {
  let node: unknown = doc.contents;
  let offset = (node as YamlNode | null)?.range?.[0] ?? doc.range[0];
  for (const step of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    let nextOffset: number | undefined;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (key !== null && key !== undefined && String(key) === String(step)) {
          next = pair.value;
          nextOffset = (pair.key as YamlNode | null)?.range?.[0];
          break;
        }
      }
    } else if (isSeq(node) && typeof step === 'number') {
      next = node.items[step];
      nextOffset = (next as YamlNode | undefined)?.range?.[0];
    }
    if (nextOffset === undefined) break;
    node = next;
    offset = nextOffset;
  }
  return offset;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// The fast path of the YAML loader: a one-pass reader for the plain subset of YAML 1.2 that
// Kubernetes manifests are written in (block and flow maps and lists, plain and quoted one-line
// scalars, comments, `---` between documents), resolving scalars exactly as the `yaml` package's
// core schema does. It answers only when it is sure: on anything outside the subset (anchors,
// aliases, tags, block scalars, multi-line scalars, directives, duplicate or non-string keys, tabs,
// deep nesting, large documents, any syntax error) it gives up and the caller parses the file with
// the full parser, which knows every position and reports every problem. It keeps no positions
// beyond each document's start: where a document needs a field's line, the caller re-parses that
// one document with the full parser.

import { MAX_COPIED_LENGTH, ScalarCache } from './scalar-cache.js';

export interface FastDocument {
  raw: unknown;
  /** 1-based line of the document's first content. */
  line: number;
  /** The document's text is source.slice(start, end); it begins on line `startLine`. */
  start: number;
  end: number;
  startLine: number;
}

/** Thrown (one shared value, no stack) when the text leaves the subset; caught in fastParseDocuments. */
const GIVE_UP = Object.freeze({ giveUp: true });

const SPACE = 32;
const NEWLINE = 10;
const HASH = 35;
const COLON = 58;
const DASH = 45;
const COMMA = 44;
const OPEN_SEQ = 91;
const CLOSE_SEQ = 93;
const OPEN_MAP = 123;
const CLOSE_MAP = 125;
const DOUBLE_QUOTE = 34;
const SINGLE_QUOTE = 39;
const BACKSLASH = 92;

/** The longest implicit key YAML allows is 1024 characters; stay below it. */
const MAX_KEY_LENGTH = 1000;
/** Characters the subset never holds, even in comments: tabs, CR, controls, BOM, odd line breaks (a regular expression outruns a loop here). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const OUTSIDE_SUBSET = /[\x00-\x09\x0b-\x1f\x7f-\x9f\ufeff\u2028\u2029]/;
/** Documents this close to the size limit are left to the full parser, which measures them its own way. */
const SIZE_MARGIN = 64;
/** Plain keys and plain values read before (kept apart so that many distinct values do not push out the few keys). */
const KEYS = new ScalarCache(MAX_KEY_LENGTH);
const VALUES = new ScalarCache(MAX_COPIED_LENGTH);
/** Stands for the map a flow list does not have. */
const EMPTY: Record<string, unknown> = Object.freeze({});

// The `yaml` package's core schema (yaml/dist/schema/core), tested in the same order.
const CORE_NULL = /^(?:~|[Nn]ull|NULL)?$/;
const CORE_BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const CORE_OCT = /^0o[0-7]+$/;
const CORE_INT = /^[-+]?[0-9]+$/;
const CORE_HEX = /^0x[0-9a-fA-F]+$/;
const CORE_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const CORE_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const CORE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/**
 * The documents of `text` (empty ones skipped), or undefined when the text is not entirely in the
 * subset, or some document is larger than `maxDocumentBytes` or nests deeper than `maxDepth`.
 */
export function fastParseDocuments(text: string, maxDepth: number, maxDocumentBytes: number): FastDocument[] | undefined {
  if (OUTSIDE_SUBSET.test(text)) return undefined;
  const bounds = documentBounds(text);
  if (!bounds) return undefined;
  const documents: FastDocument[] = [];
  const lines = new LineCounter(text);
  const reader = new Reader(text, maxDepth);
  try {
    for (let i = 0; i < bounds.length; i += 2) {
      const start = Math.min(bounds[i] as number, text.length);
      const end = Math.min(bounds[i + 1] as number, text.length);
      if (end - start + SIZE_MARGIN > maxDocumentBytes) return undefined;
      const raw = reader.document(start, end);
      if (raw === undefined || raw === null) continue;
      const startLine = lines.lineOf(start);
      documents.push({ raw, line: lines.lineOf(reader.rootOffset), start, end, startLine });
    }
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
  return documents;
}

/**
 * Where each document starts and ends, as [start, end, start, end, …] (the last end past the text),
 * split at `---` lines; undefined when a line ends a document (`...`), holds a directive (`%`) or
 * has content after its `---`: those are left to the full parser.
 */
function documentBounds(text: string): number[] | undefined {
  const bounds: number[] = [0];
  for (let line = 0; line < text.length; line = endOfLine(text, line) + 1) {
    const c = text.charCodeAt(line);
    if (c === 37) return undefined; // %
    if (c !== DASH && c !== 46) continue;
    const three = text.slice(line, line + 3);
    const after = line + 3 < text.length ? text.charCodeAt(line + 3) : NEWLINE;
    if ((three !== '---' && three !== '...') || !isBlankCode(after)) continue;
    const lineEnd = endOfLine(text, line);
    if (three === '...' || !isBlankOrComment(text, line + 3, lineEnd)) return undefined;
    bounds.push(line, lineEnd + 1);
  }
  bounds.push(text.length + 1);
  return bounds;
}

function endOfLine(text: string, from: number): number {
  const nl = text.indexOf('\n', from);
  return nl < 0 ? text.length : nl;
}

function isBlankOrComment(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === HASH) return text.charCodeAt(i - 1) === SPACE;
    if (c !== SPACE) return false;
  }
  return true;
}

/** Line numbers of increasing offsets, counted once. */
class LineCounter {
  private offset = 0;
  private line = 1;

  constructor(private readonly text: string) {}

  lineOf(offset: number): number {
    if (offset < this.offset) {
      this.offset = 0;
      this.line = 1;
    }
    let nl = this.text.indexOf('\n', this.offset);
    while (nl >= 0 && nl < offset) {
      this.line++;
      nl = this.text.indexOf('\n', nl + 1);
    }
    this.offset = offset;
    return this.line;
  }
}

/** Reads one document, text[start, end), with nothing around it. */
class Reader {
  private pos = 0;
  /** End of the document being read. */
  private end = 0;
  /** Start of the line `pos` is on. */
  private lineStart = 0;
  /** Indentation of the content line `pos` stands at after nextLine(); -1 at the end. */
  private indent = -1;
  private depth = 0;
  /** Where the root node of the last document read starts. */
  rootOffset = 0;

  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
  ) {}

  /** The root node of the document text[start, end), or undefined when it has none (blank or comments only). */
  document(start: number, end: number): unknown {
    this.pos = start;
    this.lineStart = start;
    this.end = end;
    this.indent = -1;
    this.depth = 0;
    this.skipToContent();
    if (this.indent < 0) return undefined;
    this.rootOffset = this.pos;
    const raw = this.blockNode(this.indent, -1);
    if (this.indent >= 0) throw GIVE_UP; // content after the root node
    return raw;
  }

  // ---- lines ----

  /** From the start of a line, to the first character of the next line with content (or the end). */
  private skipToContent(): void {
    const s = this.s;
    while (this.pos < this.end) {
      let i = this.pos;
      while (i < this.end && s.charCodeAt(i) === SPACE) i++;
      const c = i < this.end ? s.charCodeAt(i) : NEWLINE;
      if (c !== NEWLINE && c !== HASH) {
        this.lineStart = this.pos;
        this.indent = i - this.pos;
        this.pos = i;
        return;
      }
      const nl = s.indexOf('\n', i);
      this.pos = nl < 0 || nl >= this.end ? this.end : nl + 1;
    }
    this.indent = -1;
  }

  /** The rest of the line must be blank or a comment; then on to the next content line. */
  private nextLine(): void {
    const s = this.s;
    let i = this.pos;
    while (i < this.end && s.charCodeAt(i) === SPACE) i++;
    if (i < this.end) {
      const c = s.charCodeAt(i);
      if (c === HASH) {
        if (i > this.lineStart && s.charCodeAt(i - 1) !== SPACE) throw GIVE_UP;
      } else if (c !== NEWLINE) {
        throw GIVE_UP;
      }
    }
    const nl = s.indexOf('\n', i);
    this.pos = nl < 0 || nl >= this.end ? this.end : nl + 1;
    this.skipToContent();
  }

  private skipSpaces(): void {
    while (this.pos < this.end && this.s.charCodeAt(this.pos) === SPACE) this.pos++;
  }

  private at(offset = 0): number {
    const i = this.pos + offset;
    return i < this.end ? this.s.charCodeAt(i) : NEWLINE;
  }

  /**
   * The items of the lists being read, innermost last: a list is made once its items are known, at
   * its exact length (an array grown by push keeps room for 16 items, most lists here have one).
   */
  private readonly items: unknown[] = [];
  private itemCount = 0;

  private pushItem(item: unknown): void {
    this.items[this.itemCount++] = item;
  }

  /** The items pushed since `base`, as a new list; they leave the stack. */
  private takeItems(base: number): unknown[] {
    const list = this.items.slice(base, this.itemCount);
    this.itemCount = base;
    return list;
  }

  private enter(): void {
    if (++this.depth >= this.maxDepth) throw GIVE_UP;
  }

  // ---- block context ----

  /** A node whose first character is at `pos`, in column `column`, inside a block indented `parent`. */
  private blockNode(column: number, parent: number): unknown {
    const c = this.at();
    if (c === DASH && isBlankCode(this.at(1))) return this.blockSeq(column);
    if (this.keyAhead()) return this.blockMap(column);
    const value = this.inlineValue(parent);
    this.nextLine();
    if (this.indent > parent) throw GIVE_UP; // a multi-line scalar, or an error
    return value;
  }

  private blockMap(column: number): Record<string, unknown> {
    this.enter();
    const map: Record<string, unknown> = {};
    for (;;) {
      const key = this.key(false);
      const value = this.mapValue(column);
      if (map[key] !== undefined) throw GIVE_UP; // a duplicate (the full parser reports it), or a key Object.prototype has
      map[key] = value;
      if (this.indent < column) break;
      if (this.indent > column || !this.keyAhead()) throw GIVE_UP;
    }
    this.depth--;
    return map;
  }

  /** After `key:`; leaves `pos` on the next content line. */
  private mapValue(column: number): unknown {
    this.skipSpaces();
    const c = this.at();
    if (c === NEWLINE || c === HASH) {
      this.nextLine();
      if (this.indent > column) return this.blockNode(this.indent, column);
      if (this.indent === column && this.at() === DASH && isBlankCode(this.at(1))) return this.blockSeq(column);
      return null;
    }
    if (c === DASH && isBlankCode(this.at(1))) throw GIVE_UP; // `a: - b`
    const value = this.inlineValue(column);
    if (typeof value === 'string' && this.plainWasKeyLike) throw GIVE_UP; // `a: b: c`
    this.nextLine();
    if (this.indent > column) throw GIVE_UP;
    return value;
  }

  private blockSeq(column: number): unknown[] {
    this.enter();
    const base = this.itemCount;
    for (;;) {
      this.pos++; // the dash
      this.skipSpaces();
      const c = this.at();
      if (c === NEWLINE || c === HASH) {
        this.nextLine();
        this.pushItem(this.indent > column ? this.blockNode(this.indent, column) : null);
      } else {
        this.pushItem(this.blockNode(this.pos - this.lineStart, column));
      }
      if (this.indent !== column || this.at() !== DASH || !isBlankCode(this.at(1))) break;
    }
    if (this.indent > column) throw GIVE_UP;
    this.depth--;
    return this.takeItems(base);
  }

  /** Whether the line from `pos` is `key: …` with a one-line plain or quoted key. */
  private keyAhead(): boolean {
    const s = this.s;
    const c = this.at();
    let i: number;
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
      i = this.pos + 1;
      for (;;) {
        if (i >= this.end) return false;
        const q = s.charCodeAt(i);
        if (q === NEWLINE) return false;
        if (q === c) {
          if (c === SINGLE_QUOTE && s.charCodeAt(i + 1) === SINGLE_QUOTE) {
            i += 2;
            continue;
          }
          break;
        }
        i += q === BACKSLASH && c === DOUBLE_QUOTE ? 2 : 1;
      }
      i++;
      while (i < this.end && s.charCodeAt(i) === SPACE) i++;
      return i < this.end && s.charCodeAt(i) === COLON && isBlankCode(i + 1 < this.end ? s.charCodeAt(i + 1) : NEWLINE);
    }
    if (!startsPlain(c, this.at(1), false)) return false;
    for (i = this.pos; i < this.end; i++) {
      const k = s.charCodeAt(i);
      if (k === NEWLINE) return false;
      if (k === HASH && s.charCodeAt(i - 1) === SPACE) return false;
      if (k === COLON && isBlankCode(i + 1 < this.end ? s.charCodeAt(i + 1) : NEWLINE)) {
        this.keyColon = i;
        return true;
      }
    }
    return false;
  }

  /** A map key on one line, plain or quoted, through its colon (in block context, keyAhead found it). */
  private key(flow: boolean): string {
    const c = this.at();
    let key: string;
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
      key = this.quoted();
      this.skipSpaces();
    } else {
      const plain = flow ? this.flowPlain(KEYS) : this.blockPlainKey();
      if (typeof plain !== 'string') throw GIVE_UP; // a null, bool or number key: left to the full parser
      key = plain;
      this.skipSpaces();
      if (!isBlankCode(this.at(1))) throw GIVE_UP; // after a plain key the colon needs a space
    }
    if (this.at() !== COLON || key.length > MAX_KEY_LENGTH || key === '__proto__' || key === '<<') throw GIVE_UP;
    this.pos++;
    return key;
  }

  /** Where keyAhead found the colon of a plain key. */
  private keyColon = 0;

  private blockPlainKey(): unknown {
    const from = this.pos;
    this.pos = this.keyColon;
    return KEYS.value(this.s, from, this.trimmedEnd(from, this.pos), resolvePlain);
  }

  /** The end of text[from, to) without its trailing spaces. */
  private trimmedEnd(from: number, to: number): number {
    while (to > from && this.s.charCodeAt(to - 1) === SPACE) to--;
    return to;
  }

  /** Set by plainScalar: whether the scalar held `: ` (a mapping where none may start). */
  private plainWasKeyLike = false;

  /** A scalar or flow collection that starts at `pos` and ends on this line (flow may go on). */
  private inlineValue(blockIndent: number): unknown {
    const c = this.at();
    this.plainWasKeyLike = false;
    if (c === OPEN_SEQ || c === OPEN_MAP) return this.flowNode(blockIndent);
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) return this.quoted();
    if (!startsPlain(c, this.at(1), false)) throw GIVE_UP;
    const s = this.s;
    const from = this.pos;
    let i = from;
    for (; i < this.end; i++) {
      const k = s.charCodeAt(i);
      if (k === NEWLINE) break;
      if (k === HASH && s.charCodeAt(i - 1) === SPACE) break;
      if (k === COLON && isBlankCode(i + 1 < this.end ? s.charCodeAt(i + 1) : NEWLINE)) this.plainWasKeyLike = true;
    }
    this.pos = i;
    return VALUES.value(s, from, this.trimmedEnd(from, i), resolvePlain);
  }

  // ---- flow context ----

  /** Spaces, line breaks and comments inside a flow collection; new lines must be indented past the block. */
  private skipFlowSpace(blockIndent: number): void {
    const s = this.s;
    for (;;) {
      const c = this.at();
      if (c === SPACE) {
        this.pos++;
      } else if (c === NEWLINE || (c === HASH && s.charCodeAt(this.pos - 1) === SPACE)) {
        if (this.pos >= this.end) throw GIVE_UP; // unterminated
        this.nextLine();
        if (this.indent <= blockIndent) throw GIVE_UP;
      } else {
        return;
      }
    }
  }

  private flowNode(blockIndent: number): unknown {
    this.enter();
    const close = this.at() === OPEN_SEQ ? CLOSE_SEQ : CLOSE_MAP;
    this.pos++;
    const isSeq = close === CLOSE_SEQ;
    const base = this.itemCount;
    const map: Record<string, unknown> = isSeq ? EMPTY : {};
    for (;;) {
      this.skipFlowSpace(blockIndent);
      if (this.at() === close) break;
      if (isSeq) {
        this.pushItem(this.flowValue(blockIndent));
      } else {
        const key = this.key(true);
        this.skipFlowSpace(blockIndent);
        const value = this.flowValue(blockIndent);
        if (map[key] !== undefined) throw GIVE_UP;
        map[key] = value;
      }
      this.skipFlowSpace(blockIndent);
      const c = this.at();
      if (c === close) break;
      if (c !== COMMA) throw GIVE_UP;
      this.pos++;
    }
    this.pos++; // the closing bracket
    this.depth--;
    return isSeq ? this.takeItems(base) : map;
  }

  private flowValue(blockIndent: number): unknown {
    const c = this.at();
    let value: unknown;
    if (c === OPEN_SEQ || c === OPEN_MAP) value = this.flowNode(blockIndent);
    else if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) value = this.quoted();
    else value = this.flowPlain(VALUES);
    this.skipSpaces();
    if (this.at() === COLON) throw GIVE_UP; // `[a: b]`, a pair inside a list
    return value;
  }

  /** A plain scalar in a flow collection: ends at `,[]{}`, `: `, ` #` or the line's end. */
  private flowPlain(cache: ScalarCache): unknown {
    const s = this.s;
    if (!startsPlain(this.at(), this.at(1), true)) throw GIVE_UP;
    const from = this.pos;
    let i = from;
    for (; i < this.end; i++) {
      const k = s.charCodeAt(i);
      if (k === NEWLINE || k === COMMA || k === OPEN_SEQ || k === CLOSE_SEQ || k === OPEN_MAP || k === CLOSE_MAP) break;
      if (k === HASH && s.charCodeAt(i - 1) === SPACE) break;
      if (k === COLON && isFlowSafeEnd(i + 1 < this.end ? s.charCodeAt(i + 1) : NEWLINE)) break;
    }
    this.pos = i;
    const end = this.trimmedEnd(from, i);
    if (end === from) throw GIVE_UP;
    return cache.value(s, from, end, resolvePlain);
  }

  // ---- scalars ----

  /** A one-line single- or double-quoted scalar; escapes beyond the common ones are left to the full parser. */
  private quoted(): string {
    const s = this.s;
    const quote = this.at();
    let out = '';
    let from = ++this.pos;
    for (;;) {
      if (this.pos >= this.end) throw GIVE_UP;
      const c = s.charCodeAt(this.pos);
      if (c === NEWLINE) throw GIVE_UP;
      if (c === quote) {
        if (quote === SINGLE_QUOTE && s.charCodeAt(this.pos + 1) === SINGLE_QUOTE && this.pos + 1 < this.end) {
          out += s.slice(from, this.pos + 1);
          this.pos += 2;
          from = this.pos;
          continue;
        }
        out += s.slice(from, this.pos);
        this.pos++;
        return out;
      }
      if (c === BACKSLASH && quote === DOUBLE_QUOTE) {
        out += s.slice(from, this.pos) + this.escape();
        from = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  /** One double-quoted escape at `pos`; moves past it. */
  private escape(): string {
    const s = this.s;
    const c = s[this.pos + 1];
    this.pos += 2;
    switch (c) {
      case '"':
      case '\\':
      case '/':
        return c;
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case '0':
        return '\0';
      case 'u': {
        const hex = s.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw GIVE_UP;
        const code = parseInt(hex, 16);
        if (code >= 0xd800 && code <= 0xdfff) throw GIVE_UP; // surrogate halves: the full parser decides
        this.pos += 4;
        return String.fromCharCode(code);
      }
      default:
        throw GIVE_UP;
    }
  }
}

function isBlankCode(c: number): boolean {
  return c === SPACE || c === NEWLINE;
}

function isFlowSafeEnd(c: number): boolean {
  return c === SPACE || c === NEWLINE || c === COMMA || c === OPEN_SEQ || c === CLOSE_SEQ || c === OPEN_MAP || c === CLOSE_MAP;
}

/**
 * Whether a plain scalar may start with `c` (followed by `next`): not with an indicator, except
 * `-`, `?` and `:` directly followed by a character that is not a space (nor a flow indicator, in flow).
 */
function startsPlain(c: number, next: number, flow: boolean): boolean {
  switch (c) {
    case DASH:
    case 63: // ?
    case COLON:
      return !(flow ? isFlowSafeEnd(next) : isBlankCode(next));
    case COMMA:
    case OPEN_SEQ:
    case CLOSE_SEQ:
    case OPEN_MAP:
    case CLOSE_MAP:
    case HASH:
    case 38: // &
    case 42: // *
    case 33: // !
    case 124: // |
    case 62: // >
    case SINGLE_QUOTE:
    case DOUBLE_QUOTE:
    case 37: // %
    case 64: // @
    case 96: // `
    case SPACE:
    case NEWLINE:
      return false;
    default:
      return true;
  }
}

/** A plain scalar's value under the YAML 1.2 core schema, as the `yaml` package resolves it. */
function resolvePlain(text: string): unknown {
  const c = text.charCodeAt(0);
  // The first character tells which of the schema's tests can match at all.
  if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) return resolveNumber(text); // digit + - .
  if (c === 110 || c === 78 || c === 126 || text === '') return CORE_NULL.test(text) ? null : text; // n N ~
  if (c === 116 || c === 84 || c === 102 || c === 70) return CORE_BOOL.test(text) ? c === 116 || c === 84 : text; // t T f F
  return text;
}

/** A plain scalar starting with a digit, sign or dot: a number when one of the schema's number tests matches. */
function resolveNumber(text: string): unknown {
  // An int matches none of the tests before it in the schema, so it may be tried first.
  if (CORE_INT.test(text)) return parseInt(text, 10);
  if (text.indexOf('.') !== text.lastIndexOf('.')) return text; // an IP address or a version, never a number
  if (CORE_OCT.test(text)) return parseInt(text.substring(2), 8);
  if (CORE_HEX.test(text)) return parseInt(text.substring(2), 16);
  if (CORE_NAN.test(text)) return text.slice(-3).toLowerCase() === 'nan' ? NaN : text.startsWith('-') ? -Infinity : Infinity;
  if (CORE_EXP.test(text) || CORE_FLOAT.test(text)) return parseFloat(text);
  return text;
}

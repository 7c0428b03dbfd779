// The field-checking toolkit every kind's validator is written in: a `Field` is one value in the
// object with its path; its checks report an issue (object, field path, line, why) and return the
// typed value, or undefined when the value is missing or wrong. Nothing here throws on any input.
import { isIP } from 'node:net';
import type { ConfigIssue } from '../source.js';

export type FieldPath = (string | number)[];
/** The Field check that a kind's metadata.name must pass. */
export type NameRule = 'dnsLabel' | 'dns1035Label' | 'dnsSubdomain';
export type Obj = Record<string, unknown>;

export function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Formats a path as `spec.rules[0].backendRefs[1].weight`. */
function formatPath(path: FieldPath): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else out += out === '' ? step : `.${step}`;
  }
  return out;
}

/** Where issues go: the source, the object's name and how to find a field's line. */
export class Report {
  readonly issues: ConfigIssue[] = [];
  object: string | undefined;

  constructor(
    private readonly source: string,
    private readonly line: number | undefined,
    private readonly lineOf: ((path: FieldPath) => number | undefined) | undefined,
  ) {}

  add(path: FieldPath, message: string, severity: ConfigIssue['severity'] = 'error'): void {
    const issue: ConfigIssue = { severity, source: this.source, message };
    const line = this.lineAt(path);
    if (line !== undefined) issue.line = line;
    if (this.object !== undefined) issue.object = this.object;
    if (path.length > 0) issue.field = formatPath(path);
    this.issues.push(issue);
  }

  hasErrors(): boolean {
    return this.issues.some((i) => i.severity === 'error');
  }

  private lineAt(path: FieldPath): number | undefined {
    let line: number | undefined;
    try {
      line = this.lineOf?.(path);
    } catch {
      line = undefined;
    }
    return line ?? this.line;
  }
}

// ---- formats (Kubernetes apimachinery validation, Gateway API patterns) ----

/** A DNS label's characters (its length, 1-63, is checked apart). */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const WILDCARD_HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** RFC 7230 token: the characters an HTTP header name may hold. */
const HTTP_TOKEN = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
/** Gateway API Duration: 1-4 groups of up to 5 digits with a unit. */
const GATEWAY_DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
/** Go time.ParseDuration. */
const GO_DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$|^0$/;

/** What Field.dnsLabel() accepts. */
export function isDnsLabel(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= 63 && DNS_LABEL.test(value);
}

/** What Field.dns1035Label() accepts. */
export function isDns1035Label(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= 63 && DNS_1035_LABEL.test(value);
}

/** What Field.labelValue() accepts. */
export function isLabelValue(value: unknown): boolean {
  return typeof value === 'string' && value.length <= 63 && LABEL_VALUE.test(value);
}

/** What Field.headerName() accepts. */
export function isHeaderName(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= 256 && HTTP_TOKEN.test(value);
}

/** What Field.ianaServiceName() accepts. */
export function isIanaServiceName(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= 15 && IANA_SVC_NAME.test(value) && !value.includes('--') && /[a-z]/.test(value);
}

/** What Field.int(min, max) accepts. */
export function isIntIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** What Field.ip() accepts (without a family). */
export function isIpText(value: unknown): boolean {
  return typeof value === 'string' && isIP(value) !== 0;
}

/** What Field.dnsSubdomain() accepts. */
export function isDnsSubdomainName(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && isDnsSubdomain(value);
}

function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

export function qualifiedNameProblem(s: string): string | undefined {
  const slash = s.indexOf('/');
  const prefix = slash >= 0 ? s.slice(0, slash) : undefined;
  const name = slash >= 0 ? s.slice(slash + 1) : s;
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return `prefix '${prefix}' must be a DNS subdomain`;
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return 'must be at most 63 alphanumeric characters, "-", "_" or ".", starting and ending alphanumeric, with an optional DNS subdomain prefix and "/"';
  }
  return undefined;
}

/** Parses an IPv4/IPv6 CIDR; undefined when invalid. */
function parseCidr(s: string): { family: 4 | 6; bits: bigint; prefix: number } | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = s.slice(0, slash);
  const prefixText = s.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  return { family: family as 4 | 6, bits: ipBits(ip, family as 4 | 6), prefix };
}

function ipBits(ip: string, family: 4 | 6): bigint {
  if (family === 4) return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const low = ipBits(v4[1] as string, 4);
    text = text.slice(0, -(v4[1] as string).length) + `${(low >> 16n).toString(16)}:${(low & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : new Array<string>(8 - headParts.length - tailParts.length).fill('0');
  return [...headParts, ...zeros, ...tailParts].reduce((acc, part) => (acc << 16n) | BigInt(parseInt(part, 16)), 0n);
}

/** Whether `inner` is a strict subset of `outer` (same family, longer prefix, same leading bits). */
export function cidrStrictlyInside(inner: string, outer: string): boolean {
  const a = parseCidr(inner);
  const b = parseCidr(outer);
  if (!a || !b || a.family !== b.family || a.prefix <= b.prefix) return false;
  const width = a.family === 4 ? 32n : 128n;
  const shift = width - BigInt(b.prefix);
  return a.bits >> shift === b.bits >> shift;
}

/**
 * Why a regular expression is not valid RE2 (the dialect of Envoy, Cilium and Gateway API), if it is
 * not. Checked with JavaScript's parser plus RE2's own rules, not with re2-wasm: its fixed 16 MB heap
 * aborts on patterns as short as `\pL{1000}`, and the module is then dead for the whole process.
 */
export function regexProblem(pattern: string): string | undefined {
  if (/\(\?<?[=!]/.test(pattern)) return 'invalid regular expression: lookaround assertions are not RE2 syntax';
  if (/(^|[^\\])(\\\\)*\\[1-9]/.test(pattern)) return 'invalid regular expression: backreferences are not RE2 syntax';
  for (const m of pattern.matchAll(/\{(\d+)(,(\d*))?\}/g)) {
    if (Number(m[1]) > 1000 || Number(m[3] || 0) > 1000) return `invalid regular expression: repetition ${m[0]} is more than RE2's limit of 1000`;
  }
  // RE2 syntax JavaScript lacks: inline flags `(?i)` / `(?i:...)` and Python-style named groups.
  const body = pattern.replace(/\(\?[imsU]+\)/g, '').replace(/\(\?[imsU-]+:/g, '(?:').replace(/\(\?P</g, '(?<');
  try {
    new RegExp(body);
    return undefined;
  } catch (err) {
    return `invalid regular expression: ${clip(err instanceof Error ? err.message : String(err))}`;
  }
}

/** A Gateway API Duration as milliseconds; undefined when not in that format. */
function gatewayDurationMs(s: string): number | undefined {
  if (!GATEWAY_DURATION.test(s)) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
  let total = 0;
  for (const m of s.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(m[1]) * (unit[m[2] as string] ?? 0);
  return total;
}

// ---- the Field ----

interface StringRules {
  min?: number;
  max?: number;
  pattern?: RegExp;
  patternHint?: string;
}

/** One value of the object being validated, with its path (built only when an issue names it). */
export class Field {
  private constructor(
    readonly report: Report,
    private readonly parent: Field | undefined,
    private readonly step: string | number,
    readonly value: unknown,
  ) {}

  /** The whole object being validated. */
  static root(report: Report, value: unknown): Field {
    return new Field(report, undefined, '', value);
  }

  get path(): FieldPath {
    const path: FieldPath = this.parent ? this.parent.path : [];
    if (this.parent) path.push(this.step);
    return path;
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  error(message: string): undefined {
    this.report.add(this.path, message);
    return undefined;
  }

  warn(message: string): void {
    this.report.add(this.path, message, 'warning');
  }

  /** The child field (of a map by key, of a list by index), present or not. */
  at(step: string | number): Field {
    return new Field(this.report, this, step, childOf(this.value, step));
  }

  /** A child that must be present; reports it and returns undefined when missing. */
  req(key: string): Field | undefined {
    const child = this.at(key);
    if (!child.present) return child.error('required field is missing');
    return child;
  }

  /** A child that may be absent: undefined when it is (and then no Field is made for it). */
  opt(key: string): Field | undefined {
    const value = childOf(this.value, key);
    return value === undefined || value === null ? undefined : new Field(this.report, this, key, value);
  }

  object(): Obj | undefined {
    if (isObj(this.value)) return this.value;
    return this.error(`must be an object, not ${describe(this.value)}`);
  }

  /** A list; `each` checks every item; bounds follow the schema's minItems/maxItems. */
  list(each?: (item: Field, index: number) => void, bounds: { min?: number; max?: number } = {}): Field[] | undefined {
    const list = this.values(bounds);
    if (!list) return undefined;
    const items: Field[] = [];
    for (let i = 0; i < list.length; i++) items.push(new Field(this.report, this, i, list[i]));
    if (each) for (let i = 0; i < items.length; i++) each(items[i] as Field, i);
    return items;
  }

  /** A list's items as they are, its type and bounds checked (as `list` does): for a loop that reads them itself. */
  values(bounds: { min?: number; max?: number } = {}): unknown[] | undefined {
    const list = this.value;
    if (!Array.isArray(list)) return this.error(`must be a list, not ${describe(list)}`);
    if (bounds.min !== undefined && list.length < bounds.min) this.error(`must have at least ${bounds.min} item(s)`);
    if (bounds.max !== undefined && list.length > bounds.max) this.error(`must have at most ${bounds.max} items, has ${list.length}`);
    return list;
  }

  /** A map of string keys to values; `each` checks every entry. */
  map(each?: (key: string, value: Field) => void): Obj | undefined {
    const obj = this.object();
    if (obj && each) for (const key of Object.keys(obj)) each(key, this.at(key));
    return obj;
  }

  string(rules: StringRules = {}): string | undefined {
    const v = this.value;
    if (typeof v !== 'string') return this.error(`must be a string, not ${describe(v)}`);
    if (rules.min !== undefined && v.length < rules.min) {
      return this.error(rules.min === 1 ? 'must not be empty' : `must be at least ${rules.min} characters`);
    }
    if (rules.max !== undefined && v.length > rules.max) return this.error(`must be at most ${rules.max} characters, is ${v.length}`);
    if (rules.pattern && !rules.pattern.test(v)) return this.error(`'${clip(v)}' ${rules.patternHint ?? `must match ${rules.pattern.source}`}`);
    return v;
  }

  oneOf<T extends string | number>(values: readonly T[]): T | undefined {
    if (!values.includes(this.value as T)) {
      return this.error(`must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}, not ${clip(JSON.stringify(this.value) ?? describe(this.value))}`);
    }
    return this.value as T;
  }

  int(min: number, max: number): number | undefined {
    const v = this.value;
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.error(`must be an integer, not ${describe(v)}`);
    if (v < min || v > max) return this.error(`must be between ${min} and ${max}, is ${v}`);
    return v;
  }

  bool(): boolean | undefined {
    if (typeof this.value !== 'boolean') return this.error(`must be true or false, not ${describe(this.value)}`);
    return this.value;
  }

  port(): number | undefined {
    return this.int(1, 65535);
  }

  /** A port number or an IANA service name (a container port's name), as `targetPort` takes. */
  portOrName(): number | string | undefined {
    if (typeof this.value === 'number') return this.port();
    return this.ianaServiceName();
  }

  ianaServiceName(): string | undefined {
    const s = this.string({ min: 1, max: 15 });
    if (s === undefined) return undefined;
    if (!isIanaServiceName(s)) {
      return this.error(`'${s}' must be an IANA service name: lowercase letters, digits and single "-", with at least one letter`);
    }
    return s;
  }

  dnsLabel(): string | undefined {
    return this.string({ min: 1, max: 63, pattern: DNS_LABEL, patternHint: 'must be a DNS label (lowercase letters, digits and "-", starting and ending alphanumeric)' });
  }

  /** A DNS-1035 label: a DNS label that starts with a letter (Service names). */
  dns1035Label(): string | undefined {
    return this.string({ min: 1, max: 63, pattern: DNS_1035_LABEL, patternHint: 'must be a DNS-1035 label (lowercase letters, digits and "-", starting with a letter)' });
  }

  dnsSubdomain(): string | undefined {
    return this.string({ min: 1, max: 253, pattern: DNS_SUBDOMAIN, patternHint: 'must be a DNS subdomain (lowercase alphanumeric labels separated by ".")' });
  }

  /** A hostname that may start with `*.` (Gateway API Hostname). */
  hostname(): string | undefined {
    return this.string({ min: 1, max: 253, pattern: WILDCARD_HOSTNAME, patternHint: 'must be a hostname (DNS subdomain, optionally prefixed with "*.")' });
  }

  ip(family?: 4 | 6): string | undefined {
    const s = this.string();
    if (s === undefined) return undefined;
    const found = isIP(s);
    if (found === 0) return this.error(`'${clip(s)}' must be an IP address`);
    if (family !== undefined && found !== family) return this.error(`'${s}' must be an IPv${family} address`);
    return s;
  }

  cidr(options: { allowIP?: boolean } = {}): string | undefined {
    const s = this.string();
    if (s === undefined) return undefined;
    if (options.allowIP && isIP(s) !== 0) return s;
    if (!parseCidr(s)) return this.error(`'${clip(s)}' must be a CIDR such as 10.0.0.0/8`);
    return s;
  }

  headerName(): string | undefined {
    return this.string({ min: 1, max: 256, pattern: HTTP_TOKEN, patternHint: 'must be an HTTP header name (RFC 7230 token characters)' });
  }

  /** An RFC 7230 token, e.g. an HTTP method. */
  token(): string | undefined {
    return this.string({ min: 1, pattern: HTTP_TOKEN, patternHint: 'must be an HTTP token (RFC 7230)' });
  }

  regex(): string | undefined {
    const s = this.string();
    if (s === undefined) return undefined;
    const problem = regexProblem(s);
    return problem ? this.error(problem) : s;
  }

  /** A Gateway API Duration (`1h30m`, `500ms`), as milliseconds. */
  gatewayDuration(): number | undefined {
    const s = this.string();
    if (s === undefined) return undefined;
    const ms = gatewayDurationMs(s);
    if (ms === undefined) return this.error(`'${clip(s)}' must be a Gateway API duration such as 10s, 500ms or 1h30m`);
    return ms;
  }

  /** A Go duration (`24h`, `1.5s`). */
  goDuration(): string | undefined {
    return this.string({ pattern: GO_DURATION, patternHint: 'must be a duration such as 24h, 90m or 1.5s' });
  }

  qualifiedName(): string | undefined {
    const s = this.string();
    if (s === undefined) return undefined;
    const problem = qualifiedNameProblem(s);
    return problem ? this.error(`'${clip(s)}' ${problem}`) : s;
  }

  labelValue(): string | undefined {
    return this.string({ max: 63, pattern: LABEL_VALUE, patternHint: 'must be a label value (at most 63 alphanumeric characters, "-", "_" or ".", starting and ending alphanumeric)' });
  }

  /** A map of label keys to label values (metadata.labels, matchLabels, Service selectors). */
  labels(): Obj | undefined {
    return this.map((key, value) => {
      const problem = qualifiedNameProblem(key);
      if (problem) value.error(`label key '${clip(key)}' ${problem}`);
      value.labelValue();
    });
  }

  /** A list of strings, each checked by `each`; duplicates reported when `unique`. */
  strings(each: (item: Field) => unknown = (item) => item.string(), bounds: { min?: number; max?: number; unique?: boolean } = {}): string[] | undefined {
    const items = this.list(undefined, bounds);
    if (!items) return undefined;
    const out: string[] = [];
    for (const item of items) {
      if (each(item) === undefined) continue;
      const s = item.value as string;
      if (bounds.unique && out.includes(s)) item.error(`duplicate value '${clip(s)}'`);
      out.push(s);
    }
    return out;
  }

  /** Reports items of a list whose `key` repeats an earlier item's (a listMapKey in the schema). */
  uniqueBy(key: string, normalize: (v: string) => string = (v) => v): void {
    if (!Array.isArray(this.value) || this.value.length < 2) return; // nothing to repeat (most lists hold one item)
    const seen = new Set<string>();
    this.value.forEach((item, i) => {
      const k = isObj(item) ? item[key] : undefined;
      if (typeof k !== 'string') return;
      const n = normalize(k);
      if (seen.has(n)) this.at(i).at(key).error(`duplicate ${key} '${clip(k)}'`);
      seen.add(n);
    });
  }

  /** Reports the fields of this object that must not be set together (at most one of them). */
  atMostOne(keys: string[]): void {
    const set = keys.filter((k) => this.at(k).present);
    if (set.length > 1) this.error(`${set.join(' and ')} must not both be set`);
  }
}

/**
 * The value at `step` of a list (by index) or of a map (by key, its own fields only), or undefined.
 * Input objects are plain data (parsed YAML or JSON): what a map inherits is Object.prototype's, all
 * functions but `__proto__`, so a found value that is neither is the map's own.
 */
function childOf(container: unknown, step: string | number): unknown {
  if (typeof container !== 'object' || container === null) return undefined;
  if (Array.isArray(container)) return typeof step === 'number' ? container[step] : undefined;
  if (typeof step === 'number') return undefined;
  const child = (container as Obj)[step];
  if (child === undefined || typeof child === 'function') return undefined;
  return step === '__proto__' && !Object.prototype.hasOwnProperty.call(container, step) ? undefined : child;
}

/** A Kubernetes label selector (matchLabels and matchExpressions). */
export function labelSelector(f: Field, options: { keys?: (key: string) => string | undefined } = {}): void {
  if (!f.object()) return;
  const keyProblem = options.keys ?? qualifiedNameProblem;
  f.opt('matchLabels')?.map((key, value) => {
    const problem = keyProblem(key);
    if (problem) value.error(`label key '${clip(key)}' ${problem}`);
    value.labelValue();
  });
  f.opt('matchExpressions')?.list((expr) => {
    if (!expr.object()) return;
    const key = expr.req('key')?.string();
    if (key !== undefined) {
      const problem = keyProblem(key);
      if (problem) expr.at('key').error(`'${clip(key)}' ${problem}`);
    }
    const op = expr.req('operator')?.oneOf(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const);
    const values = expr.opt('values')?.strings((v) => v.labelValue());
    if ((op === 'In' || op === 'NotIn') && (values === undefined || values.length === 0)) {
      expr.at('values').error(`must be non-empty when operator is ${op}`);
    }
    if ((op === 'Exists' || op === 'DoesNotExist') && values !== undefined && values.length > 0) {
      expr.at('values').error(`must be empty when operator is ${op}`);
    }
  });
}

/** What a value is, for messages: `a number`, `a list`, `nothing`. */
export function describe(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string '${clip(value)}'`;
  return `${typeof value === 'number' ? 'the number' : `the ${typeof value}`} ${String(value)}`;
}

/** Shortens user text quoted in a message. */
function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}

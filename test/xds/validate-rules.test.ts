// Every protoc-gen-validate rule kind, one table row per rule: a value that breaks it is reported
// at its field with the rule's name, and a value that keeps it is not. Rules Envoy's protos use are
// checked on Envoy's own messages; the rest on a small proto written here with the same annotations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { formatViolations, lookupType, validateMessage } from '../../xds/validate/index.js';

const bundled = protobuf.common as unknown as { get(file: string): { nested: protobuf.INamespace['nested'] } };

const TEST_PROTO = `
syntax = "proto3";
package skiff.test;
import "validate/validate.proto";

enum Color { COLOR_UNSET = 0; RED = 1; GREEN = 2; BLUE = 3; }

message Strings {
  string s_const = 1 [(validate.rules).string.const = "abc"];
  string s_len = 2 [(validate.rules).string.len = 3];
  string s_len_bytes = 3 [(validate.rules).string.len_bytes = 4];
  string s_min_max = 4 [(validate.rules).string = {min_len: 2, max_len: 3}];
  string s_bytes = 5 [(validate.rules).string = {min_bytes: 2, max_bytes: 3}];
  string s_prefix = 6 [(validate.rules).string.prefix = "pre"];
  string s_suffix = 7 [(validate.rules).string.suffix = "suf"];
  string s_contains = 8 [(validate.rules).string.contains = "mid"];
  string s_not_contains = 9 [(validate.rules).string.not_contains = "bad"];
  string s_in = 10 [(validate.rules).string = {in: ["a", "b"]}];
  string s_not_in = 11 [(validate.rules).string = {not_in: ["x"]}];
  string s_pattern = 12 [(validate.rules).string.pattern = "^[a-z]+\\\\.[0-9]$"];
  string s_email = 13 [(validate.rules).string.email = true];
  string s_hostname = 14 [(validate.rules).string.hostname = true];
  string s_ip = 15 [(validate.rules).string.ip = true];
  string s_ipv4 = 16 [(validate.rules).string.ipv4 = true];
  string s_ipv6 = 17 [(validate.rules).string.ipv6 = true];
  string s_uri = 18 [(validate.rules).string.uri = true];
  string s_uri_ref = 19 [(validate.rules).string.uri_ref = true];
  string s_address = 20 [(validate.rules).string.address = true];
  string s_uuid = 21 [(validate.rules).string.uuid = true];
  string s_header_name = 22 [(validate.rules).string.well_known_regex = HTTP_HEADER_NAME];
  string s_header_value = 23 [(validate.rules).string.well_known_regex = HTTP_HEADER_VALUE];
  string s_ignore_empty = 24 [(validate.rules).string = {ignore_empty: true, min_len: 3}];
  string s_min_len = 25 [(validate.rules).string.min_len = 3];
  string s_min_bytes = 26 [(validate.rules).string.min_bytes = 5];
}

message Numbers {
  uint32 n_exclusive = 1 [(validate.rules).uint32 = {lt: 10, gt: 20}];
  int32 n_range = 2 [(validate.rules).int32 = {gte: -5, lte: 5}];
  int64 n_const = 3 [(validate.rules).int64.const = 7];
  uint64 n_in = 4 [(validate.rules).uint64 = {in: [1, 2]}];
  sint32 n_not_in = 5 [(validate.rules).sint32 = {not_in: [0]}];
  double n_double = 6 [(validate.rules).double = {gt: 0.5, lt: 1.5}];
  float n_float = 7 [(validate.rules).float = {in: [0.1, 0.5]}];
  fixed64 n_fixed64 = 8 [(validate.rules).fixed64.lte = 100];
  sfixed32 n_sfixed32 = 9 [(validate.rules).sfixed32.gt = 0];
  fixed32 n_fixed32 = 10 [(validate.rules).fixed32.lt = 3];
  sint64 n_sint64 = 11 [(validate.rules).sint64.gte = -1];
  sfixed64 n_sfixed64 = 12 [(validate.rules).sfixed64.const = 9];
  bool b_const = 13 [(validate.rules).bool.const = true];
  Color e_const = 14 [(validate.rules).enum.const = 2];
  Color e_in = 15 [(validate.rules).enum = {in: [1, 2]}];
  Color e_not_in = 16 [(validate.rules).enum = {not_in: [0]}];
  Color e_defined = 17 [(validate.rules).enum.defined_only = true];
}

message Bytes {
  bytes b_const = 1 [(validate.rules).bytes.const = "ab"];
  bytes b_len = 2 [(validate.rules).bytes.len = 2];
  bytes b_min_max = 3 [(validate.rules).bytes = {min_len: 1, max_len: 2}];
  bytes b_prefix = 4 [(validate.rules).bytes.prefix = "a"];
  bytes b_suffix = 5 [(validate.rules).bytes.suffix = "z"];
  bytes b_contains = 6 [(validate.rules).bytes.contains = "m"];
  bytes b_in = 7 [(validate.rules).bytes = {in: ["a", "b"]}];
  bytes b_not_in = 8 [(validate.rules).bytes = {not_in: ["x"]}];
  bytes b_pattern = 9 [(validate.rules).bytes.pattern = "^[a-z]+$"];
  bytes b_ip = 10 [(validate.rules).bytes.ip = true];
  bytes b_ipv4 = 11 [(validate.rules).bytes.ipv4 = true];
  bytes b_ipv6 = 12 [(validate.rules).bytes.ipv6 = true];
}

message Inner { string name = 1 [(validate.rules).string.min_len = 1]; }

message Unchecked {
  option (validate.disabled) = true;
  string name = 1 [(validate.rules).string.min_len = 1];
  oneof o { option (validate.required) = true; string a = 2; }
}

message Containers {
  repeated uint32 r_count = 1 [(validate.rules).repeated = {min_items: 1, max_items: 2}];
  repeated string r_unique = 2 [(validate.rules).repeated.unique = true];
  repeated Inner r_items = 3;
  repeated Inner r_skip = 4 [(validate.rules).repeated.items.message.skip = true];
  repeated string r_ignore_empty = 5 [(validate.rules).repeated = {ignore_empty: true, min_items: 2}];
  map<string, Inner> m_pairs = 6 [(validate.rules).map = {min_pairs: 1, max_pairs: 2}];
  map<int32, string> m_keys = 7 [(validate.rules).map = {keys: {int32: {gt: 0}}, values: {string: {min_len: 1}}}];
  Inner required = 8 [(validate.rules).message.required = true];
  Inner skipped = 9 [(validate.rules).message.skip = true];
  Unchecked disabled = 10;
  oneof choice {
    option (validate.required) = true;
    string first = 11 [(validate.rules).string.min_len = 2];
    uint32 second = 12;
  }
  optional string maybe = 13 [(validate.rules).string.min_len = 2];
}

message WellKnown {
  google.protobuf.Any any_required = 1 [(validate.rules).any.required = true];
  google.protobuf.Any any_in = 2 [(validate.rules).any = {in: ["type.googleapis.com/envoy.config.cluster.v3.Cluster"]}];
  google.protobuf.Any any_not_in = 3 [(validate.rules).any = {not_in: ["type.googleapis.com/envoy.config.cluster.v3.Cluster"]}];
  google.protobuf.Duration d_required = 4 [(validate.rules).duration.required = true];
  google.protobuf.Duration d_const = 5 [(validate.rules).duration.const = {seconds: 5}];
  google.protobuf.Duration d_range = 6 [(validate.rules).duration = {gte: {nanos: 1000000}, lt: {seconds: 60}}];
  google.protobuf.Duration d_exclusive = 7 [(validate.rules).duration = {lte: {seconds: 1}, gt: {seconds: 10}}];
  google.protobuf.Duration d_in = 8 [(validate.rules).duration = {in {seconds: 1} in {seconds: 2}}];
  google.protobuf.Duration d_not_in = 9 [(validate.rules).duration = {not_in {}}];
  google.protobuf.Timestamp t_required = 10 [(validate.rules).timestamp.required = true];
  google.protobuf.Timestamp t_const = 11 [(validate.rules).timestamp.const = {seconds: 1000}];
  google.protobuf.Timestamp t_range = 12 [(validate.rules).timestamp = {gt: {seconds: 1000}, lte: {seconds: 2000}}];
  google.protobuf.Timestamp t_lt_now = 13 [(validate.rules).timestamp.lt_now = true];
  google.protobuf.Timestamp t_gt_now = 14 [(validate.rules).timestamp.gt_now = true];
  google.protobuf.Timestamp t_within = 15 [(validate.rules).timestamp.within = {seconds: 3600}];
  google.protobuf.UInt32Value w_uint32 = 16 [(validate.rules).uint32 = {gte: 1, lte: 100}];
  google.protobuf.StringValue w_string = 17 [(validate.rules).string.min_len = 2];
  google.protobuf.BoolValue w_required = 18 [(validate.rules).message.required = true];
  google.protobuf.Any any_nested = 19;
}
`;

function testRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const file of ['any', 'duration', 'timestamp', 'wrappers']) root.addJSON(bundled.get(`google/protobuf/${file}.proto`).nested ?? {});
  protobuf.parse(TEST_PROTO, root, { keepCase: true });
  root.resolveAll();
  return root;
}
const root = testRoot();

/** One rule: the field, a value that breaks it (and the rule named), and a value that keeps it. */
type Row = [field: string, bad: unknown, rule: string, good: unknown];

/** Sets one field at a time, so each row sees only its own field's violations. */
function checkRows(typeName: string, rows: Row[]): void {
  const type = root.lookupType(`skiff.test.${typeName}`);
  for (const [field, bad, rule, good] of rows) {
    const badHits = validateMessage(type, { [field]: bad }).filter((v) => v.path === field);
    assert.deepEqual(badHits.map((v) => v.rule), [rule], `${typeName}.${field} = ${JSON.stringify(bad)}: ${formatViolations(badHits)}`);
    const goodHits = validateMessage(type, { [field]: good }).filter((v) => v.path === field);
    assert.deepEqual(goodHits, [], `${typeName}.${field} = ${JSON.stringify(good)}: ${formatViolations(goodHits)}`);
  }
}

const ts = (seconds: number) => ({ seconds });
const nowSeconds = () => Math.floor(Date.now() / 1000);

test('string rules: const, lengths, affixes, in/not_in, RE2 pattern, well-known formats, ignore_empty', () => {
  checkRows('Strings', [
    ['s_const', 'abd', 'string.const', 'abc'],
    ['s_len', 'héllo', 'string.len', 'hé!'],
    ['s_len_bytes', 'abc', 'string.len_bytes', 'héy'],
    ['s_min_max', 'abcd', 'string.max_len', 'ab'],
    ['s_min_max', 'a', 'string.min_len', 'abc'],
    // Lower bounds alone take a shortcut by UTF-16 length; code points and bytes still decide.
    ['s_min_len', '😀😀', 'string.min_len', '😀😀😀'],
    ['s_min_len', 'ab', 'string.min_len', 'ab😀'],
    ['s_min_bytes', 'abcd', 'string.min_bytes', 'é€'],
    ['s_bytes', 'é€', 'string.max_bytes', 'é'],
    ['s_prefix', 'xpre', 'string.prefix', 'prefix'],
    ['s_suffix', 'sufx', 'string.suffix', 'xsuf'],
    ['s_contains', 'mi d', 'string.contains', 'amidst'],
    ['s_not_contains', 'so bad', 'string.not_contains', 'good'],
    ['s_in', 'c', 'string.in', 'b'],
    ['s_not_in', 'x', 'string.not_in', 'y'],
    ['s_pattern', 'abc.12', 'string.pattern', 'abc.1'],
    ['s_email', 'not-an-email', 'string.email', 'ops@example.com'],
    ['s_email', 'ops@-bad-.com', 'string.email', 'Ops <ops@example.com>'],
    ['s_hostname', 'under_score.example', 'string.hostname', 'orders.shop.svc.cluster.local'],
    ['s_hostname', '-lead.example', 'string.hostname', 'a.b.'],
    ['s_ip', '10.0.0.256', 'string.ip', '::1'],
    ['s_ipv4', '::1', 'string.ipv4', '10.0.0.1'],
    ['s_ipv6', '10.0.0.1', 'string.ipv6', 'fd00::1'],
    ['s_uri', '/relative/path', 'string.uri', 'https://example.com/a?b=c'],
    ['s_uri_ref', 'has space', 'string.uri_ref', '../relative?x=%20'],
    ['s_address', 'not an address', 'string.address', 'example.com'],
    ['s_uuid', '123e4567-e89b-12d3-a456-42661417400', 'string.uuid', '123e4567-e89b-12d3-a456-426614174000'],
    ['s_header_name', 'bad header', 'string.well_known_regex', ':authority'],
    ['s_header_value', 'a\x01b', 'string.well_known_regex', 'text/html; charset=utf-8'],
    ['s_ignore_empty', 'ab', 'string.min_len', ''],
  ]);
});

test('numeric, bool and enum rules: const, ranges (incl. exclusive), in/not_in, defined_only', () => {
  checkRows('Numbers', [
    ['n_exclusive', 15, 'uint32.gt', 25],
    ['n_exclusive', 10, 'uint32.gt', 9],
    ['n_range', -6, 'int32.gte', -5],
    ['n_range', 6, 'int32.lte', 5],
    ['n_const', '8', 'int64.const', '7'],
    ['n_in', 3, 'uint64.in', '2'],
    ['n_not_in', 0, 'sint32.not_in', -1],
    ['n_double', 0.5, 'double.gt', 1.0],
    ['n_double', 1.5, 'double.lt', 1.4999],
    ['n_float', 0.3, 'float.in', 0.1],
    ['n_fixed64', '101', 'fixed64.lte', '100'],
    ['n_sfixed32', 0, 'sfixed32.gt', 1],
    ['n_fixed32', 3, 'fixed32.lt', 2],
    ['n_sint64', '-2', 'sint64.gte', '-1'],
    ['n_sfixed64', 8, 'sfixed64.const', 9],
    ['b_const', false, 'bool.const', true],
    ['e_const', 'RED', 'enum.const', 'GREEN'],
    ['e_in', 'BLUE', 'enum.in', 'RED'],
    ['e_not_in', 'COLOR_UNSET', 'enum.not_in', 'BLUE'],
    ['e_defined', 42, 'enum.defined_only', 3],
  ]);
});

test('float rules compare at single precision (a decoded 0.1f equals the rule 0.1)', () => {
  const type = root.lookupType('skiff.test.Numbers');
  const bytes = type.encode(type.fromObject({ n_float: 0.1 })).finish();
  assert.notEqual((type.decode(bytes) as unknown as { n_float: number }).n_float, 0.1);
  assert.deepEqual(validateMessage(type, bytes).filter((v) => v.path === 'n_float'), []);
});

test('scalar rules apply to unset proto3 fields (their default value)', () => {
  const type = root.lookupType('skiff.test.Numbers');
  const rules = validateMessage(type, {}).map((v) => `${v.path} ${v.rule}`);
  assert.ok(rules.includes('n_const int64.const'), rules.join('\n'));
  assert.ok(rules.includes('b_const bool.const'), rules.join('\n'));
  assert.ok(!rules.some((r) => r.startsWith('e_defined')), 'enum 0 is defined');
});

test('bytes rules: const, lengths, affixes, in/not_in, pattern, ip', () => {
  const b = (...bytes: number[]) => Buffer.from(bytes);
  checkRows('Bytes', [
    ['b_const', Buffer.from('ac'), 'bytes.const', Buffer.from('ab')],
    ['b_len', b(1), 'bytes.len', b(1, 2)],
    ['b_min_max', b(1, 2, 3), 'bytes.max_len', b(1)],
    ['b_prefix', Buffer.from('ba'), 'bytes.prefix', Buffer.from('ab')],
    ['b_suffix', Buffer.from('zy'), 'bytes.suffix', Buffer.from('yz')],
    ['b_contains', Buffer.from('ab'), 'bytes.contains', Buffer.from('amb')],
    ['b_in', Buffer.from('c'), 'bytes.in', Buffer.from('a')],
    ['b_not_in', Buffer.from('x'), 'bytes.not_in', Buffer.from('y')],
    ['b_pattern', Buffer.from('abc1'), 'bytes.pattern', Buffer.from('abc')],
    ['b_ip', b(1, 2, 3), 'bytes.ip', b(10, 0, 0, 1)],
    ['b_ipv4', Buffer.alloc(16), 'bytes.ipv4', b(10, 0, 0, 1)],
    ['b_ipv6', b(10, 0, 0, 1), 'bytes.ipv6', Buffer.alloc(16)],
  ]);
});

test('repeated and map rules: counts, unique, items, keys, values, ignore_empty', () => {
  checkRows('Containers', [
    ['r_count', [], 'repeated.min_items', [1]],
    ['r_count', [1, 2, 3], 'repeated.max_items', [1, 2]],
    ['r_unique', ['a', 'b', 'a'], 'repeated.unique', ['a', 'b']],
    ['r_ignore_empty', ['a'], 'repeated.min_items', []],
    ['m_pairs', {}, 'map.min_pairs', { a: {} }],
    ['m_pairs', { a: { name: 'x' }, b: { name: 'x' }, c: { name: 'x' } }, 'map.max_pairs', { a: { name: 'x' } }],
  ]);
  const type = root.lookupType('skiff.test.Containers');
  const found = validateMessage(type, {
    r_items: [{ name: 'ok' }, { name: '' }],
    r_skip: [{ name: '' }],
    m_keys: { 0: 'zero', 3: '' },
    m_pairs: { a: { name: '' } },
  }).map((v) => `${v.path} ${v.rule}`);
  assert.ok(found.includes('r_items[1].name string.min_len'), found.join('\n'));
  assert.ok(!found.some((f) => f.startsWith('r_skip')), 'items.message.skip');
  assert.ok(found.includes('m_keys["0"] int32.gt'), found.join('\n'));
  assert.ok(found.includes('m_keys["3"] string.min_len'), found.join('\n'));
  assert.ok(!found.some((f) => f.startsWith('m_keys["3"] int32')), found.join('\n'));
  assert.ok(found.includes('m_pairs["a"].name string.min_len'), found.join('\n'));
});

test('message rules: required, skip, a disabled message type, required oneofs, proto3 optional', () => {
  const type = root.lookupType('skiff.test.Containers');
  const empty = validateMessage(type, {}).map((v) => `${v.path} ${v.rule}`);
  assert.ok(empty.includes('required message.required'), empty.join('\n'));
  assert.ok(empty.includes('choice oneof.required'), empty.join('\n'));
  assert.ok(!empty.some((f) => f.startsWith('maybe')), 'an unset optional field is not checked');
  const found = validateMessage(type, {
    required: { name: '' },
    skipped: { name: '' },
    disabled: { name: '' },
    first: 'x',
    maybe: 'y',
  }).map((v) => `${v.path} ${v.rule}`);
  assert.ok(found.includes('required.name string.min_len'), found.join('\n'));
  assert.ok(found.includes('first string.min_len'), found.join('\n'));
  assert.ok(found.includes('maybe string.min_len'), found.join('\n'));
  assert.ok(!found.some((f) => f.startsWith('skipped') || f.startsWith('disabled') || f.startsWith('choice')), found.join('\n'));
  // A oneof member set to its default value still counts as set (proto3 presence).
  const second = validateMessage(type, { second: 0 }).map((v) => v.rule);
  assert.ok(!second.includes('oneof.required'), second.join('\n'));
});

test('well-known types: Any, Duration, Timestamp and wrappers', () => {
  const cluster = lookupType('envoy.config.cluster.v3.Cluster');
  const anyOf = (typeUrl: string, value: object) => ({ type_url: typeUrl, value: cluster.encode(cluster.fromObject(value)).finish() });
  const goodCluster = anyOf('type.googleapis.com/envoy.config.cluster.v3.Cluster', { name: 'c', connect_timeout: { seconds: 1 } });
  const listenerUrl = 'type.googleapis.com/envoy.config.listener.v3.Listener';
  const now = nowSeconds();
  checkRows('WellKnown', [
    ['any_in', { type_url: listenerUrl }, 'any.in', goodCluster],
    ['any_not_in', goodCluster, 'any.not_in', { type_url: listenerUrl }],
    ['d_const', { seconds: 4 }, 'duration.const', { seconds: 5 }],
    ['d_range', { nanos: 999999 }, 'duration.gte', { nanos: 1000000 }],
    ['d_range', { seconds: 60 }, 'duration.lt', { seconds: 59, nanos: 999999999 }],
    ['d_exclusive', { seconds: 5 }, 'duration.gt', { seconds: 1 }],
    ['d_in', { seconds: 3 }, 'duration.in', { seconds: 2 }],
    ['d_not_in', {}, 'duration.not_in', { nanos: 1 }],
    ['t_const', ts(1001), 'timestamp.const', ts(1000)],
    ['t_range', ts(1000), 'timestamp.gt', ts(1001)],
    ['t_range', ts(2001), 'timestamp.lte', ts(2000)],
    ['t_lt_now', ts(now + 3600), 'timestamp.lt_now', ts(now - 3600)],
    ['t_gt_now', ts(now - 3600), 'timestamp.gt_now', ts(now + 3600)],
    ['t_within', ts(now - 7200), 'timestamp.within', ts(now - 60)],
    ['w_uint32', { value: 0 }, 'uint32.gte', { value: 100 }],
    ['w_uint32', { value: 101 }, 'uint32.lte', { value: 1 }],
    ['w_string', { value: 'a' }, 'string.min_len', { value: 'ab' }],
  ]);
  const type = root.lookupType('skiff.test.WellKnown');
  const empty = validateMessage(type, {}).map((v) => `${v.path} ${v.rule}`);
  for (const expected of ['any_required any.required', 'd_required duration.required', 't_required timestamp.required', 'w_required message.required']) {
    assert.ok(empty.includes(expected), `${expected} missing from:\n${empty.join('\n')}`);
  }
  assert.ok(!empty.some((f) => f.startsWith('w_uint32') || f.startsWith('d_const')), 'rules on an absent message do not apply');
  const nested = validateMessage(type, { any_nested: anyOf('type.googleapis.com/envoy.config.cluster.v3.Cluster', { name: '' }) });
  assert.ok(nested.some((v) => v.path === 'any_nested.name' && v.rule === 'string.min_len'), formatViolations(nested));
  const garbage = validateMessage(type, { any_nested: { type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', value: Buffer.from([0x0f]) } });
  assert.ok(garbage.some((v) => v.path === 'any_nested' && v.rule === 'any.decode'), formatViolations(garbage));
});

test('rule kinds used by Envoy, on Envoy messages', () => {
  const cases: [type: string, value: object, path: string, rule: string][] = [
    ['envoy.config.route.v3.InternalRedirectPolicy', { response_headers_to_copy: ['x-a', 'x-a'] }, 'response_headers_to_copy', 'repeated.unique'],
    ['envoy.config.listener.v3.FilterChainMatch', { source_ports: [80, 70000] }, 'source_ports[1]', 'uint32.lte'],
    ['envoy.config.route.v3.RouteMatch', { path_separated_prefix: '/api?x' }, 'path_separated_prefix', 'string.pattern'],
    ['envoy.config.core.v3.UpstreamHttpProtocolOptions', { override_auto_sni_header: 'bad header' }, 'override_auto_sni_header', 'string.well_known_regex'],
    ['envoy.config.core.v3.HealthCheck.HttpHealthCheck', { path: '/healthz', method: 'CONNECT' }, 'method', 'enum.not_in'],
    ['envoy.config.cluster.v3.Cluster.RingHashLbConfig', { minimum_ring_size: { value: '8388609' } }, 'minimum_ring_size', 'uint64.lte'],
    ['envoy.config.cluster.v3.Cluster.PreconnectPolicy', { per_upstream_preconnect_ratio: { value: 0.5 } }, 'per_upstream_preconnect_ratio', 'double.gte'],
    ['envoy.config.core.v3.SchemeHeaderTransformation', { scheme_to_overwrite: 'ftp' }, 'scheme_to_overwrite', 'string.in'],
    ['envoy.config.core.v3.HeaderValue', { key: 'x-a', raw_value: Buffer.alloc(16385) }, 'raw_value', 'bytes.max_len'],
    ['envoy.config.core.v3.TypedExtensionConfig', { name: 'x' }, 'typed_config', 'any.required'],
    ['envoy.config.cluster.v3.Cluster.RefreshRate', {}, 'base_interval', 'duration.required'],
    ['envoy.config.common.matcher.v3.Matcher.MatcherTree.MatchMap', { map: {} }, 'map', 'map.min_pairs'],
    ['envoy.config.accesslog.v3.ResponseFlagFilter', { flags: ['UH', 'NOPE'] }, 'flags[1]', 'string.in'],
  ];
  for (const [type, value, path, rule] of cases) {
    const violations = validateMessage(type, value);
    assert.ok(violations.some((v) => v.path === path && v.rule === rule), `${type}: expected ${rule} at ${path}, got:\n${formatViolations(violations)}`);
  }
});

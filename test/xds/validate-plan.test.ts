// The validator's compiled check plans: a violation deep inside a translated resource (inside
// nested messages, repeated items, maps and Anys) is still found by the check the translator runs;
// the subtrees a plan skips really carry no rule; and a fast pass never vouches for a value the
// full check rejects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../xds/translate/constants.js';
import { typeOf } from '../../xds/translate/encode.js';
import { TRANSPARENT_LISTENER } from '../../xds/translate/listeners.js';
import { Translator, type Translation } from '../../xds/translate/translator.js';
import { envoyChecks } from '../../xds/validate/envoy-checks.js';
import { durationPass, enumPass, scalarPass } from '../../xds/validate/fast.js';
import { envoyRoot, validateResource, type Violation } from '../../xds/validate/index.js';
import { anyContentsOf } from '../../xds/validate/proto-root.js';
import { needsCheck } from '../../xds/validate/plan.js';
import { planOf, sub } from '../../xds/validate/rules.js';
import { checkDuration, checkEnum, scalarFailures } from '../../xds/validate/scalars.js';
import { EXAMPLE_MESH, served, objectsFromDirectory, snapshotOf } from './translate-fixtures.js';

type Obj = { [k: string]: unknown };

const translation: Translation = new Translator().translate(snapshotOf(objectsFromDirectory(EXAMPLE_MESH)));
const NODE = 'node-proxy/node-a';

/** A served resource's plain object, deep-copied for tampering. */
function copyOf(classKey: string, typeUrl: string, name: string): Obj {
  return structuredClone(served(translation, classKey, typeUrl, name).message) as Obj;
}

/** What the translator's checker says of a (tampered) resource: as it checks it (the encoded message) and from its bytes. */
function violations(typeUrl: string, resource: Obj): Violation[] {
  const type = typeOf(typeUrl);
  const encoded = type.fromObject(resource);
  const fromMessage = validateResource(typeUrl, encoded);
  assert.deepEqual(validateResource(typeUrl, type.encode(encoded).finish()), fromMessage, 'bytes and message give the same violations');
  return fromMessage;
}

function assertFound(found: Violation[], path: string, rule: string): void {
  assert.ok(
    found.some((v) => v.path === path && v.rule === rule),
    `expected ${rule} at ${path}; got ${JSON.stringify(found)}`,
  );
}

function find<T>(items: Iterable<T>, match: (item: T) => boolean, what: string): T {
  for (const item of items) if (match(item)) return item;
  throw new Error(`the example mesh has no ${what}`);
}

test('the untampered translation passes, so each violation below is the tampering', () => {
  for (const [, c] of translation.classes) {
    for (const [typeUrl, resources] of c.resources) for (const built of resources.values()) assert.deepEqual(violations(typeUrl, built.message), [], built.name);
  }
});

test('deep in a route configuration: a regex RE2 rejects, weights adding up to 0, a header to add without its header', () => {
  const routeNames = [...(translation.classes.get(NODE)?.resources.get(ROUTE_TYPE)?.keys() ?? [])];
  const name = find(routeNames, (n) => JSON.stringify(copyOf(NODE, ROUTE_TYPE, n)).includes('weighted_clusters'), 'weighted route');
  const config = copyOf(NODE, ROUTE_TYPE, name);
  const hosts = config.virtual_hosts as Obj[];
  const routes = hosts[0].routes as Obj[];
  const weighted = routes.findIndex((r) => (r.route as Obj | undefined)?.weighted_clusters !== undefined);
  assert.ok(weighted >= 0);
  const at = `virtual_hosts[0].routes[${weighted}]`;

  const badRegex = structuredClone(config);
  ((badRegex.virtual_hosts as Obj[])[0].routes as Obj[])[weighted].match = { safe_regex: { regex: '^/(?=admin)' } };
  assertFound(violations(ROUTE_TYPE, badRegex), `${at}.match.safe_regex.regex`, 're2.compile');

  const zeroWeights = structuredClone(config);
  const clusters = ((((zeroWeights.virtual_hosts as Obj[])[0].routes as Obj[])[weighted].route as Obj).weighted_clusters as Obj).clusters as Obj[];
  for (const c of clusters) c.weight = { value: 0 };
  assertFound(violations(ROUTE_TYPE, zeroWeights), `${at}.route.weighted_clusters.clusters`, 'envoy.weights_sum');

  const headerless = structuredClone(config);
  ((headerless.virtual_hosts as Obj[])[0].routes as Obj[])[weighted].request_headers_to_add = [{ append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }];
  assertFound(violations(ROUTE_TYPE, headerless), `${at}.request_headers_to_add[0].header`, 'message.required');
});

test('deep in endpoints and clusters: an endpoint weight of 0, a port out of range, a circuit breaker priority no enum has', () => {
  const endpointNames = [...(translation.classes.get(NODE)?.resources.get(ENDPOINT_TYPE)?.keys() ?? [])];
  const name = find(endpointNames, (n) => ((copyOf(NODE, ENDPOINT_TYPE, n).endpoints as Obj[])[0]?.lb_endpoints as Obj[] | undefined)?.length !== undefined, 'endpoints');
  const assignment = copyOf(NODE, ENDPOINT_TYPE, name);
  const lb = ((assignment.endpoints as Obj[])[0].lb_endpoints as Obj[]).at(-1) as Obj;
  const last = ((assignment.endpoints as Obj[])[0].lb_endpoints as Obj[]).length - 1;
  lb.load_balancing_weight = { value: 0 };
  ((lb.endpoint as Obj).address as Obj).socket_address = { address: '10.0.0.1', port_value: 70000 };
  const found = violations(ENDPOINT_TYPE, assignment);
  assertFound(found, `endpoints[0].lb_endpoints[${last}].load_balancing_weight`, 'uint32.gte');
  assertFound(found, `endpoints[0].lb_endpoints[${last}].endpoint.address.socket_address.port_value`, 'uint32.lte');

  const clusterName = [...(translation.classes.get(NODE)?.resources.get(CLUSTER_TYPE)?.keys() ?? [])].find((n) => n.startsWith('outbound|')) as string;
  const cluster = copyOf(NODE, CLUSTER_TYPE, clusterName);
  (((cluster.circuit_breakers as Obj).thresholds as Obj[])[0] as Obj).priority = 7;
  assertFound(violations(CLUSTER_TYPE, cluster), 'circuit_breakers.thresholds[0].priority', 'enum.defined_only');
});

test('two Anys deep in the transparent listener: an RBAC policy with no permissions, an HCM without stat_prefix', () => {
  const listener = copyOf(NODE, LISTENER_TYPE, TRANSPARENT_LISTENER);
  const chains = listener.filter_chains as Obj[];
  const index = chains.findIndex((c) => JSON.stringify(c).includes('rbac.v3.RBAC'));
  assert.ok(index >= 0, 'the example mesh has an L7 policy');
  const hcm = ((chains[index].filters as Obj[])[0] as Obj).typed_config as Obj;
  const filters = hcm.http_filters as Obj[];
  const f = filters.findIndex((h) => JSON.stringify(h).includes('rbac.v3.RBAC'));
  const policies = (((filters[f].typed_config as Obj).rules as Obj).policies ?? {}) as Obj;
  const policyName = Object.keys(policies)[0];
  assert.ok(policyName, 'the RBAC filter has a policy');
  (policies[policyName] as Obj).permissions = [];
  delete hcm.stat_prefix;
  const found = violations(LISTENER_TYPE, listener);
  const hcmPath = `filter_chains[${index}].filters[0].typed_config`;
  assertFound(found, `${hcmPath}.http_filters[${f}].typed_config.rules.policies[${JSON.stringify(policyName)}].permissions`, 'repeated.min_items');
  assertFound(found, `${hcmPath}.stat_prefix`, 'string.min_len');
});

/** Every message type of the Envoy root. */
function allTypes(): protobuf.Type[] {
  const types: protobuf.Type[] = [];
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) types.push(nested);
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) visit(nested);
    }
  };
  visit(envoyRoot());
  return types;
}

test('a subtree the plans skip carries no rule, at any depth', () => {
  const types = allTypes();
  const skipped = types.filter((t) => !needsCheck(t));
  assert.ok(skipped.length > 50, `some types carry no rule at all (found ${skipped.length})`);
  assert.ok(skipped.length < types.length / 2, 'most Envoy types are checked');
  for (const type of ['envoy.config.route.v3.RouteConfiguration', 'envoy.config.listener.v3.Listener', 'envoy.config.bootstrap.v3.Bootstrap']) {
    assert.ok(needsCheck(envoyRoot().lookupType(type)), type);
  }
  for (const root of skipped) {
    const seen = new Set<protobuf.Type>();
    const stack = [root];
    while (stack.length > 0) {
      const type = stack.pop() as protobuf.Type;
      if (seen.has(type)) continue;
      seen.add(type);
      const plan = planOf(type);
      const where = `${plan.name} (reached from skipped ${planOf(root).name})`;
      if (plan.disabled) continue;
      assert.equal(plan.requiredOneofs.length, 0, where);
      assert.ok(!envoyChecks.has(plan.name), where);
      for (const { field, rules } of plan.fields) {
        assert.ok(rules === undefined && !field.required, `${where}.${field.name} has rules`);
        const resolved = field.resolvedType;
        if (!(resolved instanceof protobuf.Type)) continue;
        assert.ok(!['google.protobuf.Any', 'google.protobuf.Duration'].includes(planOf(resolved).name), `${where}.${field.name} is always checked`);
        stack.push(resolved);
      }
    }
  }
});

/** A 64-bit value as protobufjs decodes it (a Long). */
function long(n: number): protobuf.Long {
  return protobuf.util.LongBits.fromNumber(n).toLong();
}

const STRINGS = ['', 'a', 'ab', 'x'.repeat(300), 'a\nb', 'é', '😀😀', '/foo', '/foo/', '/a?b', 'content-type', ':authority', 'Bad Header', '10.0.0.1', '::1', 'example.com', 'http://x/', 'a@b.com', '123e4567-e89b-12d3-a456-426614174000', 'ROUND_ROBIN'];
const NUMBERS: unknown[] = [0, 1, -1, 0.5, 99.5, 100, 101, 65535, 65536, 2 ** 31, 2 ** 32 - 1, long(5), new protobuf.util.LongBits(0xffff_ffff, 0x7fff_ffff).toLong(), '7'];
const DURATIONS = [
  { seconds: 0, nanos: 0 },
  { seconds: 1, nanos: 0 },
  { seconds: 0, nanos: 1 },
  { seconds: -1, nanos: 0 },
  { seconds: 1, nanos: -1 },
  { seconds: 0, nanos: 2_000_000_000 },
  { seconds: 400_000_000_000, nanos: 0 },
  { seconds: long(10), nanos: 5 },
  { seconds: 10_000_000, nanos: 0 },
];

test('a fast pass never vouches for a value the full check rejects (every rule on every Envoy field)', () => {
  let vouched = 0;
  let rejected = 0;
  const agree = (pass: ((v: unknown) => boolean) | undefined, failures: (v: unknown) => unknown[], values: readonly unknown[], where: string) => {
    if (!pass) return;
    for (const value of values) {
      const fails = failures(value).length > 0;
      if (pass(value)) {
        vouched++;
        assert.ok(!fails, `${where}: fast pass vouched for ${String(JSON.stringify(value))}, the full check rejects it`);
      } else if (fails) {
        rejected++;
      }
    }
  };
  for (const type of allTypes()) {
    for (const { field, rules } of planOf(type).fields) {
      const where = `${planOf(type).name}.${field.name}`;
      const resolved = field.resolvedType;
      const itemRules = sub(sub(rules, 'repeated'), 'items') ?? rules;
      if (resolved instanceof protobuf.Enum) {
        const enumRules = sub(itemRules, 'enum');
        if (enumRules) agree(enumPass(enumRules, resolved), (v) => checkEnum(enumRules, Number(v ?? 0), resolved), [0, 1, 2, 3, 999, -1], where);
      } else if (resolved instanceof protobuf.Type && planOf(resolved).name === 'google.protobuf.Duration') {
        const durationRules = sub(itemRules, 'duration');
        agree(durationPass(durationRules), (v) => checkDuration(durationRules, v), DURATIONS, where);
      } else if (!(resolved instanceof protobuf.Type)) {
        const kindRules = sub(itemRules, field.type);
        if (kindRules) agree(scalarPass(field.type, kindRules), (v) => scalarFailures(field.type, kindRules, v), field.type === 'string' ? STRINGS : NUMBERS, where);
      }
    }
  }
  assert.ok(vouched > 1000, `fast passes vouch for most good values (${vouched})`);
  assert.ok(rejected > 100, `and leave the bad ones to the full check (${rejected})`);
});

test('an Any converted from object form is checked without decoding; bytes replaced afterwards are decoded and checked', () => {
  const type = typeOf(LISTENER_TYPE);
  const listener = copyOf(NODE, LISTENER_TYPE, TRANSPARENT_LISTENER);
  const chain = (listener.filter_chains as Obj[])[0] as Obj;
  delete (((chain.filters as Obj[])[0] as Obj).typed_config as Obj).stat_prefix;
  const encoded = type.fromObject(listener) as unknown as { filter_chains: { filters: { typed_config: { value: Uint8Array } }[] }[] };
  const any = encoded.filter_chains[0].filters[0].typed_config;
  assert.ok(anyContentsOf(any), 'the converted Any keeps the message its bytes came from');
  assertFound(validateResource(LISTENER_TYPE, encoded), 'filter_chains[0].filters[0].typed_config.stat_prefix', 'string.min_len');
  any.value = Uint8Array.from([0xff]);
  assert.equal(anyContentsOf(any), undefined);
  assertFound(validateResource(LISTENER_TYPE, encoded), 'filter_chains[0].filters[0].typed_config', 'any.decode');
});

test('a deeply frozen typed config is converted once and shared; any other is converted each time', () => {
  const type = typeOf(LISTENER_TYPE);
  const filter = (typedConfig: Obj) => ({ name: 'skiff', filter_chains: [{ filters: [{ name: 'hcm', typed_config: typedConfig }] }] });
  const hcm = (router: Obj) => ({
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'x',
    rds: { route_config_name: 'r', config_source: { ads: {} } },
    http_filters: [{ name: 'router', typed_config: router }],
  });
  const routerOf = (listener: object) => {
    const chain = (listener as { filter_chains: { filters: { typed_config: object }[] }[] }).filter_chains[0];
    const contents = anyContentsOf(chain.filters[0].typed_config) as unknown as { http_filters: { typed_config: object }[] };
    return contents.http_filters[0].typed_config;
  };
  const constant = Object.freeze({ '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' });
  assert.equal(routerOf(type.fromObject(filter(hcm(constant)))), routerOf(type.fromObject(filter(hcm(constant)))));
  const plain = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' };
  assert.notEqual(routerOf(type.fromObject(filter(hcm(plain)))), routerOf(type.fromObject(filter(hcm(plain)))));
  const shallow = Object.freeze({ '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', suppress_envoy_headers: true, upstream_log: [] });
  assert.notEqual(routerOf(type.fromObject(filter(hcm(shallow)))), routerOf(type.fromObject(filter(hcm(shallow)))), 'frozen only on top: not shared');
  assert.deepEqual(validateResource(LISTENER_TYPE, type.fromObject(filter(hcm(constant)))), []);
});

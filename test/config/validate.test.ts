// validateObject: every kind's valid example loads, and each schema rule rejects its violation
// with the right field path and the line of that field in the YAML (table-driven).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseDocuments } from '../../config/parse/yaml.js';
import type { MeshObject } from '../../config/resources.js';
import { validateEndpoint, validatePodSpec, validatePodStatus, validateServiceSpec } from '../../config/validate/core.js';
import { Field, regexProblem, Report } from '../../config/validate/fields.js';
import { validateHTTPRouteRule, validateParentRef } from '../../config/validate/gateway.js';
import { checkMetadata, validateObject } from '../../config/validate/index.js';
import {
  isPlainlyValidEndpoint, isPlainlyValidHTTPRouteRule, isPlainlyValidMetadata, isPlainlyValidParentRef, isPlainlyValidPodSpec, isPlainlyValidPodStatus, isPlainlyValidServiceSpec,
} from '../../config/validate/fast-accept.js';
import { EXAMPLE_DIR, exampleFiles, load, rng } from './directory-helpers.js';

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const examples = new Map<string, MeshObject>();
for (const file of exampleFiles()) {
  for (const object of load(readFileSync(join(EXAMPLE_DIR, file), 'utf8'), file).objects) {
    examples.set(`${object.kind}/${object.metadata.name}`, object);
  }
}

const GATEWAY = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'shop-gateway', namespace: 'shop' },
  spec: {
    gatewayClassName: 'skiff',
    listeners: [
      { name: 'http', port: 80, protocol: 'HTTP', hostname: '*.shop.example.com', allowedRoutes: { namespaces: { from: 'Same' } } },
      { name: 'https', port: 443, protocol: 'HTTPS' },
    ],
  },
};

const REFERENCE_GRANT = {
  apiVersion: 'gateway.networking.k8s.io/v1beta1',
  kind: 'ReferenceGrant',
  metadata: { name: 'allow-default-routes', namespace: 'shop' },
  spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'default' }], to: [{ group: '', kind: 'Service' }] },
};

function base(name: string): Raw {
  if (name === 'Gateway') return structuredClone(GATEWAY);
  if (name === 'ReferenceGrant') return structuredClone(REFERENCE_GRANT);
  const object = examples.get(name);
  assert.ok(object, `no example ${name}`);
  return structuredClone(object) as Raw;
}

/** Validates an object written out as YAML, so that issues carry real line numbers. */
function validateAsYaml(object: unknown) {
  const text = stringify(object);
  const { documents, issues } = parseDocuments(text, 'case.yaml');
  assert.deepEqual(issues, []);
  const doc = documents[0]!;
  return { text, result: validateObject(doc.raw, { source: 'case.yaml', line: doc.line, lineOf: doc.lineOf }) };
}

const VALID = [...examples.keys(), 'Gateway', 'ReferenceGrant'];

test('every example object and each kind\'s sample validates without issues', () => {
  assert.ok(VALID.length >= 28);
  const kinds = new Set<string>();
  for (const name of VALID) {
    const { result } = validateAsYaml(base(name));
    assert.deepEqual(result.issues, [], name);
    assert.ok(result.object, name);
    kinds.add(result.object.kind);
  }
  assert.deepEqual([...kinds].sort(), [
    'AuthorizationPolicy', 'CiliumNetworkPolicy', 'EndpointSlice', 'GRPCRoute', 'Gateway', 'HTTPRoute', 'MeshConfig',
    'Namespace', 'NetworkPolicy', 'Node', 'Pod', 'ReferenceGrant', 'Service',
  ]);
});

interface Case {
  base: string;
  why: string;
  mutate: (o: Raw) => void;
  field: string;
  message: RegExp;
  /** Text the issue's line must hold (default: the last key of `field`). */
  lineHas?: string;
}

const header = (i: number) => ({ name: `x-h${i}`, value: 'v' });
const canaryRule = (o: Raw) => o.spec.rules[1];

const CASES: Case[] = [
  // metadata, all kinds
  { base: 'Namespace/shop', why: 'namespace name not a DNS label', mutate: (o) => { o.metadata.name = 'Shop_1'; }, field: 'metadata.name', message: /DNS label/ },
  { base: 'Service/orders', why: 'name missing', mutate: (o) => { delete o.metadata.name; }, field: 'metadata.name', message: /required/, lineHas: 'metadata' },
  { base: 'Service/orders', why: 'namespace not a DNS label', mutate: (o) => { o.metadata.namespace = 'Shop'; }, field: 'metadata.namespace', message: /DNS label/ },
  { base: 'Pod/postgres-0', why: 'label value too odd', mutate: (o) => { o.metadata.labels.app = 'bad value!'; }, field: 'metadata.labels.app', message: /label value/ },
  { base: 'Pod/postgres-0', why: 'label key with two slashes', mutate: (o) => { o.metadata.labels['a/b/c'] = 'x'; }, field: 'metadata.labels.a/b/c', message: /label key/, lineHas: 'a/b/c' },
  // Node
  { base: 'Node/node-a', why: 'podCIDR prefix too long', mutate: (o) => { o.spec.podCIDR = '10.244.1.0/33'; }, field: 'spec.podCIDR', message: /CIDR/ },
  { base: 'Node/node-a', why: 'InternalIP not an IP', mutate: (o) => { o.status.addresses[0].address = '172.30.0.300'; }, field: 'status.addresses[0].address', message: /IP address/ },
  { base: 'Node/node-a', why: 'unknown address type', mutate: (o) => { o.status.addresses[0].type = 'Internal'; }, field: 'status.addresses[0].type', message: /one of/ },
  // Service
  { base: 'Service/orders', why: 'name starts with a digit', mutate: (o) => { o.metadata.name = '1orders'; }, field: 'metadata.name', message: /DNS-1035/ },
  { base: 'Service/orders', why: 'port out of range', mutate: (o) => { o.spec.ports[0].port = 70000; }, field: 'spec.ports[0].port', message: /between 1 and 65535/ },
  { base: 'Service/orders', why: 'port as a string', mutate: (o) => { o.spec.ports[0].port = '8080'; }, field: 'spec.ports[0].port', message: /integer/ },
  { base: 'Service/orders', why: 'protocol not in the enum', mutate: (o) => { o.spec.ports[0].protocol = 'HTTP'; }, field: 'spec.ports[0].protocol', message: /one of "TCP", "UDP", "SCTP"/ },
  { base: 'Service/orders', why: 'cluster IP invalid', mutate: (o) => { o.spec.clusterIP = '10.96.0.999'; }, field: 'spec.clusterIP', message: /IP address/ },
  { base: 'Service/orders', why: 'unnamed second port', mutate: (o) => { o.spec.ports.push({ port: 9090 }); }, field: 'spec.ports[1].name', message: /more than one port/, lineHas: 'port: 9090' },
  { base: 'Service/orders', why: 'no ports', mutate: (o) => { delete o.spec.ports; }, field: 'spec.ports', message: /needs at least one port/, lineHas: 'spec' },
  { base: 'Service/orders', why: 'spec missing', mutate: (o) => { delete o.spec; }, field: 'spec', message: /required/, lineHas: 'apiVersion' },
  { base: 'Service/orders', why: 'spec of the wrong type', mutate: (o) => { o.spec = 'orders'; }, field: 'spec', message: /must be an object/ },
  { base: 'Service/orders', why: 'selector value invalid', mutate: (o) => { o.spec.selector.app = '-orders'; }, field: 'spec.selector.app', message: /label value/ },
  { base: 'Service/frontend', why: 'targetPort name not an IANA name', mutate: (o) => { o.spec.ports[0].targetPort = 'HTTP_PORT'; }, field: 'spec.ports[0].targetPort', message: /IANA service name/ },
  // Pod
  { base: 'Pod/postgres-0', why: 'no containers', mutate: (o) => { o.spec.containers = []; }, field: 'spec.containers', message: /at least 1/ },
  { base: 'Pod/postgres-0', why: 'containerPort zero', mutate: (o) => { o.spec.containers[0].ports[0].containerPort = 0; }, field: 'spec.containers[0].ports[0].containerPort', message: /between 1 and 65535/ },
  { base: 'Pod/postgres-0', why: 'podIP short', mutate: (o) => { o.status.podIP = '10.244.1'; }, field: 'status.podIP', message: /IP address/ },
  { base: 'Pod/postgres-0', why: 'nodeName not a DNS subdomain', mutate: (o) => { o.spec.nodeName = 'Node A'; }, field: 'spec.nodeName', message: /DNS subdomain/ },
  // EndpointSlice
  { base: 'EndpointSlice/orders-v1-7xk2p', why: 'address type unknown', mutate: (o) => { o.addressType = 'IPv5'; }, field: 'addressType', message: /one of/ },
  { base: 'EndpointSlice/orders-v1-7xk2p', why: 'IPv6 address in an IPv4 slice', mutate: (o) => { o.endpoints[0].addresses[0] = 'fe80::1'; }, field: 'endpoints[0].addresses[0]', message: /IPv4/, lineHas: 'fe80::1' },
  { base: 'EndpointSlice/orders-v1-7xk2p', why: 'endpoints not a list', mutate: (o) => { o.endpoints = { addresses: ['10.244.1.20'] }; }, field: 'endpoints', message: /must be a list/ },
  { base: 'EndpointSlice/orders-v1-7xk2p', why: 'endpoint without addresses', mutate: (o) => { delete o.endpoints[0].addresses; }, field: 'endpoints[0].addresses', message: /required/, lineHas: 'conditions' },
  { base: 'EndpointSlice/orders-v1-7xk2p', why: 'ready not a boolean', mutate: (o) => { o.endpoints[1].conditions.ready = 'yes'; }, field: 'endpoints[1].conditions.ready', message: /true or false/ },
  // HTTPRoute
  { base: 'HTTPRoute/orders-canary', why: 'weight above 1,000,000', mutate: (o) => { canaryRule(o).backendRefs[0].weight = 1_000_001; }, field: 'spec.rules[1].backendRefs[0].weight', message: /between 0 and 1000000/ },
  { base: 'HTTPRoute/orders-canary', why: 'negative weight', mutate: (o) => { canaryRule(o).backendRefs[1].weight = -1; }, field: 'spec.rules[1].backendRefs[1].weight', message: /between 0 and 1000000/ },
  { base: 'HTTPRoute/orders-canary', why: 'PathPrefix without a leading /', mutate: (o) => { o.spec.rules[0].matches[0].path.value = 'orders'; }, field: 'spec.rules[0].matches[0].path.value', message: /must start with '\/'/, lineHas: 'value' },
  { base: 'HTTPRoute/orders-canary', why: 'Exact path with //', mutate: (o) => { o.spec.rules[0].matches[0].path = { type: 'Exact', value: '/orders//x' }; }, field: 'spec.rules[0].matches[0].path.value', message: /'\/\/'/, lineHas: 'value' },
  { base: 'HTTPRoute/orders-canary', why: 'path with /../', mutate: (o) => { o.spec.rules[0].matches[0].path.value = '/a/../b'; }, field: 'spec.rules[0].matches[0].path.value', message: /\/\.\.\//, lineHas: 'value' },
  { base: 'HTTPRoute/orders-canary', why: 'unknown path match type', mutate: (o) => { o.spec.rules[0].matches[0].path.type = 'Prefix'; }, field: 'spec.rules[0].matches[0].path.type', message: /one of "Exact", "PathPrefix", "RegularExpression"/ },
  { base: 'HTTPRoute/orders-canary', why: 'invalid regular expression', mutate: (o) => { o.spec.rules[0].matches[0].path = { type: 'RegularExpression', value: '/orders/([a-z' }; }, field: 'spec.rules[0].matches[0].path.value', message: /invalid regular expression/, lineHas: 'value' },
  { base: 'HTTPRoute/orders-canary', why: 'lookahead is not RE2', mutate: (o) => { o.spec.rules[0].matches[0].path = { type: 'RegularExpression', value: '/(?!admin).*' }; }, field: 'spec.rules[0].matches[0].path.value', message: /RE2/, lineHas: 'value' },
  { base: 'HTTPRoute/orders-canary', why: 'repetition over RE2\'s limit', mutate: (o) => { o.spec.rules[0].matches[0].path = { type: 'RegularExpression', value: '/[a-z]{1001}' }; }, field: 'spec.rules[0].matches[0].path.value', message: /limit of 1000/, lineHas: 'value' },
  { base: 'HTTPRoute/orders-canary', why: 'header name with a space', mutate: (o) => { o.spec.rules[0].matches[0].headers[0].name = 'x canary'; }, field: 'spec.rules[0].matches[0].headers[0].name', message: /header name/ },
  { base: 'HTTPRoute/orders-canary', why: '17 header matches', mutate: (o) => { o.spec.rules[0].matches[0].headers = Array.from({ length: 17 }, (_, i) => header(i)); }, field: 'spec.rules[0].matches[0].headers', message: /at most 16/ },
  { base: 'HTTPRoute/orders-canary', why: 'duplicate header match names', mutate: (o) => { o.spec.rules[0].matches[0].headers.push({ name: 'X-Canary', value: 'x' }); }, field: 'spec.rules[0].matches[0].headers[1].name', message: /duplicate/ },
  { base: 'HTTPRoute/orders-canary', why: '17 rules', mutate: (o) => { o.spec.rules = Array.from({ length: 17 }, () => structuredClone(canaryRule(o))); }, field: 'spec.rules', message: /at most 16/ },
  { base: 'HTTPRoute/orders-canary', why: '17 backendRefs', mutate: (o) => { canaryRule(o).backendRefs = Array.from({ length: 17 }, () => ({ name: 'orders-v1', port: 8080 })); }, field: 'spec.rules[1].backendRefs', message: /at most 16/ },
  { base: 'HTTPRoute/orders-canary', why: 'filter field does not match its type', mutate: (o) => { o.spec.rules[0].filters = [{ type: 'RequestHeaderModifier', urlRewrite: { hostname: 'a' } }]; }, field: 'spec.rules[0].filters[0].urlRewrite', message: /must not be set when type is RequestHeaderModifier/ },
  { base: 'HTTPRoute/orders-canary', why: 'filter without its field', mutate: (o) => { o.spec.rules[0].filters = [{ type: 'URLRewrite' }]; }, field: 'spec.rules[0].filters[0].urlRewrite', message: /required when type is URLRewrite/, lineHas: 'type: URLRewrite' },
  { base: 'HTTPRoute/orders-canary', why: 'RequestHeaderModifier twice', mutate: (o) => { o.spec.rules[0].filters = [1, 2].map((i) => ({ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [header(i)] } })); }, field: 'spec.rules[0].filters', message: /at most once/ },
  { base: 'HTTPRoute/orders-canary', why: 'RequestRedirect with URLRewrite', mutate: (o) => { o.spec.rules[0].backendRefs = []; o.spec.rules[0].filters = [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }, { type: 'URLRewrite', urlRewrite: { hostname: 'shop.example.com' } }]; }, field: 'spec.rules[0].filters', message: /must not both be used/ },
  { base: 'HTTPRoute/orders-canary', why: 'RequestRedirect with backendRefs', mutate: (o) => { o.spec.rules[0].filters = [{ type: 'RequestRedirect', requestRedirect: { statusCode: 301 } }]; }, field: 'spec.rules[0].backendRefs', message: /must be empty/ },
  { base: 'HTTPRoute/orders-canary', why: 'ReplacePrefixMatch with an Exact match', mutate: (o) => { o.spec.rules[0].matches[0].path.type = 'Exact'; o.spec.rules[0].filters = [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' } } }]; }, field: 'spec.rules[0].matches', message: /exactly one match, of type PathPrefix/ },
  { base: 'HTTPRoute/orders-canary', why: 'ReplaceFullPath without its value', mutate: (o) => { o.spec.rules[0].filters = [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replacePrefixMatch: '/x' } } }]; }, field: 'spec.rules[0].filters[0].urlRewrite.path.replaceFullPath', message: /required when type is ReplaceFullPath/, lineHas: 'path' },
  { base: 'HTTPRoute/orders-canary', why: 'duplicate header modifier names', mutate: (o) => { o.spec.rules[0].filters = [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [header(1), { name: 'X-H1', value: 'w' }] } }]; }, field: 'spec.rules[0].filters[0].requestHeaderModifier.set[1].name', message: /duplicate name/ },
  { base: 'HTTPRoute/orders-canary', why: 'backendRequest longer than request', mutate: (o) => { canaryRule(o).timeouts.backendRequest = '20s'; }, field: 'spec.rules[1].timeouts.backendRequest', message: /not be longer than the request timeout/ },
  { base: 'HTTPRoute/orders-canary', why: 'duration in the wrong format', mutate: (o) => { canaryRule(o).timeouts.request = '1.5s'; }, field: 'spec.rules[1].timeouts.request', message: /Gateway API duration/ },
  { base: 'HTTPRoute/orders-canary', why: 'Service backendRef without port', mutate: (o) => { delete canaryRule(o).backendRefs[0].port; }, field: 'spec.rules[1].backendRefs[0].port', message: /required when referring to a Service/, lineHas: 'name: orders-v1' },
  { base: 'HTTPRoute/orders-canary', why: 'unknown method', mutate: (o) => { o.spec.rules[0].matches[0].method = 'FETCH'; }, field: 'spec.rules[0].matches[0].method', message: /one of "GET"/ },
  { base: 'HTTPRoute/orders-canary', why: 'parentRef port zero', mutate: (o) => { o.spec.parentRefs[0].port = 0; }, field: 'spec.parentRefs[0].port', message: /between 1 and 65535/ },
  { base: 'HTTPRoute/orders-canary', why: 'the same parent twice', mutate: (o) => { o.spec.parentRefs.push({ ...o.spec.parentRefs[0] }); }, field: 'spec.parentRefs[1]', message: /duplicate parentRef/, lineHas: 'group' },
  { base: 'HTTPRoute/orders-canary', why: 'the same parent with and without port', mutate: (o) => { o.spec.parentRefs.push({ group: '', kind: 'Service', name: 'orders' }); }, field: 'spec.parentRefs[1]', message: /must agree on whether they set sectionName/, lineHas: 'group' },
  { base: 'HTTPRoute/orders-canary', why: 'parentRef without name', mutate: (o) => { delete o.spec.parentRefs[0].name; }, field: 'spec.parentRefs[0].name', message: /required/, lineHas: 'group' },
  { base: 'HTTPRoute/orders-canary', why: 'hostname with upper case', mutate: (o) => { o.spec.hostnames = ['Orders.shop']; }, field: 'spec.hostnames[0]', message: /hostname/, lineHas: 'Orders.shop' },
  // GRPCRoute
  { base: 'GRPCRoute/inventory-grpc', why: 'method match with neither service nor method', mutate: (o) => { o.spec.rules[0].matches[0].method = { type: 'Exact' }; }, field: 'spec.rules[0].matches[0].method', message: /one or both of service and method/ },
  { base: 'GRPCRoute/inventory-grpc', why: 'service name with a space', mutate: (o) => { o.spec.rules[0].matches[0].method.service = 'shop inventory'; }, field: 'spec.rules[0].matches[0].method.service', message: /gRPC service name/ },
  { base: 'GRPCRoute/inventory-grpc', why: '9 matches', mutate: (o) => { o.spec.rules[1].matches = Array.from({ length: 9 }, () => ({ method: { service: 'a.B' } })); }, field: 'spec.rules[1].matches', message: /at most 8/ },
  { base: 'GRPCRoute/inventory-grpc', why: 'URLRewrite is not a GRPCRoute filter', mutate: (o) => { o.spec.rules[0].filters = [{ type: 'URLRewrite', urlRewrite: {} }]; }, field: 'spec.rules[0].filters[0].type', message: /one of/ },
  // Gateway and ReferenceGrant
  { base: 'Gateway', why: 'listener protocol with a space', mutate: (o) => { o.spec.listeners[0].protocol = 'HT TP'; }, field: 'spec.listeners[0].protocol', message: /protocol name/ },
  { base: 'Gateway', why: 'duplicate listener names', mutate: (o) => { o.spec.listeners[1].name = 'http'; }, field: 'spec.listeners[1].name', message: /duplicate/ },
  { base: 'Gateway', why: 'no listeners', mutate: (o) => { o.spec.listeners = []; }, field: 'spec.listeners', message: /at least 1/ },
  { base: 'ReferenceGrant', why: 'from without namespace', mutate: (o) => { delete o.spec.from[0].namespace; }, field: 'spec.from[0].namespace', message: /required/, lineHas: 'group' },
  // NetworkPolicy
  { base: 'NetworkPolicy/postgres-allow-orders', why: 'podSelector missing', mutate: (o) => { delete o.spec.podSelector; }, field: 'spec.podSelector', message: /required/, lineHas: 'spec' },
  { base: 'NetworkPolicy/postgres-allow-orders', why: 'policy type unknown', mutate: (o) => { o.spec.policyTypes = ['Ingress', 'Both']; }, field: 'spec.policyTypes[1]', message: /one of "Ingress", "Egress"/, lineHas: 'Both' },
  { base: 'NetworkPolicy/postgres-allow-orders', why: 'except outside cidr', mutate: (o) => { o.spec.ingress[0].from = [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } }]; }, field: 'spec.ingress[0].from[0].ipBlock.except[0]', message: /strict subset/, lineHas: '10.1.0.0/24' },
  { base: 'NetworkPolicy/postgres-allow-orders', why: 'ipBlock cidr invalid', mutate: (o) => { o.spec.ingress[0].from = [{ ipBlock: { cidr: '10.0.0.0' } }]; }, field: 'spec.ingress[0].from[0].ipBlock.cidr', message: /CIDR/ },
  { base: 'NetworkPolicy/postgres-allow-orders', why: 'ipBlock with podSelector', mutate: (o) => { o.spec.ingress[0].from[0].ipBlock = { cidr: '10.0.0.0/8' }; }, field: 'spec.ingress[0].from[0]', message: /must not be combined/, lineHas: '-' },
  { base: 'NetworkPolicy/postgres-allow-orders', why: 'port out of range', mutate: (o) => { o.spec.ingress[0].ports[0].port = 70000; }, field: 'spec.ingress[0].ports[0].port', message: /between 1 and 65535/ },
  { base: 'NetworkPolicy/postgres-allow-orders', why: 'endPort below port', mutate: (o) => { o.spec.ingress[0].ports[0].endPort = 5000; }, field: 'spec.ingress[0].ports[0].endPort', message: /greater than or equal to port 5432/ },
  { base: 'NetworkPolicy/postgres-allow-orders', why: 'In without values', mutate: (o) => { o.spec.podSelector = { matchExpressions: [{ key: 'app', operator: 'In' }] }; }, field: 'spec.podSelector.matchExpressions[0].values', message: /non-empty/, lineHas: 'key' },
  // CiliumNetworkPolicy
  { base: 'CiliumNetworkPolicy/orders-allow-frontend-post', why: 'neither spec nor specs', mutate: (o) => { delete o.spec; }, field: 'spec', message: /one of spec or specs/, lineHas: 'apiVersion' },
  { base: 'CiliumNetworkPolicy/orders-allow-frontend-post', why: 'endpointSelector missing', mutate: (o) => { delete o.spec.endpointSelector; }, field: 'spec.endpointSelector', message: /required/, lineHas: 'spec' },
  { base: 'CiliumNetworkPolicy/orders-allow-frontend-post', why: 'port given as a number', mutate: (o) => { o.spec.ingress[0].toPorts[0].ports[0].port = 8080; }, field: 'spec.ingress[0].toPorts[0].ports[0].port', message: /must be a string/ },
  { base: 'CiliumNetworkPolicy/orders-allow-frontend-post', why: 'port above 65535', mutate: (o) => { o.spec.ingress[0].toPorts[0].ports[0].port = '70000'; }, field: 'spec.ingress[0].toPorts[0].ports[0].port', message: /port number 0-65535/ },
  { base: 'CiliumNetworkPolicy/orders-allow-frontend-post', why: 'protocol unknown', mutate: (o) => { o.spec.ingress[0].toPorts[0].ports[0].protocol = 'HTTP'; }, field: 'spec.ingress[0].toPorts[0].ports[0].protocol', message: /one of "TCP"/ },
  { base: 'CiliumNetworkPolicy/orders-allow-frontend-post', why: 'http path not a regular expression', mutate: (o) => { o.spec.ingress[0].toPorts[0].rules.http[0].path = '/orders/(['; }, field: 'spec.ingress[0].toPorts[0].rules.http[0].path', message: /invalid regular expression/ },
  { base: 'CiliumNetworkPolicy/orders-allow-frontend-post', why: 'L7 rules on UDP', mutate: (o) => { o.spec.ingress[0].toPorts[0].ports[0].protocol = 'UDP'; }, field: 'spec.ingress[0].toPorts[0].rules.http', message: /TCP/ },
  { base: 'CiliumNetworkPolicy/orders-allow-frontend-post', why: 'unknown entity', mutate: (o) => { o.spec.ingress[0].fromEntities = ['galaxy']; }, field: 'spec.ingress[0].fromEntities[0]', message: /one of "all"/, lineHas: 'galaxy' },
  { base: 'CiliumNetworkPolicy/orders-allow-frontend-post', why: 'L7 in a deny rule', mutate: (o) => { o.spec.ingressDeny = o.spec.ingress; delete o.spec.ingress; }, field: 'spec.ingressDeny[0].toPorts[0].rules.http', message: /not allowed in deny rules/ },
  // AuthorizationPolicy
  { base: 'AuthorizationPolicy/payments-orders-only', why: 'unknown action', mutate: (o) => { o.spec.action = 'PERMIT'; }, field: 'spec.action', message: /one of "ALLOW", "DENY", "AUDIT", "CUSTOM"/ },
  { base: 'AuthorizationPolicy/payments-orders-only', why: 'selector and targetRefs together', mutate: (o) => { o.spec.targetRefs = [{ kind: 'Service', group: '', name: 'payments' }]; }, field: 'spec', message: /selector and targetRefs must not both be set/ },
  { base: 'AuthorizationPolicy/payments-orders-only', why: 'port not numeric', mutate: (o) => { o.spec.rules[0].to[0].operation.ports = ['http']; }, field: 'spec.rules[0].to[0].operation.ports[0]', message: /port number/, lineHas: 'http' },
  { base: 'AuthorizationPolicy/payments-orders-only', why: 'wildcard in the middle of a path', mutate: (o) => { o.spec.rules[0].to[0].operation.paths = ['/v1/*/refunds']; }, field: 'spec.rules[0].to[0].operation.paths[0]', message: /prefix or a suffix/, lineHas: '/v1/*/refunds' },
  { base: 'AuthorizationPolicy/payments-orders-only', why: 'from entry without source', mutate: (o) => { o.spec.rules[0].from = [{ sources: {} }]; }, field: 'spec.rules[0].from[0].source', message: /required/, lineHas: 'sources' },
  { base: 'AuthorizationPolicy/payments-orders-only', why: 'CUSTOM without provider', mutate: (o) => { o.spec.action = 'CUSTOM'; }, field: 'spec.provider', message: /required when action is CUSTOM/, lineHas: 'spec' },
  { base: 'AuthorizationPolicy/payments-orders-only', why: 'method not a token', mutate: (o) => { o.spec.rules[0].to[0].operation.methods = ['PO ST']; }, field: 'spec.rules[0].to[0].operation.methods[0]', message: /HTTP token/, lineHas: 'PO ST' },
  // MeshConfig
  { base: 'MeshConfig/mesh', why: 'unknown encryption', mutate: (o) => { o.spec.encryption = 'ipsec'; }, field: 'spec.encryption', message: /one of "none", "hbone", "wireguard"/ },
  { base: 'MeshConfig/mesh', why: 'trust domain with spaces', mutate: (o) => { o.spec.trustDomain = 'Cluster Local'; }, field: 'spec.trustDomain', message: /trust domain/ },
  { base: 'MeshConfig/mesh', why: 'proxy port out of range', mutate: (o) => { o.spec.proxyPort = 70000; }, field: 'spec.proxyPort', message: /between 1 and 65535/ },
  { base: 'MeshConfig/mesh', why: 'HBONE port equal to the proxy port', mutate: (o) => { o.spec.hbonePort = 15001; }, field: 'spec.hbonePort', message: /must differ from proxyPort/ },
  { base: 'MeshConfig/mesh', why: 'HBONE port on the agents\' own outbound listener', mutate: (o) => { o.spec.hbonePort = 15009; }, field: 'spec.hbonePort', message: /every node agent listens there itself/ },
];

test('each rule rejects its violation with the field path and the line of that field', () => {
  for (const c of CASES) {
    const object = base(c.base);
    c.mutate(object);
    const { text, result } = validateAsYaml(object);
    const label = `${c.base}: ${c.why}`;
    assert.equal(result.object, undefined, `${label}: must be rejected`);
    const issue = result.issues.find((i) => i.field === c.field && c.message.test(i.message));
    assert.ok(issue, `${label}: expected ${c.field} ${c.message}, got ${JSON.stringify(result.issues, null, 1)}`);
    assert.equal(issue.severity, 'error', label);
    assert.equal(issue.source, 'case.yaml', label);
    assert.equal(issue.object, `${object.kind}/${object.kind === 'Namespace' || object.kind === 'Node' ? '' : `${object.metadata.namespace ?? 'default'}/`}${object.metadata.name ?? '(unnamed)'}`, label);
    const lastKey = c.field.split(/[.[\]]/).filter((s) => s !== '' && !/^\d+$/.test(s)).pop() as string;
    const lineText = text.split('\n')[(issue.line ?? 0) - 1] ?? '';
    assert.ok(lineText.includes(c.lineHas ?? `${lastKey}:`), `${label}: line ${issue.line} '${lineText}' should hold '${c.lineHas ?? lastKey}'`);
  }
  console.log(`${CASES.length} rule cases checked`);
});

test('unknown kinds and unknown apiVersions are warnings, never objects', () => {
  const cases = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'orders' } },
    { apiVersion: 'apps/v1', kind: 'Service', metadata: { name: 'orders' }, spec: { ports: [{ port: 80 }] } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 1 } },
  ];
  for (const raw of cases) {
    const result = validateObject(raw, { source: 'unknown.yaml', line: 3 });
    assert.equal(result.object, undefined);
    assert.equal(result.issues.length, 1);
    assert.equal(result.issues[0]!.severity, 'warning');
    assert.equal(result.issues[0]!.line, 3);
    assert.match(result.issues[0]!.message, new RegExp(`unknown kind ${raw.apiVersion}/${raw.kind}`));
  }
});

test('a namespaced object without a namespace gets default; cluster-scoped kinds have none; extra fields are kept', () => {
  const raw = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', annotations: { note: 'x' } }, spec: { ports: [{ port: 80 }], futureField: { a: 1 } }, extra: true };
  const result = validateObject(raw, { source: 's.yaml' });
  assert.deepEqual(result.issues, []);
  assert.equal(result.object?.metadata.namespace, 'default');
  assert.deepEqual((result.object as unknown as Raw).spec.futureField, { a: 1 });
  assert.equal((result.object as unknown as Raw).extra, true);
  assert.equal((raw.metadata as Raw).namespace, undefined, 'the input is not modified');
  const node = validateObject({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', namespace: 'shop' } }, { source: 'n.yaml' });
  assert.equal(node.object?.metadata.namespace, undefined);
  assert.equal(node.issues[0]?.severity, 'warning');
});

test('wrong types anywhere produce issues, never exceptions', () => {
  const odd: unknown[] = [null, 0, 'text', [], [1, 2], true, { kind: 5 }, { apiVersion: 'v1', kind: 'Pod', metadata: [] }];
  for (const raw of odd) {
    const result = validateObject(raw, { source: 'odd.yaml', line: 1 });
    assert.equal(result.object, undefined);
    assert.ok(result.issues.length > 0 && result.issues.every((i) => i.source === 'odd.yaml' && i.message && i.line === 1));
  }
  const retypes: unknown[] = [null, 7, 'x', [], {}, [{}], true, -1.5];
  let checked = 0;
  for (const name of VALID) {
    const paths = leafPaths(base(name));
    for (const path of paths) {
      for (const value of retypes) {
        const object = base(name);
        setAt(object, path, value);
        const result = validateObject(object, { source: 'retype.yaml', line: 1 });
        for (const issue of result.issues) assert.ok(issue.source && issue.message && issue.line === 1);
        checked++;
      }
    }
  }
  console.log(`${checked} retyped objects validated`);
});

function leafPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((v, i) => leafPaths(v, [...prefix, i]))];
  if (value && typeof value === 'object') return [prefix, ...Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]))].filter((p) => p.length > 0);
  return [prefix];
}

function setAt(object: Raw, path: (string | number)[], value: unknown): void {
  let node: Raw = object;
  for (const step of path.slice(0, -1)) node = node[step];
  node[path[path.length - 1] as string] = value;
}

test('regular expressions are judged as RE2: its syntax accepted, what it lacks rejected', () => {
  for (const ok of ['/orders', '(?i)/Orders/[0-9]+', '/(?P<id>[0-9]+)', '/(?i:abc)/x', '\\pL+', '[[:alpha:]]+', 'a{1000}', '/\\d{1,3}']) {
    assert.equal(regexProblem(ok), undefined, ok);
  }
  for (const bad of ['/(?!admin)', '/(?<=a)b', '(a)\\1', 'a{1001}', 'a{2,5000}', '/orders/([a-z', '*a', '(?z)x']) {
    assert.match(regexProblem(bad) ?? '', /invalid regular expression/, bad);
  }
});

test('a headless Service may have no ports; an ExternalName Service needs its name', () => {
  const headless = validateObject({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' } } }, { source: 'h.yaml' });
  assert.deepEqual(headless.issues, []);
  const external = validateObject({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName' } }, { source: 'e.yaml' });
  assert.deepEqual(external.issues.map((i) => [i.field, i.message]), [['spec.externalName', 'required field is missing']]);
});

test('an EndpointSlice with no endpoints (null, as the API server writes it) is valid', () => {
  const slice = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'idle-x1', namespace: 'shop' }, addressType: 'IPv4', endpoints: null, ports: null };
  assert.deepEqual(validateObject(slice, { source: 'kubernetes:discovery.k8s.io/v1/EndpointSlice' }).issues, []);
});

test('the fast accept of endpoints says yes only where the field walk finds no problem', () => {
  const r = rng(0xe9d5);
  const names = [undefined, null, '', 'node-1', 'Node_1', 'a'.repeat(63), 'a'.repeat(64), 'db.shop.svc', `${'a'.repeat(63)}.${'b'.repeat(200)}`, '-x', 7, true, ['x'], {}];
  const addresses = ['10.0.0.1', '10.0.0.256', 'fe80::1', '::ffff:10.0.0.1', 'db.shop.svc', 'Db', '', 3, null, ['10.0.0.1']];
  const flags = [undefined, null, true, false, 'true', 0];
  const good: Record<string, string> = { IPv4: '10.0.0.1', IPv6: 'fe80::1', FQDN: 'db.shop.svc' };
  // Mostly good values, so that both answers come often.
  const mostly = <T>(usual: T, any: readonly T[]): T => (r.int(4) > 0 ? usual : r.pick(any));
  let accepted = 0;
  let refused = 0;
  for (let round = 0; round < 4000; round++) {
    const addressType = r.pick(['IPv4', 'IPv6', 'FQDN', undefined]);
    const endpoint: Raw = {};
    const count = r.int(8) === 0 ? r.pick([0, 101]) : 1 + r.int(3);
    if (r.int(8) > 0) endpoint.addresses = r.int(10) === 0 ? r.pick(addresses) : Array.from({ length: count }, () => mostly<unknown>(good[addressType ?? 'IPv4'], addresses));
    if (r.int(2) === 0) endpoint.conditions = r.int(8) === 0 ? r.pick(names) : { ready: r.pick(flags), serving: mostly<unknown>(true, flags), terminating: mostly<unknown>(false, flags) };
    if (r.int(2) === 0) endpoint.hostname = mostly<unknown>('web-0', names);
    if (r.int(2) === 0) endpoint.nodeName = mostly<unknown>('node-1.zone-a', names);
    if (r.int(2) === 0) endpoint.zone = mostly<unknown>('zone-a', names);
    if (r.int(2) === 0) endpoint.targetRef = r.int(8) === 0 ? r.pick(names) : { kind: mostly<unknown>('Pod', names), namespace: mostly<unknown>('shop', names), name: mostly<unknown>('web-0', names) };
    const report = new Report('fuzz.yaml', 1, undefined);
    validateEndpoint(Field.root(report, endpoint), addressType);
    if (!isPlainlyValidEndpoint(endpoint, addressType)) {
      refused++;
      continue;
    }
    accepted++;
    assert.deepEqual(report.issues, [], `the fast accept took an endpoint the walk reports (${addressType}): ${JSON.stringify(endpoint)}`);
  }
  assert.ok(accepted > 200 && refused > 200, `too one-sided to judge: ${accepted} accepted, ${refused} refused`);
});

test('the fast accept of metadata says yes only where the field walk finds no problem', () => {
  const r = rng(0x3e7a);
  const names = [undefined, null, '', 'web', 'web-1', '1web', 'Web', 'web.shop', 'a'.repeat(64), `${'a'.repeat(63)}.${'b'.repeat(200)}`, '-x', 7, true, {}];
  const keys = ['app', 'kubernetes.io/service-name', 'App_1', '-bad', 'x/', '/x', 'Bad.Prefix/app', 'a'.repeat(64), ''];
  const values = ['web', '', 'v1.2', '-bad', 'a'.repeat(64), 3, null, ['x']];
  const mostly = <T>(usual: T, any: readonly T[]): T => (r.int(4) > 0 ? usual : r.pick(any));
  let accepted = 0;
  let refused = 0;
  for (let round = 0; round < 4000; round++) {
    const metadata: Raw = {};
    if (r.int(10) > 0) metadata.name = mostly<unknown>('web-1', names);
    if (r.int(2) === 0) metadata.namespace = mostly<unknown>('shop', names);
    if (r.int(2) === 0) {
      const labels: Raw = {};
      for (let n = r.int(3); n > 0; n--) labels[mostly('app', keys)] = mostly<unknown>('web', values);
      metadata.labels = r.int(8) === 0 ? r.pick(names) : labels;
    }
    if (r.int(8) === 0) metadata.annotations = { note: 'x' };
    if (r.int(4) === 0) metadata.generation = r.pick([0, 3, -1, 1.5, '2', Number.MAX_SAFE_INTEGER + 2]);
    const nameRule = r.pick(['dnsLabel', 'dns1035Label', 'dnsSubdomain'] as const);
    const namespaced = r.int(3) > 0;
    const report = new Report('fuzz.yaml', 1, undefined);
    checkMetadata(Field.root(report, metadata), nameRule, namespaced);
    if (!isPlainlyValidMetadata(metadata, nameRule, namespaced)) {
      refused++;
      continue;
    }
    accepted++;
    assert.deepEqual(report.issues, [], `the fast accept took metadata the walk reports (${nameRule}, namespaced ${namespaced}): ${JSON.stringify(metadata)}`);
  }
  assert.ok(accepted > 200 && refused > 200, `too one-sided to judge: ${accepted} accepted, ${refused} refused`);
});

test('a slice of endpoints the fast accept takes and refuses reports the refused ones, in order, with their fields', () => {
  const slice: Raw = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-x1', namespace: 'shop' },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['fe80::1'] }, { addresses: ['10.0.0.3'], nodeName: 'Node_1' }, { addresses: ['10.0.0.4'], conditions: { ready: true } }],
  };
  const issues = validateObject(slice, { source: 'kubernetes:discovery.k8s.io/v1/EndpointSlice' }).issues;
  assert.deepEqual(issues.map((i) => i.field), ['endpoints[1].addresses[0]', 'endpoints[2].nodeName']);
});

/**
 * Holds a fast accept to its walk over `rounds` generated values: wherever the fast accept says yes,
 * the walk must report nothing; both answers must come often enough to judge.
 */
function holdToWalk(what: string, rounds: number, make: () => unknown, walk: (f: Field) => void, accepts: (value: unknown) => boolean): void {
  let accepted = 0;
  let refused = 0;
  for (let round = 0; round < rounds; round++) {
    const value = make();
    const report = new Report('fuzz.yaml', 1, undefined);
    walk(Field.root(report, value));
    if (!accepts(value)) {
      refused++;
      continue;
    }
    accepted++;
    assert.deepEqual(report.issues, [], `the fast accept took a ${what} the walk reports: ${JSON.stringify(value)}`);
  }
  assert.ok(accepted > rounds / 20 && refused > rounds / 20, `too one-sided to judge: ${accepted} accepted, ${refused} refused`);
}

const ODD = [undefined, null, '', 0, -1, 1.5, 70000, true, 'x', ['x'], {}] as const;
const PORT_NAMES = ['http', 'grpc-web', 'h2', '80', 'a--b', 'Http', 'a'.repeat(16), 'x-'] as const;
const IPS = ['10.0.0.1', 'fe80::1', '10.0.0.256', 'db.shop.svc', 'None'] as const;

test('the fast accept of Service specs says yes only where the field walk finds no problem', () => {
  const r = rng(0x5e71);
  const mostly = <T>(usual: T, any: readonly unknown[]): unknown => (r.int(5) > 0 ? usual : r.pick(any));
  const port = (i: number): unknown => {
    if (r.int(20) === 0) return r.pick(ODD);
    const p: Raw = { port: mostly(80 + i, ODD) };
    if (r.int(3) > 0) p.name = mostly(r.pick(['http', 'grpc', 'metrics']), [...PORT_NAMES, ...ODD]);
    if (r.int(2) === 0) p.protocol = mostly('TCP', ['UDP', 'SCTP', 'tcp', 'ICMP', ...ODD]);
    if (r.int(2) === 0) p.targetPort = mostly(r.pick([8080, 'http']), [...PORT_NAMES, ...ODD]);
    if (r.int(6) === 0) p.nodePort = mostly(30080, ODD);
    if (r.int(10) === 0) p.appProtocol = mostly('http', ODD);
    return p;
  };
  holdToWalk('Service spec', 4000, () => {
    if (r.int(30) === 0) return r.pick(ODD);
    const spec: Raw = {};
    if (r.int(3) === 0) spec.type = mostly(r.pick(['ClusterIP', 'NodePort', 'LoadBalancer']), ['ExternalName', 'Headless', ...ODD]);
    if (r.int(2) === 0) spec.selector = mostly({ app: 'web' }, [{ 'Bad key': 'x' }, { app: '-x' }, ...ODD]);
    if (r.int(2) === 0) spec.clusterIP = mostly('10.96.0.10', [...IPS, ...ODD]);
    if (r.int(10) === 0) spec.clusterIPs = ['10.96.0.10'];
    if (r.int(8) === 0) spec.externalName = mostly('db.example.com', ODD);
    if (r.int(10) > 0) spec.ports = r.int(15) === 0 ? r.pick(ODD) : Array.from({ length: r.int(4) }, (_, i) => port(i));
    if (r.int(8) === 0 && Array.isArray(spec.ports) && spec.ports.length > 1) spec.ports[1] = structuredClone(spec.ports[0]);
    return spec;
  }, validateServiceSpec, isPlainlyValidServiceSpec);
});

test('the fast accept of Pod specs and statuses says yes only where the field walk finds no problem', () => {
  const r = rng(0x90d5);
  const mostly = <T>(usual: T, any: readonly unknown[]): unknown => (r.int(5) > 0 ? usual : r.pick(any));
  const names = ['app', 'sidecar', 'App', '-x', 'a'.repeat(64), 'db.shop', ...ODD];
  const container = (i: number): unknown => {
    if (r.int(20) === 0) return r.pick(ODD);
    const c: Raw = { name: mostly(`c${i}`, names) };
    if (r.int(2) === 0) c.image = mostly('example/app:1', ODD);
    if (r.int(2) === 0) {
      const ports = Array.from({ length: r.int(3) }, (_, k) => {
        const p: Raw = { containerPort: mostly(8080 + k, ODD) };
        if (r.int(2) === 0) p.name = mostly(r.pick(['http', 'metrics']), [...PORT_NAMES, ...ODD]);
        if (r.int(3) === 0) p.protocol = mostly('TCP', ['udp', ...ODD]);
        return r.int(20) === 0 ? r.pick(ODD) : p;
      });
      c.ports = r.int(15) === 0 ? r.pick(ODD) : ports;
    }
    return c;
  };
  holdToWalk('Pod spec', 4000, () => {
    if (r.int(30) === 0) return r.pick(ODD);
    const spec: Raw = {};
    if (r.int(2) === 0) spec.nodeName = mostly('node-1.zone-a', names);
    if (r.int(2) === 0) spec.serviceAccountName = mostly('sa-1', names);
    if (r.int(4) === 0) spec.hostNetwork = mostly(false, ODD);
    if (r.int(12) > 0) spec.containers = r.int(15) === 0 ? r.pick(ODD) : Array.from({ length: r.int(3) + (r.int(6) === 0 ? 0 : 1) }, (_, i) => container(i));
    if (r.int(8) === 0 && Array.isArray(spec.containers) && spec.containers.length > 1) spec.containers[1] = structuredClone(spec.containers[0]);
    if (r.int(4) === 0) spec.initContainers = r.int(10) === 0 ? r.pick(ODD) : [container(9)];
    return spec;
  }, validatePodSpec, isPlainlyValidPodSpec);
  holdToWalk('Pod status', 4000, () => {
    if (r.int(30) === 0) return r.pick(ODD);
    const status: Raw = {};
    if (r.int(2) === 0) status.phase = mostly('Running', ['running', ...ODD]);
    if (r.int(3) > 0) status.podIP = mostly('10.0.0.1', [...IPS, ...ODD]);
    if (r.int(3) > 0) {
      const ips = Array.from({ length: r.int(4) }, (_, k) => (r.int(15) === 0 ? r.pick(ODD) : { ip: mostly(k === 0 ? '10.0.0.1' : 'fe80::1', [...IPS, ...ODD]) }));
      status.podIPs = r.int(15) === 0 ? r.pick(ODD) : ips;
    }
    if (r.int(2) === 0) {
      const condition = () => (r.int(15) === 0 ? r.pick(ODD) : { type: mostly('Ready', ODD), status: mostly('True', ['true', 'False', 'Unknown', ...ODD]) });
      status.conditions = r.int(15) === 0 ? r.pick(ODD) : Array.from({ length: r.int(3) }, condition);
    }
    return status;
  }, validatePodStatus, isPlainlyValidPodStatus);
});

test('the fast accepts of HTTPRoute rules and parentRefs say yes only where the field walk finds no problem', () => {
  const r = rng(0x4a7e);
  const mostly = <T>(usual: T, any: readonly unknown[]): unknown => (r.int(6) > 0 ? usual : r.pick(any));
  const groups = ['', 'gateway.networking.k8s.io', 'Bad_Group', 'a'.repeat(254), ...ODD];
  const kinds = ['Service', 'Gateway', 'ServiceImport', '1Kind', 'a'.repeat(64), ...ODD];
  const names = ['web', 'a'.repeat(253), 'a'.repeat(254), 'Web.Shop', ...ODD];
  const ref = (withWeight: boolean): unknown => {
    if (r.int(20) === 0) return r.pick(ODD);
    const b: Raw = { name: mostly('web', names) };
    if (r.int(5) === 0) b.group = mostly('', groups);
    if (r.int(5) === 0) b.kind = mostly('Service', kinds);
    if (r.int(4) === 0) b.namespace = mostly('shop', ['Shop', 'a'.repeat(64), ...ODD]);
    if (r.int(8) > 0) b.port = mostly(80, ODD);
    if (r.int(4) === 0) b.sectionName = mostly('http', ['Http', 'a.b', '-x', ...ODD]);
    if (withWeight && r.int(2) === 0) b.weight = mostly(90, [1_000_000, 1_000_001, -1, 0.5, '10']);
    if (withWeight && r.int(20) === 0) b.filters = r.pick([[{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x', value: 'y' }] } }], [{ type: 'Bogus' }], ...ODD]);
    return b;
  };
  const paths = ['/', '/api', '/a//b', '/a/./b', '/a/..', 'api', '/a%2Fb', '/a#b', '/' + 'a'.repeat(1024), ...ODD];
  const headerNames = ['x-canary', 'X-Canary', 'bad header', 'a'.repeat(257), ...ODD];
  const nameValues = (maxValue: number, usualName: string): unknown => {
    if (r.int(15) === 0) return r.pick(ODD);
    const list = Array.from({ length: r.int(3) }, () => {
      const m: Raw = { name: mostly(usualName, headerNames), value: mostly('1', ['', 'a'.repeat(maxValue + 1), ...ODD]) };
      if (r.int(4) === 0) m.type = mostly('Exact', ['RegularExpression', 'Prefix', ...ODD]);
      return r.int(20) === 0 ? r.pick(ODD) : m;
    });
    if (list.length > 1 && r.int(3) === 0) list[1] = structuredClone(list[0]);
    if (r.int(30) === 0) return Array.from({ length: 17 }, (_, i) => ({ name: `h${i}`, value: 'v' }));
    return list;
  };
  const match = (): unknown => {
    if (r.int(20) === 0) return r.pick(ODD);
    const m: Raw = {};
    if (r.int(4) > 0) m.path = r.int(15) === 0 ? r.pick(ODD) : { type: mostly('PathPrefix', ['Exact', 'RegularExpression', 'Regex', ...ODD]), value: mostly('/api', paths) };
    if (r.int(3) === 0) m.headers = nameValues(4096, 'x-canary');
    if (r.int(5) === 0) m.queryParams = nameValues(1024, 'q');
    if (r.int(5) === 0) m.method = mostly('GET', ['get', 'BREW', ...ODD]);
    return m;
  };
  holdToWalk('HTTPRoute rule', 5000, () => {
    if (r.int(30) === 0) return r.pick(ODD);
    const rule: Raw = {};
    if (r.int(5) === 0) rule.name = mostly('canary', ['Canary', '-x', ...ODD]);
    if (r.int(5) > 0) rule.matches = r.int(15) === 0 ? r.pick(ODD) : Array.from({ length: r.int(3) }, match);
    if (r.int(5) > 0) rule.backendRefs = r.int(15) === 0 ? r.pick(ODD) : Array.from({ length: r.int(3) }, () => ref(true));
    if (r.int(40) === 0) rule.backendRefs = Array.from({ length: 16 + r.int(2) }, () => ({ name: 'web', port: 80 }));
    if (r.int(40) === 0) rule.matches = Array.from({ length: 64 + r.int(2) }, () => ({ path: { value: '/' } }));
    if (r.int(12) === 0) rule.filters = r.pick([[], [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }], ...ODD]);
    if (r.int(12) === 0) rule.timeouts = r.pick([{ request: '10s' }, { request: '1s', backendRequest: '2s' }, ...ODD]);
    if (r.int(12) === 0) rule.retry = r.pick([{ attempts: 3 }, { codes: [200] }, ...ODD]);
    return rule;
  }, validateHTTPRouteRule, isPlainlyValidHTTPRouteRule);
  holdToWalk('parentRef', 3000, () => ref(false), validateParentRef, isPlainlyValidParentRef);
});

test('an HTTPRoute whose rules the fast accept takes and refuses reports the refused ones and counts every rule\'s matches', () => {
  const match = { path: { type: 'PathPrefix', value: '/' } };
  const route: Raw = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      parentRefs: [{ kind: 'Service', name: 'web', port: 80 }, { kind: 'Service', name: 'web', sectionName: 'http' }, { kind: 'Service', name: 'db', port: 0 }],
      rules: [
        { matches: Array.from({ length: 64 }, () => match), backendRefs: [{ name: 'web', port: 80 }] },
        { matches: Array.from({ length: 64 }, () => match), backendRefs: [{ name: 'web' }] },
        { matches: [match], backendRefs: [{ name: 'web', port: 80, weight: 2_000_000 }] },
      ],
    },
  };
  const issues = validateObject(route, { source: 'kubernetes:gateway.networking.k8s.io/v1/HTTPRoute' }).issues;
  assert.deepEqual(issues.map((i) => [i.field, i.message]), [
    ['spec.parentRefs[2].port', 'must be between 1 and 65535, is 0'],
    ['spec.parentRefs[1]', 'references to the same parent must agree on whether they set sectionName, and on whether they set port'],
    ['spec.rules[1].backendRefs[0].port', 'required when referring to a Service'],
    ['spec.rules[2].backendRefs[0].weight', 'must be between 0 and 1000000, is 2000000'],
    ['spec.rules', 'must have at most 128 matches across all rules, has 129'],
  ]);
});

// The mesh the Gateway API mesh conformance suite deploys (namespace gateway-conformance-mesh:
// Services echo, echo-v1, echo-v2 on ports 80 and 8080, their pods, one node), and a helper that
// adds a case's routes, translates, and returns the route configuration a client would use.
import assert from 'node:assert/strict';
import { Translator, type Translation } from '../../xds/translate/translator.js';
import { ROUTE_TYPE } from '../../xds/translate/constants.js';
import { clusterName, hostPortName, serviceHost } from '../../xds/translate/names.js';
import type { Json } from '../../xds/translate/types.js';
import { objectsFromYaml, snapshotOf } from '../xds/translate-fixtures.js';

export const NS = 'gateway-conformance-mesh';

function service(name: string, vip: string, selector: string): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${NS} }
spec:
  clusterIP: ${vip}
  selector: { ${selector} }
  ports:
    - { name: http, port: 80, targetPort: 8080, appProtocol: http }
    - { name: http-alt, port: 8080, targetPort: 8080, appProtocol: http }
`;
}

function pod(name: string, ip: string, version: string): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${NS}, labels: { app: echo, version: ${version} } }
spec: { nodeName: node-1, containers: [{ name: echo, ports: [{ containerPort: 8080 }] }] }
status: { phase: Running, podIP: ${ip}, conditions: [{ type: Ready, status: "True" }] }
`;
}

export const BASE_MESH = [
  `apiVersion: v1
kind: Namespace
metadata: { name: ${NS} }
`,
  `apiVersion: v1
kind: Node
metadata: { name: node-1 }
spec: { podCIDR: 10.244.0.0/24 }
`,
  service('echo', '10.96.10.1', 'app: echo'),
  service('echo-v1', '10.96.10.2', 'app: echo, version: v1'),
  service('echo-v2', '10.96.10.3', 'app: echo, version: v2'),
  pod('echo-v1-a', '10.244.0.11', 'v1'),
  pod('echo-v2-a', '10.244.0.12', 'v2'),
].join('---\n');

/** The cluster of a conformance Service port. */
export function cluster(name: string, port = 80): string {
  return clusterName(serviceHost(name, NS, 'cluster.local'), port);
}

export interface CaseResult {
  translation: Translation;
  /** The node proxy's route configuration of a Service port (what a client behind the node proxy gets). */
  proxy(service?: string, port?: number): Json;
  /** The proxyless gRPC clients' route configuration of a Service port. */
  proxyless(service?: string, port?: number): Json;
}

/**
 * Translates the base mesh plus a case's YAML and checks that nothing was withheld: every
 * resource passed the rule checker and its cross-references.
 */
export function translateCase(caseYaml: string): CaseResult {
  const objects = objectsFromYaml(`${BASE_MESH}---\n${caseYaml}`, 'case.yaml');
  const snapshot = snapshotOf(objects);
  const translation = new Translator().translate(snapshot);
  const withheld = translation.issues.filter((i) => i.resource);
  assert.deepEqual(withheld, [], 'every generated resource must pass the checker');
  const get = (classKey: string) => (name = 'echo', port = 80): Json => {
    const rcName = hostPortName(serviceHost(name, NS, 'cluster.local'), port);
    const built = translation.classes.get(classKey)?.resources.get(ROUTE_TYPE)?.get(rcName);
    assert.ok(built, `${classKey} has no route configuration ${rcName}`);
    return built.message;
  };
  return { translation, proxy: get('node-proxy/node-1'), proxyless: get('proxyless') };
}

/** An HTTPRoute attached (GAMMA) to a Service of the conformance namespace. */
export function httpRoute(name: string, parent: string, rules: string, extra = ''): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: ${NS} }
spec:
  parentRefs:
    - { group: "", kind: Service, name: ${parent}${extra} }
  rules:
${rules}`;
}

/** The rule of the header-modifier cases: set, add and remove one header each, then to echo:80. */
export function headerModifierRule(filter: 'RequestHeaderModifier' | 'ResponseHeaderModifier'): string {
  const field = filter === 'RequestHeaderModifier' ? 'requestHeaderModifier' : 'responseHeaderModifier';
  return `    - filters:
        - type: ${filter}
          ${field}:
            set: [{ name: X-Header-Set, value: set-overwrites-values }]
            add: [{ name: X-Header-Add, value: add-appends-values }]
            remove: [X-Header-Remove]
      backendRefs: [{ name: echo, port: 80 }]
`;
}

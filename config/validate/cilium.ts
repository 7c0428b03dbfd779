// Validation of cilium.io/v2 CiliumNetworkPolicy: `spec` or `specs`, each rule's endpoint
// selector, L3 peers (endpoints, CIDRs, entities), L4 ports (strings, as Cilium's schema has
// them) and L7 `rules.http`, whose method, path and host are regular expressions in Cilium.
import { labelSelector, qualifiedNameProblem, type Field } from './fields.js';
import { cidrBlock } from './network-policy.js';

const ENTITIES = ['all', 'world', 'world-ipv4', 'world-ipv6', 'cluster', 'host', 'remote-node', 'kube-apiserver', 'ingress', 'health', 'init', 'unmanaged', 'none'] as const;
const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ICMP', 'ICMPV6', 'ANY'] as const;
const PORT = /^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})$/;
const NAMED_PORT = /^([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$/;
const HEADER_MISMATCH = ['LOG', 'ADD', 'DELETE', 'REPLACE'] as const;

/** Cilium label keys may carry a source prefix such as `k8s:` or `any:`. */
function ciliumLabelKey(key: string): string | undefined {
  const colon = key.indexOf(':');
  return qualifiedNameProblem(colon >= 0 && !key.slice(0, colon).includes('/') ? key.slice(colon + 1) : key);
}

const selector = (f: Field) => labelSelector(f, { keys: ciliumLabelKey });

export function validateCiliumNetworkPolicy(root: Field): void {
  const spec = root.opt('spec');
  const specs = root.opt('specs');
  if (!spec && !specs) root.at('spec').error('one of spec or specs is required');
  if (spec) rule(spec);
  specs?.list(rule, { min: 1 });
}

function rule(r: Field): void {
  if (!r.object()) return;
  const endpointSelector = r.req('endpointSelector');
  if (endpointSelector) selector(endpointSelector);
  r.opt('description')?.string();
  r.opt('ingress')?.list((i) => peerRule(i, 'from', true));
  r.opt('ingressDeny')?.list((i) => peerRule(i, 'from', false));
  r.opt('egress')?.list((e) => peerRule(e, 'to', true));
  r.opt('egressDeny')?.list((e) => peerRule(e, 'to', false));
}

function peerRule(r: Field, dir: 'from' | 'to', allowsL7: boolean): void {
  if (!r.object()) return;
  r.opt(`${dir}Endpoints`)?.list(selector);
  r.opt(`${dir}Requires`)?.list(selector);
  r.opt(`${dir}CIDR`)?.strings((c) => c.cidr({ allowIP: true }));
  r.opt(`${dir}CIDRSet`)?.list((block) => cidrBlock(block, 'cidr', 'except'));
  r.opt(`${dir}Entities`)?.strings((e) => e.oneOf(ENTITIES));
  r.opt('toPorts')?.list((p) => portRule(p, allowsL7));
}

function portRule(p: Field, allowsL7: boolean): void {
  if (!p.object()) return;
  const protocols: string[] = [];
  p.opt('ports')?.list((port) => {
    if (!port.object()) return;
    const text = port.req('port');
    if (text && typeof text.value !== 'string') text.error(`must be a string (quote it: "${String(text.value)}")`);
    else text?.string({ pattern: new RegExp(`${PORT.source}|${NAMED_PORT.source}`), patternHint: 'must be a port number 0-65535 or a port name' });
    port.opt('endPort')?.int(0, 65535);
    protocols.push(port.opt('protocol')?.oneOf(PROTOCOLS) ?? 'ANY');
  }, { max: 40 });
  const rules = p.opt('rules');
  if (!rules?.object()) return;
  const http = rules.opt('http');
  if (!http) return;
  if (!allowsL7) http.error('L7 rules are not allowed in deny rules');
  if (protocols.some((proto) => proto !== 'TCP' && proto !== 'ANY')) http.error('L7 rules need the TCP (or ANY) protocol');
  http.list(httpRule);
}

function httpRule(h: Field): void {
  if (!h.object()) return;
  h.opt('method')?.regex();
  h.opt('path')?.regex();
  h.opt('host')?.regex();
  h.opt('headers')?.strings();
  h.opt('headerMatches')?.list((m) => {
    if (!m.object()) return;
    m.req('name')?.headerName();
    m.opt('value')?.string();
    m.opt('mismatch')?.oneOf(HEADER_MISMATCH);
  });
}

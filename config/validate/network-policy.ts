// Validation of networking.k8s.io/v1 NetworkPolicy, after Kubernetes' own networking validation:
// peers, ipBlocks (except strictly inside cidr), ports and endPort, policyTypes.
import { cidrStrictlyInside, labelSelector, type Field } from './fields.js';

export function validateNetworkPolicy(root: Field): void {
  const spec = root.req('spec');
  if (!spec?.object()) return;
  const podSelector = spec.req('podSelector');
  if (podSelector) labelSelector(podSelector);
  spec.opt('policyTypes')?.strings((t) => t.oneOf(['Ingress', 'Egress'] as const), { max: 2, unique: true });
  spec.opt('ingress')?.list((rule) => policyRule(rule, 'from'));
  spec.opt('egress')?.list((rule) => policyRule(rule, 'to'));
}

function policyRule(rule: Field, peersKey: 'from' | 'to'): void {
  if (!rule.object()) return;
  rule.opt(peersKey)?.list(peer);
  rule.opt('ports')?.list(policyPort);
}

function peer(p: Field): void {
  if (!p.object()) return;
  const ipBlock = p.opt('ipBlock');
  const pods = p.opt('podSelector');
  const namespaces = p.opt('namespaceSelector');
  if (!ipBlock && !pods && !namespaces) p.error('must set podSelector, namespaceSelector or ipBlock');
  if (ipBlock && (pods || namespaces)) p.error('ipBlock must not be combined with podSelector or namespaceSelector');
  if (pods) labelSelector(pods);
  if (namespaces) labelSelector(namespaces);
  if (ipBlock) cidrBlock(ipBlock, 'cidr', 'except');
}

/** An IP block `{cidr, except}`: every except a strict subset of cidr (Kubernetes and Cilium alike). */
export function cidrBlock(block: Field, cidrKey: string, exceptKey: string): void {
  if (!block.object()) return;
  const cidr = block.req(cidrKey)?.cidr();
  block.opt(exceptKey)?.strings((e) => {
    const except = e.cidr();
    if (except !== undefined && cidr !== undefined && !cidrStrictlyInside(except, cidr)) {
      return e.error(`'${except}' must be a strict subset of ${cidrKey} ${cidr}`);
    }
    return except;
  });
}

function policyPort(port: Field): void {
  if (!port.object()) return;
  port.opt('protocol')?.oneOf(['TCP', 'UDP', 'SCTP'] as const);
  const p = port.opt('port')?.portOrName();
  const endPort = port.opt('endPort');
  if (!endPort) return;
  const end = endPort.port();
  if (typeof p !== 'number') endPort.error('requires port to be a number');
  else if (end !== undefined && end < p) endPort.error(`must be greater than or equal to port ${p}`);
}

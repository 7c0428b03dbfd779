// L4 authorization at the HBONE inbound, by the client's SPIFFE identity: the destination
// workload's `authorization` layer of its EndpointPolicy (the control plane's translation of
// AuthorizationPolicy principals/namespaces into numeric identities), evaluated for the numeric
// identities of the workloads that hold the client's SPIFFE ID. Deny wins; an enforced layer with
// no allow entry that matches denies. Limits: CIDR peers are the datapath's business and are not
// judged here (an entry only with CIDRs never matches); only TCP entries (or any-protocol) apply.
import type { DirectionPolicy__Output, PolicyEntry__Output } from '../../proto/skiff/v1alpha1/wire.js';
import type { Verdict } from './hbone.js';

function matches(entry: PolicyEntry__Output, identities: ReadonlySet<number>, port: number): boolean {
  if (entry.protocol !== 'PROTOCOL_ANY' && entry.protocol !== 'TCP') return false;
  if (entry.port !== 0 && (port < entry.port || port > (entry.end_port || entry.port))) return false;
  return entry.any_peer || entry.identities.some((id) => identities.has(id));
}

export function authorizeIdentities(policy: DirectionPolicy__Output | undefined, clientIdentities: ReadonlySet<number>, port: number): Verdict {
  const entries = policy?.entries ?? [];
  const hits = entries.filter((e) => matches(e, clientIdentities, port));
  const deny = hits.find((e) => e.verdict === 'DENY');
  if (deny) return { allowed: false, reason: `denied by ${deny.origin || 'a deny rule'}` };
  const allow = hits.find((e) => e.verdict === 'ALLOW');
  if (allow) return { allowed: true, reason: `allowed by ${allow.origin || 'an allow rule'}` };
  if (policy?.enforced) return { allowed: false, reason: 'no authorization rule allows this client' };
  return { allowed: true, reason: 'no authorization policy selects the workload' };
}

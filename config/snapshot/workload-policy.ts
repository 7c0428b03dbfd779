// The policy in force for one workload: the rules of every policy selecting its identity, split by
// layer and direction, with named ports resolved to numbers (the workload's own container ports
// for ingress, the peers' for egress), and whether it is default-deny in each direction.
import type { RuleGroup } from './policies.js';
import { EMPTY_LIST, frozenList } from './frozen.js';
import { sortStrings } from './sorted.js';
import type { DirectionPolicy, L4Protocol, PeerSet, PolicyLayer, PolicyRule, PortRange, WorkloadPolicy, WorkloadView } from './types.js';

export interface SelectingPolicy {
  readonly key: string;
  readonly layer: PolicyLayer;
  readonly groups: readonly RuleGroup[];
}

export interface NamedPortLookup {
  /** The numbers a port name has on the workloads of the peers, with the identities having each. */
  peerPorts(peers: PeerSet, name: string, protocol: L4Protocol | 'ANY'): ReadonlyMap<number, readonly number[]>;
}

function protocolMatches(want: L4Protocol | 'ANY', have: L4Protocol): boolean {
  return want === 'ANY' || want === have;
}

/** The rule with other peers and ports (its fields in their order, without a spread: 1,000s of rules). */
function withPorts(rule: PolicyRule, ports: PortRange[], peers: PeerSet = rule.peers): PolicyRule {
  return Object.freeze({
    direction: rule.direction,
    verdict: rule.verdict,
    layer: rule.layer,
    peers,
    ports: frozenList(ports),
    namedPorts: EMPTY_LIST,
    http: rule.http,
    when: rule.when,
    origin: rule.origin,
  });
}

/** The rule with its named ports resolved; [] when it allows nothing on this workload. */
function resolveNamedPorts(rule: PolicyRule, workload: WorkloadView, lookup: NamedPortLookup): PolicyRule[] {
  if (rule.namedPorts.length === 0) return [rule];
  if (rule.direction === 'ingress') {
    const ports = [...rule.ports];
    for (const named of rule.namedPorts) {
      for (const cp of workload.containerPorts) {
        if (cp.name === named.name && protocolMatches(named.protocol, cp.protocol)) ports.push(Object.freeze({ protocol: cp.protocol, port: cp.port, endPort: cp.port }));
      }
    }
    return ports.length === 0 ? [] : [withPorts(rule, ports)];
  }
  const out: PolicyRule[] = rule.ports.length > 0 ? [withPorts(rule, [...rule.ports])] : [];
  for (const named of rule.namedPorts) {
    const protocol: L4Protocol = named.protocol === 'ANY' ? 'TCP' : named.protocol;
    for (const [port, identities] of lookup.peerPorts(rule.peers, named.name, named.protocol)) {
      const peers: PeerSet = Object.freeze({ ...rule.peers, any: false, identities: Object.freeze([...identities]), cidrs: EMPTY_LIST });
      out.push(withPorts(rule, [Object.freeze({ protocol, port, endPort: port })], peers));
    }
  }
  return out;
}

interface Accumulator {
  selected: boolean;
  rules: PolicyRule[];
  /** Policy keys, each once (a workload has few). */
  policies: string[];
}

/** The direction no policy touches (most of them): one shared frozen view. */
const UNSELECTED: DirectionPolicy = Object.freeze({ selected: false, rules: EMPTY_LIST, policies: EMPTY_LIST });

function notePolicy(acc: Accumulator, key: string): void {
  if (!acc.policies.includes(key)) acc.policies.push(key);
}

function finish(acc: Accumulator): DirectionPolicy {
  if (!acc.selected && acc.rules.length === 0 && acc.policies.length === 0) return UNSELECTED;
  return Object.freeze({ selected: acc.selected, rules: frozenList(acc.rules), policies: frozenList(sortStrings(acc.policies)) });
}

/** `policies` are the ones selecting the workload's identity, in key order. */
export function computeWorkloadPolicy(workload: WorkloadView, policies: readonly SelectingPolicy[], lookup: NamedPortLookup): WorkloadPolicy {
  if (policies.length === 0) {
    return Object.freeze({ workload: workload.key, identity: workload.identity, ingress: UNSELECTED, egress: UNSELECTED, authorization: UNSELECTED });
  }
  const blank = (): Accumulator => ({ selected: false, rules: [], policies: [] });
  const ingress = blank();
  const egress = blank();
  const authorization = blank();
  for (const policy of policies) {
    for (const group of policy.groups) {
      if (!group.selected.includes(workload.identity)) continue;
      for (const direction of group.enforces) {
        const acc = policy.layer === 'authorization' ? authorization : direction === 'ingress' ? ingress : egress;
        acc.selected = true;
        notePolicy(acc, policy.key);
      }
      for (const rule of group.rules) {
        const acc = rule.layer === 'authorization' ? authorization : rule.direction === 'ingress' ? ingress : egress;
        notePolicy(acc, policy.key);
        acc.rules.push(...resolveNamedPorts(rule, workload, lookup));
      }
    }
  }
  return Object.freeze({
    workload: workload.key,
    identity: workload.identity,
    ingress: finish(ingress),
    egress: finish(egress),
    authorization: finish(authorization),
  });
}

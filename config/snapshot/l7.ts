// The needs-L7 set (shared/DESIGN.md, "What needs L7 means"): a flow to (workload, port) leaves
// the fast path when a route attaches to a Service it backs on that port, an L7 policy rule selects
// it on that port, or its Service uses a waypoint. Everything else is decided in the kernel.
import type { L4Protocol, L7Reason, PolicyRule, ServicePortL7, ServicePortRoutes, ServiceView, WorkloadPolicy, WorkloadPortL7 } from './types.js';
import { frozenList } from './frozen.js';
import { servicePortKey, workloadPortKey } from './types.js';

/** Ranges wider than this mark every port (port 0) rather than each. */
const MAX_RANGE_MARKS = 64;

/** One workload port that needs L7, and why. */
export interface Mark {
  readonly key: string;
  readonly workload: string;
  readonly port: number;
  readonly protocol: L4Protocol;
  readonly reasons: L7Reason[];
}

/** Beyond this many marks a workload's marks get a lookup Map. */
const LINEAR_LOOKUP_LIMIT = 8;

/**
 * One workload's marks by workload port key, in the order first marked. Most workloads have one
 * or two, and a large mesh has 10,000s of marked workloads: a Map each would cost much memory, so
 * the marks are a list, with a lookup Map only when there are many.
 */
export class Marks {
  readonly list: Mark[] = [];
  private index: Map<string, Mark> | undefined;

  get(key: string): Mark | undefined {
    if (this.index) return this.index.get(key);
    for (const mark of this.list) if (mark.key === key) return mark;
    return undefined;
  }

  add(mark: Mark): void {
    this.list.push(mark);
    if (this.index) this.index.set(mark.key, mark);
    else if (this.list.length > LINEAR_LOOKUP_LIMIT) this.index = new Map(this.list.map((m) => [m.key, m]));
  }
}

function sameReason(a: L7Reason, b: L7Reason): boolean {
  return a.source === b.source && a.detail === b.detail;
}

/** Adds a reason to a mark unless an equal one is there. */
function addReason(mark: Mark, reason: L7Reason): void {
  if (!mark.reasons.some((r) => sameReason(r, reason))) mark.reasons.push(reason);
}

function mark(marks: Marks, workload: string, port: number, protocol: L4Protocol, reason: L7Reason): void {
  const key = workloadPortKey(workload, port, protocol);
  let entry = marks.get(key);
  if (!entry) marks.add((entry = { key, workload, port, protocol, reasons: [] }));
  addReason(entry, reason);
}

/** True when a rule needs the proxy: HTTP conditions, or `when` keys on the request. */
function isL7Rule(rule: PolicyRule): boolean {
  return rule.http.length > 0 || rule.when.some((w) => w.key.startsWith('request.'));
}

/** The workload ports that an ingress L7 rule (CNP rules.http, Istio operations) selects. */
export function policyMarks(policy: WorkloadPolicy, marks: Marks): void {
  for (const rule of policy.ingress.rules) if (isL7Rule(rule)) markRule(policy.workload, rule, marks);
  for (const rule of policy.authorization.rules) if (isL7Rule(rule)) markRule(policy.workload, rule, marks);
}

/** True when policyMarks would mark some port of the workload. */
export function hasPolicyMarks(policy: WorkloadPolicy | undefined): boolean {
  return !!policy && (policy.ingress.rules.some(isL7Rule) || policy.authorization.rules.some(isL7Rule));
}

/** Marks the ports an L7 rule selects on one workload. */
function markRule(workload: string, rule: PolicyRule, marks: Marks): void {
  const reason: L7Reason = Object.freeze({
    kind: 'l7-policy',
    source: rule.origin.policy,
    detail: `${rule.origin.policy} ${rule.origin.field} has L7 rules`,
  });
  if (rule.ports.length === 0) mark(marks, workload, 0, 'TCP', reason);
  for (const range of rule.ports) {
    if (range.protocol !== 'TCP' && range.protocol !== 'ANY') continue;
    if (range.port === 0 || range.endPort - range.port > MAX_RANGE_MARKS) {
      mark(marks, workload, 0, 'TCP', reason);
      continue;
    }
    for (let port = range.port; port <= range.endPort; port++) mark(marks, workload, port, 'TCP', reason);
  }
}

export interface ServiceL7Result {
  readonly ports: readonly ServicePortL7[];
  /**
   * Marks on the workloads behind the service: workload key → its marks, in the order first
   * marked. They are the entries of MeshSnapshot.l7 for a workload marked by this service alone.
   */
  readonly marks: ReadonlyMap<string, readonly WorkloadPortL7[]>;
}

/** The routes attached to a service port, each once, in attachment order (HTTP, then gRPC). */
function routesOf(attachment: ServicePortRoutes): Set<string> {
  const routes = new Set<string>();
  for (const match of attachment.http) routes.add(match.route);
  for (const match of attachment.grpc) routes.add(match.route);
  return routes;
}

const NO_L7: ServiceL7Result = Object.freeze({ ports: Object.freeze([]), marks: new Map<string, readonly WorkloadPortL7[]>() });

/** The service ports that need L7 (routes, waypoint) and the workload ports behind them. */
export function serviceL7(service: ServiceView, attachments: (portKey: string) => ServicePortRoutes | undefined): ServiceL7Result {
  if (!service.waypoint && !service.ports.some((port) => attachments(servicePortKey(service.key, port.port, port.protocol)))) return NO_L7;
  const ports: ServicePortL7[] = [];
  const marks = new Map<string, WorkloadPortL7[]>();
  for (const port of service.ports) {
    const key = servicePortKey(service.key, port.port, port.protocol);
    const reasons: L7Reason[] = [];
    const routes = attachments(key);
    if (routes) {
      for (const route of routesOf(routes)) {
        reasons.push(Object.freeze({ kind: 'route', source: route, detail: `${route} attaches to ${service.key}:${port.port}` }));
      }
    }
    if (service.waypoint) {
      const found = service.waypoint.found ? '' : ' (waypoint not found)';
      reasons.push(Object.freeze({ kind: 'waypoint', source: `Gateway/${service.waypoint.gateway}`, detail: `${service.key} uses waypoint ${service.waypoint.gateway}${found}` }));
    }
    if (reasons.length === 0) continue;
    // The port's reasons are the same list for every endpoint marked through it.
    const portReasons = frozenList(reasons);
    ports.push(Object.freeze({ key, service: service.key, vips: service.vips, port: port.port, protocol: port.protocol, needsL7: true, reasons: portReasons }));
    for (const endpoint of port.endpoints) if (endpoint.pod) markEntry(marks, endpoint.pod, endpoint.port, port.protocol, portReasons);
  }
  for (const entries of marks.values()) Object.freeze(entries);
  return { ports: frozenList(ports), marks };
}

/** Marks a workload port for a service: a new entry, or the reasons added to the one there. */
function markEntry(marks: Map<string, WorkloadPortL7[]>, workload: string, port: number, protocol: L4Protocol, reasons: readonly L7Reason[]): void {
  const key = workloadPortKey(workload, port, protocol);
  const entries = marks.get(workload);
  if (!entries) {
    marks.set(workload, [l7Entry(key, workload, port, protocol, reasons)]);
    return;
  }
  const at = entries.findIndex((entry) => entry.key === key);
  if (at < 0) {
    entries.push(l7Entry(key, workload, port, protocol, reasons));
    return;
  }
  const before = entries[at] as WorkloadPortL7;
  const added = reasons.filter((reason) => !before.reasons.some((r) => sameReason(r, reason)));
  if (added.length > 0) entries[at] = l7Entry(key, workload, port, protocol, Object.freeze([...before.reasons, ...added]));
}

function l7Entry(key: string, workload: string, port: number, protocol: L4Protocol, reasons: readonly L7Reason[]): WorkloadPortL7 {
  return Object.freeze({ key, workload, port, protocol, needsL7: true, reasons });
}

/** The entry of MeshSnapshot.l7 for a mark. */
function freezeMark(entry: Mark): WorkloadPortL7 {
  return l7Entry(entry.key, entry.workload, entry.port, entry.protocol, frozenList(entry.reasons));
}

/** The entries of MeshSnapshot.l7 for a workload's marks, in their order. */
export function freezeMarks(marks: Marks): readonly WorkloadPortL7[] {
  return Object.freeze(marks.list.map(freezeMark));
}

/** Marks to merge more into, starting from a workload's frozen ones (their reasons copied). */
export function thawMarks(entries: readonly WorkloadPortL7[], into: Marks): void {
  for (const entry of entries) {
    const merged = into.get(entry.key);
    if (merged) for (const reason of entry.reasons) addReason(merged, reason);
    else into.add({ key: entry.key, workload: entry.workload, port: entry.port, protocol: entry.protocol, reasons: [...entry.reasons] });
  }
}

// An incremental (Delta) stream (DeltaAggregatedResources and the per-type Delta* methods):
// subscriptions change by resource_names_subscribe/unsubscribe; responses carry only resources
// whose version the client lacks and, in separate responses sent last, removed_resources (gone
// resources, and subscribed names that do not exist). initial_resource_versions on a new stream
// means only differences are sent. A nonce never causes a request to be rejected.
import { Connection, NO_PLAN, type TypePlan } from './connection.js';
import type { DeltaDiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';
import { internNames } from './names.js';
import type { ResourceEntry, TypeSnapshot } from './snapshot.js';
import type { TypeState } from './type-state.js';
import { DeltaField, bytesField, concat } from './wire.js';

/** The version of a name the client holds, as far as this stream knows. */
function clientVersion(state: TypeState, name: string): string | undefined {
  if (state.known) return state.known.get(name);
  return state.wasInScope(name) ? state.sent?.entries.get(name)?.version : undefined;
}

/** Names to consider: the explicit subscription, plus every existing and every held name under wildcard. */
function namesInScope(state: TypeState, current: TypeSnapshot): Iterable<string> {
  if (!state.wildcard) return state.sub.list;
  const names = new Set<string>(state.sub.list);
  for (const name of current.entries.keys()) names.add(name);
  for (const name of state.known?.keys() ?? []) names.add(name);
  if (!state.known && state.sent) for (const name of state.sent.entries.keys()) if (state.wasInScope(name)) names.add(name);
  return names;
}

export class DeltaConnection extends Connection<DeltaDiscoveryRequest__Output> {
  get mode(): 'delta' {
    return 'delta';
  }

  protected onRequest(state: TypeState, request: DeltaDiscoveryRequest__Output): void {
    // Only the latest nonce is an answer; an older one is not an error and rejects nothing.
    if (request.response_nonce !== '' && request.response_nonce === state.nonce) {
      this.answer(state, request.error_detail ? request.error_detail.message : undefined);
    }
    const first = !state.subscribed;
    const subscribe = request.resource_names_subscribe;
    const unsubscribe = request.resource_names_unsubscribe;
    if (first) {
      const initial = Object.entries(request.initial_resource_versions ?? {});
      if (initial.length > 0) state.known = new Map(initial);
      if (subscribe.length === 0) state.wildcard = true;
    }
    if (subscribe.includes('*')) state.wildcard = true;
    if (unsubscribe.includes('*')) state.wildcard = false;
    const explicitSubscribe = subscribe.filter((n) => n !== '*');
    const explicitUnsubscribe = new Set(unsubscribe.filter((n) => n !== '*'));
    if (explicitSubscribe.length > 0 || explicitUnsubscribe.size > 0) {
      const kept = state.sub.list.filter((n) => !explicitUnsubscribe.has(n));
      state.sub = internNames([...kept, ...explicitSubscribe]);
    }
    state.subscribed = true;
    if (first || subscribe.length > 0 || unsubscribe.length > 0) this.host.schedule(this);
  }

  protected planType(state: TypeState, current: TypeSnapshot, forced: readonly string[]): TypePlan {
    const subChanged = state.sub !== state.sentSub || state.wildcard !== state.sentWildcard;
    if (state.sent === current && !subChanged && forced.length === 0 && !state.known) return NO_PLAN;
    const build = () => this.planDelta(state, current, new Set(forced));
    // A reconnecting client's own version list is not shared with anyone: plan it unshared.
    const plan = state.known ? build() : current.memo(`delta:${state.cacheKey(forced.join(','))}`, build);
    state.markSent(current);
    return plan;
  }

  private planDelta(state: TypeState, current: TypeSnapshot, forced: ReadonlySet<string>): TypePlan {
    const upserts: ResourceEntry[] = [];
    const removed: string[] = [];
    for (const name of namesInScope(state, current)) {
      const entry = current.entries.get(name);
      const held = clientVersion(state, name);
      if (entry) {
        if (held !== entry.version || forced.has(name)) upserts.push(entry);
      } else if (held !== undefined || (state.sub.has(name) && !state.wasInScope(name))) {
        removed.push(name);
      }
    }
    if (upserts.length === 0 && removed.length === 0) return NO_PLAN;
    const typeField = bytesField(DeltaField.typeUrl, state.typeUrl);
    const versionField = bytesField(DeltaField.systemVersionInfo, current.version);
    return {
      upsert: upserts.length > 0 ? { version: current.version, body: concat([versionField, ...upserts.map((e) => e.deltaField), typeField]) } : null,
      removal:
        removed.length > 0
          ? { version: current.version, body: concat([versionField, ...removed.map((n) => bytesField(DeltaField.removedResources, n)), typeField]) }
          : null,
      changed: upserts.map((e) => e.name),
    };
  }
}

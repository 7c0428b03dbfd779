// A State-of-the-World stream (StreamAggregatedResources and the per-type Stream* methods):
// requests carry the full subscription; a nonce that is not the latest is stale and ignored;
// Listener and Cluster responses carry the full state (removal by absence, sent after the other
// types' updates), other types only what changed or was newly requested.
import { Connection, NO_PLAN, type TypePlan } from './connection.js';
import type { DiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import { internNames } from './names.js';
import { isFullStateType } from './protos.js';
import type { ResourceEntry, TypeSnapshot } from './snapshot.js';
import type { TypeState } from './type-state.js';
import { SotwField, bytesField, concat } from './wire.js';

function responseBody(version: string, typeUrl: string, entries: readonly ResourceEntry[]): Buffer {
  return concat([bytesField(SotwField.versionInfo, version), ...entries.map((e) => e.sotwField), bytesField(SotwField.typeUrl, typeUrl)]);
}

/** The names in a state's current scope that exist in `current`, in subscription order. */
function entriesInScope(state: TypeState, current: TypeSnapshot): ResourceEntry[] {
  if (state.wildcard) return [...current.entries.values()];
  const out: ResourceEntry[] = [];
  for (const name of state.sub.list) {
    const entry = current.entries.get(name);
    if (entry) out.push(entry);
  }
  return out;
}

/** Entries the client does not have at this version: newly in scope, changed, or forced by warming. */
function changedEntries(state: TypeState, current: TypeSnapshot, forced: ReadonlySet<string>): ResourceEntry[] {
  return entriesInScope(state, current).filter(
    (entry) => !state.wasInScope(entry.name) || state.sent?.entries.get(entry.name)?.version !== entry.version || forced.has(entry.name),
  );
}

export class SotwConnection extends Connection<DiscoveryRequest__Output> {
  get mode(): 'sotw' {
    return 'sotw';
  }

  protected onRequest(state: TypeState, request: DiscoveryRequest__Output): void {
    if (request.response_nonce !== '') {
      if (request.response_nonce !== state.nonce) {
        this.host.metrics.staleNonces.inc({ type_url: state.typeUrl });
        return;
      }
      this.answer(state, request.error_detail ? request.error_detail.message : undefined);
    }
    const names = request.resource_names;
    const explicitWildcard = names.includes('*');
    const wildcard = explicitWildcard || (names.length === 0 && !state.everNamed);
    if (names.length > 0) state.everNamed = true;
    const list = explicitWildcard ? names.filter((n) => n !== '*') : names;
    const sameNames = state.sub.sameAs(list);
    if (state.subscribed && sameNames && wildcard === state.wildcard) return;
    state.subscribed = true;
    state.wildcard = wildcard;
    if (!sameNames) state.sub = internNames(list);
    this.host.schedule(this);
  }

  protected planType(state: TypeState, current: TypeSnapshot, forced: readonly string[]): TypePlan {
    const subChanged = state.sub !== state.sentSub || state.wildcard !== state.sentWildcard;
    if (state.sent === current && !subChanged && forced.length === 0) return NO_PLAN;
    const key = `sotw:${state.cacheKey(forced.join(','))}`;
    const plan = current.memo(key, () => (isFullStateType(state.typeUrl) ? this.planFullState(state, current) : this.planIncremental(state, current, forced)));
    state.markSent(current);
    return plan;
  }

  /** Listener/Cluster: the full state; removals (by absence) go last, after a make-before-break union. */
  private planFullState(state: TypeState, current: TypeSnapshot): TypePlan {
    const first = state.sent === null;
    const subChanged = state.sub !== state.sentSub || state.wildcard !== state.sentWildcard;
    const changed = changedEntries(state, current, new Set());
    const removed = current.diffFrom(state.sent).removed.filter((name) => state.wasInScope(name) && state.inScope(name));
    if (!first && !subChanged && changed.length === 0 && removed.length === 0) return NO_PLAN;
    const full = { version: current.version, body: responseBody(current.version, state.typeUrl, entriesInScope(state, current)) };
    const names = changed.map((e) => e.name);
    if (removed.length === 0) return { upsert: full, removal: null, changed: names };
    if (changed.length === 0) return { upsert: null, removal: full, changed: names };
    const leaving = removed.map((name) => state.sent?.entries.get(name)).filter((e): e is ResourceEntry => e !== undefined);
    const unionVersion = `${current.version}+removing`;
    const union = { version: unionVersion, body: responseBody(unionVersion, state.typeUrl, [...entriesInScope(state, current), ...leaving]) };
    return { upsert: union, removal: full, changed: names };
  }

  /** Other types: only resources changed, newly requested, or pulled in by warming. */
  private planIncremental(state: TypeState, current: TypeSnapshot, forced: readonly string[]): TypePlan {
    const changed = changedEntries(state, current, new Set(forced));
    if (changed.length === 0) return NO_PLAN;
    return {
      upsert: { version: current.version, body: responseBody(current.version, state.typeUrl, changed) },
      removal: null,
      changed: changed.map((e) => e.name),
    };
  }
}

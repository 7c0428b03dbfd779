// Filter chains built, encoded and checked once each, and listeners assembled from them: a node's
// transparent listener holds thousands of chains, most shared by every node (the VIP chains), so
// each chain's bytes are kept and a listener is its skeleton's bytes followed by its chains' —
// what protobuf's encoding of a repeated field is. The checker sees every chain and the skeleton;
// protoc-gen-validate rules are local to a message, so that is the whole listener's check.
import protobuf from 'protobufjs';
import { LISTENER_TYPE } from './constants.js';
import type { Built, ResourceChecker } from './encode.js';
import { typeOf } from './encode.js';
import { destinationFilterChain, type DestinationChain } from './listeners.js';
import type { Json, TranslateIssue } from './types.js';

export const FILTER_CHAIN_TYPE = 'type.googleapis.com/envoy.config.listener.v3.FilterChain';

export interface ChainBuilt {
  chain: Json;
  /** The chain as one encoded `filter_chains` field of a Listener. */
  field: Uint8Array;
  /** The route configuration the chain's connection manager names. */
  routeName: string;
  issues: readonly TranslateIssue[];
  invalid: boolean;
}

/** An RBAC filter allowing nothing: a destination that needs L7 but has no good chain. */
export const DENY_ALL_FILTER: Json = {
  name: 'skiff.rbac.deny-all',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', rules: { action: 'ALLOW', policies: {} } },
};

/** Encodes and checks one destination's chain. */
export function buildChain(d: DestinationChain, origin: string, issues: readonly TranslateIssue[], checker: ResourceChecker): ChainBuilt {
  const chain = destinationFilterChain(d);
  const all = [...issues];
  let field: Uint8Array = new Uint8Array();
  let encoded: protobuf.Message | undefined;
  try {
    const type = typeOf(FILTER_CHAIN_TYPE);
    encoded = type.fromObject(chain);
    // Encoded straight into its field (tag, length, bytes): no second copy of the chain's bytes.
    const id = (typeOf(LISTENER_TYPE).fields.filter_chains as protobuf.Field).id;
    field = type.encode(encoded, protobuf.Writer.create().uint32((id << 3) | 2).fork()).ldelim().finish();
  } catch (err) {
    all.push({ object: origin, message: `cannot encode filter chain ${d.name}: ${(err as Error).message}`, resource: { typeUrl: LISTENER_TYPE, name: d.name } });
  }
  if (encoded && field.length > 0) {
    // The message the bytes came from, as in encode.ts's finish.
    for (const v of checker(FILTER_CHAIN_TYPE, encoded)) {
      all.push({ object: origin, field: `filter_chains[${d.name}].${v.path}`, message: `${v.rule}: ${v.message}`, resource: { typeUrl: LISTENER_TYPE, name: d.name } });
    }
  }
  return { chain, field, routeName: d.routeName, issues: all, invalid: all.some((i) => i.resource !== undefined) };
}

/**
 * The chain to serve for a destination: the new one when valid, else the last good one, else a
 * chain that denies every request (fail closed: the destination needs L7 and must not fall
 * through to the passthrough chain).
 */
export function servedChain(next: ChainBuilt, previous: ChainBuilt | undefined, d: DestinationChain, checker: ResourceChecker): ChainBuilt {
  if (!next.invalid) return next;
  if (previous && !previous.invalid) return { ...previous, issues: next.issues, invalid: false };
  const deny = buildChain({ ...d, httpFilters: [DENY_ALL_FILTER] }, 'skiff', [], checker);
  return { ...deny, issues: next.issues };
}

/** A listener: its skeleton (a Built with no filter chains) and the chains, in order. */
export function assembleListener(skeleton: Built, chains: readonly ChainBuilt[]): Built {
  const parts: Uint8Array[] = [skeleton.value, ...chains.map((c) => c.field)];
  let size = 0;
  for (const p of parts) size += p.length;
  const value = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    value.set(p, offset);
    offset += p.length;
  }
  return {
    ...skeleton,
    message: { ...skeleton.message, filter_chains: chains.map((c) => c.chain) },
    value,
    refs: [...new Set([...skeleton.refs, ...chains.map((c) => c.routeName)])],
    issues: [...skeleton.issues, ...chains.flatMap((c) => c.issues)],
  };
}

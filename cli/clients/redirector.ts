// Client of the redirectors' admin HTTP APIs (default 127.0.0.1:15021): decoded kernel maps
// (/debug/maps/NAME), the flow log (/debug/flows, NDJSON, ?follow=1 to stream), the agent's state
// (/debug/state, which names its node); and finding the redirectors to ask.
import type { Flow, FlowEnd } from '../../redirector/flows.js';
import { UsageError } from '../command.js';
import { listFlag, stringFlag, type FlagOption, type ParsedArgs } from '../output/args.js';
import { ControlPlaneClient, DEFAULT_CONTROL_PLANE_ADMIN } from './control-plane.js';
import { followNdjson, getJson, getText, parseNdjson, Unreachable, type NdjsonStream } from './http.js';

export const DEFAULT_REDIRECTOR_ADMIN = '127.0.0.1:15021';

/** The node metadata key a redirector may announce its admin address under. */
export const ADMIN_METADATA_KEY = 'admin_address';

export type { Flow, FlowEnd };

export class RedirectorClient {
  constructor(
    readonly address: string,
    /** The node it serves (from /debug/state). */
    readonly node: string,
  ) {}

  /** Connects: reads /debug/state for the node name. */
  static async connect(address: string): Promise<RedirectorClient> {
    const state = await getJson<{ node?: string }>(address, '/debug/state');
    return new RedirectorClient(address, state.node ?? address);
  }

  map<T = Record<string, unknown>>(name: string): Promise<T[]> {
    return getJson<T[]>(this.address, `/debug/maps/${encodeURIComponent(name)}`);
  }

  async flows(): Promise<Flow[]> {
    return parseNdjson<Flow>(await getText(this.address, '/debug/flows'));
  }

  /** Streams the recent flows, then new ones as they happen. */
  follow(onFlow: (flow: Flow) => void): Promise<NdjsonStream> {
    return followNdjson<Flow>(this.address, '/debug/flows?follow=1', onFlow);
  }
}

/**
 * The redirectors to ask: the --redirector addresses when given; else those the control plane's
 * redirector clients announce in node metadata (`admin_address`); else the default address.
 * With `node`, only that node's redirector (a UsageError when none serves it).
 */
export async function findRedirectors(explicit: readonly string[], controlPlane: string | undefined, node: string | undefined): Promise<RedirectorClient[]> {
  let addresses = [...explicit];
  if (addresses.length === 0 && controlPlane) {
    try {
      const syncz = await new ControlPlaneClient(controlPlane).syncz();
      for (const c of syncz.clients) {
        const announced = c.node.metadata[ADMIN_METADATA_KEY];
        if (c.role === 'redirector' && typeof announced === 'string' && announced !== '') addresses.push(announced);
      }
    } catch (err) {
      if (!(err instanceof Unreachable)) throw err;
    }
  }
  if (addresses.length === 0) addresses = [DEFAULT_REDIRECTOR_ADMIN];
  const clients = await Promise.all([...new Set(addresses)].map((a) => RedirectorClient.connect(a)));
  if (node === undefined) return clients;
  const matching = clients.filter((c) => c.node === node);
  if (matching.length === 0) throw new UsageError(`no redirector of node '${node}' among ${clients.map((c) => `${c.node} (${c.address})`).join(', ')}`);
  return matching;
}

/** The flags that choose redirectors (bpf, observe): --node, --redirector (repeatable), --admin. */
export const REDIRECTOR_FLAGS: Record<string, FlagOption> = {
  node: { type: 'string' },
  redirector: { type: 'string', multiple: true },
  admin: { type: 'string' },
};

/** The redirectors REDIRECTOR_FLAGS select. */
export function redirectorsFromArgs(args: ParsedArgs): Promise<RedirectorClient[]> {
  return findRedirectors(listFlag(args, 'redirector'), stringFlag(args, 'admin') ?? DEFAULT_CONTROL_PLANE_ADMIN, stringFlag(args, 'node'));
}

// WireGuardKeyService: each node's agent publishes the public keys of its WireGuard tunnel (and,
// during a rotation, the key it rotates to), proving who it is with its bootstrap token like
// CertificateService's callers. The control plane keeps the keys (in <ca-dir>/wireguard-keys.json,
// so a restarted control plane pushes them at once instead of making every peer forget a node
// until it republishes) and puts them in every redirector's NodeConfig.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../config/log.js';
import { NODE_HEADER, TOKEN_HEADER } from '../../proto/skiff/v1alpha1/identity-wire.js';
import {
  isWireGuardKey,
  wireGuardKeyServiceDefinition,
  type PublishWireGuardKeysRequest__Output,
  type PublishWireGuardKeysResponse,
} from '../../proto/skiff/v1alpha1/wireguard-keys-wire.js';
import { type CallInfo, GrpcError, Status } from '../grpc/handlers.js';
import type { GrpcServer } from '../grpc/server.js';
import type { NodeWireGuardKeys } from '../translate/redirector.js';
import type { WorkloadIdentities } from './identities.js';
import { writePrivateFile } from './store.js';

export const WIREGUARD_KEYS_FILE = 'wireguard-keys.json';

interface Keys {
  publicKey: string;
  nextPublicKey: string;
}

/** A saved entry that holds a node's valid keys. */
function isSavedKeys(value: unknown): value is Keys {
  if (typeof value !== 'object' || value === null) return false;
  const { publicKey, nextPublicKey } = value as Partial<Record<keyof Keys, unknown>>;
  return typeof publicKey === 'string' && isWireGuardKey(publicKey) && typeof nextPublicKey === 'string' && (nextPublicKey === '' || isWireGuardKey(nextPublicKey));
}

/** The keys each node published, kept in a file of the CA directory. */
export class WireGuardKeyStore {
  readonly #file: string | undefined;
  readonly #keys = new Map<string, Keys>();

  /**
   * Keys kept in `dir` (none when undefined: in memory only). A file that cannot be read, or an
   * entry that is not a node's valid keys, is reported and skipped: the agents republish their keys
   * when they connect, so what is lost comes back; the control plane must start either way.
   */
  constructor(dir?: string, log?: Logger) {
    this.#file = dir === undefined ? undefined : join(dir, WIREGUARD_KEYS_FILE);
    if (!this.#file || !existsSync(this.#file)) return;
    let saved: unknown;
    try {
      saved = JSON.parse(readFileSync(this.#file, 'utf8'));
    } catch (error) {
      log?.warn({ file: this.#file, err: (error as Error).message }, 'saved WireGuard keys unreadable; starting without them until the agents republish');
      return;
    }
    if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) {
      log?.warn({ file: this.#file }, 'saved WireGuard keys are not an object of node names; starting without them until the agents republish');
      return;
    }
    for (const [node, keys] of Object.entries(saved as Record<string, unknown>)) {
      if (isSavedKeys(keys)) this.#keys.set(node, { publicKey: keys.publicKey, nextPublicKey: keys.nextPublicKey });
      else log?.warn({ file: this.#file, node }, 'saved WireGuard keys of a node are invalid; skipped until it republishes');
    }
  }

  all(): NodeWireGuardKeys {
    return this.#keys;
  }

  /** Records a node's keys; false when they are the ones already known. */
  set(node: string, keys: Keys): boolean {
    const known = this.#keys.get(node);
    if (known?.publicKey === keys.publicKey && known.nextPublicKey === keys.nextPublicKey) return false;
    this.#keys.set(node, keys);
    if (this.#file) writePrivateFile(this.#file, `${JSON.stringify(Object.fromEntries(this.#keys), null, 2)}\n`, 0o644);
    return true;
  }
}

/** Adds WireGuardKeyService to a gRPC server; `changed` runs after a node's keys changed. */
export function addWireGuardKeyService(server: GrpcServer, identities: WorkloadIdentities, store: WireGuardKeyStore, changed: (node: string) => void, log: Logger): void {
  server.addService(wireGuardKeyServiceDefinition(), {
    PublishWireGuardKeys(request: PublishWireGuardKeysRequest__Output, call: CallInfo): PublishWireGuardKeysResponse {
      const node = call.header(NODE_HEADER) ?? '';
      if (!identities.isNode(node, call.header(TOKEN_HEADER) ?? '')) {
        log.warn({ node }, 'wireguard keys refused: no valid bootstrap token');
        throw new GrpcError(Status.UNAUTHENTICATED, `no valid bootstrap token for node '${node}'`);
      }
      const { public_key: publicKey, next_public_key: nextPublicKey } = request;
      if (!isWireGuardKey(publicKey) || (nextPublicKey !== '' && !isWireGuardKey(nextPublicKey))) {
        throw new GrpcError(Status.INVALID_ARGUMENT, 'a WireGuard public key is 32 bytes of base64');
      }
      if (store.set(node, { publicKey, nextPublicKey })) {
        log.info({ node, publicKey, nextPublicKey: nextPublicKey || undefined }, 'wireguard keys published');
        changed(node);
      }
      return {};
    },
  });
}

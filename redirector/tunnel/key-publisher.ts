// The agent's client of WireGuardKeyService (on the control plane's xDS port): publishes the node's
// WireGuard public key and, during a rotation, the next one, authenticated by the node's bootstrap
// token (call metadata x-skiff-node, x-skiff-token).
import * as grpc from '@grpc/grpc-js';
import { NODE_HEADER, TOKEN_HEADER } from '../../proto/skiff/v1alpha1/identity-wire.js';
import { wireGuardKeyServiceDefinition, type PublishWireGuardKeysRequest } from '../../proto/skiff/v1alpha1/wireguard-keys-wire.js';

type KeyClient = grpc.Client & {
  PublishWireGuardKeys(request: PublishWireGuardKeysRequest, metadata: grpc.Metadata, options: grpc.CallOptions, done: (error: grpc.ServiceError | null) => void): void;
};

export interface KeyPublisherOptions {
  /** The control plane's xDS address (HOST:PORT or unix:PATH). */
  address: string;
  node: string;
  /** The node's bootstrap token, read at each call. */
  token: () => string | undefined;
  /** Per call (default 5 s). */
  timeoutMs?: number;
}

export class WireGuardKeyPublisher {
  readonly #options: KeyPublisherOptions;
  readonly #client: KeyClient;

  constructor(options: KeyPublisherOptions) {
    this.#options = options;
    const Client = grpc.makeClientConstructor(wireGuardKeyServiceDefinition() as grpc.ServiceDefinition, 'WireGuardKeyService');
    this.#client = new Client(options.address, grpc.credentials.createInsecure()) as unknown as KeyClient;
  }

  /** Publishes the keys; rejects with the control plane's refusal (or when it cannot be reached). */
  publish(publicKey: string, nextPublicKey = ''): Promise<void> {
    const token = this.#options.token();
    if (!token) return Promise.reject(new Error('no bootstrap token (--token-file): the control plane takes keys only from an attested node'));
    const metadata = new grpc.Metadata();
    metadata.set(NODE_HEADER, this.#options.node);
    metadata.set(TOKEN_HEADER, token);
    const deadline = Date.now() + (this.#options.timeoutMs ?? 5000);
    return new Promise((resolve, reject) => {
      this.#client.PublishWireGuardKeys({ public_key: publicKey, next_public_key: nextPublicKey }, metadata, { deadline }, (error) => (error ? reject(new Error(error.details || error.message)) : resolve()));
    });
  }

  close(): void {
    this.#client.close();
  }
}

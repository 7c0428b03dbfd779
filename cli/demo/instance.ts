// A demo's names. Everything a demo makes is named from its instance name (default `skiff-demo`;
// `skiff demo --name`), so demos with different names — a user's and a test run's — never touch
// each other: its directory (/run/NAME: record, sockets, logs), its bpffs pins (/sys/fs/bpf/NAME),
// the SKIFF_DEMO=/run/NAME mark in its processes' environment, its namespaces (NAME-wire,
// NAME-node_NODE, NAME-pod_NS_POD: '_' is in no Kubernetes name, so they never collide), its
// root-namespace links (15 characters: a tag from the name and the node's index), the private
// link-local /24 of its uplinks and its Envoys' --base-id (also from the name).
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export const DEFAULT_NAME = 'skiff-demo';
/** The environment variable every demo process carries (its value: the demo's directory). */
export const DEMO_ENV = 'SKIFF_DEMO';

/** A pod `namespace/name` as one file-name part, `namespace_name`. */
export function podSlug(key: string): string {
  return key.replace('/', '_');
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

export class Instance {
  readonly name: string;
  /** The record, sockets and logs. */
  readonly dir: string;
  /** bpffs directory under which each node's redirector pins its maps and links. */
  readonly pinRoot: string;
  /** The control plane's address in the root namespace, on every node's uplink. */
  readonly controlPlaneAddress: string;
  readonly #net: string;
  readonly #tag: string;
  readonly #envoyBase: number;

  constructor(name = DEFAULT_NAME) {
    if (!NAME.test(name)) throw new Error(`demo name '${name}': lower-case letters, digits and '-', at most 32`);
    this.name = name;
    this.dir = join('/run', name);
    this.pinRoot = join('/sys/fs/bpf', name);
    const digest = createHash('sha256').update(name).digest();
    const octet = 100 + ((digest[0] as number) % 100);
    this.#net = `169.254.${octet === 169 ? 168 : octet}`; // clear of cloud metadata's 169.254.169.254
    this.#tag = digest.subarray(1, 3).toString('hex');
    this.controlPlaneAddress = `${this.#net}.1`;
    this.#envoyBase = 16 * (1 + digest.readUInt16BE(3));
  }

  /** The flag that names this demo on a command line ('' for the default). */
  get nameFlag(): string {
    return this.name === DEFAULT_NAME ? '' : ` --name ${this.name}`;
  }

  /** SKIFF_DEMO=<dir>: the mark in the environment of this demo's processes. */
  get mark(): string {
    return `${DEMO_ENV}=${this.dir}`;
  }

  get wireNetns(): string {
    return `${this.name}-wire`;
  }

  nodeNetns(node: string): string {
    return `${this.name}-node_${node}`;
  }

  /** The namespace of the pod `namespace/name`. */
  podNetns(key: string): string {
    return `${this.name}-pod_${podSlug(key)}`;
  }

  /** Whether a network namespace is one this demo makes. */
  owns(netns: string): boolean {
    return netns === this.wireNetns || netns.startsWith(`${this.name}-node_`) || netns.startsWith(`${this.name}-pod_`);
  }

  /** The root-namespace end of node i's uplink. */
  rootLink(i: number, node: string): string {
    return `s${this.#tag}${i}-${node}`.slice(0, 15);
  }

  /** Envoy's --base-id for node i: its shared memory (not per network namespace) apart from other Envoys'. */
  envoyBaseId(i: number): number {
    return this.#envoyBase + i;
  }

  /** Node i's address on its uplink. */
  uplinkAddress(i: number): string {
    return `${this.#net}.${10 + i}`;
  }
}

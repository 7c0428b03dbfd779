// The WireGuard node tunnel (MeshConfig `encryption: wireguard`): one interface per node
// (`skiff-wg0`, UDP port 51871), one peer per remote node (endpoint = its InternalIP, allowed IPs =
// its pod CIDRs), and the remote pod CIDRs routed through the interface by policy rules (table
// WG_ROUTE_TABLE, looked up before main, so they win over more specific routes a CNI left there).
// Kernel WireGuard where the module exists; `wireguard-go` (userspace, a TUN device) where it does
// not. The private key is generated here and never leaves this process and the interface; only the
// public key is published.
//
// Key rotation is make-before-break. Peers are keyed by public key and an allowed IP belongs to one
// peer only, so: (1) `beginKeyRotation()` makes the next key and returns its public half to publish;
// (2) each remote adds it as a second peer without allowed IPs (`nextPublicKey`), so it accepts
// handshakes from it while its traffic still flows through the old peer's session; (3)
// `commitKeyRotation()` switches the private key (the interface re-handshakes at once); (4) the
// remotes move the allowed IPs to the new key and drop the old peer. Between (3) and (4) packets of
// this node may be dropped for as long as the publish takes; TCP retransmits them, nothing is lost.
//
// Fail closed: every remote pod CIDR has, besides its route through the interface, an
// `unreachable` route of a higher metric in the same table, so while the interface is gone (an
// agent restart with wireguard-go) or a node has published no key yet, those pods are unreachable
// rather than reached in clear. A kernel interface outlives the agent (release()) with its peers
// and routes, as the datapath does, and a restarted agent re-adopts it (start() finds it).
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger, type Logger } from '../../config/log.js';
import { placed, runIn, type Place } from './exec.js';

export const WG_INTERFACE = 'skiff-wg0';
export const WG_PORT = 51871;
/** Routing table (and rule priority) of the remote pod CIDRs; below main (32766). */
export const WG_ROUTE_TABLE = 51871;
export const WG_RULE_PRIORITY = 32700;
/** Metric of the fail-closed `unreachable` routes (above the interface's routes). */
const UNREACHABLE_METRIC = 4000;
/** MTU for an IPv4 underlay (1500 - 80 of WireGuard overhead). */
export const WG_MTU = 1420;

export interface WireGuardKeyPair {
  /** Base64, as `wg` prints them. */
  privateKey: string;
  publicKey: string;
}

/** A new Curve25519 key pair (what `wg genkey | wg pubkey` gives). */
export function generateWireGuardKeyPair(): WireGuardKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const priv = privateKey.export({ format: 'jwk' }).d as string;
  const pub = publicKey.export({ format: 'jwk' }).x as string;
  return { privateKey: Buffer.from(priv, 'base64url').toString('base64'), publicKey: Buffer.from(pub, 'base64url').toString('base64') };
}

/** A remote node as the tunnel needs it. */
export interface WireGuardPeer {
  node: string;
  /** The remote node's InternalIP. */
  endpoint: string;
  /** '' for a node that has published no key yet: its pod CIDRs are routed here, unreachable. */
  publicKey: string;
  /** Published by a node that is rotating its key (step 2 above): accepted, not yet routed. */
  nextPublicKey?: string;
  podCidrs: string[];
}

export interface WireGuardPeerStatus {
  publicKey: string;
  node?: string;
  endpoint?: string;
  allowedIps: string[];
  /** ms since the epoch; 0 = never. */
  latestHandshakeMs: number;
  rxBytes: number;
  txBytes: number;
}

export interface WireGuardStatus {
  interface: string;
  implementation: 'kernel' | 'wireguard-go';
  publicKey: string;
  nextPublicKey?: string;
  listenPort: number;
  peers: WireGuardPeerStatus[];
}

export interface WireGuardOptions {
  /** Network namespace path to run in (simulated nodes); the current one when absent. With a
   * netns, wireguard-go's control socket lives in a private mount namespace of its own. */
  netns?: string;
  interfaceName?: string;
  listenPort?: number;
  /** Force the userspace implementation even where the kernel module exists. */
  userspace?: boolean;
  log?: Logger;
}

export class WireGuardTunnel {
  readonly interfaceName: string;
  readonly listenPort: number;
  readonly implementation: 'kernel' | 'wireguard-go';
  readonly #place: Place;
  readonly #userspace: ChildProcess | undefined;
  readonly #log: Logger;
  #keys: WireGuardKeyPair = generateWireGuardKeyPair();
  #next: WireGuardKeyPair | undefined;
  /** Peer public key → node name, for status. */
  #peerNodes = new Map<string, string>();
  /** Remote pod CIDRs currently routed. */
  #routed = new Set<string>();

  private constructor(options: WireGuardOptions, place: Place, userspace: ChildProcess | undefined, implementation: WireGuardStatus['implementation']) {
    this.interfaceName = options.interfaceName ?? WG_INTERFACE;
    this.listenPort = options.listenPort ?? WG_PORT;
    this.implementation = implementation;
    this.#place = place;
    this.#userspace = userspace;
    this.#log = options.log ?? logger('wireguard');
  }

  /** Re-adopts the interface a previous agent left (keeping its key, peers and routes), or creates
   * one (kernel, else wireguard-go) with a fresh key and brings it up. */
  static async start(options: WireGuardOptions = {}): Promise<WireGuardTunnel> {
    const name = options.interfaceName ?? WG_INTERFACE;
    const netPlace: Place = { netns: options.netns };
    const adopted = await WireGuardTunnel.#adopt(options, netPlace);
    if (adopted) return adopted;
    let userspace: ChildProcess | undefined;
    let place = netPlace;
    const kernel = options.userspace
      ? false
      : await runIn(netPlace, 'ip', ['link', 'add', name, 'type', 'wireguard']).then(
          () => true,
          () => false,
        );
    if (!kernel) {
      userspace = startWireGuardGo(name, options.netns);
      if (options.netns) place = { ...netPlace, mountns: `/proc/${userspace.pid}/ns/mnt` };
    }
    const tunnel = new WireGuardTunnel(options, place, userspace, userspace ? 'wireguard-go' : 'kernel');
    try {
      await tunnel.#seedRoutes();
      if (userspace) await tunnel.#waitForControlSocket(userspace);
      await tunnel.#setPrivateKey(tunnel.#keys.privateKey);
      await runIn(place, 'ip', ['link', 'set', name, 'mtu', String(WG_MTU), 'up']);
    } catch (err) {
      await tunnel.close();
      throw err;
    }
    tunnel.#log.info({ interface: name, implementation: tunnel.implementation }, 'wireguard interface up');
    return tunnel;
  }

  /** The interface left in place by a previous agent, if it answers `wg show`. */
  static async #adopt(options: WireGuardOptions, place: Place): Promise<WireGuardTunnel | undefined> {
    const name = options.interfaceName ?? WG_INTERFACE;
    const publicKey = await runIn(place, 'wg', ['show', name, 'public-key']).then(
      (out) => out.trim(),
      () => '',
    );
    if (!publicKey || publicKey === '(none)') return undefined;
    const [link] = JSON.parse(await runIn(place, 'ip', ['-j', '-d', 'link', 'show', 'dev', name])) as { linkinfo?: { info_kind?: string } }[];
    const tunnel = new WireGuardTunnel(options, place, undefined, link?.linkinfo?.info_kind === 'wireguard' ? 'kernel' : 'wireguard-go');
    tunnel.#keys = { privateKey: '', publicKey };
    await tunnel.#seedRoutes();
    tunnel.#log.info({ interface: name, implementation: tunnel.implementation, publicKey }, 'wireguard interface re-adopted');
    return tunnel;
  }

  /** The remote pod CIDRs whose policy rules are in place (left by a previous agent). */
  async #seedRoutes(): Promise<void> {
    const rules = JSON.parse(await runIn(this.#place, 'ip', ['-j', 'rule', 'show', 'table', String(WG_ROUTE_TABLE)])) as { dst?: string; dstlen?: number }[];
    for (const rule of rules) if (rule.dst) this.#routed.add(`${rule.dst}/${rule.dstlen ?? 32}`);
  }

  async #waitForControlSocket(child: ChildProcess): Promise<void> {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`wireguard-go exited (${child.exitCode}): ${stderr.trim()}`);
      const up = await runIn(this.#place, 'wg', ['show', this.interfaceName, 'public-key']).then(
        () => true,
        () => false,
      );
      if (up) return;
      await sleep(50);
    }
    throw new Error(`wireguard-go did not create ${this.interfaceName} within 5 s: ${stderr.trim()}`);
  }

  #wg(...args: string[]): Promise<string> {
    return runIn(this.#place, 'wg', args);
  }

  /** `wg` reads keys only from files: a 0600 file in a private directory, removed at once. */
  async #setPrivateKey(privateKey: string): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-wg-'));
    try {
      const file = join(dir, 'key');
      writeFileSync(file, `${privateKey}\n`, { mode: 0o600 });
      await this.#wg('set', this.interfaceName, 'listen-port', String(this.listenPort), 'private-key', file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  get publicKey(): string {
    return this.#keys.publicKey;
  }

  /** The key being rolled out (publish it as the node's next key), if a rotation is under way. */
  get nextPublicKey(): string | undefined {
    return this.#next?.publicKey;
  }

  /** Step 1 of a rotation: a new key pair whose public key must reach every peer before commit. */
  beginKeyRotation(): string {
    this.#next ??= generateWireGuardKeyPair();
    return this.#next.publicKey;
  }

  /** Step 3: switch to the next key (every peer has it by now). */
  async commitKeyRotation(): Promise<void> {
    const next = this.#next;
    if (!next) throw new Error('no key rotation under way (beginKeyRotation first)');
    await this.#setPrivateKey(next.privateKey);
    this.#keys = next;
    this.#next = undefined;
    this.#log.info({ publicKey: next.publicKey }, 'wireguard key rotated');
  }

  /** Makes the peers (every remote node; this node's own entry is ignored by key) and the routes of
   * their pod CIDRs exactly these. Idempotent. */
  async setPeers(peers: WireGuardPeer[]): Promise<void> {
    const wanted = new Map<string, { peer: WireGuardPeer; routed: boolean }>();
    const cidrs = new Set<string>();
    for (const peer of peers) {
      if (peer.publicKey === this.publicKey) continue;
      for (const cidr of peer.podCidrs) cidrs.add(cidr);
      if (!peer.publicKey) continue;
      wanted.set(peer.publicKey, { peer, routed: true });
      if (peer.nextPublicKey && peer.nextPublicKey !== peer.publicKey) wanted.set(peer.nextPublicKey, { peer, routed: false });
    }
    const present = (await this.#wg('show', this.interfaceName, 'peers')).split('\n').filter(Boolean);
    // Staged keys first (no allowed IPs), then routed ones (which take the allowed IPs over), then removals.
    const ordered = [...wanted].sort(([, a], [, b]) => Number(a.routed) - Number(b.routed));
    for (const [key, { peer, routed }] of ordered) {
      const args = ['set', this.interfaceName, 'peer', key, 'endpoint', `${peer.endpoint}:${this.listenPort}`, 'persistent-keepalive', '25'];
      args.push('allowed-ips', routed ? peer.podCidrs.join(',') : '');
      await this.#wg(...args);
    }
    for (const key of present) {
      if (!wanted.has(key)) await this.#wg('set', this.interfaceName, 'peer', key, 'remove');
    }
    this.#peerNodes = new Map([...wanted].map(([key, { peer }]) => [key, peer.node]));
    await this.#route(cidrs);
  }

  async #route(cidrs: Set<string>): Promise<void> {
    const table = String(WG_ROUTE_TABLE);
    const unreachable = ['unreachable', '', 'table', table, 'metric', String(UNREACHABLE_METRIC)];
    for (const cidr of cidrs) {
      // the interface's route is replaced every time: a re-created interface lost the old one
      await runIn(this.#place, 'ip', ['route', 'replace', cidr, 'dev', this.interfaceName, 'table', table]);
      if (this.#routed.has(cidr)) continue;
      unreachable[1] = cidr;
      await runIn(this.#place, 'ip', ['route', 'replace', ...unreachable]);
      await runIn(this.#place, 'ip', ['rule', 'add', 'to', cidr, 'lookup', table, 'priority', String(WG_RULE_PRIORITY)]);
      this.#routed.add(cidr);
    }
    for (const cidr of [...this.#routed]) {
      if (cidrs.has(cidr)) continue;
      unreachable[1] = cidr;
      await runIn(this.#place, 'ip', ['rule', 'del', 'to', cidr, 'lookup', table, 'priority', String(WG_RULE_PRIORITY)]).catch(() => undefined);
      await runIn(this.#place, 'ip', ['route', 'del', cidr, 'dev', this.interfaceName, 'table', table]).catch(() => undefined);
      await runIn(this.#place, 'ip', ['route', 'del', ...unreachable]).catch(() => undefined);
      this.#routed.delete(cidr);
    }
  }

  /** Peers, handshakes and bytes, from `wg show dump`. */
  async status(): Promise<WireGuardStatus> {
    const lines = (await this.#wg('show', this.interfaceName, 'dump')).split('\n').filter(Boolean);
    const peers: WireGuardPeerStatus[] = lines.slice(1).map((line) => {
      const [publicKey = '', , endpoint = '', allowed = '', handshake = '0', rx = '0', tx = '0'] = line.split('\t');
      return {
        publicKey,
        node: this.#peerNodes.get(publicKey),
        endpoint: endpoint === '(none)' ? undefined : endpoint,
        allowedIps: allowed === '(none)' ? [] : allowed.split(','),
        latestHandshakeMs: Number(handshake) * 1000,
        rxBytes: Number(rx),
        txBytes: Number(tx),
      };
    });
    return {
      interface: this.interfaceName,
      implementation: this.implementation,
      publicKey: this.publicKey,
      nextPublicKey: this.nextPublicKey,
      listenPort: this.listenPort,
      peers,
    };
  }

  /** Removes the routes, the rules and the interface (and stops wireguard-go). */
  async close(): Promise<void> {
    await this.#route(new Set()).catch(() => undefined);
    await this.#stopInterface();
  }

  /**
   * Stops managing the tunnel and leaves traffic as the agent's stop leaves the datapath: a kernel
   * interface stays with its key, peers and routes (traffic keeps flowing; the next agent re-adopts
   * it); wireguard-go cannot outlive this process, so its interface goes but the rules and
   * unreachable routes stay (remote pods are unreachable, never reached in clear, until it is back).
   */
  async release(): Promise<void> {
    if (this.implementation === 'wireguard-go') await this.#stopInterface();
  }

  async #stopInterface(): Promise<void> {
    await runIn(this.#place, 'ip', ['link', 'del', this.interfaceName]).catch(() => undefined);
    const child = this.#userspace;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(2000).then(() => child.kill('SIGKILL'))]);
    }
  }
}

/** wireguard-go in the foreground; with a netns, in a private mount namespace whose /run/wireguard
 * is its own (the control socket path is fixed, and simulated nodes share one filesystem). */
function startWireGuardGo(name: string, netns: string | undefined): ChildProcess {
  const env = { ...process.env, WG_PROCESS_FOREGROUND: '1' };
  const script = 'mkdir -p /run/wireguard && mount -t tmpfs skiff-wg /run/wireguard && exec wireguard-go -f "$0"';
  const [file, args] = netns
    ? placed({ netns }, 'unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, name])
    : ['wireguard-go', ['-f', name]];
  return spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Removes whatever a tunnel left in place (`skiff redirector --uninstall`): its policy rules, the
 * routes of its table and the interface. */
export async function removeWireGuard(options: Pick<WireGuardOptions, 'netns' | 'interfaceName'> = {}): Promise<void> {
  const place: Place = { netns: options.netns };
  const table = String(WG_ROUTE_TABLE);
  for (;;) {
    const removed = await runIn(place, 'ip', ['rule', 'del', 'lookup', table, 'priority', String(WG_RULE_PRIORITY)]).then(
      () => true,
      () => false,
    );
    if (!removed) break;
  }
  await runIn(place, 'ip', ['route', 'flush', 'table', table]).catch(() => undefined);
  await runIn(place, 'ip', ['link', 'del', options.interfaceName ?? WG_INTERFACE]).catch(() => undefined);
}

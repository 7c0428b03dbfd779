// A network-namespace fixture for tests with real packets: simulated nodes (each its own netns)
// with pods (each a netns joined to its node by a veth pair, routed like a CNI leaves them),
// commands and long-running processes inside namespaces, and a cleanup that removes everything it
// made even after a failure. Namespaces are entered with `nsenter --net=` (not `ip netns exec`,
// which remounts /sys and hides bpffs pins).
//
// Nodes can be joined (connectNodes) by a veth pair that routes each one's pods to the other.
//
// Layout of a node: lo up with NODE_GATEWAY4/32 (pods' ARP for their gateway is answered by the
// host veth) and forwarding on. A pod: `eth0` with ip/32 (and ip6/128), default route via
// NODE_GATEWAY4 (onlink) and fe80::1 for IPv6; the host side `<hostIf>` carries fe80::1/64 and the
// node has `ip/32 dev <hostIf>` routes, so the node routes to each pod by its veth.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/** The pods' IPv4 gateway: an address of every node (on its lo). */
export const NODE_GATEWAY4 = '169.254.1.1';
/** The pods' IPv6 gateway: the link-local address of every host-side veth. */
export const NODE_GATEWAY6 = 'fe80::1';

export interface NetnsNode {
  /** Short name given by the test. */
  name: string;
  /** Network namespace name (/var/run/netns/<netns>). */
  netns: string;
  pods: NetnsPod[];
}

export interface NetnsPod {
  name: string;
  netns: string;
  node: NetnsNode;
  ip: string;
  ip6?: string;
  /** Host-side veth, in the node's namespace. */
  hostIf: string;
  /** Its ifindex in the node's namespace. */
  hostIfindex: number;
}

export interface PodSpec {
  name: string;
  ip: string;
  ip6?: string;
}

/** Fails with a clear message unless the process runs as root. */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`${what} needs root (network namespaces, eBPF): run the tests as root`);
  }
}

export function netnsPath(netns: string): string {
  return `/var/run/netns/${netns}`;
}

/** Runs a command in the root namespace; throws with its stderr when it fails. */
export function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

export class NetnsFixture {
  /** Unique per fixture: part of every namespace name. */
  readonly id: string;
  readonly nodes: NetnsNode[] = [];
  readonly #netns: string[] = [];
  readonly #children = new Set<ChildProcess>();
  /** Node-to-node links: each side's interface and address. */
  readonly #links: { a: NetnsNode; b: NetnsNode; ifA: string; ifB: string; addrA: string; addrB: string }[] = [];
  readonly #cleanups: (() => void | Promise<void>)[] = [];

  constructor(prefix = 'skf') {
    this.id = `${prefix}-${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  }

  #addNetns(short: string): string {
    const netns = `${this.id}-${short}`;
    run('ip', ['netns', 'add', netns]);
    this.#netns.push(netns);
    this.ip(netns, 'link', 'set', 'lo', 'up');
    return netns;
  }

  /** `ip -n NETNS args...` */
  ip(netns: string, ...args: string[]): string {
    return run('ip', ['-n', netns, ...args]);
  }

  /** Runs cmd inside netns (nsenter --net) and returns its stdout; throws when it fails. */
  exec(netns: string, cmd: string, ...args: string[]): string {
    return run('nsenter', [`--net=${netnsPath(netns)}`, cmd, ...args]);
  }

  /** Sets sysctls (name=value) inside netns. */
  sysctl(netns: string, ...settings: string[]): void {
    this.exec(netns, 'sysctl', '-q', '-w', ...settings);
  }

  /** A simulated node: its own netns with forwarding on and the pods' gateway address. */
  createNode(name: string): NetnsNode {
    const netns = this.#addNetns(name);
    this.sysctl(
      netns,
      'net.ipv4.ip_forward=1',
      'net.ipv6.conf.all.forwarding=1',
      'net.ipv4.conf.all.rp_filter=0',
      'net.ipv4.conf.default.rp_filter=0',
    );
    this.ip(netns, 'addr', 'add', `${NODE_GATEWAY4}/32`, 'dev', 'lo');
    const node: NetnsNode = { name, netns, pods: [] };
    this.nodes.push(node);
    return node;
  }

  /** A pod on node: a netns with eth0, a veth to the node and the routes both ways. */
  addPod(node: NetnsNode, spec: PodSpec): NetnsPod {
    const netns = this.#addNetns(spec.name);
    const hostIf = `v${node.pods.length}${spec.name}`.slice(0, 15);
    this.ip(node.netns, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
    this.sysctl(node.netns, `net.ipv4.conf.${hostIf}.rp_filter=0`);
    this.ip(node.netns, 'addr', 'add', `${NODE_GATEWAY6}/64`, 'dev', hostIf, 'nodad');
    this.ip(node.netns, 'link', 'set', hostIf, 'up');
    this.ip(node.netns, 'route', 'add', `${spec.ip}/32`, 'dev', hostIf);

    this.ip(netns, 'addr', 'add', `${spec.ip}/32`, 'dev', 'eth0');
    this.ip(netns, 'link', 'set', 'eth0', 'up');
    this.ip(netns, 'route', 'add', `${NODE_GATEWAY4}/32`, 'dev', 'eth0', 'scope', 'link');
    this.ip(netns, 'route', 'add', 'default', 'via', NODE_GATEWAY4, 'dev', 'eth0', 'onlink');
    if (spec.ip6) {
      this.ip(netns, 'addr', 'add', `${spec.ip6}/128`, 'dev', 'eth0', 'nodad');
      this.ip(netns, '-6', 'route', 'add', 'default', 'via', NODE_GATEWAY6, 'dev', 'eth0');
      this.ip(node.netns, '-6', 'route', 'add', `${spec.ip6}/128`, 'dev', hostIf);
    }
    for (const l of this.#links) {
      if (l.a === node) this.ip(l.b.netns, 'route', 'add', `${spec.ip}/32`, 'via', l.addrA, 'dev', l.ifB);
      if (l.b === node) this.ip(l.a.netns, 'route', 'add', `${spec.ip}/32`, 'via', l.addrB, 'dev', l.ifA);
    }
    const link = JSON.parse(this.ip(node.netns, '-j', 'link', 'show', 'dev', hostIf)) as { ifindex: number }[];
    const pod: NetnsPod = { name: spec.name, netns, node, ip: spec.ip, ip6: spec.ip6, hostIf, hostIfindex: link[0].ifindex };
    node.pods.push(pod);
    return pod;
  }

  /** Joins two nodes with a veth pair (172.31.N.1/30 - .2/30) and routes each node's pod
   * addresses (IPv4, now and for pods added later) to the other node over it. */
  connectNodes(a: NetnsNode, b: NetnsNode): void {
    const n = this.#links.length + 1;
    const ifA = `n-${b.name}`.slice(0, 15);
    const ifB = `n-${a.name}`.slice(0, 15);
    const addrA = `172.31.${n}.1`;
    const addrB = `172.31.${n}.2`;
    this.ip(a.netns, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', b.netns);
    this.ip(a.netns, 'addr', 'add', `${addrA}/30`, 'dev', ifA);
    this.ip(b.netns, 'addr', 'add', `${addrB}/30`, 'dev', ifB);
    this.ip(a.netns, 'link', 'set', ifA, 'up');
    this.ip(b.netns, 'link', 'set', ifB, 'up');
    this.#links.push({ a, b, ifA, ifB, addrA, addrB });
    for (const pod of b.pods) this.ip(a.netns, 'route', 'add', `${pod.ip}/32`, 'via', addrB, 'dev', ifA);
    for (const pod of a.pods) this.ip(b.netns, 'route', 'add', `${pod.ip}/32`, 'via', addrA, 'dev', ifB);
  }

  /** Starts a long-running process inside netns (killed by cleanup), optionally as a member of a
   * cgroup v2 directory (it joins before exec). stdio defaults to pipes. */
  spawn(netns: string, cmd: string, args: string[], options: SpawnOptions & { cgroup?: string } = {}): ChildProcess {
    const { cgroup, ...spawnOptions } = options;
    const enter = ['nsenter', `--net=${netnsPath(netns)}`, cmd, ...args];
    const child = cgroup
      ? spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...enter], { stdio: 'pipe', ...spawnOptions })
      : spawn(enter[0], enter.slice(1), { stdio: 'pipe', ...spawnOptions });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** A new cgroup v2 directory (removed by cleanup, after the processes in it are gone). */
  createCgroup(name: string): string {
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((line) => line.split(' '));
    const root = mounts.find((fields) => fields[2] === 'cgroup2')?.[1];
    if (!root) throw new Error('no cgroup v2 hierarchy is mounted');
    const path = join(root, `${this.id}-${name}`);
    mkdirSync(path);
    this.onCleanup(() => rmdirSync(path));
    return path;
  }

  /** Registers extra cleanup work (run after the processes are killed, last registered first). */
  onCleanup(fn: () => void | Promise<void>): void {
    this.#cleanups.push(fn);
  }

  /** Kills the processes, runs registered cleanups and deletes every namespace (their veths go
   * with them). Safe to call twice; never throws (errors are reported on stderr). */
  async cleanup(): Promise<void> {
    const exits = [...this.#children].map(async (child) => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
    });
    await Promise.all(exits);
    for (const fn of this.#cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`netns cleanup: ${(err as Error).message}`);
      }
    }
    for (const netns of this.#netns.splice(0).reverse()) {
      const r = spawnSync('ip', ['netns', 'del', netns], { encoding: 'utf8' });
      if (r.status !== 0) console.error(`netns cleanup: ip netns del ${netns}: ${r.stderr.trim()}`);
    }
    this.nodes.length = 0;
  }
}

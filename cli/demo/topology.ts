// The demo's simulated cluster, made of network namespaces with plain `ip` commands:
//
// - a "wire" namespace with a bridge that every node plugs into (`wire` in the node, at the Node's
//   InternalIP/32), with routes to the other nodes' addresses and, through them, their pod CIDRs;
// - a namespace per node: forwarding on, the pods' gateway address NODE_GATEWAY on lo, and an
//   `uplink` veth to the root namespace (a private link address on each side) so its agents reach
//   the control plane, which listens in the root namespace on CONTROL_PLANE_ADDRESS;
// - a namespace per pod: `eth0` with the Pod's IP/32 and a default route via the node, its peer in
//   the node namespace with a `<pod ip>/32` route — the layout a CNI leaves, which the redirector
//   finds pods by.
//
// (test/helpers/netns.ts builds the same shapes for the tests and could reuse this module.)
import { ip, sysctl } from './ip.js';
import { NETNS_PREFIX } from './state.js';

/** The pods' IPv4 gateway: an address of every node (on its lo); ARP for it is answered by the node. */
export const NODE_GATEWAY = '169.254.1.1';
/** The control plane's address in the root namespace, on every node's uplink (link-local, private). */
export const CONTROL_PLANE_ADDRESS = '169.254.123.1';
const WIRE_NETNS = `${NETNS_PREFIX}wire`;

export interface NodeSpec {
  name: string;
  /** The Node's InternalIP: its address on the wire. */
  address: string;
  podCIDRs: readonly string[];
}

export interface PodSpec {
  /** `namespace/name` */
  key: string;
  name: string;
  node: string;
  ip: string;
}

/** Where a namespace, link or process was made, so the caller can record it before going on. */
export interface Created {
  netns(name: string): void;
  rootLink(name: string): void;
}

// '_' is in no Kubernetes name, so node, pod and wire namespaces never collide
export function nodeNetns(node: string): string {
  return `${NETNS_PREFIX}node_${node}`;
}

/** The namespace of the pod `namespace/name`. */
export function podNetns(key: string): string {
  return `${NETNS_PREFIX}pod_${key.replace('/', '_')}`;
}

function addNetns(name: string, created: Created): void {
  ip(undefined, 'netns', 'add', name);
  created.netns(name);
  ip(name, 'link', 'set', 'lo', 'up');
}

/** The wire, the nodes on it with routes to each other's pod CIDRs, and their uplinks. */
export function createNodes(nodes: readonly NodeSpec[], created: Created): void {
  addNetns(WIRE_NETNS, created);
  ip(WIRE_NETNS, 'link', 'add', 'br0', 'type', 'bridge');
  ip(WIRE_NETNS, 'link', 'set', 'br0', 'up');
  nodes.forEach((node, i) => {
    const netns = nodeNetns(node.name);
    addNetns(netns, created);
    sysctl(netns, 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0');
    ip(netns, 'addr', 'add', `${NODE_GATEWAY}/32`, 'dev', 'lo');

    const port = `p${i}-${node.name}`.slice(0, 15);
    ip(netns, 'link', 'add', 'wire', 'type', 'veth', 'peer', 'name', port, 'netns', WIRE_NETNS);
    ip(WIRE_NETNS, 'link', 'set', port, 'master', 'br0', 'up');
    ip(netns, 'addr', 'add', `${node.address}/32`, 'dev', 'wire');
    ip(netns, 'link', 'set', 'wire', 'up');

    const rootLink = `skd${i}-${node.name}`.slice(0, 15);
    const uplinkAddress = `169.254.123.${10 + i}`;
    ip(undefined, 'link', 'add', rootLink, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', netns);
    created.rootLink(rootLink);
    ip(netns, 'addr', 'add', `${uplinkAddress}/32`, 'dev', 'uplink');
    ip(netns, 'link', 'set', 'uplink', 'up');
    ip(netns, 'route', 'add', `${CONTROL_PLANE_ADDRESS}/32`, 'dev', 'uplink', 'scope', 'link');
    ip(undefined, 'addr', 'add', `${CONTROL_PLANE_ADDRESS}/32`, 'dev', rootLink);
    ip(undefined, 'link', 'set', rootLink, 'up');
    ip(undefined, 'route', 'add', `${uplinkAddress}/32`, 'dev', rootLink, 'scope', 'link');
  });
  for (const node of nodes) {
    for (const peer of nodes) {
      if (peer === node) continue;
      ip(nodeNetns(node.name), 'route', 'add', `${peer.address}/32`, 'dev', 'wire', 'scope', 'link');
      for (const cidr of peer.podCIDRs) ip(nodeNetns(node.name), 'route', 'add', cidr, 'via', peer.address, 'dev', 'wire');
    }
  }
}

/** A pod's namespace on its node: eth0 with its IP, the host-side veth with the route to it. */
export function createPod(pod: PodSpec, index: number, created: Created): void {
  const netns = podNetns(pod.key);
  const node = nodeNetns(pod.node);
  addNetns(netns, created);
  const hostIf = `lxc${index}-${pod.name}`.slice(0, 15);
  ip(node, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
  sysctl(node, `net.ipv4.conf.${hostIf}.rp_filter=0`);
  ip(node, 'link', 'set', hostIf, 'up');
  ip(node, 'route', 'add', `${pod.ip}/32`, 'dev', hostIf);
  ip(netns, 'addr', 'add', `${pod.ip}/32`, 'dev', 'eth0');
  ip(netns, 'link', 'set', 'eth0', 'up');
  ip(netns, 'route', 'add', `${NODE_GATEWAY}/32`, 'dev', 'eth0', 'scope', 'link');
  ip(netns, 'route', 'add', 'default', 'via', NODE_GATEWAY, 'dev', 'eth0', 'onlink');
}

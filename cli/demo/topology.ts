// The demo's simulated cluster, made of network namespaces with plain `ip` commands:
//
// - a "wire" namespace with a bridge that every node plugs into (`wire` in the node, at the Node's
//   InternalIP/32), with routes to the other nodes' addresses and, through them, their pod CIDRs;
// - a namespace per node: forwarding on, the pods' gateway address NODE_GATEWAY on lo, and an
//   `uplink` veth to the root namespace (a private link-local address on each side) so its agents
//   reach the control plane, which listens in the root namespace on the demo's control plane
//   address;
// - a namespace per pod: `eth0` with the Pod's IP/32 and a default route via the node, its peer in
//   the node namespace with a `<pod ip>/32` route — the layout a CNI leaves, which the redirector
//   finds pods by.
//
// (test/helpers/netns.ts builds the same shapes for the tests and could reuse this module.)
import type { Instance } from './instance.js';
import { ip, sysctl } from './ip.js';

/** The pods' IPv4 gateway: an address of every node (on its lo); ARP for it is answered by the node. */
const NODE_GATEWAY = '169.254.1.1';

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

function addNetns(name: string, created: Created): void {
  ip(undefined, 'netns', 'add', name);
  created.netns(name);
  ip(name, 'link', 'set', 'lo', 'up');
}

/** The wire, the nodes on it with routes to each other's pod CIDRs, and their uplinks. */
export function createNodes(demo: Instance, nodes: readonly NodeSpec[], created: Created): void {
  const wire = demo.wireNetns;
  const cp = demo.controlPlaneAddress;
  addNetns(wire, created);
  ip(wire, 'link', 'add', 'br0', 'type', 'bridge');
  ip(wire, 'link', 'set', 'br0', 'up');
  nodes.forEach((node, i) => {
    const netns = demo.nodeNetns(node.name);
    addNetns(netns, created);
    sysctl(netns, 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0');
    ip(netns, 'addr', 'add', `${NODE_GATEWAY}/32`, 'dev', 'lo');

    const port = `p${i}-${node.name}`.slice(0, 15);
    ip(netns, 'link', 'add', 'wire', 'type', 'veth', 'peer', 'name', port, 'netns', wire);
    ip(wire, 'link', 'set', port, 'master', 'br0', 'up');
    ip(netns, 'addr', 'add', `${node.address}/32`, 'dev', 'wire');
    ip(netns, 'link', 'set', 'wire', 'up');

    const rootLink = demo.rootLink(i, node.name);
    const uplinkAddress = demo.uplinkAddress(i);
    ip(undefined, 'link', 'add', rootLink, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', netns);
    created.rootLink(rootLink);
    ip(netns, 'addr', 'add', `${uplinkAddress}/32`, 'dev', 'uplink');
    ip(netns, 'link', 'set', 'uplink', 'up');
    ip(netns, 'route', 'add', `${cp}/32`, 'dev', 'uplink', 'scope', 'link');
    ip(undefined, 'addr', 'add', `${cp}/32`, 'dev', rootLink);
    ip(undefined, 'link', 'set', rootLink, 'up');
    ip(undefined, 'route', 'add', `${uplinkAddress}/32`, 'dev', rootLink, 'scope', 'link');
  });
  for (const node of nodes) {
    for (const peer of nodes) {
      if (peer === node) continue;
      const netns = demo.nodeNetns(node.name);
      ip(netns, 'route', 'add', `${peer.address}/32`, 'dev', 'wire', 'scope', 'link');
      for (const cidr of peer.podCIDRs) ip(netns, 'route', 'add', cidr, 'via', peer.address, 'dev', 'wire');
    }
  }
}

/** A pod's namespace on its node: eth0 with its IP, the host-side veth with the route to it. */
export function createPod(demo: Instance, pod: PodSpec, index: number, created: Created): void {
  const netns = demo.podNetns(pod.key);
  const node = demo.nodeNetns(pod.node);
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

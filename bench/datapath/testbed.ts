// The benchmark's simulated nodes, each with a client pod and a server pod (sockperf, iperf3 and an
// accept-and-close server): no programs; skiff with small maps; skiff with the service catalogue
// and policy fillers loaded; the catalogue as kube-proxy iptables chains; and skiff steering the
// flow to a user-space transparent relay. The skiff nodes give two scenarios each: to the server
// pod's IP (pod to pod, as the baseline) and to the service VIP (as iptables). All live in one NetnsFixture, whose
// cleanup removes namespaces (and the iptables rules in them), pins and processes.
import { join } from 'node:path';
import { backends, conntrack, EndpointFlags, Direction, ipcache, lbSlots, policy, PolicyVerdict, Programs, Proto, proxyUpstreamMark, services } from '../../bpf/maps/index.js';
import { DatapathNode } from '../../test/helpers/datapath-node.js';
import type { NetnsFixture } from '../../test/helpers/netns.js';
import { MEASURED_VIP, serviceCatalogue, type CatalogueService } from './catalogue.js';
import { loadKubeProxyRules } from './iptables.js';
import { Ports, type ProgramProbe } from './measure.js';
import { waitListening } from './tools.js';

export interface BenchSize {
  services: number;
  backendsPerService: number;
  policies: number;
}

export type ScenarioKey = 'baseline' | 'fast' | 'fast-vip' | 'loaded' | 'loaded-vip' | 'iptables' | 'proxy';

export interface Scenario {
  key: ScenarioKey;
  label: string;
  /** The client pod's netns. */
  client: string;
  /** The address the client connects to (the server pod, or the VIP leading to it). */
  target: string;
  /** Whether the connection-setup rate is measured here. */
  connectRate: boolean;
  /** skiff scenarios: where from_pod's own cost per packet is measured. */
  probe?: ProgramProbe;
}

const CLI = 1001;
const SRV = 1002;
const PROXY_PORT = 15001;
const PORTS = [Ports.SOCKPERF, Ports.IPERF, Ports.ACCEPT];
/** The proxy scenario steers these (the accept port stays on the fast path). */
const PROXIED_PORTS = [Ports.SOCKPERF, Ports.IPERF];

/** Every skiff node's conntrack has the production size, as a node's: the connection-rate loops
 * open tens of thousands of flows, more than a test-sized (16,384-entry) LRU table holds. */
const conntrackSize = { skf_ct: conntrack.DEFAULT_MAX_ENTRIES };

/** The production map sizes (the C declarations' max_entries) for the loaded node. */
const productionSizes = {
  ...conntrackSize,
  skf_services: services.DEFAULT_MAX_ENTRIES,
  skf_lb_slots: lbSlots.DEFAULT_MAX_ENTRIES,
  skf_backends: backends.DEFAULT_MAX_ENTRIES,
  skf_ipcache: ipcache.DEFAULT_MAX_ENTRIES,
  skf_policy: policy.DEFAULT_MAX_ENTRIES,
};

interface NodePods {
  node: string;
  client: string;
  server: string;
  clientIp: string;
  serverIp: string;
}

function podSpecs(name: string, subnet: number): { cli: { name: string; ip: string }; srv: { name: string; ip: string } } {
  return { cli: { name: `${name}-c`, ip: `10.${subnet}.0.10` }, srv: { name: `${name}-s`, ip: `10.${subnet}.0.20` } };
}

function plainNode(fx: NetnsFixture, name: string, subnet: number): NodePods {
  const node = fx.createNode(name);
  const { cli, srv } = podSpecs(name, subnet);
  const client = fx.addPod(node, cli);
  const server = fx.addPod(node, srv);
  return { node: node.netns, client: client.netns, server: server.netns, clientIp: cli.ip, serverIp: srv.ip };
}

/** A skiff node whose client may reach the server on the benchmark's ports (an allow policy on
 * both endpoints, enforced), steering `proxied` ports to the relay. */
function skiffNode(fx: NetnsFixture, name: string, subnet: number, sizes: typeof conntrackSize, proxied: number[] = []): { pods: NodePods; dp: DatapathNode; probe: ProgramProbe } {
  const { cli, srv } = podSpecs(name, subnet);
  const dp = DatapathNode.create(fx, name, [{ ...cli, identity: CLI }, { ...srv, identity: SRV }], sizes);
  // flow events are not read here (an agent's work, not the datapath's): the ring fills, and the
  // datapath counts what it could not write
  dp.pauseEvents();
  dp.setEndpoint(cli.name, EndpointFlags.EGRESS_ENFORCED);
  dp.setEndpoint(srv.name, EndpointFlags.INGRESS_ENFORCED);
  const client = dp.pod(cli.name);
  const server = dp.pod(srv.name);
  for (const port of PORTS) {
    const proxyPort = proxied.includes(port) ? PROXY_PORT : 0;
    dp.setPolicy({ endpointId: client.endpointId, identity: SRV, dport: port, proto: Proto.TCP, direction: Direction.EGRESS }, { proxyPort });
    dp.setPolicy({ endpointId: server.endpointId, identity: CLI, dport: port, proto: Proto.TCP, direction: Direction.INGRESS });
  }
  return {
    pods: { node: dp.node.netns, client: client.netns, server: server.netns, clientIp: cli.ip, serverIp: srv.ip },
    dp,
    probe: { node: dp.node.netns, pin: join(dp.pinRoot, Programs.FROM_POD), ifindex: client.hostIfindex, clientIp: cli.ip },
  };
}

/** Keys and values for one batch update. */
class Batch {
  readonly keys: Buffer[] = [];
  readonly values: Buffer[] = [];

  add(key: Buffer, value: Buffer): void {
    this.keys.push(key);
    this.values.push(value);
  }

  write(dp: DatapathNode, mapName: string): void {
    dp.object.map(mapName).batchUpdate(this.keys, this.values);
  }
}

/** Writes the catalogue into the node's service, slot, backend and ipcache maps (the filler
 * backends get identities; the measured VIP's backend is the server pod, already known). */
function loadServices(dp: DatapathNode, catalogue: CatalogueService[]): void {
  const [svcs, slots, backendRows, identities] = [new Batch(), new Batch(), new Batch(), new Batch()];
  let backendId = 0;
  catalogue.forEach((svc, i) => {
    const revNatId = i + 1;
    svcs.add(services.encodeKey({ addr: svc.vip, port: svc.port, proto: Proto.TCP }), services.encodeValue({ revNatId, count: svc.backends.length, flags: 0 }));
    svc.backends.forEach((b, slot) => {
      backendId++;
      backendRows.add(backends.encodeKey(backendId), backends.encodeValue({ addr: b.addr, port: b.port, proto: Proto.TCP, flags: 0 }));
      slots.add(lbSlots.encodeKey({ revNatId, slot }), lbSlots.encodeValue(backendId));
      if (svc.vip !== MEASURED_VIP) identities.add(ipcache.encodeKey({ cidr: `${b.addr}/32` }), ipcache.encodeValue({ identity: 2000 + (i % 500), flags: 0 }));
    });
  });
  backendRows.write(dp, backends.MAP_NAME);
  slots.write(dp, lbSlots.MAP_NAME);
  svcs.write(dp, services.MAP_NAME);
  identities.write(dp, ipcache.MAP_NAME);
}

/** count policy entries besides the measured flow's: other endpoints' and the client's own, both
 * directions, towards other identities (all distinct keys). */
function loadPolicyFillers(dp: DatapathNode, count: number): void {
  const entries = new Batch();
  for (let i = 0; i < count; i++) {
    const endpointId = 1 + (i % 50);
    const direction = Math.floor(i / 50) % 2;
    const identity = 3000 + Math.floor(i / 100);
    const key = policy.encodeKey({ endpointId, identity, dport: 8000 + (i % 7), proto: Proto.TCP, direction });
    entries.add(key, policy.encodeValue({ verdict: i % 5 === 0 ? PolicyVerdict.DENY : PolicyVerdict.ALLOW, flags: 0, proxyPort: 0 }));
  }
  entries.write(dp, policy.MAP_NAME);
}

/** Starts the server pod's sockperf, iperf3 and accept-and-close servers. */
async function startServers(fx: NetnsFixture, tools: string, netns: string): Promise<void> {
  const servers = [
    { port: Ports.SOCKPERF, child: fx.spawn(netns, 'sockperf', ['server', '--tcp', '-i', '0.0.0.0', '-p', String(Ports.SOCKPERF)], { stdio: 'ignore' }) },
    { port: Ports.IPERF, child: fx.spawn(netns, 'iperf3', ['-s', '-p', String(Ports.IPERF)], { stdio: 'ignore' }) },
    { port: Ports.ACCEPT, child: fx.spawn(netns, tools, ['acceptor', String(Ports.ACCEPT)], { stdio: 'ignore' }) },
  ];
  for (const s of servers) await waitListening(fx, netns, s.port, s.child);
}

/** Creates every scenario's node, pods, programs, maps, rules and servers. */
export async function createTestbed(fx: NetnsFixture, tools: string, size: BenchSize, progress: (line: string) => void): Promise<Scenario[]> {
  const scenarios: Scenario[] = [];
  const count = (n: number) => n.toLocaleString('en-US');
  const add = (key: ScenarioKey, label: string, pods: NodePods, target: string, connectRate: boolean, probe?: ProgramProbe) => {
    scenarios.push({ key, label, client: pods.client, target, connectRate, probe });
  };

  progress('set-up: baseline node (no programs)');
  const base = plainNode(fx, 'base', 81);
  await startServers(fx, tools, base.server);
  add('baseline', 'no programs (baseline), pod IP', base, base.serverIp, true);

  progress('set-up: skiff node with small maps');
  const fast = skiffNode(fx, 'fast', 82, conntrackSize);
  loadServices(fast.dp, serviceCatalogue(0, 1, fast.pods.serverIp, PORTS));
  await startServers(fx, tools, fast.pods.server);
  add('fast', 'skiff fast path, small maps, pod IP', fast.pods, fast.pods.serverIp, false, fast.probe);
  add('fast-vip', 'skiff fast path, small maps, VIP', fast.pods, MEASURED_VIP, true, fast.probe);

  const svcCount = `${count(size.services)} services`;
  progress(`set-up: skiff node with ${svcCount} x ${size.backendsPerService} backends and ${count(size.policies)} policy entries`);
  let started = Date.now();
  const loaded = skiffNode(fx, 'load', 83, productionSizes);
  loadServices(loaded.dp, serviceCatalogue(size.services, size.backendsPerService, loaded.pods.serverIp, PORTS));
  loadPolicyFillers(loaded.dp, size.policies);
  progress(`  maps written in ${Date.now() - started} ms`);
  await startServers(fx, tools, loaded.pods.server);
  const loadedLabel = `skiff, ${svcCount} + ${count(size.policies)} policies`;
  add('loaded', `${loadedLabel}, pod IP`, loaded.pods, loaded.pods.serverIp, false, loaded.probe);
  add('loaded-vip', `${loadedLabel}, VIP`, loaded.pods, MEASURED_VIP, true, loaded.probe);

  progress(`set-up: iptables node with the same ${svcCount} as kube-proxy chains`);
  started = Date.now();
  const ipt = plainNode(fx, 'ipt', 84);
  const rules = loadKubeProxyRules(ipt.node, serviceCatalogue(size.services, size.backendsPerService, ipt.serverIp, PORTS));
  progress(`  ${count(rules)} rules loaded with iptables-restore in ${Date.now() - started} ms`);
  await startServers(fx, tools, ipt.server);
  add('iptables', `iptables (kube-proxy), ${svcCount}, VIP`, ipt, MEASURED_VIP, true);

  progress('set-up: skiff node steering the flow to a user-space relay');
  const prox = skiffNode(fx, 'prox', 85, conntrackSize, PROXIED_PORTS);
  const relay = fx.spawn(prox.pods.node, tools, ['relay', String(PROXY_PORT), String(proxyUpstreamMark(CLI))], { stdio: 'ignore' });
  await waitListening(fx, prox.pods.node, PROXY_PORT, relay);
  await startServers(fx, tools, prox.pods.server);
  add('proxy', 'user-space proxy (C relay via sk_assign), pod IP', prox.pods, prox.pods.serverIp, false);
  return scenarios;
}

// Node tunnels side by side: the same pod-to-pod path across two simulated nodes (both run
// skiff's datapath, the nodes are joined by a veth wire) measured plain, over WireGuard
// (wireguard-go where the kernel module is missing) and over HBONE (the datapath steers the flows
// into the node tunnel: HTTP/2 CONNECT over mutual TLS 1.3; node b's tunnel connects to the pod
// from the client's address and its datapath hands the replies back to it). iperf3 throughput and sockperf TCP
// ping-pong round trips, medians of interleaved rounds, ratios to plain, and the latency each
// tunnel adds next to Istio's reference for its two ztunnels (0.17 ms p90 / 0.20 ms p99).
import { CertificateAuthority } from '../xds/ca/index.js';
import { HBONE_OUTBOUND_PORT } from '../redirector/tunnel/hbone.js';
import { WireGuardTunnel } from '../redirector/tunnel/wireguard.js';
import { NetnsFixture, netnsPath } from '../test/helpers/netns.js';
import { DatapathNode } from '../test/helpers/datapath-node.js';
import { HboneNode } from '../test/tunnel/hbone-node.js';
import { NODES, TRUST_DOMAIN, client, issueNodeCertificates, nodeResources, web } from '../test/tunnel/hbone-fixture.js';
import { median, printTable, type Benchmark } from './benchmark.js';
import { Ports, pingPong, throughput, type Latency } from './datapath/measure.js';

const ROUNDS = 3;
const IPERF_SECONDS = 3;
const PING_SECONDS = 2;
/** Istio ambient's published latency added by the client and server ztunnels, in µs. */
const ISTIO_ADDED_P99_US = 200;

type Mode = 'plain' | 'wireguard' | 'hbone';
const MODES: Mode[] = ['plain', 'wireguard', 'hbone'];

interface Sample {
  gbps: number;
  latency: Latency;
}

interface Testbed {
  fx: NetnsFixture;
  dp: DatapathNode;
  clientNetns: string;
  hboneA: HboneNode;
  wireguard?: [WireGuardTunnel, WireGuardTunnel];
}

async function createTestbed(fx: NetnsFixture): Promise<Testbed> {
  const dp = DatapathNode.create(fx, 'a', [{ name: client.name, ip: client.ip, identity: client.identity }]);
  const dpB = DatapathNode.create(fx, 'b', [{ name: web.name, ip: web.ip, identity: web.identity }]);
  fx.connectNodes(dp.node, dpB.node);
  dp.setIdentity(`${web.ip}/32`, web.identity);
  dpB.setIdentity(`${client.ip}/32`, client.identity);
  const server = dpB.pod(web.name);
  fx.spawn(server.netns, 'iperf3', ['-s', '-p', String(Ports.IPERF)], { stdio: 'ignore' });
  fx.spawn(server.netns, 'sockperf', ['server', '--tcp', '-i', '0.0.0.0', '-p', String(Ports.SOCKPERF)], { stdio: 'ignore' });
  const certs = issueNodeCertificates(new CertificateAuthority(CertificateAuthority.generateRoot(TRUST_DOMAIN)));
  const hboneA = HboneNode.start(fx, dp.node.netns);
  const hboneB = HboneNode.start(fx, dpB.node.netns);
  await hboneA.update(nodeResources('a', certs.a));
  await hboneB.update(nodeResources('b', certs.b));
  await new Promise((resolve) => setTimeout(resolve, 300)); // the servers bind
  return { fx, dp, clientNetns: dp.pod(client.name).netns, hboneA };
}

async function enter(bed: Testbed, mode: Mode): Promise<void> {
  bed.dp.setConfig({ proxyAddr4: '', proxyAddr6: '', flags: 0, hbonePort: mode === 'hbone' ? HBONE_OUTBOUND_PORT : 0 });
  if (mode !== 'wireguard') return;
  const [nodeA, nodeB] = [bed.dp.node, bed.fx.nodes[1]!];
  const a = await WireGuardTunnel.start({ netns: netnsPath(nodeA.netns) });
  const b = await WireGuardTunnel.start({ netns: netnsPath(nodeB.netns) });
  bed.wireguard = [a, b];
  const peers = [
    { node: 'a', endpoint: NODES[0]!.ip, publicKey: a.publicKey, podCidrs: [NODES[0]!.cidr] },
    { node: 'b', endpoint: NODES[1]!.ip, publicKey: b.publicKey, podCidrs: [NODES[1]!.cidr] },
  ];
  await a.setPeers(peers);
  await b.setPeers(peers);
}

async function leave(bed: Testbed): Promise<void> {
  for (const tunnel of bed.wireguard ?? []) await tunnel.close();
  bed.wireguard = undefined;
}

async function measure(bed: Testbed): Promise<Sample> {
  const gbps = await throughput(bed.fx, bed.clientNetns, web.ip, IPERF_SECONDS);
  const latency = await pingPong(bed.fx, bed.clientNetns, web.ip, PING_SECONDS);
  return { gbps, latency };
}

async function run(): Promise<void> {
  const fx = new NetnsFixture('sktb');
  const onSignal = () => void fx.cleanup().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const bed = await createTestbed(fx);
    const samples = new Map<Mode, Sample[]>(MODES.map((m) => [m, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mode of MODES) {
        await enter(bed, mode);
        try {
          samples.get(mode)!.push(await measure(bed));
        } finally {
          await leave(bed);
        }
        process.stderr.write(`tunnels: round ${round}/${ROUNDS} ${mode} done\n`);
      }
    }
    const flows = (await bed.hboneA.status()).outbound.flows;
    if (flows === 0) throw new Error('no flow went through the HBONE tunnel: the HBONE figures would be plain ones');
    const med = (mode: Mode, pick: (s: Sample) => number) => median(samples.get(mode)!.map(pick));
    const plain = { gbps: med('plain', (s) => s.gbps), p50: med('plain', (s) => s.latency.p50), p99: med('plain', (s) => s.latency.p99) };
    const rows = MODES.map((mode) => {
      const gbps = med(mode, (s) => s.gbps);
      const p50 = med(mode, (s) => s.latency.p50);
      const p99 = med(mode, (s) => s.latency.p99);
      const addedP99 = p99 - plain.p99;
      return [mode, gbps, gbps / plain.gbps, p50, p99, p50 - plain.p50, addedP99, mode === 'plain' ? '-' : (addedP99 / ISTIO_ADDED_P99_US).toFixed(2)];
    });
    printTable(
      `Node tunnels, pod to pod across two nodes (medians of ${ROUNDS} rounds; round trips in µs; Istio's two ztunnels add 170 µs p90 / 200 µs p99)`,
      ['mode', 'iperf3 Gb/s', 'ratio to plain', 'RTT p50', 'RTT p99', 'added p50', 'added p99', 'added p99 / Istio 200 µs'],
      rows,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await fx.cleanup();
  }
}

export const tunnelsBenchmark: Benchmark = {
  name: 'tunnels',
  summary: 'pod to pod across two nodes: plain vs WireGuard vs HBONE (iperf3, sockperf), ratios to plain',
  run,
};

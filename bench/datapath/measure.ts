// One measurement each, from a client pod to a target address, parsed from the tools' output:
// sockperf TCP ping-pong (round-trip p50/p99 in µs), iperf3 TCP throughput (Gb/s received), the
// connection-setup rate of tools.c (connections/s), and the in-kernel cost of one from_pod pass
// over a packet of an established flow (tools.c progrun, ns).
import type { NetnsFixture } from '../../test/helpers/netns.js';
import { runToEnd } from './tools.js';

/** The ports the server pod listens on (sockperf, iperf3, accept-and-close). */
export const Ports = { SOCKPERF: 11111, IPERF: 5201, ACCEPT: 7000 } as const;

export interface Latency {
  p50: number;
  p99: number;
}

/** sockperf ping-pong over TCP for `seconds` (whole seconds, its warm-up excluded). On a busy
 * machine a short run may end with no valid observation; it is then run again (up to 3 times). */
export async function pingPong(fx: NetnsFixture, netns: string, host: string, seconds: number): Promise<Latency> {
  const args = ['ping-pong', '--tcp', '--full-rtt', '-i', host, '-p', String(Ports.SOCKPERF), '-t', String(Math.max(1, Math.round(seconds)))];
  for (let attempt = 1; ; attempt++) {
    const out = await runToEnd(fx, netns, 'sockperf', args, seconds * 1000 + 15_000);
    const p50 = /percentile 50.000 =\s*([0-9.]+)/.exec(out);
    const p99 = /percentile 99.000 =\s*([0-9.]+)/.exec(out);
    if (p50 && p99) return { p50: Number(p50[1]), p99: Number(p99[1]) };
    if (attempt === 3) throw new Error(`sockperf to ${host} from ${netns} printed no percentiles: ${out.slice(-400)}`);
  }
}

/** iperf3 TCP throughput for `seconds`, in Gb/s as the receiver counted it. */
export async function throughput(fx: NetnsFixture, netns: string, host: string, seconds: number): Promise<number> {
  const args = ['-c', host, '-p', String(Ports.IPERF), '-t', String(seconds), '-J', '--connect-timeout', '3000'];
  const out = await runToEnd(fx, netns, 'iperf3', args, seconds * 1000 + 15_000);
  const report = JSON.parse(out) as { error?: string; end?: { sum_received?: { bits_per_second: number } } };
  const bps = report.end?.sum_received?.bits_per_second;
  if (report.error || bps === undefined) throw new Error(`iperf3 to ${host}: ${report.error ?? 'no result'}`);
  return bps / 1e9;
}

/** New TCP connections per second to host (connect, then close with an RST), for `seconds`. */
export async function connectRate(fx: NetnsFixture, tools: string, netns: string, host: string, seconds: number): Promise<number> {
  const out = await runToEnd(fx, netns, tools, ['connrate', host, String(Ports.ACCEPT), String(seconds)], seconds * 1000 + 15_000);
  const m = /connections (\d+) seconds ([0-9.]+) failures (\d+)/.exec(out);
  if (!m) throw new Error(`connrate printed: ${out}`);
  const [count, elapsed, failures] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (count === 0 || failures > count / 100) throw new Error(`connrate to ${host}: ${count} connections, ${failures} failed`);
  return count / elapsed;
}

/** A TCP/IPv4 packet from the Ethernet header on, as hex: src:sport -> dst:dport, TCP flags,
 * 16 bytes of payload (checksums as the datapath needs them: IPv4 header right, TCP any). */
function tcpPacket(src: string, dst: string, sport: number, dport: number, flags: number): string {
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x0800, 12);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 20 + 16, 2);
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from(src.split('.').map(Number)).copy(ip, 12);
  Buffer.from(dst.split('.').map(Number)).copy(ip, 16);
  let sum = 0;
  for (let i = 0; i < ip.length; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(sport, 0);
  tcp.writeUInt16BE(dport, 2);
  tcp[12] = 0x50;
  tcp[13] = flags;
  tcp.writeUInt16BE(65535, 14);
  return Buffer.concat([eth, ip, tcp, Buffer.alloc(16, 0x61)]).toString('hex');
}

/** Where a skiff node's from_pod can be run on its own: the pinned program, and the client pod's
 * host veth (in the node's netns) the packets come from. */
export interface ProgramProbe {
  node: string;
  pin: string;
  ifindex: number;
  clientIp: string;
}

const TCP_SYN = 0x02;
const TCP_ACK = 0x10;
/** What from_pod returns for a packet it hands to a local pod (bpf_redirect_peer). */
const TC_ACT_REDIRECT = 7;

/** The kernel's time for one from_pod pass (its fast path to a local pod included, the redirect
 * itself not) over a data segment of an established flow from the client to host:port, opened
 * by a SYN from sport first: median and p90 of `runs` runs, ns. */
export async function programCost(fx: NetnsFixture, tools: string, probe: ProgramProbe, host: string, port: number, sport: number, runs: number): Promise<{ p50: number; p90: number }> {
  const args = ['progrun', probe.pin, String(probe.ifindex), tcpPacket(probe.clientIp, host, sport, port, TCP_SYN), tcpPacket(probe.clientIp, host, sport, port, TCP_ACK), String(runs)];
  const out = await runToEnd(fx, probe.node, tools, args, 60_000);
  const m = /runs \d+ p50 (\d+) p90 (\d+) retval (\d+)/.exec(out);
  if (!m) throw new Error(`progrun printed: ${out}`);
  if (Number(m[3]) !== TC_ACT_REDIRECT) throw new Error(`from_pod did not forward the flow to ${host}:${port} (returned ${m[3]})`);
  return { p50: Number(m[1]), p90: Number(m[2]) };
}

// One measurement each, from a client pod to a target address, parsed from the tools' output:
// sockperf TCP ping-pong (round-trip p50/p99 in µs), iperf3 TCP throughput (Gb/s received), and
// the connection-setup rate of tools.c (connections/s).
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

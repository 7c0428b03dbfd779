// A stand-in node agent for the WireGuard re-adoption test, as a process inside a simulated node's
// namespace: `node wireguard-node.js start IFACE PEER_KEY` starts the tunnel and sets one peer;
// `adopt IFACE` starts it again (re-adopting what is there); `clear IFACE` re-adopts it and sets no
// peer. Each prints the tunnel's status as one JSON line, then waits to be killed (a killed agent
// leaves the interface behind).
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { WireGuardTunnel, type WireGuardStatus } from '../../redirector/tunnel/wireguard.js';
import { LineReader } from '../helpers/tcp-peer.js';
import type { NetnsFixture } from '../helpers/netns.js';

const script = fileURLToPath(import.meta.url);
/** The one peer `start` sets. */
export const PEER = { node: 'b', endpoint: '172.31.9.2', podCidrs: ['10.9.0.0/24'] };

/** Runs the stand-in agent in netns; resolves with its status and the process (to kill). */
export async function wireguardNode(fx: NetnsFixture, netns: string, args: string[]): Promise<{ status: WireGuardStatus; child: ChildProcess }> {
  const child = fx.spawn(netns, process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new LineReader(child).next(10_000);
  return { status: JSON.parse(line) as WireGuardStatus, child };
}

if (process.argv[1] === script) {
  const [mode, name, peerKey] = process.argv.slice(2) as [string, string, string | undefined];
  const tunnel = await WireGuardTunnel.start({ interfaceName: name });
  if (mode === 'start') await tunnel.setPeers([{ ...PEER, publicKey: peerKey ?? '' }]);
  if (mode === 'clear') await tunnel.setPeers([]);
  console.log(JSON.stringify(await tunnel.status()));
  process.stdin.resume();
}

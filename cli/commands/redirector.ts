// `skiff redirector`: runs the node agent (eBPF datapath programmed from the control plane's
// redirector resources), or removes everything it installed (`--uninstall`).
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_UNAVAILABLE, UsageError } from '../command.js';
import { DEFAULT_ADMIN, DEFAULT_XDS, defaultPinRoot, readTokenFile, RedirectorAgent, uninstall } from '../../redirector/agent.js';
import type { MapName } from '../../bpf/maps/index.js';
import { parseGatewayDuration } from '../../xds/translate/duration.js';

const HELP = `Usage: skiff redirector --node NAME [--xds HOST:PORT] [--bpffs DIR] [--admin HOST:PORT] [--proxy-port PORT]
                        [--token-file PATH] [--wireguard-key-rotation DURATION]

Runs the node agent of NAME: receives workloads, services, identities and policies from the control
plane (xDS, role redirector), keeps the kernel maps equal to them (writing only differences),
attaches the datapath to each local pod's host-side veth (found from the routing table), steers
flows that need L7 to the node proxy's transparent listener, and serves flows and maps on its admin
API. Programs, links and maps are pinned under the bpffs directory: stopping the agent leaves
traffic flowing, and a restarted agent re-adopts them without rewriting anything.

With the node's bootstrap token (--token-file) the control plane serves the agent its workloads'
certificates, and the agent runs the node tunnels the MeshConfig's encryption asks for: hbone (mutual
TLS HTTP/2 CONNECT on port 15008; the datapath steers new cross-node pod flows to the tunnel's
outbound listener on 15009) or wireguard (interface skiff-wg0, one peer per remote node; the node's
public key is published through the control plane and rotated on a period, make-before-break).
Stopping the agent closes the HBONE listeners (cross-node flows are dropped until it is back, never
sent in clear) and leaves a kernel WireGuard interface up for the next agent to re-adopt.

It must run in the node's network namespace. For the simulated nodes of tests and skiff demo, enter
it with nsenter (not \`ip netns exec\`, which remounts /sys and hides the pins):
  nsenter --net=/var/run/netns/NODE skiff redirector --node NODE

Flags:
  --node NAME            the node (its pods are the Pods with spec.nodeName NAME) (required)
  --xds HOST:PORT        the control plane's xDS address, or unix:PATH (default ${DEFAULT_XDS})
  --bpffs DIR            pin directory (default /sys/fs/bpf/skiff/NAME)
  --admin HOST:PORT      admin HTTP (or unix:PATH): /healthz /readyz /metrics /debug/maps/NAME
                         /debug/flows?follow=1 /debug/state /debug/tunnel
                         (default ${DEFAULT_ADMIN})
  --proxy-port PORT      the node proxy's transparent listener (default: the mesh's, 15001)
  --token-file PATH      the node's bootstrap token, written by the control plane to
                         <ca-dir>/bootstrap-tokens/node.NAME.token (without it: no certificates,
                         no HBONE identity, no WireGuard key publication)
  --wireguard-key-rotation DURATION
                         WireGuard key rotation period, e.g. 12h, 30m (default 24h; 0s = never)
  --max-entries MAP=N,…  map sizes other than the defaults (e.g. skf_ct=16384); keep them stable
  --uninstall            detach every program, remove the pins, the proxy route and the WireGuard
                         interface with its routes, and exit

Examples:
  skiff redirector --node node-a --xds 10.0.0.1:15010 --token-file /etc/skiff/node-a.token
  nsenter --net=/var/run/netns/node-a skiff redirector --node node-a --admin 127.0.0.1:0
  skiff redirector --node node-a --uninstall
`;

const VALUE_FLAGS = new Set(['--node', '--xds', '--bpffs', '--admin', '--proxy-port', '--max-entries', '--token-file', '--wireguard-key-rotation']);

function parseFlags(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--uninstall' || arg === '--cleanup') {
      flags.set('--uninstall', 'true');
    } else if (VALUE_FLAGS.has(arg)) {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
      flags.set(arg, value);
    } else {
      throw new UsageError(`unknown flag '${arg}'`);
    }
  }
  return flags;
}

function parseMaxEntries(text: string | undefined): Partial<Record<MapName, number>> | undefined {
  if (!text) return undefined;
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [name, value] = part.split('=');
    const n = Number(value);
    if (!name || !Number.isInteger(n) || n <= 0) throw new UsageError(`--max-entries: '${part}' is not MAP=N`);
    out[name] = n;
  }
  return out as Partial<Record<MapName, number>>;
}

export const redirectorCommand: Command = {
  name: 'redirector',
  summary: 'Run the node agent that programs the eBPF datapath',
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const flags = parseFlags(argv);
    const node = flags.get('--node');
    if (!node) throw new UsageError('--node is required');
    const proxyPortText = flags.get('--proxy-port');
    const proxyPort = proxyPortText === undefined ? 0 : Number(proxyPortText);
    if (!Number.isInteger(proxyPort) || proxyPort < 0 || proxyPort > 65535) throw new UsageError(`--proxy-port: '${proxyPortText}' is not a port`);
    const bpffs = flags.get('--bpffs') ?? defaultPinRoot(node);
    if (flags.has('--uninstall')) {
      await uninstall(node, bpffs);
      return EXIT_OK;
    }
    const rotationText = flags.get('--wireguard-key-rotation');
    const rotation = rotationText === undefined ? undefined : parseGatewayDuration(rotationText);
    if (rotation instanceof Error) throw new UsageError(`--wireguard-key-rotation: ${rotation.message}`);
    const tokenFile = flags.get('--token-file');
    let agent: RedirectorAgent;
    try {
      if (tokenFile) readTokenFile(tokenFile);
      agent = await RedirectorAgent.start({
        node,
        xds: flags.get('--xds'),
        bpffs,
        admin: flags.get('--admin'),
        proxyPort,
        maxEntries: parseMaxEntries(flags.get('--max-entries')),
        tokenFile,
        wireguardKeyRotationMs: rotation,
      });
    } catch (err) {
      process.stderr.write(`skiff redirector: ${(err as Error).message}\n`);
      return EXIT_UNAVAILABLE;
    }
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await agent.stop();
    return EXIT_OK;
  },
};

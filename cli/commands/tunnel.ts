// `skiff tunnel status`: each node's tunnels from the redirector's admin API (/debug/tunnel) —
// the encryption mode, WireGuard peers (endpoint, allowed IPs, last handshake, bytes), HBONE
// certificates (identity, serial, expiry), pooled HBONE sessions and flow counters.
import type { Command } from '../command.js';
import { EXIT_OK, UsageError } from '../command.js';
import { DEFAULT_CONTROL_PLANE_ADMIN } from '../clients/control-plane.js';
import { exitIfUnreachable, getJson } from '../clients/http.js';
import { DEFAULT_REDIRECTOR_ADMIN, REDIRECTOR_FLAGS, redirectorsFromArgs } from '../clients/redirector.js';
import { parseCommandArgs } from '../output/args.js';
import { formatAge, renderTable, writeData } from '../output/write.js';
import type { TunnelStatus } from '../../redirector/tunnel/tunnel-status.js';

const HELP = `Usage: skiff tunnel status [--node N] [--redirector HOST:PORT]... [-o table|json|yaml]

Shows each node's tunnels (the redirector's admin API, /debug/tunnel):
  WireGuard  PEER NODE  PUBLIC KEY  ENDPOINT  ALLOWED IPS  HANDSHAKE  RX  TX
  HBONE      certificates (IDENTITY  SERIAL  EXPIRES), sessions (SOURCE  DESTINATION  ADDRESS
             STREAMS  SOURCE CERT EXPIRES) and flow counters

Which redirectors: the --redirector addresses (repeatable); else those the control plane's
redirector clients announce (via --admin); else ${DEFAULT_REDIRECTOR_ADMIN}.

Exit codes: 0 shown, 2 usage (or no redirector of --node), 3 a redirector cannot be reached.

Flags:
  --node N                 only the redirector of node N
  --redirector HOST:PORT   a redirector's admin API (repeatable; unix:PATH works)
  --admin HOST:PORT        the control plane's admin API, to find redirectors (default ${DEFAULT_CONTROL_PLANE_ADMIN})
  -o, --output FMT         table (default), json or yaml (json: [TunnelStatus])

Examples:
  skiff tunnel status
  skiff tunnel status --node node-a -o json
`;

const since = (ms: number, now: number): string => (ms > 0 ? `${formatAge(now - ms)} ago` : 'never');
const until = (ms: number, now: number): string => (ms > now ? `in ${formatAge(ms - now)}` : `EXPIRED ${formatAge(now - ms)} ago`);

/** The table text of one node's status. */
export function renderTunnelStatus(status: TunnelStatus, now = Date.now()): string {
  const parts = [`Node ${status.node}: encryption ${status.encryption}\n`];
  const wg = status.wireguard;
  if (wg) {
    parts.push(`WireGuard ${wg.interface} (${wg.implementation}), port ${wg.listenPort}, public key ${wg.publicKey}${wg.nextPublicKey ? ` (rotating to ${wg.nextPublicKey})` : ''}\n`);
    const rows = wg.peers.map((p) => [p.node ?? '-', p.publicKey, p.endpoint ?? '-', p.allowedIps.join(',') || '-', since(p.latestHandshakeMs, now), String(p.rxBytes), String(p.txBytes)]);
    parts.push(rows.length ? renderTable(['PEER NODE', 'PUBLIC KEY', 'ENDPOINT', 'ALLOWED IPS', 'HANDSHAKE', 'RX', 'TX'], rows) : 'No WireGuard peers.\n');
  }
  const hbone = status.hbone;
  if (hbone) {
    parts.push(`HBONE inbound :${hbone.inboundPort}, outbound :${hbone.outboundPort}; flows out ${hbone.outbound.flows} (refused ${hbone.outbound.refused}), in ${hbone.inbound.streams} (denied ${hbone.inbound.denied}, unavailable ${hbone.inbound.unavailable})\n`);
    const certs = hbone.certificates.map((c) => [c.spiffeId, c.serial, until(c.notAfterMs, now)]);
    parts.push(certs.length ? renderTable(['IDENTITY', 'SERIAL', 'EXPIRES'], certs) : 'No certificates.\n');
    const sessions = hbone.sessions.map((s) => [s.source, s.destination, s.address, String(s.streams), until(s.sourceNotAfterMs, now)]);
    parts.push(sessions.length ? renderTable(['SOURCE', 'DESTINATION', 'ADDRESS', 'STREAMS', 'SOURCE CERT EXPIRES'], sessions) : 'No HBONE sessions.\n');
  }
  if (!wg && !hbone) parts.push('No tunnel is running.\n');
  return parts.join('');
}

export const tunnelCommand: Command = {
  name: 'tunnel',
  summary: "Show each node's tunnels: WireGuard peers and handshakes, HBONE certificates and sessions",
  help: HELP,
  run(argv) {
    const args = parseCommandArgs(argv, REDIRECTOR_FLAGS, ['table', 'json', 'yaml']);
    if (args.positionals[0] !== 'status' || args.positionals.length !== 1) throw new UsageError('expected: skiff tunnel status');
    return exitIfUnreachable('tunnel', async () => {
      const redirectors = await redirectorsFromArgs(args);
      const statuses = await Promise.all(redirectors.map((r) => getJson<TunnelStatus>(r.address, '/debug/tunnel')));
      if (args.output === 'json' || args.output === 'yaml') {
        writeData(args.output, statuses);
        return EXIT_OK;
      }
      process.stdout.write(statuses.map((s) => renderTunnelStatus(s)).join('\n'));
      return EXIT_OK;
    });
  },
};

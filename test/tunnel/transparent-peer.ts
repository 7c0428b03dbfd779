// The transparent connect of the HBONE inbound side (connectTransparent), exercised inside one
// namespace as `node transparent-peer.js PORT CLOSED_PORT SILENT_PORT`: a server on [::]:PORT answers
// each connection with the peer address it sees; the script connects from addresses that are not
// the namespace's (IPv4 and IPv6), to a closed port, to a port whose SYNs are dropped, and with
// mixed families, and prints one JSON line: each case's answer or error code.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connectTransparent } from '../../redirector/tunnel/transparent.js';
import { plainIp } from '../../redirector/tunnel/hbone.js';
import { requireRoot, type NetnsFixture } from '../helpers/netns.js';
import { LineReader } from '../helpers/tcp-peer.js';

const script = fileURLToPath(import.meta.url);

export const FOREIGN4 = '10.99.0.5';
export const FOREIGN6 = 'fd00:99::5';

/** What one connect gave: the server's answer ("<peer ip> <peer port>" and the client's own
 * "<local ip> <local port>"), or the error code. */
async function attempt(localAddress: string, host: string, port: number): Promise<string> {
  try {
    const socket = await connectTransparent({ localAddress, host, port, mark: 0, timeoutMs: 300 });
    const own = `${plainIp(socket.localAddress)} ${socket.localPort}`;
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    await once(socket, 'end');
    socket.end();
    return `${answer.trim()} / ${own}`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).name;
  }
}

export interface TransparentResults {
  v4: string;
  v6: string;
  concurrent: string[];
  refused: string;
  silent: string;
  mixed: string;
}

async function main(port: number, closedPort: number, silentPort: number): Promise<void> {
  const server = createServer((socket) => socket.end(`${plainIp(socket.remoteAddress)} ${socket.remotePort}\n`));
  server.listen({ port, host: '::', ipv6Only: false });
  await once(server, 'listening');
  const results: TransparentResults = {
    v4: await attempt(FOREIGN4, '127.0.0.1', port),
    v6: await attempt(FOREIGN6, '::1', port),
    concurrent: await Promise.all(Array.from({ length: 16 }, () => attempt(FOREIGN4, '127.0.0.1', port))),
    refused: await attempt(FOREIGN6, '::1', closedPort),
    silent: await attempt(FOREIGN4, '127.0.0.1', silentPort),
    mixed: await attempt(FOREIGN4, '::1', port),
  };
  console.log(JSON.stringify(results));
  server.close();
}

/** Runs the cases in netns, whose routes make the foreign addresses' replies local. */
export async function runTransparentCases(fx: NetnsFixture, netns: string, ports: { port: number; closed: number; silent: number }): Promise<TransparentResults> {
  requireRoot('the transparent connect test');
  const child = fx.spawn(netns, process.execPath, [script, String(ports.port), String(ports.closed), String(ports.silent)]);
  return JSON.parse(await new LineReader(child).next(10_000)) as TransparentResults;
}

if (process.argv[1] === script) await main(Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]));

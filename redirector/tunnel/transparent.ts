// A transparent TCP listener for the node tunnel's outbound side: the socket is made by the native
// helper (redirector/tunnel/native/transparent.c, IP_TRANSPARENT) and served by Node's net.Server.
// Accepted sockets' localAddress/localPort are the flow's original destination.
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const addonPath = fileURLToPath(new URL('../../../redirector/tunnel/build/skiff_transparent.node', import.meta.url));
const require = createRequire(import.meta.url);
let addon: { listenTransparent(host: string, port: number, backlog: number): number } | undefined;

/** Listens on host:port with IP_TRANSPARENT (half-open connections allowed: a client FIN must not
 * close the reply direction); resolves once it accepts connections. */
export async function listenTransparent(host: string, port: number, onConnection: (socket: Socket) => void): Promise<Server> {
  addon ??= require(addonPath) as NonNullable<typeof addon>;
  const fd = addon.listenTransparent(host, port, 1024);
  const server = createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => resolve());
  });
  return server;
}

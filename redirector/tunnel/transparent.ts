// The node tunnel's transparent sockets, made by the native helper (redirector/tunnel/native/
// transparent.c: IP_TRANSPARENT, which Node cannot set) and served by Node's net module:
//   listenTransparent   the outbound side's listener: accepted sockets' localAddress/localPort
//                       are the flow's original destination.
//   connectTransparent  the inbound side's connection to a pod from the remote client's address
//                       (the pod sees the client pod as its peer), without blocking the loop.
import { createRequire } from 'node:module';
import { createServer, Socket, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';

const addonPath = fileURLToPath(new URL('../../../redirector/tunnel/build/skiff_transparent.node', import.meta.url));
const require = createRequire(import.meta.url);

interface Addon {
  listenTransparent(host: string, port: number, backlog: number): number;
  connectTransparent(local: string, host: string, port: number, mark: number, timeoutMs: number, done: (errno: number, fd: number) => void): void;
}
let loaded: Addon | undefined;

function addon(): Addon {
  loaded ??= require(addonPath) as Addon;
  return loaded;
}

/** Listens on host:port with IP_TRANSPARENT (half-open connections allowed: a client FIN must not
 * close the reply direction); resolves once it accepts connections. */
export async function listenTransparent(host: string, port: number, onConnection: (socket: Socket) => void): Promise<Server> {
  const fd = addon().listenTransparent(host, port, 1024);
  const server = createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => resolve());
  });
  return server;
}

export interface TransparentConnect {
  /** The source address: any address, the node's or not (the port is chosen by the kernel). */
  localAddress: string;
  host: string;
  port: number;
  /** SO_MARK of the connection (0: none). */
  mark: number;
  /** How long the peer may take to accept; then the connect fails with ETIMEDOUT. */
  timeoutMs: number;
}

/** A TCP connection to host:port from localAddress (IP_TRANSPARENT), half-open allowed. Rejects
 * with an error whose `code` is the errno name (ECONNREFUSED, ETIMEDOUT, ...). */
export function connectTransparent(options: TransparentConnect): Promise<Socket> {
  const { localAddress, host, port, mark, timeoutMs } = options;
  return new Promise((resolve, reject) => {
    addon().connectTransparent(localAddress, host, port, mark, timeoutMs, (errno, fd) => {
      if (!errno) return resolve(new Socket({ fd, allowHalfOpen: true, readable: true, writable: true }));
      const code = getSystemErrorName(-errno);
      reject(Object.assign(new Error(`connect ${code} ${host}:${port} from ${localAddress}`), { code, errno: -errno }));
    });
  });
}

// Real TCP and UDP endpoints for namespace tests, run as `node tcp-peer.js <mode> ...` inside a
// pod (startServer, TcpClient, request and udpRequest below start it through a NetnsFixture):
//   server PORT NAME      line echo server on [::]:PORT, TCP and UDP; replies "NAME <peer-ip>
//                         <line>" per line (per datagram); prints "listening" when bound.
//   client HOST PORT [LOCAL]
//                         TCP: connects (from address LOCAL if given), prints "connected <local-ip>:<port> <remote-ip>:<port>"
//                         (remote as getpeername reports it); each stdin line is sent and its
//                         reply printed; stdin end closes it ("closed"). Errors print "error <code>".
//   udp HOST PORT TEXT [connected]
//                         one datagram from an unconnected (or connected) socket; prints
//                         "<reply> from <ip>:<port>" (the reply's source as recvmsg reports it),
//                         "error <code>" (a connected socket reports ICMP errors) or "timeout".
//   burst HOST PORT N     N datagrams, each from a new socket (N new flows); prints "sent".
import { createSocket } from 'node:dgram';
import { createConnection, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { NetnsFixture } from './netns.js';

const script = fileURLToPath(import.meta.url);

function lines(socket: Socket, onLine: (line: string) => void): void {
  // readline re-emits the socket's errors (a reset by the client): the socket's own handler closes it
  createInterface({ input: socket }).on('line', onLine).on('error', () => undefined);
}

function serve(port: number, name: string): void {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    lines(socket, (line) => socket.write(`${name} ${socket.remoteAddress?.replace(/^::ffff:/, '')} ${line}\n`));
  });
  const udp = createSocket({ type: 'udp6', ipv6Only: false });
  udp.on('message', (msg, peer) => {
    const reply = `${name} ${peer.address.replace(/^::ffff:/, '')} ${msg.toString().trim()}\n`;
    udp.send(reply, peer.port, peer.address);
  });
  udp.bind(port, '::', () => server.listen({ port, host: '::', ipv6Only: false }, () => console.log('listening')));
}

function udpOnce(host: string, port: number, text: string, connected: boolean): void {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const timer = setTimeout(() => {
    console.log('timeout');
    process.exit(0);
  }, 1500);
  socket.on('message', (msg, from) => {
    clearTimeout(timer);
    console.log(`${msg.toString().trim()} from ${from.address}:${from.port}`);
    process.exit(0);
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    console.log(`error ${err.code ?? err.message}`);
    process.exit(0);
  });
  if (connected) socket.connect(port, host, () => socket.send(`${text}\n`));
  else socket.send(`${text}\n`, port, host);
}

function connect(host: string, port: number, localAddress?: string): void {
  const socket = createConnection({ host, port, localAddress });
  socket.setNoDelay(true);
  socket.on('connect', () => {
    console.log(`connected ${socket.localAddress}:${socket.localPort} ${socket.remoteAddress}:${socket.remotePort}`);
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    console.log(`error ${err.code ?? err.message}`);
    process.exit(1);
  });
  socket.on('close', () => {
    console.log('closed');
    process.exit(0);
  });
  lines(socket, (line) => console.log(line));
  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => socket.write(`${line}\n`));
  input.on('close', () => socket.end());
}

/** The lines a child prints, awaited one at a time. */
export class LineReader {
  readonly #lines: string[] = [];
  readonly #waiters: ((line: string) => void)[] = [];
  #ended = false;

  constructor(child: ChildProcess) {
    if (!child.stdout) throw new Error('child has no stdout pipe');
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    });
    rl.on('close', () => {
      this.#ended = true;
      for (const waiter of this.#waiters.splice(0)) waiter('eof');
    });
  }

  /** The next line ('eof' once the output ended); rejects after timeoutMs. */
  next(timeoutMs = 3000): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#ended) return Promise.resolve('eof');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(done), 1);
        reject(new Error(`no output within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (l: string) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.#waiters.push(done);
    });
  }
}

/** Starts the echo server in netns on port; resolves once it listens. */
export async function startServer(fx: NetnsFixture, netns: string, port: number, name: string): Promise<ChildProcess> {
  const child = fx.spawn(netns, process.execPath, [script, 'server', String(port), name]);
  const first = await new LineReader(child).next(5000);
  if (first !== 'listening') throw new Error(`server ${name} did not start: ${first}`);
  return child;
}

/** An open client connection from netns to host:port. */
export class TcpClient {
  readonly child: ChildProcess;
  readonly #out: LineReader;
  /** "<ip>:<port>" of the client's side. */
  local = '';
  /** "<ip>:<port>" of the server's side, as getpeername reports it. */
  remote = '';

  private constructor(child: ChildProcess) {
    this.child = child;
    this.#out = new LineReader(child);
  }

  /** Connects (rejects with the error code when the connection fails or times out). */
  static async open(
    fx: NetnsFixture,
    netns: string,
    host: string,
    port: number,
    timeoutMs = 3000,
    options: { cgroup?: string; localAddress?: string } = {},
  ): Promise<TcpClient> {
    const args = [script, 'client', host, String(port), ...(options.localAddress ? [options.localAddress] : [])];
    const client = new TcpClient(fx.spawn(netns, process.execPath, args, { cgroup: options.cgroup }));
    let line: string;
    try {
      line = await client.#out.next(timeoutMs);
    } catch {
      client.child.kill('SIGKILL');
      throw new Error('connect timeout');
    }
    if (!line.startsWith('connected ')) throw new Error(line);
    [, client.local, client.remote] = line.split(' ');
    return client;
  }

  /** Sends one line and resolves with the reply line. */
  async send(line: string, timeoutMs = 3000): Promise<string> {
    this.child.stdin?.write(`${line}\n`);
    return this.#out.next(timeoutMs);
  }

  /** Closes the connection (FIN) and resolves when the peer closed too. */
  async close(timeoutMs = 3000): Promise<void> {
    this.child.stdin?.end();
    const line = await this.#out.next(timeoutMs);
    if (line !== 'closed') throw new Error(`expected a clean close, got '${line}'`);
  }
}

/** One request on a fresh connection: the reply line, or 'error <code>' / 'connect timeout'. */
export async function request(fx: NetnsFixture, netns: string, host: string, port: number, line: string, timeoutMs = 1500): Promise<string> {
  let client: TcpClient;
  try {
    client = await TcpClient.open(fx, netns, host, port, timeoutMs);
  } catch (err) {
    return (err as Error).message;
  }
  const reply = await client.send(line, timeoutMs).catch(() => 'reply timeout');
  await client.close(timeoutMs).catch(() => client.child.kill('SIGKILL'));
  return reply;
}

async function burst(host: string, port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.send(`burst ${i}\n`, port, host, () => resolve()));
    socket.close();
  }
  console.log('sent');
}

/** N new UDP flows from netns to host:port (one datagram each); resolves when sent. */
export async function udpBurst(fx: NetnsFixture, netns: string, host: string, port: number, count: number): Promise<void> {
  const child = fx.spawn(netns, process.execPath, [script, 'burst', host, String(port), String(count)]);
  const line = await new LineReader(child).next(10000);
  if (line !== 'sent') throw new Error(`burst failed: ${line}`);
}

/** One UDP datagram from netns to host:port: "<reply> from <ip>:<port>", "error <code>" or "timeout". */
export function udpRequest(
  fx: NetnsFixture,
  netns: string,
  host: string,
  port: number,
  text: string,
  options: { cgroup?: string; connected?: boolean } = {},
): Promise<string> {
  const args = [script, 'udp', host, String(port), text, ...(options.connected ? ['connected'] : [])];
  const child = fx.spawn(netns, process.execPath, args, { cgroup: options.cgroup });
  return new LineReader(child).next(4000);
}

if (process.argv[1] === script) {
  const [mode, a, b, c, d] = process.argv.slice(2);
  if (mode === 'server') serve(Number(a), b);
  else if (mode === 'client') connect(a, Number(b), c);
  else if (mode === 'udp') udpOnce(a, Number(b), c, d === 'connected');
  else if (mode === 'burst') void burst(a, Number(b), Number(c));
  else {
    console.error('usage: tcp-peer.js server PORT NAME | client HOST PORT [LOCAL] | udp HOST PORT TEXT [connected] | burst HOST PORT N');
    process.exit(2);
  }
}

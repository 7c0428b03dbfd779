// A small transparent TCP proxy for namespace tests, standing in for the node-local Envoy (none can
// be installed here). It runs in a node's netns with Python 3 (Node cannot set IP_TRANSPARENT):
// listens on 0.0.0.0:PORT with IP_TRANSPARENT, records every accepted connection as a JSON line
// (the client address it saw as `peer`, the original destination as `local` = getsockname), and
// relays it to an upstream — the original destination, or the address `upstreams` maps it to (a VIP
// to a backend) — from the node's own address with SO_MARK = the proxy mark, as a real proxy does.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { proxyUpstreamMark } from '../../bpf/maps/constants.js';
import type { NetnsFixture } from './netns.js';

const python = String.raw`
import json, socket, sys, threading
port, mark, upstreams = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
IP_TRANSPARENT = 19
lock = threading.Lock()

def say(**event):
    with lock:
        print(json.dumps(event), flush=True)

def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass

def handle(conn, peer):
    local = conn.getsockname()
    target = upstreams.get('%s:%d' % local, '%s:%d' % local)
    say(event='accept', peer='%s:%d' % peer, local='%s:%d' % local, upstream=target)
    host, uport = target.rsplit(':', 1)
    up = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    up.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
    up.settimeout(3)
    try:
        up.connect((host, int(uport)))
        up.settimeout(None)
    except OSError as err:
        say(event='upstream-error', peer='%s:%d' % peer, error=str(err))
        conn.sendall(b'proxy-error upstream\n')
        conn.close()
        return
    t = threading.Thread(target=pipe, args=(up, conn), daemon=True)
    t.start()
    pipe(conn, up)
    t.join()
    conn.close()
    up.close()
    say(event='closed', peer='%s:%d' % peer)

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
srv.bind(('0.0.0.0', port))
srv.listen(128)
say(event='listening', port=port)
while True:
    conn, peer = srv.accept()
    threading.Thread(target=handle, args=(conn, peer), daemon=True).start()
`;

export interface ProxyRecord {
  event: 'accept' | 'closed' | 'upstream-error' | 'listening';
  /** "ip:port" of the client as the proxy saw it. */
  peer?: string;
  /** "ip:port" the client connected to (the original destination). */
  local?: string;
  upstream?: string;
  error?: string;
}

export class TransparentProxy {
  readonly child: ChildProcess;
  readonly records: ProxyRecord[] = [];
  readonly port: number;

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
  }

  /** Starts the proxy in the node's netns; resolves once it listens. */
  static async start(
    fx: NetnsFixture,
    nodeNetns: string,
    port: number,
    upstreams: Record<string, string> = {},
    clientIdentity = 0,
  ): Promise<TransparentProxy> {
    const child = fx.spawn(nodeNetns, 'python3', [
      '-u', '-c', python, String(port), String(proxyUpstreamMark(clientIdentity)), JSON.stringify(upstreams),
    ]);
    const proxy = new TransparentProxy(child, port);
    if (!child.stdout) throw new Error('proxy has no stdout pipe');
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('proxy did not start within 5 s')), 5000);
      child.once('exit', (code) => reject(new Error(`proxy exited (${code}) before listening`)));
      lines.on('line', (line) => {
        const record = JSON.parse(line) as ProxyRecord;
        if (record.event !== 'listening') {
          proxy.records.push(record);
          return;
        }
        clearTimeout(timer);
        resolve();
      });
    });
    return proxy;
  }

  /** The records of one event type. */
  accepted(): ProxyRecord[] {
    return this.records.filter((r) => r.event === 'accept');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

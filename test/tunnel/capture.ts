// A packet capture on a node-to-node wire (tcpdump -w inside the node's namespace), searched for
// plaintext after the traffic: proves what an observer of the wire could read.
import { readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NetnsFixture } from '../helpers/netns.js';

export class WireCapture {
  readonly #file: string;
  readonly #child: ReturnType<NetnsFixture['spawn']>;

  private constructor(file: string, child: ReturnType<NetnsFixture['spawn']>) {
    this.#file = file;
    this.#child = child;
  }

  /** Starts capturing every packet on iface (full snap length) in netns. */
  static async start(fx: NetnsFixture, netns: string, iface: string): Promise<WireCapture> {
    const file = `/tmp/${fx.id}-${iface}.pcap`;
    fx.onCleanup(() => rmSync(file, { force: true }));
    const child = fx.spawn(netns, 'tcpdump', ['-i', iface, '-s', '0', '-U', '-n', '-w', file]);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    for (let i = 0; i < 100 && !stderr.includes('listening on'); i++) await sleep(50);
    if (!stderr.includes('listening on')) throw new Error(`tcpdump did not start: ${stderr}`);
    return new WireCapture(file, child);
  }

  /**
   * Stops the capture once tcpdump has caught up (the pcap stopped growing): on SIGINT it leaves
   * what still waits in its kernel ring unread, and on a busy machine that can be all the traffic.
   * Resolves with the pcap's bytes.
   */
  async stop(): Promise<Buffer> {
    let size = -1;
    for (let i = 0; i < 30; i++) {
      await sleep(100);
      const now = statSync(this.#file, { throwIfNoEntry: false })?.size ?? 0;
      if (now === size) break;
      size = now;
    }
    const exited = once(this.#child, 'exit');
    this.#child.kill('SIGINT');
    await exited;
    return readFileSync(this.#file);
  }
}

// One simulated node's HBONE tunnel as a process inside the node's namespace (the tunnel's
// listeners must live there): `node hbone-node.js` reads JSON lines on stdin — {"update": resources}
// applies them (DirectoryResources; `waypoints` as an object) and {"status": true} asks for the
// status — and answers each with one JSON line. HboneNode drives it from a test.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { HboneTunnel, type HboneStatus } from '../../redirector/tunnel/hbone-tunnel.js';
import type { DirectoryResources } from '../../redirector/tunnel/hbone-directory.js';
import type { WaypointTarget } from '../../redirector/tunnel/hbone.js';
import type { NetnsFixture } from '../helpers/netns.js';
import { LineReader } from '../helpers/tcp-peer.js';

const script = fileURLToPath(import.meta.url);

export type NodeResources = Omit<DirectoryResources, 'waypoints'> & { waypoints?: Record<string, WaypointTarget> };

export class HboneNode {
  readonly #child: ChildProcess;
  readonly #out: LineReader;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#out = new LineReader(child);
  }

  static start(fx: NetnsFixture, netns: string): HboneNode {
    return new HboneNode(fx.spawn(netns, process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] }));
  }

  async #ask(message: unknown): Promise<unknown> {
    this.#child.stdin?.write(`${JSON.stringify(message)}\n`);
    const line = await this.#out.next(5000);
    const reply = JSON.parse(line) as { error?: string; result?: unknown };
    if (reply.error) throw new Error(reply.error);
    return reply.result;
  }

  /** Kills the tunnel process (its listeners go with it). */
  async stop(): Promise<void> {
    const exited = once(this.#child, 'exit');
    this.#child.kill('SIGKILL');
    await exited;
  }

  async update(resources: NodeResources): Promise<void> {
    await this.#ask({ update: resources });
  }

  async status(): Promise<HboneStatus> {
    return (await this.#ask({ status: true })) as HboneStatus;
  }
}

if (process.argv[1] === script) {
  const tunnel = new HboneTunnel();
  for await (const line of createInterface({ input: process.stdin })) {
    const message = JSON.parse(line) as { update?: NodeResources; status?: boolean };
    try {
      if (message.update) {
        const { waypoints, ...rest } = message.update;
        await tunnel.update({ ...rest, waypoints: new Map(Object.entries(waypoints ?? {})) });
        console.log(JSON.stringify({ result: 'ok' }));
      } else {
        console.log(JSON.stringify({ result: tunnel.status() }));
      }
    } catch (err) {
      console.log(JSON.stringify({ error: (err as Error).message }));
    }
  }
  await tunnel.close();
}

// Attaches from_pod (ingress) and to_pod (egress) to each local pod's host-side veth as pods
// appear and detaches them when pods go. TCX links are pinned under <pinRoot>/links/<ifname>-<dir>
// so the programs stay attached when the agent stops; a restarted agent re-adopts the pinned links
// and atomically swaps in its freshly loaded programs (bpf_link_update: no packet sees a gap).
// Kernels without TCX get clsact filters, which outlive the process by nature and are replaced in
// place. The agent runs in the node's network namespace, so interface indexes are its own.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { attachTc, TcAttachment, type BpfProgram, type TcDirection } from '../bpf/libbpf.js';
import type { Logger } from '../config/log.js';

const DIRECTIONS: readonly TcDirection[] = ['ingress', 'egress'];

interface Attached {
  ifindex: number;
  links: TcAttachment[];
}

export class Attacher {
  readonly #dir: string;
  readonly #programs: Record<TcDirection, BpfProgram>;
  readonly #log: Logger;
  readonly #attached = new Map<string, Attached>();

  constructor(pinRoot: string, programs: Record<TcDirection, BpfProgram>, log: Logger) {
    this.#dir = join(pinRoot, 'links');
    this.#programs = programs;
    this.#log = log;
    mkdirSync(this.#dir, { recursive: true });
  }

  #pin(ifname: string, direction: TcDirection): string {
    return join(this.#dir, `${ifname}-${direction}`);
  }

  /** Re-adopts the links pinned by an earlier run; drops pins of interfaces that are gone. */
  adopt(): number {
    let adopted = 0;
    for (const file of readdirSync(this.#dir)) {
      const match = /^(.+)-(ingress|egress)$/.exec(file);
      const path = join(this.#dir, file);
      if (!match) continue;
      const [, ifname, direction] = match as unknown as [string, string, TcDirection];
      let link: TcAttachment;
      try {
        link = TcAttachment.fromPin(path);
      } catch (err) {
        this.#log.info({ pin: path, error: (err as Error).message }, 'stale link pin removed');
        rmSync(path, { force: true });
        continue;
      }
      link.link?.update(this.#programs[direction]);
      let entry = this.#attached.get(ifname);
      if (!entry) this.#attached.set(ifname, (entry = { ifindex: link.ifindex, links: [] }));
      entry.links.push(link);
      adopted++;
    }
    return adopted;
  }

  /** Makes the attached set equal `wanted` (ifname → ifindex). */
  sync(wanted: ReadonlyMap<string, number>): { attached: string[]; detached: string[] } {
    const attached: string[] = [];
    const detached: string[] = [];
    for (const [ifname, entry] of this.#attached) {
      if (wanted.get(ifname) === entry.ifindex && entry.links.length === DIRECTIONS.length) continue;
      this.#detach(ifname, entry);
      detached.push(ifname);
    }
    for (const [ifname, ifindex] of wanted) {
      if (this.#attached.has(ifname)) continue;
      try {
        this.#attach(ifname, ifindex);
        attached.push(ifname);
      } catch (err) {
        this.#log.error({ ifname, error: (err as Error).message }, 'cannot attach the datapath');
      }
    }
    if (attached.length || detached.length) this.#log.info({ attached, detached }, 'pod interfaces changed');
    return { attached, detached };
  }

  #attach(ifname: string, ifindex: number): void {
    const entry: Attached = { ifindex, links: [] };
    this.#attached.set(ifname, entry);
    for (const direction of DIRECTIONS) {
      const pin = this.#pin(ifname, direction);
      rmSync(pin, { force: true });
      const link = attachTc(ifindex, direction, this.#programs[direction]);
      if (link.mode === 'tcx') link.pin(pin);
      entry.links.push(link);
    }
  }

  #detach(ifname: string, entry: Attached): void {
    for (const link of entry.links) {
      try {
        link.detach();
      } catch {
        // the interface is gone, and the link with it
      }
    }
    for (const direction of DIRECTIONS) rmSync(this.#pin(ifname, direction), { force: true });
    this.#attached.delete(ifname);
  }

  /** The interfaces with programs attached. */
  interfaces(): { ifname: string; ifindex: number; mode: string }[] {
    return [...this.#attached].map(([ifname, e]) => ({ ifname, ifindex: e.ifindex, mode: e.links[0]?.mode ?? '' }));
  }

  /** Detaches everything (uninstall). */
  detachAll(): void {
    for (const [ifname, entry] of [...this.#attached]) this.#detach(ifname, entry);
    if (existsSync(this.#dir)) rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Drops our handles; pinned links stay attached. */
  close(): void {
    for (const entry of this.#attached.values()) for (const link of entry.links) link.link?.close();
    this.#attached.clear();
  }
}

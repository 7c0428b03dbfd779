// The push queue: at most one pending push per client (a second request before it runs merges into
// it), worked through in time slices so ACKs, new streams and admin requests are served meanwhile.

export interface Pushable {
  /** Set while the client waits in the queue; scheduling it again is a no-op. */
  queued: boolean;
  /** When the pending push was first scheduled (ms since epoch), for the push-latency histogram. */
  queuedAt: number;
  push(): void;
}

const SLICE_MS = 20;

export class PushQueue {
  private items: Pushable[] = [];
  private head = 0;
  private timer: NodeJS.Immediate | NodeJS.Timeout | undefined;

  /**
   * debounceMs: how long a scheduled push waits for more changes to merge before the queue runs.
   * paused: while true (e.g. too many response bytes wait for the network) the queue waits for resume().
   */
  constructor(
    private readonly debounceMs = 0,
    private readonly paused: () => boolean = () => false,
  ) {}

  /** Continues after a pause, if there is work. */
  resume(): void {
    if (this.head < this.items.length) this.arm(0);
  }

  schedule(client: Pushable): void {
    if (client.queued) return;
    client.queued = true;
    client.queuedAt = Date.now();
    this.items.push(client);
    this.arm(this.debounceMs);
  }

  private arm(delayMs: number): void {
    if (this.timer) return;
    this.timer = delayMs > 0 ? setTimeout(() => this.drain(), delayMs) : setImmediate(() => this.drain());
  }

  private drain(): void {
    this.timer = undefined;
    const deadline = Date.now() + SLICE_MS;
    while (this.head < this.items.length) {
      if (this.paused()) return;
      const client = this.items[this.head++] as Pushable;
      client.queued = false;
      client.push();
      if (Date.now() >= deadline) break;
    }
    if (this.head >= this.items.length) {
      this.items = [];
      this.head = 0;
    } else {
      this.arm(0);
    }
  }

  stop(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
    this.timer = undefined;
    this.items = [];
    this.head = 0;
  }
}

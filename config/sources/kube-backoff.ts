// Retry pacing for the Kubernetes watchers: exponential back-off with jitter (so many watchers
// failing together do not retry in lockstep), and a sleep that a stop cuts short.

export interface BackoffOptions {
  /** First delay, ms (default 500). */
  initialMs?: number;
  /** Largest delay, ms (default 30,000). */
  maxMs?: number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  private failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = Math.max(this.initialMs, options.maxMs ?? 30_000);
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** Records a failure and returns how long to wait before the next try: between half and all of initial·2^n, capped. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return withJitter(ceiling);
  }

  reset(): void {
    this.failures = 0;
  }
}

/** A delay between half and all of `ms` ("equal jitter"). */
export function withJitter(ms: number): number {
  return Math.round(ms / 2 + (Math.random() * ms) / 2);
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects). The timer keeps the
 * process alive: a source waiting for its API server is work in progress, not idleness.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

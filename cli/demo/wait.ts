// Waiting until something the demo started answers, failing early when it cannot any more.

/** Thrown by a check that knows waiting longer cannot help. */
export class GiveUp extends Error {}

/**
 * Polls until check() returns a value (not undefined); throws after timeoutMs with the last error,
 * or as soon as failed() names a reason (e.g. the process exited), check throws GiveUp, or the
 * signal aborts.
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; failed?: () => string | undefined; signal?: AbortSignal },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    options.signal?.throwIfAborted();
    const failure = options.failed?.();
    if (failure) throw new Error(`${what}: ${failure}`);
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof GiveUp) throw new Error(`${what}: ${err.message}`);
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${options.timeoutMs} ms${last ? ` (${last})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

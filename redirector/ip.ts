// Running iproute2 (`ip`) in the agent's network namespace: JSON output parsed, errors with stderr.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `ip ARGS...`; resolves with stdout, rejects with the command and its stderr. */
export async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args, { maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/** `ip -j ARGS...` parsed (an empty output is an empty list). */
export async function ipJson<T>(...args: string[]): Promise<T[]> {
  const out = (await ip('-j', ...args)).trim();
  return out ? (JSON.parse(out) as T[]) : [];
}

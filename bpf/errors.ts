// The one error type of the libbpf binding: what failed, the errno (number and name), libbpf's own
// messages, and for a program the kernel rejected, the verifier log.
import { constants } from 'node:os';

const errnoNames = new Map<number, string>([[524, 'ENOTSUPP']]);
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** The name of a positive errno ('EPERM' for 1), or `E<number>` when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** The verifier's reason for rejecting: the last log line before its 'processed N insns' summary. */
function verifierVerdict(log: string | undefined): string {
  const lines = (log ?? '').trimEnd().split('\n');
  const summary = lines.findLastIndex((line) => line.startsWith('processed '));
  const verdict = summary > 0 ? lines[summary - 1] : lines[lines.length - 1];
  return verdict ? `verifier: ${verdict}` : '';
}

export class BpfError extends Error {
  /** Positive errno, e.g. 1. */
  readonly errno: number;
  /** Its name, e.g. 'EPERM'. */
  readonly code: string;
  /** What was being done, e.g. 'map update' or 'open pin /sys/fs/bpf/x'. */
  readonly op: string;
  /** libbpf's warnings printed during the failing call ('' when none). */
  readonly libbpfMessage: string;
  /** The kernel verifier's log when loading a program failed. */
  readonly verifierLog: string | undefined;

  constructor(op: string, errno: number, reason: string, libbpfMessage = '', verifierLog?: string) {
    const detail = [libbpfMessage.trim(), verifierVerdict(verifierLog)].filter(Boolean).join('\n');
    super(`${op}: ${reason} (${errnoName(errno)})${detail ? `\n${detail}` : ''}`);
    this.name = 'BpfError';
    this.op = op;
    this.errno = errno;
    this.code = errnoName(errno);
    this.libbpfMessage = libbpfMessage;
    this.verifierLog = verifierLog;
  }
}

/** True when err is a BpfError with one of the given codes. */
export function isBpfError(err: unknown, ...codes: string[]): err is BpfError {
  return err instanceof BpfError && (codes.length === 0 || codes.includes(err.code));
}

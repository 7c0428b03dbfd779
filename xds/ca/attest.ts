// Node attestation by bootstrap token: each node agent (and each waypoint) proves who it is with a
// per-subject token, HMAC-SHA256 of its subject (`node/<name>`, `waypoint/<ns>/<name>`) under a
// secret key the control plane keeps in its CA directory (0600). Tokens are derived, so the control
// plane stores one key, can write any node's token file for its bootstrap, and checks a presented
// token in constant time. Clients present it in the call metadata header CREDENTIAL_HEADER.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFile } from './store.js';

export const TOKEN_KEY_FILE = 'bootstrap-token-key';
export const TOKEN_DIR = 'bootstrap-tokens';

/** The attested subject of a node agent or node proxy. */
export function nodeSubject(node: string): string {
  return `node/${node}`;
}

/** The attested subject of a waypoint. */
export function waypointSubject(namespace: string, name: string): string {
  return `waypoint/${namespace}/${name}`;
}

/** Where a subject's token file is: `<caDir>/bootstrap-tokens/<subject with / as .>.token`. */
export function tokenFilePath(caDir: string, subject: string): string {
  return join(caDir, TOKEN_DIR, `${subject.replaceAll('/', '.')}.token`);
}

export class BootstrapTokens {
  private constructor(private readonly key: Buffer) {}

  /** Tokens under a fresh in-memory key (tests, or a control plane without a CA directory). */
  static ephemeral(): BootstrapTokens {
    return new BootstrapTokens(randomBytes(32));
  }

  /** The key kept in `dir` (created 0600 on first start), so tokens survive restarts. */
  static loadOrCreate(dir: string): BootstrapTokens {
    const file = join(dir, TOKEN_KEY_FILE);
    if (existsSync(file)) {
      const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
      if (key.length < 32) throw new Error(`${file}: bootstrap token key shorter than 32 bytes`);
      return new BootstrapTokens(key);
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const key = randomBytes(32);
    writePrivateFile(file, `${key.toString('base64url')}\n`);
    return new BootstrapTokens(key);
  }

  /** The token of a subject. */
  tokenFor(subject: string): string {
    return createHmac('sha256', this.key).update(subject).digest('base64url');
  }

  /** Whether `token` is the subject's token (constant time). */
  verify(subject: string, token: string | undefined): boolean {
    if (!token) return false;
    const expected = Buffer.from(this.tokenFor(subject));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Writes a subject's token to `<dir>/bootstrap-tokens/<subject with / as .>.token` (0600); returns the path. */
  writeToken(dir: string, subject: string): string {
    mkdirSync(join(dir, TOKEN_DIR), { recursive: true, mode: 0o700 });
    const path = tokenFilePath(dir, subject);
    writePrivateFile(path, `${this.tokenFor(subject)}\n`);
    return path;
  }
}

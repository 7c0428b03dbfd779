// Running `ip`, `nsenter` and `sysctl` for the demo's namespaces: synchronous, one command each,
// with the command's stderr in the error when it fails.
import { spawnSync } from 'node:child_process';

/** The path `ip netns add NAME` creates, which nsenter --net= takes. */
export function netnsPath(netns: string): string {
  return `/var/run/netns/${netns}`;
}

/** Runs a command; its stdout, or an Error naming the command and its stderr. */
export function run(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** `ip -n NETNS args…` (the root namespace when netns is undefined). */
export function ip(netns: string | undefined, ...args: string[]): string {
  return run('ip', netns === undefined ? args : ['-n', netns, ...args]);
}

/** Sets sysctls (name=value) inside netns. */
export function sysctl(netns: string, ...settings: string[]): void {
  run('nsenter', [`--net=${netnsPath(netns)}`, 'sysctl', '-q', '-w', ...settings]);
}

/** The network namespaces that exist (`ip netns list`), by name. */
export function listNetns(): string[] {
  return ip(undefined, 'netns', 'list')
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
}

// Running the tunnels' helper commands (`ip`, `wg`) where the tunnel lives: in the agent's own
// network namespace, or — for tests and simulated nodes — inside a named one (`nsenter --net=`),
// optionally also inside a mount namespace (wireguard-go keeps its control socket in a private
// /run/wireguard there, so two simulated nodes' `skiff-wg0` sockets do not collide).
import { execFile } from 'node:child_process';

export interface Place {
  /** Network namespace path (e.g. /var/run/netns/NAME); the current one when absent. */
  netns?: string;
  /** Mount namespace path (e.g. /proc/PID/ns/mnt). */
  mountns?: string;
}

/** The argv that runs `cmd args` in place. */
export function placed(place: Place, cmd: string, args: string[]): [string, string[]] {
  const enter: string[] = [];
  if (place.netns) enter.push(`--net=${place.netns}`);
  if (place.mountns) enter.push(`--mount=${place.mountns}`);
  return enter.length ? ['nsenter', [...enter, cmd, ...args]] : [cmd, args];
}

/** Runs `cmd args` in place; resolves with stdout, rejects with stderr. */
export function runIn(place: Place, cmd: string, args: string[]): Promise<string> {
  const [file, argv] = placed(place, cmd, args);
  return new Promise((resolve, reject) => {
    execFile(file, argv, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

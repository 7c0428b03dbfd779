// Fixtures of the libbpf binding tests: paths of the test objects, a private pin directory on
// bpffs, a veth pair with one end in a fresh network namespace, and waiting for kernel-side effects.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureBpffs, ifindexOf } from '../../bpf/libbpf.js';

const execFileAsync = promisify(execFile);

/** The compiled eBPF objects (bpf/build/NAME.bpf.o of the repository). */
export function objectPath(name: string): string {
  return fileURLToPath(new URL(`../../../bpf/build/${name}.bpf.o`, import.meta.url));
}

/** A fresh directory on /sys/fs/bpf for one test file's pins; remove() deletes it with its pins. */
export function pinDir(tag: string): { path: string; remove(): void } {
  ensureBpffs();
  const path = join('/sys/fs/bpf', `skiff-test-${tag}-${process.pid}`);
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A network namespace joined to the root namespace by a veth pair: `hostIf` (root side, where the
 * tests attach programs by ifindex) and its peer inside the namespace. Pins and attachments are
 * made from the root namespace; only traffic enters the namespace (nsenter, not `ip netns exec`).
 */
export class VethNetns {
  readonly name: string;
  readonly hostIf: string;
  readonly hostAddr: string;
  readonly peerAddr: string;
  readonly hostIfindex: number;

  /** tag: a few letters naming the test; subnet: 0..63, distinct per namespace of one test file. */
  constructor(tag: string, subnet: number) {
    this.name = `skiff-${tag}-${process.pid}`;
    this.hostIf = `sk${tag}${process.pid}`.slice(0, 15);
    const peerIf = `${this.hostIf.slice(0, 13)}p`;
    const net = `10.213.${process.pid % 250}`;
    this.hostAddr = `${net}.${subnet * 4 + 1}`;
    this.peerAddr = `${net}.${subnet * 4 + 2}`;
    this.destroy();
    const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
    ip('netns', 'add', this.name);
    ip('link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', peerIf);
    ip('link', 'set', peerIf, 'netns', this.name);
    ip('addr', 'add', `${this.hostAddr}/30`, 'dev', this.hostIf);
    ip('link', 'set', this.hostIf, 'up');
    ip('-n', this.name, 'addr', 'add', `${this.peerAddr}/30`, 'dev', peerIf);
    ip('-n', this.name, 'link', 'set', peerIf, 'up');
    ip('-n', this.name, 'link', 'set', 'lo', 'up');
    this.hostIfindex = ifindexOf(this.hostIf);
  }

  /** Sends `count` UDP datagrams of `size` bytes from inside the namespace to the host side. */
  async sendUdp(count: number, size = 64): Promise<void> {
    const script = `
      const s = require('node:dgram').createSocket('udp4');
      let sent = 0;
      const next = () => sent++ < ${count} ? s.send(Buffer.alloc(${size}), 9, '${this.hostAddr}', next) : s.close();
      next();`;
    await execFileAsync('nsenter', [`--net=/var/run/netns/${this.name}`, process.execPath, '-e', script]);
  }

  /** Deletes the namespace (and with it the veth pair). Safe to call twice. */
  destroy(): void {
    spawnSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
  }
}

/** Waits until check() returns true (kernel effects are asynchronous); false after timeoutMs. */
export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

/** A little-endian u32 / u64 buffer, as our test maps' keys and values are. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

export function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

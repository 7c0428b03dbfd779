// Attaching the datapath's TC programs to host-side veths that live in a simulated node's netns.
// TC attachment resolves the ifindex in the caller's netns, so a child process entered into the
// node's netns (`nsenter --net=`) does it: `node tc-attach.js PIN_DIR IFNAME...` opens the
// programs pinned at PIN_DIR/from_pod and PIN_DIR/to_pod, attaches them (TCX, or clsact where the
// kernel lacks it) to each IFNAME's ingress and egress, pins the TCX links at
// PIN_DIR/link-IFNAME-{ingress,egress} and exits; the links live on through their pins.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attachTc, BpfProgram, ifindexOf, TcAttachment } from '../../bpf/libbpf.js';
import { Programs } from '../../bpf/maps/constants.js';
import type { NetnsFixture } from './netns.js';

const script = fileURLToPath(import.meta.url);

/** Where attachInNetns pins the TCX link of ifname's hook. */
export function linkPin(pinDir: string, ifname: string, direction: 'ingress' | 'egress'): string {
  return join(pinDir, `link-${ifname}-${direction}`);
}

/** Attaches from_pod (ingress) and to_pod (egress) of PIN_DIR to each host veth of netns. */
export function attachInNetns(fx: NetnsFixture, netns: string, pinDir: string, ifnames: string[]): void {
  fx.exec(netns, process.execPath, script, pinDir, ...ifnames);
}

/** Detaches what attachInNetns attached to ifname (from any netns: links are detached by fd). */
export function detachPinned(pinDir: string, ifname: string): void {
  for (const direction of ['ingress', 'egress'] as const) {
    const path = linkPin(pinDir, ifname, direction);
    if (existsSync(path)) TcAttachment.fromPin(path).detach();
  }
}

function main(pinDir: string, ifnames: string[]): void {
  const fromPod = BpfProgram.fromPin(join(pinDir, Programs.FROM_POD));
  const toPod = BpfProgram.fromPin(join(pinDir, Programs.TO_POD));
  for (const ifname of ifnames) {
    const ifindex = ifindexOf(ifname);
    for (const [direction, prog] of [['ingress', fromPod], ['egress', toPod]] as const) {
      const attachment = attachTc(ifindex, direction, prog);
      if (attachment.mode === 'tcx') attachment.pin(linkPin(pinDir, ifname, direction));
    }
  }
  fromPod.close();
  toPod.close();
}

if (process.argv[1] === script) {
  const [pinDir, ...ifnames] = process.argv.slice(2);
  main(pinDir, ifnames);
}

// A kernel BPF link (TCX or cgroup attachment): pin it so the attachment outlives the process,
// reopen it from the pin after a restart, swap its program atomically, or detach it. close()
// only drops our fd: an unpinned link then detaches, a pinned one stays attached.
import { rmSync } from 'node:fs';
import { adoptFd, BpfFd } from './fd.js';
import { native, type NativeLinkInfo } from './native.js';

/** Anything with a program fd (a BpfProgram). */
export interface ProgramFd {
  readonly fd: number;
}

export class BpfLink extends BpfFd {
  /** Kernel link id. */
  readonly id: number;
  /** BPF_LINK_TYPE_* (cgroup 3, tcx 11). */
  readonly type: number;
  /** Attach type number (BPF_TCX_INGRESS 46, BPF_CGROUP_INET4_CONNECT 10, ...). */
  readonly attachType: number | undefined;
  /** For TCX links: the interface. */
  readonly ifindex: number | undefined;
  /** For cgroup links: the cgroup's id. */
  readonly cgroupId: number | undefined;
  #pinPath: string | undefined;

  private constructor(fd: number, info: NativeLinkInfo, pinPath?: string) {
    super(fd, undefined, `link ${info.id}`);
    this.id = info.id;
    this.type = info.type;
    this.attachType = info.attachType;
    this.ifindex = info.ifindex;
    this.cgroupId = info.cgroupId;
    this.#pinPath = pinPath;
  }

  static #fromFd(fd: number, pinPath?: string): BpfLink {
    return adoptFd(fd, () => new BpfLink(fd, native.linkInfo(fd), pinPath));
  }

  /** Creates a link (bpf_link_create): target is an ifindex (TCX) or a cgroup directory fd. */
  static create(prog: ProgramFd, target: number, attachType: number): BpfLink {
    return BpfLink.#fromFd(native.linkCreate(prog.fd, target, attachType));
  }

  /** Reopens a pinned link (e.g. after an agent restart); detach() then also removes the pin. */
  static fromPin(path: string): BpfLink {
    return BpfLink.#fromFd(native.objGet(path), path);
  }

  /** Where this link is pinned, if it was pinned or reopened by this process. */
  get pinPath(): string | undefined {
    return this.#pinPath;
  }

  /** The id of the program currently attached through the link. */
  get progId(): number {
    return native.linkInfo(this.fd).progId;
  }

  /** Pins the link: the attachment then survives this process until the pin is removed. */
  override pin(path: string): void {
    super.pin(path);
    this.#pinPath = path;
  }

  /** Atomically replaces the attached program (bpf_link_update). */
  update(prog: ProgramFd): void {
    native.linkUpdate(this.fd, prog.fd);
  }

  /** Detaches the program now (even if pinned elsewhere), removes our pin, closes the fd. */
  detach(): void {
    native.linkDetach(this.fd);
    if (this.#pinPath) rmSync(this.#pinPath, { force: true });
    this.#pinPath = undefined;
    this.close();
  }
}

// Attaching programs to the traffic-control hooks of an interface: TCX links where the kernel has
// them (6.6+; pinnable, so they survive an agent restart), clsact filters (bpf_tc_*) otherwise
// (they survive the process by nature). Attach from the root namespace by ifindex: pins are not
// visible under `ip netns exec`, which remounts /sys.
import { isBpfError } from './errors.js';
import { BpfLink, type ProgramFd } from './link.js';
import { native } from './native.js';

export type TcDirection = 'ingress' | 'egress';
export type TcMode = 'tcx' | 'clsact';

export interface TcAttachOptions {
  /** 'auto' (default) uses TCX and falls back to clsact when the kernel lacks it. */
  mode?: TcMode | 'auto';
  /** clsact filter priority (default 1; 0 lets the kernel choose). */
  priority?: number;
  /** clsact filter handle (default 1; 0 lets the kernel choose). */
  handle?: number;
  /** clsact: replace an existing filter with the same priority and handle (default true). */
  replace?: boolean;
}

function tcxAttachType(direction: TcDirection): number {
  return direction === 'ingress' ? native.constants.TCX_INGRESS : native.constants.TCX_EGRESS;
}

/** One program attached to one hook of one interface. */
export class TcAttachment {
  readonly ifindex: number;
  readonly direction: TcDirection;
  readonly mode: TcMode;
  /** TCX only: the link (pin it with pin()). */
  readonly link: BpfLink | undefined;
  /** clsact only: the filter's priority and handle, which identify it for detach/adopt. */
  readonly priority: number | undefined;
  readonly handle: number | undefined;

  private constructor(
    ifindex: number,
    direction: TcDirection,
    mode: TcMode,
    link?: BpfLink,
    filter?: { priority: number; handle: number },
  ) {
    this.ifindex = ifindex;
    this.direction = direction;
    this.mode = mode;
    this.link = link;
    this.priority = filter?.priority;
    this.handle = filter?.handle;
  }

  /** @internal */
  static tcx(ifindex: number, direction: TcDirection, link: BpfLink): TcAttachment {
    return new TcAttachment(ifindex, direction, 'tcx', link);
  }

  /** Re-adopts a clsact filter known by (priority, handle); undefined when no such filter. */
  static clsact(
    ifindex: number,
    direction: TcDirection,
    filter: { priority: number; handle: number },
  ): TcAttachment | undefined {
    const progId = native.tcQuery(ifindex, direction === 'ingress', filter.priority, filter.handle);
    return progId === undefined ? undefined : new TcAttachment(ifindex, direction, 'clsact', undefined, filter);
  }

  /** Re-adopts a TCX attachment from its pinned link (after an agent restart). */
  static fromPin(path: string): TcAttachment {
    const link = BpfLink.fromPin(path);
    if (link.type !== native.constants.LINK_TYPE_TCX || link.ifindex === undefined) {
      link.close();
      throw new Error(`${path} is not a TCX link`);
    }
    const direction = link.attachType === native.constants.TCX_INGRESS ? 'ingress' : 'egress';
    return TcAttachment.tcx(link.ifindex, direction, link);
  }

  /** The id of the attached program (undefined when a clsact filter is gone). */
  get progId(): number | undefined {
    if (this.link) return this.link.progId;
    return native.tcQuery(this.ifindex, this.direction === 'ingress', this.priority ?? 0, this.handle ?? 0);
  }

  /** Pins the TCX link so the attachment survives the process. */
  pin(path: string): void {
    if (!this.link) throw new Error('only TCX attachments are links that can be pinned');
    this.link.pin(path);
  }

  /** Detaches the program (and removes the link's pin, if any). */
  detach(): void {
    if (this.link) {
      this.link.detach();
      return;
    }
    native.tcDetach(this.ifindex, this.direction === 'ingress', this.priority ?? 0, this.handle ?? 0);
  }
}

/** Attaches a sched_cls program (SEC("tc")) to an interface's ingress or egress. */
export function attachTc(
  ifindex: number,
  direction: TcDirection,
  prog: ProgramFd,
  options: TcAttachOptions = {},
): TcAttachment {
  const mode = options.mode ?? 'auto';
  if (mode !== 'clsact') {
    try {
      return TcAttachment.tcx(ifindex, direction, BpfLink.create(prog, ifindex, tcxAttachType(direction)));
    } catch (err) {
      // A kernel without TCX rejects the attach type with EINVAL.
      if (mode === 'tcx' || !isBpfError(err, 'EINVAL', 'EOPNOTSUPP', 'ENOTSUPP')) throw err;
    }
  }
  const ingress = direction === 'ingress';
  native.tcHookCreate(ifindex, ingress);
  const filter = native.tcAttach(
    ifindex,
    ingress,
    prog.fd,
    options.priority ?? 1,
    options.handle ?? 1,
    options.replace ?? true,
  );
  return TcAttachment.clsact(ifindex, direction, filter) as TcAttachment;
}

export interface TcProgramInfo {
  direction: TcDirection;
  progId: number;
}

/** The programs attached through TCX to an interface, in run order (bpf_prog_query). */
export function listTcAttachments(ifindex: number): TcProgramInfo[] {
  const found: TcProgramInfo[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    for (const progId of native.progQuery(ifindex, tcxAttachType(direction))) {
      found.push({ direction, progId });
    }
  }
  return found;
}

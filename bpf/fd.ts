// The file descriptor behind a map, program or link: either owned (reopened from a pin or an id,
// closed by close()) or borrowed from a BpfObject (closed with the object, which invalidates it).
import { BpfError } from './errors.js';
import { native } from './native.js';

/** Builds something from a fresh fd, closing the fd if building throws. */
export function adoptFd<T>(fd: number, build: (fd: number) => T): T {
  try {
    return build(fd);
  } catch (err) {
    native.closeFd(fd);
    throw err;
  }
}

export abstract class BpfFd {
  #fd: number;
  /** The BpfObject the fd belongs to (referenced so that GC cannot close it under us), or
   * undefined when the fd is ours. */
  readonly #owner: object | undefined;
  readonly #label: string;

  protected constructor(fd: number, owner: object | undefined, label: string) {
    this.#fd = fd;
    this.#owner = owner;
    this.#label = label;
  }

  /** The file descriptor; throws EBADF once closed. */
  get fd(): number {
    if (this.#fd < 0) throw new BpfError(this.#label, 9, 'closed (its object or file descriptor is gone)');
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Pins it at path on a bpffs (see ensureBpffs). */
  pin(path: string): void {
    native.objPin(this.fd, path);
  }

  /** Closes an fd of our own; one borrowed from a BpfObject closes with the object. */
  close(): void {
    if (!this.#owner && this.#fd >= 0) native.closeFd(this.#fd);
    this.#fd = -1;
  }

  /** @internal Called by BpfObject.close. */
  invalidate(): void {
    this.#fd = -1;
  }
}

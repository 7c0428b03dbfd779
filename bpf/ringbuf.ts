// Reading a BPF_MAP_TYPE_RINGBUF map without ever blocking the event loop: the native side polls
// the ring buffer's epoll fd with libuv and drains it when readable, handing records over here.
import { BpfError } from './errors.js';
import { native, type NativeHandle } from './native.js';

export class RingBufferReader {
  #handle: NativeHandle | undefined;

  /**
   * Starts reading: onRecord gets each record (a copy) on the event loop, in order; if it throws,
   * the rest of the batch is still delivered and the first error becomes an uncaught exception.
   * onError (default: throw, i.e. an uncaught exception) gets a failed drain. While open the reader keeps the process
   * alive unless unref() is called; close() it when done.
   */
  constructor(
    map: { readonly fd: number; readonly name?: string },
    onRecord: (data: Buffer) => void,
    onError?: (err: BpfError) => void,
  ) {
    this.#handle = native.ringbufOpen(map.fd, (records, errno) => {
      // A throwing handler must not cost the records after it: deliver all, then rethrow.
      let failure: unknown;
      for (const record of records) {
        try {
          onRecord(record);
        } catch (err) {
          failure ??= err;
        }
      }
      if (failure !== undefined) throw failure;
      if (errno !== undefined) {
        const err = new BpfError(`ring buffer ${map.name ?? ''} consume`, errno, 'read failed');
        if (!onError) throw err;
        onError(err);
      }
    });
  }

  get closed(): boolean {
    return this.#handle === undefined;
  }

  /** Lets the process exit while the reader is open. */
  unref(): this {
    if (this.#handle) native.ringbufRef(this.#handle, false);
    return this;
  }

  ref(): this {
    if (this.#handle) native.ringbufRef(this.#handle, true);
    return this;
  }

  /** Stops reading; records not yet delivered are dropped. */
  close(): void {
    if (this.#handle) native.ringbufClose(this.#handle);
    this.#handle = undefined;
  }
}

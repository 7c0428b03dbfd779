// The typed face of skiff's libbpf binding: open and load eBPF objects, reach their maps and
// programs, pin and reopen them, plus small system utilities. Attaching lives in tc.ts, cgroup.ts
// and link.ts, the ring buffer reader in ringbuf.ts; all are re-exported here, so users import
// this module only. Map keys and values are raw Buffers; bpf/maps/ encodes our structs.
import { mkdirSync } from 'node:fs';
import { BpfError } from './errors.js';
import { adoptFd, BpfFd } from './fd.js';
import { native, type NativeHandle, type NativeMapInfo, type NativeProgramInfo } from './native.js';

export { BpfError, errnoName, isBpfError } from './errors.js';
export { BpfLink } from './link.js';
export {
  attachTc,
  listTcAttachments,
  TcAttachment,
  type TcAttachOptions,
  type TcDirection,
  type TcMode,
  type TcProgramInfo,
} from './tc.js';
export { attachCgroup, cgroupAttachTypes, type CgroupAttachType } from './cgroup.js';
export { RingBufferReader } from './ringbuf.js';

/** How update() treats an existing key: BPF_ANY, BPF_NOEXIST, BPF_EXIST. */
export type UpdateFlag = 'any' | 'noexist' | 'exist';

const updateFlags: Record<UpdateFlag, number> = {
  any: native.constants.ANY,
  noexist: native.constants.NOEXIST,
  exist: native.constants.EXIST,
};

/** Batch commands the map type does not implement fail with one of these; we go per element. */
const batchUnsupported = ['ENOTSUPP', 'EOPNOTSUPP', 'EINVAL'];

let possibleCpus: number | undefined;

/** Number of possible CPUs (the count per-CPU map values are laid out for). */
export function numPossibleCpus(): number {
  possibleCpus ??= native.numPossibleCpus();
  return possibleCpus;
}

/** The ifindex of a network interface of this network namespace (if_nametoindex). */
export function ifindexOf(name: string): number {
  return native.ifNameToIndex(name);
}

/**
 * Makes sure a bpffs is mounted at path (creating the directory), mounting one if not.
 * Returns true when it mounted one now. Pins live there; note that `ip netns exec` remounts /sys,
 * so pins under /sys/fs/bpf are invisible inside it: pin and attach from the root namespace (by
 * ifindex) and enter namespaces with `nsenter --net=/var/run/netns/NAME` for traffic only.
 */
export function ensureBpffs(path = '/sys/fs/bpf'): boolean {
  mkdirSync(path, { recursive: true });
  return native.mountBpffs(path);
}

function sizeError(what: string, expected: number, got: number): BpfError {
  return new BpfError(what, 22, `expected ${expected} bytes, got ${got}`);
}

/** A map: of a loaded BpfObject (closed with it) or reopened from a pin (close it yourself). */
export class BpfMap extends BpfFd {
  readonly name: string;
  /** Kernel map type number (BPF_MAP_TYPE_*). */
  readonly type: number;
  /** e.g. 'hash', 'percpu_array', 'ringbuf'. */
  readonly typeName: string;
  readonly keySize: number;
  /** Size of one value; per-CPU maps hold valueBufferSize bytes per key. */
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly perCpu: boolean;
  /** Bytes of a value as lookup returns and update takes it: numCPUs × roundup8(valueSize) per-CPU. */
  readonly valueBufferSize: number;

  private constructor(info: NativeMapInfo, owner: object | undefined) {
    super(info.fd, owner, `map ${info.name}`);
    this.name = info.name;
    this.type = info.type;
    this.typeName = info.typeName;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.flags = info.flags;
    this.perCpu = info.perCpu;
    this.valueBufferSize = info.perCpu
      ? numPossibleCpus() * Math.ceil(info.valueSize / 8) * 8
      : info.valueSize;
  }

  /** @internal Used by BpfObject. */
  static fromObject(info: NativeMapInfo, owner: BpfObject): BpfMap {
    return new BpfMap(info, owner);
  }

  /** Opens a pinned map (bpf_obj_get + bpf_map_get_info_by_fd). Close it when done. */
  static fromPin(path: string): BpfMap {
    return adoptFd(native.objGet(path), (fd) => new BpfMap(native.mapInfo(fd), undefined));
  }

  #key(key: Buffer): Buffer {
    if (key.length !== this.keySize) throw sizeError(`map ${this.name} key`, this.keySize, key.length);
    return key;
  }

  #value(value: Buffer): Buffer {
    if (value.length !== this.valueBufferSize) {
      throw sizeError(`map ${this.name} value`, this.valueBufferSize, value.length);
    }
    return value;
  }

  /** The value under key, or undefined when absent. */
  lookup(key: Buffer): Buffer | undefined {
    const value = Buffer.alloc(this.valueBufferSize);
    return native.mapLookup(this.fd, this.#key(key), value) ? value : undefined;
  }

  update(key: Buffer, value: Buffer, flags: UpdateFlag = 'any'): void {
    native.mapUpdate(this.fd, this.#key(key), this.#value(value), updateFlags[flags]);
  }

  /** Deletes key; false when it was absent. */
  delete(key: Buffer): boolean {
    return native.mapDelete(this.fd, this.#key(key));
  }

  /** Removes and returns the value under key (hash maps; queues/stacks take an empty key). */
  lookupAndDelete(key: Buffer): Buffer | undefined {
    const value = Buffer.alloc(this.valueBufferSize);
    return native.mapLookupAndDelete(this.fd, this.#key(key), value) ? value : undefined;
  }

  /** Every key (bpf_map_get_next_key). Deleting the current key of a hash map restarts the walk. */
  *keys(): Generator<Buffer> {
    let key: Buffer | null = null;
    while (true) {
      const next = Buffer.alloc(this.keySize);
      if (!native.mapNextKey(this.fd, key, next)) return;
      yield next;
      key = next;
    }
  }

  /** Every [key, value]; keys deleted meanwhile are skipped. */
  *entries(): Generator<[Buffer, Buffer]> {
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value) yield [key, value];
    }
  }

  /** Splits a per-CPU value into one Buffer per possible CPU (each valueSize bytes). */
  perCpuValues(value: Buffer): Buffer[] {
    const stride = this.valueBufferSize / numPossibleCpus();
    const parts: Buffer[] = [];
    for (let offset = 0; offset < value.length; offset += stride) {
      parts.push(value.subarray(offset, offset + this.valueSize));
    }
    return parts;
  }

  /**
   * Writes many entries in one bpf_map_update_batch call; map types without batch support are
   * written element by element.
   */
  batchUpdate(keys: Buffer[], values: Buffer[], flags: UpdateFlag = 'any'): void {
    if (keys.length !== values.length) {
      throw new BpfError(`map ${this.name} batch update`, 22, `${keys.length} keys but ${values.length} values`);
    }
    if (keys.length === 0) return;
    const packedKeys = Buffer.concat(keys.map((k) => this.#key(k)));
    const packedValues = Buffer.concat(values.map((v) => this.#value(v)));
    try {
      native.mapUpdateBatch(this.fd, packedKeys, packedValues, keys.length, updateFlags[flags]);
    } catch (err) {
      if (!(err instanceof BpfError) || !batchUnsupported.includes(err.code)) throw err;
      for (let i = 0; i < keys.length; i++) this.update(keys[i], values[i], flags);
    }
  }

  /**
   * Deletes many keys in one bpf_map_delete_batch call (element by element where the map type
   * has no batch delete, or when some key is absent). Returns how many were deleted.
   */
  batchDelete(keys: Buffer[]): number {
    if (keys.length === 0) return 0;
    try {
      return native.mapDeleteBatch(this.fd, Buffer.concat(keys.map((k) => this.#key(k))), keys.length);
    } catch (err) {
      if (!(err instanceof BpfError) || ![...batchUnsupported, 'ENOENT'].includes(err.code)) throw err;
      let deleted = 0;
      for (const key of keys) if (this.delete(key)) deleted++;
      return deleted;
    }
  }
}

/** A program: of a loaded BpfObject (closed with it) or reopened from a pin. */
export class BpfProgram extends BpfFd {
  readonly name: string;
  /** ELF section, e.g. 'tc' or 'cgroup/connect4' ('' when reopened from a pin). */
  readonly section: string;
  /** Kernel program type number (BPF_PROG_TYPE_*). */
  readonly type: number;
  /** e.g. 'sched_cls', 'cgroup_sock_addr'. */
  readonly typeName: string;

  private constructor(info: NativeProgramInfo, owner: object | undefined) {
    super(info.fd, owner, `program ${info.name}`);
    this.name = info.name;
    this.section = info.section;
    this.type = info.type;
    this.typeName = info.typeName;
  }

  /** @internal Used by BpfObject. */
  static fromObject(info: NativeProgramInfo, owner: BpfObject): BpfProgram {
    return new BpfProgram(info, owner);
  }

  /** Opens a pinned program. Close it when done. */
  static fromPin(path: string): BpfProgram {
    return BpfProgram.#fromFd(native.objGet(path));
  }

  /** Opens a loaded program by its kernel id (as listTcAttachments reports). Close it when done. */
  static fromId(id: number): BpfProgram {
    return BpfProgram.#fromFd(native.progFdById(id));
  }

  static #fromFd(fd: number): BpfProgram {
    return adoptFd(fd, () => new BpfProgram(native.progInfo(fd), undefined));
  }

  /** The kernel's id of the program. */
  get id(): number {
    return native.progInfo(this.fd).id;
  }
}

export interface BpfObjectOptions {
  /** Maps declared with `__uint(pinning, LIBBPF_PIN_BY_NAME)` are pinned here as PIN/NAME, and an
   * existing compatible pin is reused instead of creating the map (state survives restarts).
   * Default: libbpf's, /sys/fs/bpf. */
  pinRoot?: string;
  /** Bytes kept for the verifier log of a program that fails to load (default 4 MiB). */
  verifierLogSize?: number;
}

/** An eBPF object file (clang -target bpf output): open, optionally resize maps, load, use. */
export class BpfObject {
  readonly path: string;
  #handle: NativeHandle | undefined;
  #loaded = false;
  readonly #maps = new Map<string, BpfMap>();
  readonly #programs = new Map<string, BpfProgram>();

  private constructor(path: string, handle: NativeHandle) {
    this.path = path;
    this.#handle = handle;
  }

  /** Parses the object file (nothing reaches the kernel until load()). */
  static open(path: string, options: BpfObjectOptions = {}): BpfObject {
    const handle = native.objectOpen(path, options.pinRoot ?? null, options.verifierLogSize ?? 4 << 20);
    return new BpfObject(path, handle);
  }

  get #h(): NativeHandle {
    if (!this.#handle) throw new BpfError(`object ${this.path}`, 9, 'closed');
    return this.#handle;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /** Sets a map's max_entries before load(). */
  setMaxEntries(mapName: string, maxEntries: number): this {
    native.mapSetMaxEntries(this.#h, mapName, maxEntries);
    return this;
  }

  /** Creates (or reuses pinned) maps and loads every program; a rejected program throws a BpfError
   * whose verifierLog holds the verifier's log. */
  load(): this {
    native.objectLoad(this.#h);
    this.#loaded = true;
    const { maps, programs } = native.objectContents(this.#h);
    for (const info of maps) this.#maps.set(info.name, BpfMap.fromObject(info, this));
    for (const info of programs) this.#programs.set(info.name, BpfProgram.fromObject(info, this));
    return this;
  }

  #requireLoaded(): void {
    if (!this.#loaded) throw new BpfError(`object ${this.path}`, 22, 'not loaded yet (call load())');
  }

  map(name: string): BpfMap {
    this.#requireLoaded();
    const map = this.#maps.get(name);
    if (!map) throw new BpfError(`map ${name} in ${this.path}`, 2, 'no such map');
    return map;
  }

  program(name: string): BpfProgram {
    this.#requireLoaded();
    const program = this.#programs.get(name);
    if (!program) throw new BpfError(`program ${name} in ${this.path}`, 2, 'no such program');
    return program;
  }

  maps(): BpfMap[] {
    this.#requireLoaded();
    return [...this.#maps.values()];
  }

  programs(): BpfProgram[] {
    this.#requireLoaded();
    return [...this.#programs.values()];
  }

  /** Closes the object with its maps and programs (pinned ones and attached links stay). */
  close(): void {
    if (!this.#handle) return;
    for (const map of this.#maps.values()) map.invalidate();
    for (const program of this.#programs.values()) program.invalidate();
    native.objectClose(this.#handle);
    this.#handle = undefined;
  }
}

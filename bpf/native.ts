// Loads the N-API addon (built by scripts/build-native.sh into bpf/build/skiff_bpf.node) and
// describes its functions. Only the modules of bpf/ use it; everything else goes through libbpf.ts.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BpfError } from './errors.js';

declare const handleBrand: unique symbol;
/** An opaque native handle (bpf_object or ring buffer). */
export type NativeHandle = { readonly [handleBrand]: true };

export interface NativeMapInfo {
  name: string;
  type: number;
  typeName: string;
  perCpu: boolean;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  fd: number;
  id: number;
}

export interface NativeProgramInfo {
  name: string;
  section: string;
  type: number;
  typeName: string;
  fd: number;
  id: number;
}

export interface NativeLinkInfo {
  id: number;
  type: number;
  progId: number;
  attachType?: number;
  ifindex?: number;
  cgroupId?: number;
}

interface Native {
  setErrorFactory(
    factory: (op: string, errno: number, reason: string, libbpf: string, log?: string) => Error,
  ): void;
  objectOpen(path: string, pinRoot: string | null, logSize: number): NativeHandle;
  objectLoad(h: NativeHandle): void;
  objectClose(h: NativeHandle): void;
  objectContents(h: NativeHandle): { maps: NativeMapInfo[]; programs: NativeProgramInfo[] };
  mapSetMaxEntries(h: NativeHandle, name: string, n: number): void;
  mapLookup(fd: number, key: Buffer, value: Buffer): boolean;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): void;
  mapDelete(fd: number, key: Buffer): boolean;
  mapLookupAndDelete(fd: number, key: Buffer, value: Buffer): boolean;
  mapNextKey(fd: number, key: Buffer | null, next: Buffer): boolean;
  mapUpdateBatch(fd: number, keys: Buffer, values: Buffer, count: number, flags: number): number;
  mapDeleteBatch(fd: number, keys: Buffer, count: number): number;
  objPin(fd: number, path: string): void;
  objGet(path: string): number;
  closeFd(fd: number): void;
  mapInfo(fd: number): NativeMapInfo;
  progInfo(fd: number): NativeProgramInfo;
  linkInfo(fd: number): NativeLinkInfo;
  linkCreate(progFd: number, target: number, attachType: number): number;
  linkDetach(fd: number): void;
  linkUpdate(fd: number, progFd: number): void;
  progQuery(target: number, attachType: number): number[];
  progFdById(id: number): number;
  tcHookCreate(ifindex: number, ingress: boolean): void;
  tcAttach(
    ifindex: number,
    ingress: boolean,
    progFd: number,
    priority: number,
    handle: number,
    replace: boolean,
  ): { priority: number; handle: number; progId: number };
  tcDetach(ifindex: number, ingress: boolean, priority: number, handle: number): void;
  tcQuery(ifindex: number, ingress: boolean, priority: number, handle: number): number | undefined;
  ringbufOpen(mapFd: number, onRecords: (records: Buffer[], errno?: number) => void): NativeHandle;
  ringbufClose(h: NativeHandle): void;
  ringbufRef(h: NativeHandle, ref: boolean): void;
  numPossibleCpus(): number;
  ifNameToIndex(name: string): number;
  mountBpffs(path: string): boolean;
  constants: Record<string, number>;
}

/** Where the build puts the addon, seen from this module compiled to dist/bpf/. */
export const addonPath = fileURLToPath(new URL('../../bpf/build/skiff_bpf.node', import.meta.url));

const require = createRequire(import.meta.url);
export const native = require(addonPath) as Native;
native.setErrorFactory(
  (op, errno, reason, libbpf, log) => new BpfError(op, errno, reason, libbpf, log),
);

// Fixtures for the tests of skiff's own gRPC server (xds/grpc/): a test service (unary,
// client-streaming, bidi; Buffer messages) whose handlers record their calls, a server on an
// ephemeral loopback port, and a raw HTTP/2 client over a plain socket that writes any frame
// (well formed or not) and reads the server's frames back.
import { once } from 'node:events';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { logger } from '../../config/log.js';
import { type CallInfo, GrpcError, type ServiceHandlers, Status, type StreamCall } from '../../xds/grpc/handlers.js';
import { FrameType, PREFACE } from '../../xds/grpc/frames.js';
import { encodeHeaders } from '../../xds/grpc/hpack.js';
import { GrpcServer, type GrpcServerOptions } from '../../xds/grpc/server.js';

const identity = (value: Buffer): Buffer => value;

/** Requests starting with this byte cannot be decoded (requestDeserialize throws). */
export const UNDECODABLE = 0xff;

function method(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: (bytes: Buffer) => {
      if (bytes[0] === UNDECODABLE) throw new Error('undecodable');
      return bytes;
    },
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

export const PATHS = {
  echo: '/skiff.test.Test/Echo',
  sum: '/skiff.test.Test/Sum',
  chat: '/skiff.test.Test/Chat',
  watch: '/skiff.test.Test/Watch',
} as const;

export const TEST_SERVICE: grpc.ServiceDefinition = {
  Echo: method(PATHS.echo, false, false),
  Sum: method(PATHS.sum, true, false),
  Chat: method(PATHS.chat, true, true),
  Watch: method(PATHS.watch, false, true),
};

/** What the test service's handlers saw. */
export class TestCalls {
  /** Open bidi calls. */
  readonly open = new Set<StreamCall<Buffer>>();
  /** onClose calls per bidi call, by its first message (the call's name). */
  readonly closes = new Map<string, number>();
  closeCount = 0;
  /** `done` callbacks of `big N` writes that ran, by call name, in order. */
  readonly done: string[] = [];
}

/**
 * Echo: answers its request; `peer` → the caller's address; `error` → GrpcError NOT_FOUND, `throw` → a plain Error, `big N` → N
 * bytes, `never` → no answer. Sum: the total length of its requests. Chat: answers each message
 * with `echo:` + message (parts, not copied); `big N` → N bytes whose `done` is recorded; `end`
 * ends the call OK; `fail` → GrpcError FAILED_PRECONDITION; `throw` → a thrown Error;
 * `done-throws` → a write whose `done` throws.
 */
export function testHandlers(calls: TestCalls) {
  return {
    Echo: async (request: Buffer, call: CallInfo): Promise<Buffer> => {
      const text = request.toString();
      if (text === 'peer') return Buffer.from(call.peer);
      if (text === 'error') throw new GrpcError(Status.NOT_FOUND, 'no such thing: ü%');
      if (text === 'throw') throw new Error('handler broke');
      if (text.startsWith('big ')) return bigMessage(Number(text.slice(4)));
      if (text === 'never') return new Promise<Buffer>(() => {});
      return request;
    },
    Sum: (call: StreamCall<Buffer>): Promise<Buffer> =>
      new Promise((resolve) => {
        let total = 0;
        call.onMessage = (message) => (total += message.length);
        call.onEnd = () => resolve(Buffer.from(String(total)));
      }),
    Chat: (call: StreamCall<Buffer>): void => {
      let name: string | undefined;
      calls.open.add(call);
      call.onMessage = (message) => {
        const text = message.toString();
        name ??= text;
        if (text === 'end') call.end();
        else if (text === 'fail') call.end({ code: Status.FAILED_PRECONDITION, details: 'told to fail' });
        else if (text === 'throw') throw new Error('message handler broke');
        else if (text === 'done-throws') {
          call.write([message], () => {
            throw new Error('done callback broke');
          });
        } else if (text.startsWith('big ')) call.write([bigMessage(Number(text.slice(4)))], () => calls.done.push(name ?? ''));
        else call.write([Buffer.from('echo:'), message]);
      };
      call.onEnd = () => call.end();
      call.onClose = () => {
        calls.open.delete(call);
        calls.closeCount += 1;
        if (name !== undefined) calls.closes.set(name, (calls.closes.get(name) ?? 0) + 1);
      };
    },
    Watch: (): void => {},
  };
}

/** N bytes with a pattern a truncation or reordering would break. */
export function bigMessage(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >> 11)) & 0xff;
  return bytes;
}

export async function startServer(options: Partial<GrpcServerOptions> = {}, address = '127.0.0.1:0'): Promise<{ server: GrpcServer; port: number; calls: TestCalls }> {
  const server = new GrpcServer({ log: logger('grpc-test'), ...options });
  const calls = new TestCalls();
  // handlers.ts types requests as unknown: handlers of Buffer requests are cast
  server.addService(TEST_SERVICE, testHandlers(calls) as unknown as ServiceHandlers);
  const port = await server.listen(address);
  return { server, port, calls };
}

export function grpcClient(port: number, options: grpc.ChannelOptions = {}): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options);
}

export function unary(client: grpc.Client, path: string, request: Buffer, options: grpc.CallOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(path, identity, identity, request, new grpc.Metadata(), options, (error, response) => {
      if (error) reject(error);
      else resolve(response as Buffer);
    });
  });
}

// ---- raw HTTP/2 ------------------------------------------------------------------------------

/** A frame as bytes; `length` overrides the header's length field (for malformed frames). */
export function frame(type: FrameType | number, flags: number, id: number, payload: Uint8Array = Buffer.alloc(0), length = payload.length): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(id, 5);
  return Buffer.concat([header, payload]);
}

export function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

/** A gRPC request's header block for `path`. */
export function requestHeaders(path: string, extra: Array<[string, string]> = []): Buffer {
  return encodeHeaders([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...extra,
  ]);
}

/** A gRPC message (5-byte prefix + bytes) as a DATA payload. */
export function grpcMessage(bytes: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([prefix, bytes]);
}

export interface RawFrame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** A plain socket speaking HTTP/2 frame by frame: it sends what the test writes and collects what comes back. */
export class RawClient {
  readonly frames: RawFrame[] = [];
  closed = false;
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 9) {
        const length = this.buffer.readUIntBE(0, 3);
        if (this.buffer.length < 9 + length) break;
        this.frames.push({
          type: this.buffer[3] as number,
          flags: this.buffer[4] as number,
          id: this.buffer.readUInt32BE(5) & 0x7fffffff,
          payload: this.buffer.subarray(9, 9 + length),
        });
        this.buffer = this.buffer.subarray(9 + length);
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Connects; with `handshake`, sends the preface and an empty SETTINGS frame. */
  static async connect(port: number, handshake = true): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const client = new RawClient(socket);
    if (handshake) client.send(PREFACE, frame(FrameType.SETTINGS, 0, 0));
    return client;
  }

  send(...bytes: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(bytes));
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Waits until `predicate` holds over the frames so far (or the socket closed), at most `ms`. */
  async until(predicate: (frames: RawFrame[]) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate(this.frames)) {
      if (this.closed) throw new Error(`socket closed; frames: ${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; frames: ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the socket to close, at most `ms`; true if it closed. */
  async closedWithin(ms = 5000): Promise<boolean> {
    if (this.closed) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([once(this.socket, 'close'), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    return this.closed;
  }

  /** The GOAWAY frame's error code, if one came. */
  goawayCode(): number | undefined {
    const goaway = this.frames.find((f) => f.type === FrameType.GOAWAY);
    return goaway?.payload.readUInt32BE(4);
  }

  describe(): string {
    return this.frames.map((f) => `${f.type}/${f.flags}/${f.id}(${f.payload.length})`).join(' ');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// One gRPC call on an HTTP/2 stream (gRPC over HTTP/2, PROTOCOL-HTTP2.md): the request headers
// (path, content-type, grpc-timeout, grpc-encoding), 5-byte length-prefixed messages in (gzip and
// deflate decoded with zlib) and out (the parts referenced, not copied), response headers sent
// lazily with the first message, and trailers (`grpc-status`, percent-encoded `grpc-message`),
// trailers-only when no message went out. Runs the method's handler and never lets what it throws
// escape: the call ends INTERNAL instead.
import { gunzipSync, inflateSync } from 'node:zlib';
import type * as grpc from '@grpc/grpc-js';
import {
  type BidiHandler,
  type CallStatus,
  type ClientStreamHandler,
  GrpcError,
  type Handler,
  Status,
  type StreamCall,
  type UnaryHandler,
} from './handlers.js';
import { encodeHeaders } from './hpack.js';
import { type Session, type SessionHost, Stream } from './session.js';

export const enum MethodKind {
  UNARY,
  CLIENT_STREAM,
  BIDI,
  /** Server-streaming: skiff serves none; such calls end UNIMPLEMENTED. */
  UNSUPPORTED,
}

/** A served method: how it streams, its handler, and its (de)serializers from the grpc-js definition. */
export interface Method {
  readonly kind: MethodKind;
  readonly handler: Handler;
  readonly requestDeserialize: grpc.deserialize<unknown>;
  readonly responseSerialize: grpc.serialize<unknown>;
}

/** What calls need from their server besides the session's options. */
export interface CallHost extends SessionHost {
  readonly methods: ReadonlyMap<string, Method>;
  readonly maxMessageBytes: number;
}

const enum Encoding {
  IDENTITY,
  GZIP,
  DEFLATE,
}

const MESSAGE_PREFIX_SIZE = 5;
const EMPTY = Buffer.alloc(0);
const NOTHING = (): void => {};
/** Largest timer Node keeps (ms); longer deadlines never fire. */
const MAX_TIMER_MS = 2_147_483_647;
const TIMEOUT_UNITS_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/** Response headers, encoded once (the encoder is stateless). */
const RESPONSE_HEADERS = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/grpc'],
  ['grpc-accept-encoding', 'identity'],
]);
const OK_TRAILERS = encodeHeaders([['grpc-status', String(Status.OK)]]);
/** Requests that are not gRPC at all get a bare HTTP status. */
const UNSUPPORTED_MEDIA_TYPE = encodeHeaders([[':status', '415']]);
const METHOD_NOT_ALLOWED = encodeHeaders([[':status', '405']]);

/** The status trailers of a call; trailers-only responses put the response headers before them. */
function trailersBlock(status: CallStatus, trailersOnly: boolean): Buffer {
  const trailers = status.code === Status.OK && !status.details
    ? OK_TRAILERS
    : encodeHeaders(status.details
      ? [['grpc-status', String(status.code)], ['grpc-message', percentEncode(status.details)]]
      : [['grpc-status', String(status.code)]]);
  return trailersOnly ? Buffer.concat([RESPONSE_HEADERS, trailers]) : trailers;
}

/** grpc-message's encoding: UTF-8 bytes outside printable ASCII, and '%', as %XX. */
function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x25) out += String.fromCharCode(byte);
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A grpc-timeout value (`1234m`: up to 8 digits and a unit) in milliseconds, or undefined if malformed. */
function parseTimeout(value: string): number | undefined {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (match === null) return undefined;
  return Number(match[1]) * (TIMEOUT_UNITS_MS[match[2] as string] as number);
}

export class GrpcCall extends Stream implements StreamCall<unknown> {
  onMessage: (message: unknown) => void = NOTHING;
  onEnd: () => void = NOTHING;
  onClose: () => void = NOTHING;
  readonly path: string;
  private readonly method: Method | undefined;
  /** Regular request headers, flat: name, value, name, value... */
  private readonly headers: string[];
  private encoding = Encoding.IDENTITY;
  private ended = false;
  private headersSent = false;
  /** The message being read: prefix bytes read, its compressed flag and length, and its bytes when split across frames. */
  private prefixRead = 0;
  private compressed = 0;
  private length = 0;
  private message: Buffer | null = null;
  private messageFill = 0;
  /** Unary: requests received so far (one expected), and the request. */
  private requests = 0;
  private request: unknown = undefined;
  private deadline: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: CallHost,
    session: Session,
    id: number,
    requestHeaders: ReadonlyArray<readonly [string, string]>,
  ) {
    super(session, id);
    let path = '';
    let method = '';
    const headers: string[] = [];
    for (const [name, value] of requestHeaders) {
      if (name === ':path') path = value;
      else if (name === ':method') method = value;
      else if (!name.startsWith(':')) headers.push(name, value);
    }
    this.path = path;
    this.headers = headers;
    this.method = host.methods.get(path);
    this.start(method);
  }

  get peer(): string {
    return this.session.peer;
  }

  get closed(): boolean {
    return this.ended || this.streamClosed;
  }

  header(name: string): string | undefined {
    for (let i = 0; i < this.headers.length; i += 2) {
      if (this.headers[i] === name) return this.headers[i + 1];
    }
    return undefined;
  }

  write(parts: readonly Uint8Array[], done?: () => void): void {
    if (this.closed) {
      done?.();
      return;
    }
    if (!this.headersSent) {
      this.headersSent = true;
      this.session.sendHeaders(this, RESPONSE_HEADERS, false);
    }
    let length = 0;
    for (const part of parts) length += part.length;
    const prefix = Buffer.allocUnsafe(MESSAGE_PREFIX_SIZE);
    prefix[0] = 0;
    prefix.writeUInt32BE(length, 1);
    this.session.enqueue(this, prefix);
    this.session.sendData(this, parts, done && (() => this.guarded(done)));
  }

  end(status: CallStatus = { code: Status.OK }): void {
    if (this.closed) return;
    this.ended = true;
    this.clearDeadline();
    this.message = null;
    if (this.headersSent) this.session.sendTrailers(this, trailersBlock(status, false));
    else this.session.sendHeaders(this, trailersBlock(status, true), true);
  }

  // ---- starting ----------------------------------------------------------------------------

  private start(httpMethod: string): void {
    const contentType = this.header('content-type') ?? '';
    if (httpMethod !== 'POST') {
      this.httpError(METHOD_NOT_ALLOWED);
      return;
    }
    if (contentType !== 'application/grpc' && !contentType.startsWith('application/grpc+') && !contentType.startsWith('application/grpc;')) {
      this.httpError(UNSUPPORTED_MEDIA_TYPE);
      return;
    }
    const encoding = this.header('grpc-encoding') ?? 'identity';
    if (encoding === 'gzip') this.encoding = Encoding.GZIP;
    else if (encoding === 'deflate') this.encoding = Encoding.DEFLATE;
    else if (encoding !== 'identity') {
      this.end({ code: Status.UNIMPLEMENTED, details: `grpc-encoding ${encoding} is not supported` });
      return;
    }
    const method = this.method;
    if (method === undefined || method.kind === MethodKind.UNSUPPORTED) {
      this.end({ code: Status.UNIMPLEMENTED, details: `method ${this.path} is not implemented` });
      return;
    }
    const timeout = this.header('grpc-timeout');
    if (timeout !== undefined) this.startDeadline(timeout);
    if (method.kind === MethodKind.CLIENT_STREAM) {
      this.settle(() => (method.handler as ClientStreamHandler)(this));
    } else if (method.kind === MethodKind.BIDI) {
      this.guarded(() => (method.handler as BidiHandler)(this));
    }
  }

  private httpError(block: Buffer): void {
    this.ended = true;
    this.session.sendHeaders(this, block, true);
  }

  private startDeadline(value: string): void {
    const ms = parseTimeout(value);
    if (ms === undefined) {
      this.end({ code: Status.INTERNAL, details: `malformed grpc-timeout ${value}` });
      return;
    }
    if (ms > MAX_TIMER_MS) return;
    this.deadline = setTimeout(() => this.end({ code: Status.DEADLINE_EXCEEDED, details: 'deadline exceeded' }), ms);
    this.deadline.unref();
  }

  private clearDeadline(): void {
    if (this.deadline === null) return;
    clearTimeout(this.deadline);
    this.deadline = null;
  }

  // ---- running handlers --------------------------------------------------------------------

  /** Runs handler code; what it throws ends the call. */
  private guarded(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.handlerFailed(error);
    }
  }

  /** Runs a handler that resolves the single response; the response (or the error) ends the call. */
  private settle(run: () => unknown): void {
    let result: unknown;
    try {
      result = run();
    } catch (error) {
      this.handlerFailed(error);
      return;
    }
    Promise.resolve(result).then(
      (response) => this.respond(response),
      (error: unknown) => this.handlerFailed(error),
    );
  }

  private respond(response: unknown): void {
    if (this.closed) return;
    let bytes: Buffer;
    try {
      bytes = (this.method as Method).responseSerialize(response);
    } catch (error) {
      this.handlerFailed(error);
      return;
    }
    this.write([bytes]);
    this.end();
  }

  private handlerFailed(error: unknown): void {
    if (error instanceof GrpcError) {
      this.end({ code: error.code, details: error.message });
      return;
    }
    this.host.log.debug({ peer: this.peer, path: this.path, err: error }, 'gRPC handler failed');
    this.end({ code: Status.INTERNAL, details: error instanceof Error ? error.message : String(error) });
  }

  // ---- requests ----------------------------------------------------------------------------

  onData(payload: Buffer): void {
    let pos = 0;
    while (pos < payload.length && !this.closed) {
      if (this.message !== null) {
        const n = payload.copy(this.message, this.messageFill, pos);
        this.messageFill += n;
        pos += n;
        if (this.messageFill === this.message.length) {
          const message = this.message;
          this.message = null;
          this.deliver(message);
        }
        continue;
      }
      const byte = payload[pos] as number;
      pos += 1;
      if (this.prefixRead === 0) this.compressed = byte;
      else this.length = this.length * 256 + byte;
      this.prefixRead += 1;
      if (this.prefixRead < MESSAGE_PREFIX_SIZE) continue;
      const length = this.length;
      this.prefixRead = 0;
      this.length = 0;
      if (length > this.host.maxMessageBytes) {
        this.end({ code: Status.RESOURCE_EXHAUSTED, details: `request message of ${length} bytes exceeds ${this.host.maxMessageBytes}` });
        return;
      }
      if (payload.length - pos >= length) {
        // the whole message is in this frame: no copy
        this.deliver(length === 0 ? EMPTY : payload.subarray(pos, pos + length));
        pos += length;
      } else {
        this.message = Buffer.allocUnsafe(length);
        this.messageFill = 0;
      }
    }
  }

  /** One complete request message: decompressed, decoded, handed to the handler. */
  private deliver(bytes: Buffer): void {
    const data = this.compressed === 0 ? bytes : this.decompress(bytes);
    if (data === undefined) return;
    let request: unknown;
    try {
      request = (this.method as Method).requestDeserialize(data);
    } catch (error) {
      this.host.log.debug({ peer: this.peer, path: this.path, err: error }, 'could not decode a gRPC request');
      this.end({ code: Status.INTERNAL, details: 'could not decode request' });
      return;
    }
    if ((this.method as Method).kind !== MethodKind.UNARY) {
      this.guarded(() => this.onMessage(request));
      return;
    }
    this.requests += 1;
    if (this.requests > 1) this.end({ code: Status.INTERNAL, details: 'more than one request message for a unary method' });
    else this.request = request;
  }

  private decompress(bytes: Buffer): Buffer | undefined {
    if (this.compressed !== 1 || this.encoding === Encoding.IDENTITY) {
      this.end({ code: Status.INTERNAL, details: 'compressed message without grpc-encoding' });
      return undefined;
    }
    const options = { maxOutputLength: Math.max(1, this.host.maxMessageBytes) };
    try {
      return this.encoding === Encoding.GZIP ? gunzipSync(bytes, options) : inflateSync(bytes, options);
    } catch (error) {
      const tooLarge = error instanceof RangeError || (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      this.end(tooLarge
        ? { code: Status.RESOURCE_EXHAUSTED, details: `decompressed request message exceeds ${this.host.maxMessageBytes} bytes` }
        : { code: Status.INTERNAL, details: 'could not decompress request' });
      return undefined;
    }
  }

  onRemoteEnd(): void {
    if (this.closed) return;
    if (this.prefixRead !== 0 || this.message !== null) {
      this.end({ code: Status.INTERNAL, details: 'incomplete request message' });
      return;
    }
    const method = this.method as Method;
    if (method.kind !== MethodKind.UNARY) {
      this.guarded(() => this.onEnd());
      return;
    }
    if (this.requests === 0) {
      this.end({ code: Status.INTERNAL, details: 'no request message for a unary method' });
      return;
    }
    const request = this.request;
    this.request = undefined;
    this.settle(() => (method.handler as UnaryHandler)(request, this));
  }

  onStreamClose(): void {
    this.clearDeadline();
    this.message = null;
    const onClose = this.onClose;
    this.onClose = NOTHING;
    this.guardedClose(onClose);
  }

  /** onClose runs after the stream is gone: what it throws is only logged. */
  private guardedClose(onClose: () => void): void {
    try {
      onClose();
    } catch (error) {
      this.host.log.debug({ peer: this.peer, path: this.path, err: error }, 'gRPC onClose failed');
    }
  }
}

// One server-side HTTP/2 connection over a plain socket (prior knowledge, no TLS, no upgrade):
// the preface, SETTINGS and their ACKs, streams and their states, header blocks (HEADERS +
// CONTINUATION, decoded with HPACK), DATA with flow control both ways, PING acks, RST_STREAM,
// GOAWAY, and protocol errors (GOAWAY + close, or RST_STREAM for one stream). What a stream means
// (a gRPC call) lives in its subclass; this module knows only frames, windows and stream states.
// Memory per idle connection is the point: plain fields, no per-stream emitters or maps, reads
// buffered only as far as one frame needs, and queued output referenced, never copied.
import type { Socket } from 'node:net';
import type { Logger } from '../../config/log.js';
import {
  ACK,
  ConnectionError,
  DEFAULT_HEADER_TABLE_SIZE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  FRAME_HEADER_SIZE,
  Flag,
  FrameType,
  MAX_ALLOWED_FRAME_SIZE,
  MAX_WINDOW,
  PREFACE,
  SETTINGS_ACK,
  Setting,
  StreamError,
  frameHeader,
  goawayFrame,
  pingAckFrame,
  rstStreamFrame,
  windowUpdateFrame,
} from './frames.js';
import { HpackDecoder, HpackError } from './hpack.js';

/** What every connection of one server shares: its options and the streams' factory. */
export interface SessionHost {
  readonly log: Logger;
  /** Our SETTINGS frame, encoded once. */
  readonly settingsFrame: Buffer;
  /** Our receive window for the whole connection. */
  readonly connectionWindow: number;
  /** Our receive window per stream (the SETTINGS_INITIAL_WINDOW_SIZE we announce). */
  readonly streamWindow: number;
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListSize: number;
  /** A connection silent this long without its preface and SETTINGS is closed (GOAWAY SETTINGS_TIMEOUT). */
  readonly handshakeTimeoutMs: number;
  /** A new stream with its request headers (pseudo-headers first, checked): creates its Stream. */
  openStream(session: Session, id: number, headers: Array<[string, string]>): void;
  /** The connection is gone. */
  sessionClosed(session: Session): void;
}

/** Stream state bits. */
const enum State {
  /** The peer sent END_STREAM. */
  REMOTE_CLOSED = 1,
  /** In the session's ready list (has DATA to send). */
  READY = 2,
  /** Removed from the session: no more frames either way. */
  CLOSED = 4,
}

/** Session state bits. */
const enum Is {
  PREFACE_RECEIVED = 1,
  SETTINGS_RECEIVED = 2,
  /** The peer acknowledged our SETTINGS. */
  SETTINGS_ACKED = 4,
  /** The partial buffer holds only a frame header, whose length is not yet known. */
  PARTIAL_HEADER = 8,
  FLUSHING = 16,
  /** A flush is due at the end of this tick (DATA queued by every stream in the tick goes out in turn). */
  FLUSH_QUEUED = 32,
  /** The socket holds more than WRITE_BUDGET unsent bytes: DATA waits for 'drain'. */
  BLOCKED = 64,
  /** We sent GOAWAY for a shutdown: no new streams, close once the open ones end. */
  DRAINING = 128,
  /** The peer sent GOAWAY: close once the open streams end. */
  PEER_GOING_AWAY = 256,
  /** No more frames in or out (protocol error, or the socket is gone). */
  DEAD = 512,
}

/** A header block spread over HEADERS and CONTINUATION frames, while it arrives. */
interface Continuation {
  readonly stream: number;
  /** The HEADERS frame's flags (END_STREAM). */
  readonly flags: number;
  readonly selfDependent: boolean;
  readonly fragments: Buffer[];
  bytes: number;
}

/** An item of a stream's output: bytes to send, or a callback due once the bytes before it went to the socket. */
type Output = Uint8Array | (() => void);

/** Frames waiting for the socket beyond this many bytes pause DATA until it drains. */
const WRITE_BUDGET = 64 * 1024;
/** Header blocks split across CONTINUATION frames may not grow beyond this multiple of the header list limit. */
const HEADER_BLOCK_FACTOR = 2;
/** Flood guards (frames that cost us work): PINGs, and streams the peer resets (rapid reset, CVE-2023-44487). */
const PING_BURST = 20;
const PINGS_PER_SECOND = 10;
const RESET_BURST = 1000;
const RESETS_PER_SECOND = 100;
/** A connection ended for a protocol error is destroyed if its GOAWAY has not gone out after this long. */
const CLOSE_TIMEOUT_MS = 2_000;
/** Headers that HTTP/2 forbids (connection-specific, RFC 9113 §8.2.2). */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const REQUEST_PSEUDO_HEADERS = new Set([':method', ':scheme', ':path', ':authority']);

/**
 * One HTTP/2 stream of a session. Subclasses give it meaning through the three hooks; the session
 * owns its windows, its output queue and its state.
 */
export abstract class Stream {
  /** State bits (State). */
  state = 0;
  /** How much DATA the peer lets us send on this stream. */
  sendWindow: number;
  /** How much DATA the peer may still send us on this stream before our next WINDOW_UPDATE. */
  recvWindow: number;
  /** Output queue (null while empty), the index of its head, and how much of the head's bytes went out. */
  out: Output[] | null = null;
  outHead = 0;
  outOffset = 0;
  /** Bytes in the output queue. */
  outBytes = 0;
  /** A header block to send with END_STREAM once the output queue drains. */
  trailers: Buffer | null = null;

  constructor(
    readonly session: Session,
    readonly id: number,
  ) {
    this.sendWindow = session.peerInitialWindow;
    this.recvWindow = session.host.streamWindow;
    session.streams.set(id, this);
  }

  /** True once the stream is gone from its session. */
  get streamClosed(): boolean {
    return (this.state & State.CLOSED) !== 0;
  }

  /** Request DATA (padding removed; never empty). */
  abstract onData(payload: Buffer): void;
  /** The peer sent END_STREAM. */
  abstract onRemoteEnd(): void;
  /** The stream is gone (we ended it, the peer reset it, or the connection closed); called once. */
  abstract onStreamClose(): void;
}

export class Session {
  readonly streams = new Map<number, Stream>();
  /** The remote end, `address:port`. */
  readonly peer: string;
  /** The peer's SETTINGS_INITIAL_WINDOW_SIZE and SETTINGS_MAX_FRAME_SIZE. */
  peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  /** How much DATA the peer lets us send on the connection. */
  private sendWindow = DEFAULT_WINDOW;
  /** How much DATA the peer may still send us on the connection. */
  private recvWindow = DEFAULT_WINDOW;
  private readonly decoder: HpackDecoder;
  /** The highest stream id the peer opened. */
  private lastStreamId = 0;
  /** A frame (or the preface) whose bytes arrived in pieces, and how much of it is here. */
  private partial: Buffer | null = null;
  private partialFill = 0;
  /** A header block being continued. */
  private continuation: Continuation | null = null;
  /** Streams with DATA to send, in turn, from readyHead on. */
  private ready: Stream[] = [];
  private readyHead = 0;
  /** State bits (Is). */
  private flags = 0;
  /** Made at the peer's first PING and first RST_STREAM (most connections never need them). */
  private pings: FloodGuard | null = null;
  private resets: FloodGuard | null = null;
  /** Closes a connection that never completes its handshake (cleared by the peer's first SETTINGS). */
  private handshakeTimer: NodeJS.Timeout | null;

  constructor(
    readonly host: SessionHost,
    readonly socket: Socket,
  ) {
    this.decoder = new HpackDecoder(DEFAULT_HEADER_TABLE_SIZE, host.maxHeaderListSize);
    const address = socket.remoteAddress ?? '';
    this.peer = address.includes(':') ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => {
      this.unmark(Is.BLOCKED);
      this.guard(() => this.flush());
    });
    socket.on('error', (error) => host.log.debug({ peer: this.peer, err: error.message }, 'connection error'));
    socket.on('close', () => this.onSocketClose());
    socket.cork();
    socket.write(host.settingsFrame);
    if (host.connectionWindow > DEFAULT_WINDOW) {
      socket.write(windowUpdateFrame(0, host.connectionWindow - DEFAULT_WINDOW));
      this.recvWindow = host.connectionWindow;
    }
    socket.uncork();
    this.handshakeTimer = setTimeout(() => this.handshakeExpired(), host.handshakeTimeoutMs);
    this.handshakeTimer.unref();
  }

  /**
   * The handshake deadline passed. Timers run before the loop reads its sockets, and a server busy
   * with thousands of connecting proxies reads them late: the preface may be waiting, unread. Its
   * verdict waits until the loop has read what arrived (setImmediate runs after the poll phase), so
   * only a peer that did not send its handshake in time is sent GOAWAY: closing a healthy connection
   * under load only adds its reconnect to the storm.
   */
  private handshakeExpired(): void {
    setImmediate(() => {
      if (!this.is(Is.SETTINGS_RECEIVED | Is.DEAD)) this.fail(ErrorCode.SETTINGS_TIMEOUT, 'no preface and SETTINGS in time');
    });
  }

  /** True if any of these state bits is set. */
  private is(bits: Is): boolean {
    return (this.flags & bits) !== 0;
  }

  private mark(bits: Is): void {
    this.flags |= bits;
  }

  private unmark(bits: Is): void {
    this.flags &= ~bits;
  }

  // ---- input -------------------------------------------------------------------------------

  private receive(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.is(Is.DEAD)) {
      if (this.partial !== null) {
        const n = Math.min(this.partial.length - this.partialFill, chunk.length - pos);
        chunk.copy(this.partial, this.partialFill, pos, pos + n);
        this.partialFill += n;
        pos += n;
        if (this.partialFill < this.partial.length) return;
        const unit = this.partial;
        this.partial = null;
        if (!this.is(Is.PREFACE_RECEIVED)) {
          this.checkPreface(unit, 0);
        } else if (this.is(Is.PARTIAL_HEADER) && unit.readUIntBE(0, 3) > 0) {
          // the header is complete: now wait for the payload it announces
          this.unmark(Is.PARTIAL_HEADER);
          if (!this.guard(() => this.checkLength(unit, 0))) return;
          this.partial = Buffer.allocUnsafe(FRAME_HEADER_SIZE + unit.readUIntBE(0, 3));
          unit.copy(this.partial);
          this.partialFill = FRAME_HEADER_SIZE;
        } else {
          this.unmark(Is.PARTIAL_HEADER);
          this.frame(unit, 0);
        }
        continue;
      }
      const available = chunk.length - pos;
      if (!this.is(Is.PREFACE_RECEIVED)) {
        if (available < PREFACE.length) {
          this.keep(chunk, pos, PREFACE.length, false);
          return;
        }
        this.checkPreface(chunk, pos);
        pos += PREFACE.length;
        continue;
      }
      if (available < FRAME_HEADER_SIZE) {
        this.keep(chunk, pos, FRAME_HEADER_SIZE, true);
        return;
      }
      if (!this.guard(() => this.checkLength(chunk, pos))) return;
      const size = FRAME_HEADER_SIZE + chunk.readUIntBE(pos, 3);
      if (available < size) {
        this.keep(chunk, pos, size, false);
        return;
      }
      this.frame(chunk, pos);
      pos += size;
    }
  }

  /** Copies the start of an incomplete unit (preface, frame header, or frame) of `size` bytes. */
  private keep(chunk: Buffer, pos: number, size: number, isHeader: boolean): void {
    this.partial = Buffer.allocUnsafe(size);
    this.partialFill = chunk.copy(this.partial, 0, pos);
    if (isHeader) this.mark(Is.PARTIAL_HEADER);
  }

  private checkPreface(buffer: Buffer, pos: number): void {
    if (buffer.compare(PREFACE, 0, PREFACE.length, pos, pos + PREFACE.length) !== 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR, 'bad connection preface');
      return;
    }
    this.mark(Is.PREFACE_RECEIVED);
  }

  /** A frame longer than we allow is refused before its payload is buffered. */
  private checkLength(buffer: Buffer, pos: number): void {
    const length = buffer.readUIntBE(pos, 3);
    if (length > DEFAULT_MAX_FRAME_SIZE) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes`);
  }

  /** Runs one step of frame handling, turning its errors into RST_STREAM or GOAWAY; false if the connection failed. */
  private guard(step: () => void): boolean {
    try {
      step();
    } catch (error) {
      if (error instanceof StreamError) {
        this.resetId(error.streamId, error.code, error.message);
      } else if (error instanceof ConnectionError) {
        this.fail(error.code, error.message);
      } else {
        this.host.log.warn({ peer: this.peer, err: error }, 'HTTP/2 session fault');
        this.fail(ErrorCode.INTERNAL_ERROR, 'internal error');
      }
    }
    return !this.is(Is.DEAD);
  }

  private frame(buffer: Buffer, pos: number): void {
    this.guard(() => this.dispatch(buffer, pos));
  }

  private dispatch(buffer: Buffer, pos: number): void {
    const length = buffer.readUIntBE(pos, 3);
    const type = buffer[pos + 3] as FrameType;
    const flags = buffer[pos + 4] as number;
    const id = buffer.readUInt32BE(pos + 5) & 0x7fffffff;
    const payload = buffer.subarray(pos + FRAME_HEADER_SIZE, pos + FRAME_HEADER_SIZE + length);
    if (!this.is(Is.SETTINGS_RECEIVED) && type !== FrameType.SETTINGS) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'the first frame must be SETTINGS');
    }
    if (this.continuation !== null && (type !== FrameType.CONTINUATION || id !== this.continuation.stream)) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'header block interrupted');
    }
    switch (type) {
      case FrameType.DATA:
        this.onDataFrame(id, flags, payload);
        break;
      case FrameType.HEADERS:
        this.onHeadersFrame(id, flags, payload);
        break;
      case FrameType.PRIORITY:
        needStream(id, 'PRIORITY');
        if (length !== 5) throw new StreamError(id, ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY frame size');
        break;
      case FrameType.RST_STREAM:
        this.onResetFrame(id, payload);
        break;
      case FrameType.SETTINGS:
        this.onSettingsFrame(id, flags, payload);
        break;
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case FrameType.PING:
        this.onPingFrame(id, flags, payload);
        break;
      case FrameType.GOAWAY:
        this.onGoawayFrame(id, payload);
        break;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdateFrame(id, payload);
        break;
      case FrameType.CONTINUATION:
        this.onContinuationFrame(id, flags, payload);
        break;
      default:
        // unknown frame types are ignored (RFC 9113 §4.1)
        break;
    }
  }

  private onDataFrame(id: number, flags: number, payload: Buffer): void {
    needStream(id, 'DATA');
    const length = payload.length;
    if (length > this.recvWindow) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    this.recvWindow -= length;
    if (this.recvWindow <= this.host.connectionWindow / 2) {
      this.write(windowUpdateFrame(0, this.host.connectionWindow - this.recvWindow));
      this.recvWindow = this.host.connectionWindow;
    }
    const data = unpad(flags, payload);
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      return; // a stream we closed: frames in flight are ignored (RFC 9113 §5.1)
    }
    if (stream.state & State.REMOTE_CLOSED) throw new ConnectionError(ErrorCode.STREAM_CLOSED, `DATA after END_STREAM on stream ${id}`);
    if (length > stream.recvWindow) throw new StreamError(id, ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the stream window');
    stream.recvWindow -= length;
    if (data.length > 0) stream.onData(data);
    if (stream.state & State.CLOSED) return;
    if (flags & Flag.END_STREAM) {
      this.remoteEnd(stream);
    } else if (stream.recvWindow <= this.host.streamWindow / 2) {
      this.write(windowUpdateFrame(id, this.host.streamWindow - stream.recvWindow));
      stream.recvWindow = this.host.streamWindow;
    }
  }

  private onHeadersFrame(id: number, flags: number, payload: Buffer): void {
    needStream(id, 'HEADERS');
    let block = unpad(flags, payload);
    let selfDependent = false;
    if (flags & Flag.PRIORITY) {
      if (block.length < 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
      selfDependent = (block.readUInt32BE(0) & 0x7fffffff) === id;
      block = block.subarray(5);
    }
    if (flags & Flag.END_HEADERS) {
      this.onHeaderBlock(id, flags, block, selfDependent);
      return;
    }
    this.continuation = { stream: id, flags, selfDependent, fragments: [Buffer.from(block)], bytes: block.length };
  }

  private onContinuationFrame(id: number, flags: number, payload: Buffer): void {
    const continuation = this.continuation;
    // dispatch already refused a CONTINUATION on another stream than the block's
    if (continuation === null) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION out of place');
    continuation.bytes += payload.length;
    if (continuation.bytes > HEADER_BLOCK_FACTOR * this.host.maxHeaderListSize) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'header block too large');
    }
    continuation.fragments.push(Buffer.from(payload));
    if (!(flags & Flag.END_HEADERS)) return;
    this.continuation = null;
    this.onHeaderBlock(id, continuation.flags, Buffer.concat(continuation.fragments), continuation.selfDependent);
  }

  /** A complete header block: a new stream's request headers, or a stream's trailers. */
  private onHeaderBlock(id: number, flags: number, block: Buffer, selfDependent: boolean): void {
    let headers: Array<[string, string]>;
    try {
      headers = this.decoder.decode(block);
    } catch (error) {
      if (error instanceof HpackError) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, `header block: ${error.message}`);
      throw error;
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // trailers: gRPC clients send none, but HTTP/2 allows them; they must end the stream
      if (existing.state & State.REMOTE_CLOSED) throw new ConnectionError(ErrorCode.STREAM_CLOSED, `HEADERS after END_STREAM on stream ${id}`);
      if (!endStream) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'trailers without END_STREAM');
      this.remoteEnd(existing);
      return;
    }
    if (id % 2 === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `even stream id ${id}`);
    if (id <= this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${id}, not above the last one (${this.lastStreamId})`);
    this.lastStreamId = id;
    if (selfDependent) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'stream depends on itself');
    if (this.is(Is.DRAINING | Is.PEER_GOING_AWAY)) throw new StreamError(id, ErrorCode.REFUSED_STREAM, 'going away');
    if (this.streams.size >= this.host.maxConcurrentStreams) throw new StreamError(id, ErrorCode.REFUSED_STREAM, 'too many streams');
    const malformed = checkRequestHeaders(headers);
    if (malformed !== undefined) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, malformed);
    this.host.openStream(this, id, headers);
    const stream = this.streams.get(id);
    if (endStream && stream !== undefined) this.remoteEnd(stream);
  }

  private onResetFrame(id: number, payload: Buffer): void {
    needStream(id, 'RST_STREAM');
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM frame size');
    if (id > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    this.resets ??= new FloodGuard(RESET_BURST, RESETS_PER_SECOND);
    if (!this.resets.take()) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many streams reset');
    this.close(stream);
  }

  private onSettingsFrame(id: number, flags: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & ACK) {
      if (payload.length !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      if (!this.is(Is.SETTINGS_ACKED)) {
        // our HEADER_TABLE_SIZE 0 is in force: the peer keeps no table state for us
        this.mark(Is.SETTINGS_ACKED);
        this.decoder.setMaxTableSize(0);
      }
      return;
    }
    if (payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS frame size');
    if (!this.is(Is.SETTINGS_RECEIVED)) {
      this.mark(Is.SETTINGS_RECEIVED);
      this.clearHandshakeTimer();
    }
    for (let at = 0; at < payload.length; at += 6) {
      const value = payload.readUInt32BE(at + 2);
      switch (payload.readUInt16BE(at)) {
        case Setting.ENABLE_PUSH:
          if (value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH not 0 or 1');
          break;
        case Setting.INITIAL_WINDOW_SIZE:
          this.setPeerInitialWindow(value);
          break;
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE out of range');
          this.peerMaxFrameSize = value;
          break;
        default:
          // HEADER_TABLE_SIZE (we never index), MAX_CONCURRENT_STREAMS (we push nothing), MAX_HEADER_LIST_SIZE (ours are small), unknown ones
          break;
      }
    }
    this.write(SETTINGS_ACK);
    this.flush();
  }

  private setPeerInitialWindow(value: number): void {
    if (value > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
    const delta = value - this.peerInitialWindow;
    this.peerInitialWindow = value;
    for (const stream of this.streams.values()) {
      stream.sendWindow += delta;
      if (stream.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `stream ${stream.id} window above 2^31-1`);
      if (stream.outBytes > 0) this.markReady(stream);
    }
  }

  private onPingFrame(id: number, flags: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if (payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING frame size');
    if (flags & ACK) return;
    this.pings ??= new FloodGuard(PING_BURST, PINGS_PER_SECOND);
    if (!this.pings.take()) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many PINGs');
    this.write(pingAckFrame(payload));
  }

  private onGoawayFrame(id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (payload.length < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY frame size');
    this.mark(Is.PEER_GOING_AWAY);
    if (this.streams.size === 0 && this.writable) this.socket.end();
  }

  private onWindowUpdateFrame(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE frame size');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      this.flush();
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
      return;
    }
    if (increment === 0) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `stream ${id} window above 2^31-1`);
    if (stream.outBytes > 0) {
      this.markReady(stream);
      this.flush();
    }
  }

  private remoteEnd(stream: Stream): void {
    stream.state |= State.REMOTE_CLOSED;
    stream.onRemoteEnd();
  }

  // ---- output ------------------------------------------------------------------------------

  /** Sends a header block on a stream (HEADERS, then CONTINUATION frames if it exceeds the peer's frame size). */
  sendHeaders(stream: Stream, block: Buffer, endStream: boolean): void {
    if (stream.state & State.CLOSED || !this.writable) return;
    const max = this.peerMaxFrameSize;
    const endFlag = endStream ? Flag.END_STREAM : 0;
    this.socket.cork();
    if (block.length <= max) {
      this.socket.write(frameHeader(block.length, FrameType.HEADERS, endFlag | Flag.END_HEADERS, stream.id));
      this.socket.write(block);
    } else {
      this.socket.write(frameHeader(max, FrameType.HEADERS, endFlag, stream.id));
      this.socket.write(block.subarray(0, max));
      for (let at = max; at < block.length; at += max) {
        const end = Math.min(block.length, at + max);
        this.socket.write(frameHeader(end - at, FrameType.CONTINUATION, end === block.length ? Flag.END_HEADERS : 0, stream.id));
        this.socket.write(block.subarray(at, end));
      }
    }
    this.socket.uncork();
    if (endStream) this.localEnd(stream);
  }

  /** Queues bytes as DATA on a stream; they go out with the next sendData. */
  enqueue(stream: Stream, part: Uint8Array): void {
    if (stream.state & State.CLOSED || part.length === 0) return;
    (stream.out ??= []).push(part);
    stream.outBytes += part.length;
  }

  /**
   * Queues bytes (and a callback due after them) as DATA on a stream; what the windows allow goes
   * out at the end of the tick, so that the streams that wrote in the same tick share the windows.
   */
  sendData(stream: Stream, parts: readonly Uint8Array[], done: (() => void) | undefined): void {
    if (stream.state & State.CLOSED) {
      done?.();
      return;
    }
    for (const part of parts) this.enqueue(stream, part);
    if (done !== undefined) (stream.out ??= []).push(done);
    this.markReady(stream);
    if (this.is(Is.FLUSH_QUEUED)) return;
    this.mark(Is.FLUSH_QUEUED);
    queueMicrotask(() => {
      this.unmark(Is.FLUSH_QUEUED);
      this.guard(() => this.flush());
    });
  }

  /** Sends a final header block (END_STREAM) after the DATA queued on the stream. */
  sendTrailers(stream: Stream, block: Buffer): void {
    if (stream.outBytes === 0) this.sendHeaders(stream, block, true);
    else stream.trailers = block;
  }

  /** Resets a stream (RST_STREAM with `code`) and closes it. */
  reset(stream: Stream, code: ErrorCode): void {
    if (stream.state & State.CLOSED) return;
    this.write(rstStreamFrame(stream.id, code));
    this.close(stream);
  }

  private resetId(id: number, code: ErrorCode, why: string): void {
    this.host.log.debug({ peer: this.peer, stream: id, code }, `stream reset: ${why}`);
    const stream = this.streams.get(id);
    if (stream !== undefined) this.reset(stream, code);
    else this.write(rstStreamFrame(id, code));
  }

  /** We sent END_STREAM: the stream is over (a peer still sending is asked to stop with RST_STREAM NO_ERROR, RFC 9113 §8.1). */
  private localEnd(stream: Stream): void {
    if (stream.state & State.REMOTE_CLOSED) this.close(stream);
    else this.reset(stream, ErrorCode.NO_ERROR);
  }

  private markReady(stream: Stream): void {
    if (stream.state & (State.READY | State.CLOSED)) return;
    stream.state |= State.READY;
    this.ready.push(stream);
  }

  /** Sends DATA from the ready streams in turn, one frame each per round, as windows and the socket allow. */
  private flush(): void {
    if (this.is(Is.FLUSHING | Is.BLOCKED) || !this.writable) return;
    this.mark(Is.FLUSHING);
    this.socket.cork();
    try {
      while (this.readyHead < this.ready.length && !this.is(Is.BLOCKED) && this.writable) {
        const stream = this.ready[this.readyHead] as Stream;
        if (stream.outBytes > 0 && stream.sendWindow > 0 && this.sendWindow <= 0) break; // resumes on the connection's WINDOW_UPDATE
        this.readyHead += 1;
        stream.state &= ~State.READY;
        if (stream.state & State.CLOSED) continue;
        if (stream.outBytes > 0 && stream.sendWindow > 0) this.writeData(stream);
        if (stream.outBytes > 0) {
          if (stream.sendWindow > 0) this.markReady(stream); // else it resumes on the stream's WINDOW_UPDATE
        } else if (stream.trailers !== null) {
          const trailers = stream.trailers;
          stream.trailers = null;
          this.sendHeaders(stream, trailers, true);
        }
      }
      if (this.readyHead === this.ready.length) {
        this.ready.length = 0;
        this.readyHead = 0;
      } else if (this.readyHead > 1024) {
        this.ready.splice(0, this.readyHead);
        this.readyHead = 0;
      }
    } finally {
      this.unmark(Is.FLUSHING);
      this.socket.uncork();
    }
  }

  /** One DATA frame from the stream's queue: as much as the windows and the peer's frame size allow. */
  private writeData(stream: Stream): void {
    const out = stream.out as Output[];
    const size = Math.min(stream.outBytes, stream.sendWindow, this.sendWindow, this.peerMaxFrameSize);
    stream.outBytes -= size;
    stream.sendWindow -= size;
    this.sendWindow -= size;
    this.socket.write(frameHeader(size, FrameType.DATA, 0, stream.id));
    let left = size;
    while (left > 0) {
      const part = out[stream.outHead] as Uint8Array;
      const rest = part.length - stream.outOffset;
      if (rest > left) {
        this.socket.write(part.subarray(stream.outOffset, stream.outOffset + left));
        stream.outOffset += left;
        break;
      }
      this.socket.write(stream.outOffset === 0 ? part : part.subarray(stream.outOffset));
      left -= rest;
      stream.outOffset = 0;
      stream.outHead += 1;
      this.runCallbacks(stream, out);
    }
    if (stream.outHead === out.length) {
      stream.out = null;
      stream.outHead = 0;
    }
    if (this.socket.writableLength >= WRITE_BUDGET) this.mark(Is.BLOCKED);
  }

  /** Runs the callbacks at the head of a stream's queue (their bytes went to the socket). */
  private runCallbacks(stream: Stream, out: Output[]): void {
    while (stream.outHead < out.length && typeof out[stream.outHead] === 'function') {
      const done = out[stream.outHead] as () => void;
      stream.outHead += 1;
      done();
    }
  }

  /** Frames may still go out: no protocol error, and the socket is neither ended nor gone. */
  private get writable(): boolean {
    return !this.is(Is.DEAD) && !this.socket.writableEnded;
  }

  private write(frame: Buffer): void {
    if (this.writable) this.socket.write(frame);
  }

  // ---- closing -----------------------------------------------------------------------------

  /** Removes a stream: its pending callbacks run, its owner hears onStreamClose. */
  private close(stream: Stream): void {
    if (stream.state & State.CLOSED) return;
    stream.state |= State.CLOSED;
    this.streams.delete(stream.id);
    const out = stream.out;
    stream.out = null;
    stream.outBytes = 0;
    stream.trailers = null;
    if (out !== null) {
      for (let i = stream.outHead; i < out.length; i++) {
        const item = out[i];
        if (typeof item === 'function') item();
      }
    }
    stream.onStreamClose();
    if (this.is(Is.DRAINING | Is.PEER_GOING_AWAY) && this.streams.size === 0 && this.writable) this.socket.end();
  }

  /** Graceful: GOAWAY naming the last stream we took, no new streams, close once the open ones end. */
  goAway(): void {
    if (this.is(Is.DEAD | Is.DRAINING)) return;
    this.mark(Is.DRAINING);
    this.write(goawayFrame(this.lastStreamId, ErrorCode.NO_ERROR));
    if (this.streams.size === 0) this.socket.end();
  }

  /** A connection error: GOAWAY with `code`, every stream closed, the socket closed. */
  private fail(code: ErrorCode, why: string): void {
    if (this.is(Is.DEAD)) return;
    this.host.log.debug({ peer: this.peer, code }, `connection error: ${why}`);
    this.write(goawayFrame(this.lastStreamId, code, why));
    this.mark(Is.DEAD);
    this.partial = null;
    this.continuation = null;
    this.closeStreams();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS).unref();
  }

  /** Closes the socket at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer === null) return;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private closeStreams(): void {
    for (const stream of [...this.streams.values()]) this.close(stream);
  }

  private onSocketClose(): void {
    this.clearHandshakeTimer();
    this.mark(Is.DEAD);
    this.partial = null;
    this.continuation = null;
    this.ready.length = 0;
    this.readyHead = 0;
    this.closeStreams();
    this.host.sessionClosed(this);
  }
}

/** A token bucket: `burst` tokens, refilled at `perSecond`. */
class FloodGuard {
  private tokens: number;
  private time = Date.now();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {
    this.tokens = burst;
  }

  /** Takes a token; false if none is left. */
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.time) * this.perSecond) / 1000);
    this.time = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Frames that belong to a stream may not come on stream 0. */
function needStream(id: number, type: string): void {
  if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `${type} on stream 0`);
}

/** The payload of a DATA or HEADERS frame without its padding. */
function unpad(flags: number, payload: Buffer): Buffer {
  if (!(flags & Flag.PADDED)) return payload;
  if (payload.length < 1) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'padded frame without its pad length');
  const padding = payload[0] as number;
  if (padding >= payload.length) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'padding longer than the frame');
  return payload.subarray(1, payload.length - padding);
}

/** Why a request's header list is malformed (RFC 9113 §8.3.1), or undefined if it is well formed. */
function checkRequestHeaders(headers: ReadonlyArray<readonly [string, string]>): string | undefined {
  let regular = false;
  let seen = 0;
  for (const [name, value] of headers) {
    if (name.startsWith(':')) {
      if (regular) return 'pseudo-header after a regular header';
      if (!REQUEST_PSEUDO_HEADERS.has(name)) return `pseudo-header ${name}`;
      const bit = name === ':method' ? 1 : name === ':scheme' ? 2 : name === ':path' ? 4 : 8;
      if (seen & bit) return `repeated ${name}`;
      seen |= bit;
      if (name === ':path' && value === '') return 'empty :path';
      continue;
    }
    regular = true;
    if (name !== name.toLowerCase()) return `upper-case header name ${name}`;
    if (CONNECTION_HEADERS.has(name)) return `connection-specific header ${name}`;
    if (name === 'te' && value !== 'trailers') return 'te other than trailers';
  }
  if ((seen & 7) !== 7) return 'missing :method, :scheme or :path';
  return undefined;
}

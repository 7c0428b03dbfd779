// HTTP/2 wire constants and frame codecs (RFC 9113): the connection preface, frame types, flags,
// settings and error codes, the 9-byte frame header, and the small control frames the server
// sends. Shared by every connection: nothing here holds per-connection state.

/** The client connection preface every HTTP/2 connection starts with. */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FRAME_HEADER_SIZE = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value: the largest frame either side may send until told otherwise. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
/** The largest SETTINGS_MAX_FRAME_SIZE a peer may announce (2^24-1). */
export const MAX_ALLOWED_FRAME_SIZE = 16_777_215;
/** The initial flow-control window of the connection and of every stream. */
export const DEFAULT_WINDOW = 65_535;
/** No flow-control window may exceed 2^31-1. */
export const MAX_WINDOW = 2_147_483_647;
/** HPACK's default dynamic table size, in force until the peer acknowledges ours. */
export const DEFAULT_HEADER_TABLE_SIZE = 4_096;

export const enum FrameType {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

/** The ACK flag of SETTINGS and PING (the same bit as END_STREAM of DATA and HEADERS). */
export const ACK = 0x1;

export const enum Flag {
  END_STREAM = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

export const enum Setting {
  HEADER_TABLE_SIZE = 0x1,
  ENABLE_PUSH = 0x2,
  MAX_CONCURRENT_STREAMS = 0x3,
  INITIAL_WINDOW_SIZE = 0x4,
  MAX_FRAME_SIZE = 0x5,
  MAX_HEADER_LIST_SIZE = 0x6,
}

export const enum ErrorCode {
  NO_ERROR = 0x0,
  PROTOCOL_ERROR = 0x1,
  INTERNAL_ERROR = 0x2,
  FLOW_CONTROL_ERROR = 0x3,
  SETTINGS_TIMEOUT = 0x4,
  STREAM_CLOSED = 0x5,
  FRAME_SIZE_ERROR = 0x6,
  REFUSED_STREAM = 0x7,
  CANCEL = 0x8,
  COMPRESSION_ERROR = 0x9,
  CONNECT_ERROR = 0xa,
  ENHANCE_YOUR_CALM = 0xb,
  INADEQUATE_SECURITY = 0xc,
  HTTP_1_1_REQUIRED = 0xd,
}

/** A fault that ends the whole connection: GOAWAY with `code`, then close. */
export class ConnectionError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A fault that ends one stream: RST_STREAM with `code`; the connection carries on. */
export class StreamError extends Error {
  constructor(
    readonly streamId: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The 9-byte header of a frame whose payload is `length` bytes. */
export function frameHeader(length: number, type: FrameType, flags: number, streamId: number): Buffer {
  return writeFrameHeader(Buffer.allocUnsafe(FRAME_HEADER_SIZE), length, type, flags, streamId);
}

/** Writes a frame header at the start of `out`; returns `out`. */
function writeFrameHeader(out: Buffer, length: number, type: FrameType, flags: number, streamId: number): Buffer {
  out.writeUIntBE(length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId, 5);
  return out;
}

/** A whole frame: header and payload in one buffer. */
function frame(type: FrameType, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const out = writeFrameHeader(Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length), payload.length, type, flags, streamId);
  out.set(payload, FRAME_HEADER_SIZE);
  return out;
}

/** A SETTINGS frame carrying these (identifier, value) pairs. */
export function settingsFrame(settings: ReadonlyArray<readonly [Setting, number]>): Buffer {
  const payload = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

export const SETTINGS_ACK = frame(FrameType.SETTINGS, ACK, 0, Buffer.alloc(0));

/** The acknowledgement of a PING: the same 8 bytes back with the ACK flag. */
export function pingAckFrame(opaque: Uint8Array): Buffer {
  return frame(FrameType.PING, ACK, 0, opaque);
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(increment, 0);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

export function rstStreamFrame(streamId: number, code: ErrorCode): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(code, 0);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}

/** GOAWAY: the last peer stream this side will process, why, and a debug text for humans. */
export function goawayFrame(lastStreamId: number, code: ErrorCode, debug = ''): Buffer {
  const text = Buffer.from(debug, 'utf8');
  const payload = Buffer.allocUnsafe(8 + text.length);
  payload.writeUInt32BE(lastStreamId, 0);
  payload.writeUInt32BE(code, 4);
  payload.set(text, 8);
  return frame(FrameType.GOAWAY, 0, 0, payload);
}

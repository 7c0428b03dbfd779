// skiff's own gRPC server at the HTTP/2 level: Node's http2 client (nghttp2) for flow control,
// pings, GOAWAY, server-side deadlines and compressed requests; a raw socket for exact frames
// (windows, frame sizes, CONTINUATION, padding, refused streams) and for every malformed input,
// each of which must end in GOAWAY (or RST_STREAM) and a close while other connections carry on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { deflateSync, gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { ErrorCode, Flag, FrameType, PREFACE } from '../../xds/grpc/frames.js';
import { HpackDecoder, encodeHeaders } from '../../xds/grpc/hpack.js';
import { Status } from '../../xds/grpc/handlers.js';
import type { GrpcServer } from '../../xds/grpc/server.js';
import {
  PATHS,
  RawClient,
  type RawFrame,
  type TestCalls,
  bigMessage,
  frame,
  grpcClient,
  grpcMessage,
  requestHeaders,
  startServer,
  u32,
  unary,
} from './grpc-server-fixtures.js';

let server: GrpcServer;
let port: number;
let calls: TestCalls;
const raws: RawClient[] = [];

/** What the server logged at warn or above: an internal fault, never a peer's malformed input. */
const warnings: string[] = [];

before(async () => {
  const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
  ({ server, port, calls } = await startServer({ maxMessageBytes: 1024 * 1024, maxConcurrentStreams: 50, log }));
});

after(async () => {
  for (const raw of raws) raw.destroy();
  await server.shutdown(100);
});

async function raw(handshake = true): Promise<RawClient> {
  const client = await RawClient.connect(port, handshake);
  raws.push(client);
  return client;
}

/** The decoded header blocks the server sent on a stream, and its DATA bytes. */
function streamOf(frames: RawFrame[], id: number): { blocks: Array<Map<string, string>>; data: Buffer; ended: boolean } {
  const decoder = new HpackDecoder();
  const blocks: Array<Map<string, string>> = [];
  const data: Buffer[] = [];
  let ended = false;
  for (const f of frames) {
    if (f.id !== id) continue;
    if (f.type === FrameType.HEADERS) blocks.push(new Map(decoder.decode(f.payload)));
    if (f.type === FrameType.DATA) data.push(f.payload);
    if ((f.type === FrameType.HEADERS || f.type === FrameType.DATA) && f.flags & Flag.END_STREAM) ended = true;
  }
  return { blocks, data: Buffer.concat(data), ended };
}

const ended = (id: number) => (frames: RawFrame[]) => frames.some((f) => f.id === id && (f.type === FrameType.HEADERS || f.type === FrameType.DATA) && (f.flags & Flag.END_STREAM) !== 0);
const resetOf = (frames: RawFrame[], id: number) => frames.find((f) => f.type === FrameType.RST_STREAM && f.id === id)?.payload.readUInt32BE(0);

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The gRPC messages in a stream's DATA bytes. */
function messages(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const length = data.readUInt32BE(at + 1);
    out.push(data.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}

interface H2Response {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  data: Buffer;
}

/** A request with `body`; the request stays open (no Flag.END_STREAM) with `keepOpen`. */
function h2Request(session: http2.ClientHttp2Session, path: string, body: Buffer, extra: http2.OutgoingHttpHeaders = {}, keepOpen = false): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('close', () => resolve({ headers, trailers, data: Buffer.concat(chunks) }));
    if (keepOpen) stream.write(body);
    else stream.end(body);
  });
}

/** The grpc-status of a response: from its trailers, or its headers when trailers-only. */
const grpcStatus = (response: H2Response) => Number(response.trailers['grpc-status'] ?? response.headers['grpc-status']);

async function withH2<T>(run: (session: http2.ClientHttp2Session) => Promise<T>, settings: http2.Settings = {}): Promise<T> {
  const session = http2.connect(`http://127.0.0.1:${port}`, { settings });
  session.on('error', () => {});
  try {
    return await run(session);
  } finally {
    session.close();
  }
}

test('Node http2 client with 64 KB windows: a 5 MB response arrives intact, with the gRPC response headers and OK trailers', async () => {
  const size = 5 * 1024 * 1024;
  const response = await withH2((session) => h2Request(session, PATHS.echo, grpcMessage(Buffer.from(`big ${size}`))), { initialWindowSize: 65_535 });
  assert.equal(response.headers[':status'], 200);
  assert.equal(response.headers['content-type'], 'application/grpc');
  assert.equal(response.headers['grpc-accept-encoding'], 'identity');
  assert.equal(response.trailers['grpc-status'], '0');
  const [message] = messages(response.data);
  assert.ok(message?.equals(bigMessage(size)));
});

test('PINGs are acknowledged with their payload', async () => {
  await withH2(async (session) => {
    await once(session, 'remoteSettings');
    const payload = Buffer.from('8 bytes!');
    const acked = await new Promise<Buffer>((resolve, reject) => session.ping(payload, (error, _ms, back) => (error ? reject(error) : resolve(back))));
    assert.ok(acked.equals(payload));
  });
});

test('grpc-timeout is enforced by the server: DEADLINE_EXCEEDED trailers-only, and the call is closed', async () => {
  const response = await withH2((session) => h2Request(session, PATHS.echo, grpcMessage(Buffer.from('never')), { 'grpc-timeout': '100m' }));
  assert.equal(grpcStatus(response), Status.DEADLINE_EXCEEDED);
  const bidiResponse = withH2((session) => h2Request(session, PATHS.chat, grpcMessage(Buffer.from('server-deadline')), { 'grpc-timeout': '150m' }, true));
  assert.equal(grpcStatus(await bidiResponse), Status.DEADLINE_EXCEEDED);
  assert.equal(calls.closes.get('server-deadline'), 1);
});

test('compressed requests: gzip and deflate are decoded, other encodings are UNIMPLEMENTED, a compressed flag without grpc-encoding is INTERNAL', async () => {
  await withH2(async (session) => {
    const compressed = (bytes: Buffer) => Buffer.concat([Buffer.from([1]), u32(bytes.length), bytes]);
    const gzip = await h2Request(session, PATHS.echo, compressed(gzipSync('zipped')), { 'grpc-encoding': 'gzip' });
    assert.equal(messages(gzip.data)[0]?.toString(), 'zipped');
    const deflate = await h2Request(session, PATHS.echo, compressed(deflateSync('deflated')), { 'grpc-encoding': 'deflate' });
    assert.equal(messages(deflate.data)[0]?.toString(), 'deflated');
    const brotli = await h2Request(session, PATHS.echo, grpcMessage(Buffer.from('x')), { 'grpc-encoding': 'br' });
    assert.equal(grpcStatus(brotli), Status.UNIMPLEMENTED);
    const unnamed = await h2Request(session, PATHS.echo, compressed(gzipSync('x')));
    assert.equal(grpcStatus(unnamed), Status.INTERNAL);
  });
});

test('request messages: over maxMessageBytes is RESOURCE_EXHAUSTED; a unary call with none or two is INTERNAL; non-gRPC requests get HTTP errors', async () => {
  await withH2(async (session) => {
    const tooBig = await h2Request(session, PATHS.echo, grpcMessage(Buffer.alloc(1024 * 1024 + 1)));
    assert.equal(grpcStatus(tooBig), Status.RESOURCE_EXHAUSTED);
    const none = await h2Request(session, PATHS.echo, Buffer.alloc(0));
    assert.equal(grpcStatus(none), Status.INTERNAL);
    const two = await h2Request(session, PATHS.echo, Buffer.concat([grpcMessage(Buffer.from('a')), grpcMessage(Buffer.from('b'))]));
    assert.equal(grpcStatus(two), Status.INTERNAL);
    const truncated = await h2Request(session, PATHS.echo, grpcMessage(Buffer.from('abc')).subarray(0, 6));
    assert.equal(grpcStatus(truncated), Status.INTERNAL);
    const json = await h2Request(session, PATHS.echo, Buffer.from('{}'), { 'content-type': 'application/json' });
    assert.equal(json.headers[':status'], 415);
  });
});

test('unknown paths get a trailers-only UNIMPLEMENTED response: one HEADERS frame with Flag.END_STREAM', async () => {
  const client = await raw();
  client.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestHeaders('/nothing/Here')), frame(FrameType.DATA, Flag.END_STREAM, 1, grpcMessage(Buffer.from('x'))));
  await client.until(ended(1));
  const headers = client.frames.filter((f) => f.id === 1 && f.type === FrameType.HEADERS);
  assert.equal(headers.length, 1);
  const [block] = streamOf(client.frames, 1).blocks;
  assert.equal(block?.get(':status'), '200');
  assert.equal(block?.get('content-type'), 'application/grpc');
  assert.equal(block?.get('grpc-status'), String(Status.UNIMPLEMENTED));
  assert.match(block?.get('grpc-message') ?? '', /not implemented/);
});

test('raw flow control: DATA stops at the stream window and resumes on WINDOW_UPDATE and on a larger SETTINGS_INITIAL_WINDOW_SIZE', async () => {
  const client = await raw(false);
  client.send(PREFACE, frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0, 0, 10])));
  client.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestHeaders(PATHS.echo)), frame(FrameType.DATA, Flag.END_STREAM, 1, grpcMessage(Buffer.from('0123456789abcdefghij'))));
  const dataBytes = () => streamOf(client.frames, 1).data.length;
  await client.until(() => dataBytes() === 10);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(dataBytes(), 10, 'no DATA beyond the stream window');
  client.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(5)));
  await client.until(() => dataBytes() === 15);
  client.send(frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0, 0x10, 0])));
  await client.until(ended(1));
  const stream = streamOf(client.frames, 1);
  assert.equal(messages(stream.data)[0]?.toString(), '0123456789abcdefghij');
  assert.equal(stream.blocks[1]?.get('grpc-status'), '0');
});

test('raw: write() callbacks run once the bytes went out, or when the call closes first; onClose runs once', async () => {
  const client = await raw(false);
  client.send(PREFACE, frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0, 0, 10])));
  client.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestHeaders(PATHS.chat)), frame(FrameType.DATA, 0, 1, grpcMessage(Buffer.from('big 100'))));
  client.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 3, requestHeaders(PATHS.chat)), frame(FrameType.DATA, 0, 3, grpcMessage(Buffer.from('big 200'))));
  await client.until(() => streamOf(client.frames, 1).data.length === 10 && streamOf(client.frames, 3).data.length === 10);
  assert.deepEqual(calls.done.filter((name) => name.startsWith('big 1') || name.startsWith('big 2')), []);
  client.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(95)));
  await client.until(() => streamOf(client.frames, 1).data.length === 105);
  await waitFor(() => calls.done.includes('big 100'));
  assert.ok(!calls.done.includes('big 200'));
  client.send(frame(FrameType.RST_STREAM, 0, 3, u32(8)));
  await waitFor(() => calls.done.includes('big 200') && calls.closes.get('big 200') === 1);
  client.send(frame(FrameType.RST_STREAM, 0, 1, u32(8)));
  await waitFor(() => calls.closes.get('big 100') === 1);
  assert.equal(calls.closes.get('big 200'), 1);
});

test('raw: streams share the connection window in turn, one frame each', async () => {
  const client = await raw(false);
  client.send(PREFACE, frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 4, 0x7f, 0xff, 0xff, 0xff])));
  for (const id of [1, 3, 5]) client.send(frame(FrameType.HEADERS, Flag.END_HEADERS, id, requestHeaders(PATHS.echo)), frame(FrameType.DATA, Flag.END_STREAM, id, grpcMessage(Buffer.from('big 100000'))));
  const sent = () => client.frames.filter((f) => f.type === FrameType.DATA).reduce((sum, f) => sum + f.payload.length, 0);
  await client.until(() => sent() === 65_535);
  const order = client.frames.filter((f) => f.type === FrameType.DATA).map((f) => f.id);
  assert.deepEqual(order, [1, 3, 5, 1], 'one 16 KB frame per stream in turn until the 64 KB connection window is spent');
  client.send(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1 - 65_535)));
  await client.until((frames) => [1, 3, 5].every((id) => ended(id)(frames)));
  for (const id of [1, 3, 5]) assert.ok(messages(streamOf(client.frames, id).data)[0]?.equals(bigMessage(100_000)));
});

test('raw: a connection whose bytes arrive one at a time is served', async () => {
  const client = await raw(false);
  client.socket.setNoDelay(true);
  const bytes = Buffer.concat([
    PREFACE,
    frame(FrameType.SETTINGS, 0, 0),
    frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestHeaders(PATHS.echo)),
    frame(FrameType.DATA, Flag.END_STREAM, 1, grpcMessage(Buffer.from('one byte at a time'))),
  ]);
  for (const byte of bytes) {
    client.send(Buffer.from([byte]));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await client.until(ended(1));
  assert.equal(messages(streamOf(client.frames, 1).data)[0]?.toString(), 'one byte at a time');
});

test('raw: a call ended before the client half-closed is followed by RST_STREAM NO_ERROR; client trailers end the request side; a client GOAWAY closes an idle connection', async () => {
  const client = await raw();
  client.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestHeaders(PATHS.chat)), frame(FrameType.DATA, 0, 1, grpcMessage(Buffer.from('end'))));
  await client.until((frames) => resetOf(frames, 1) !== undefined);
  assert.equal(resetOf(client.frames, 1), ErrorCode.NO_ERROR);
  const order = client.frames.filter((f) => f.id === 1).map((f) => f.type);
  assert.deepEqual(order, [FrameType.HEADERS, FrameType.RST_STREAM], 'trailers-only, then the reset');
  client.send(
    frame(FrameType.HEADERS, Flag.END_HEADERS, 3, requestHeaders(PATHS.sum)),
    frame(FrameType.DATA, 0, 3, grpcMessage(Buffer.from('four'))),
    frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, encodeHeaders([['x-trailer', 'yes']])),
  );
  await client.until(ended(3));
  assert.equal(messages(streamOf(client.frames, 3).data)[0]?.toString(), '4');
  client.send(frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(0), u32(0)])));
  assert.ok(await client.closedWithin(5000));
  assert.equal(client.goawayCode(), undefined);
});

test('raw frame sizes: DATA frames never exceed the peer\'s SETTINGS_MAX_FRAME_SIZE', async () => {
  for (const maxFrame of [16_384, 40_000]) {
    const client = await raw(false);
    const settings = Buffer.from([0, 4, 0x7f, 0xff, 0xff, 0xff, 0, 5, 0, 0, 0, 0]);
    settings.writeUInt32BE(maxFrame, 8);
    client.send(PREFACE, frame(FrameType.SETTINGS, 0, 0, settings), frame(FrameType.WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1 - 65_535)));
    client.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestHeaders(PATHS.echo)), frame(FrameType.DATA, Flag.END_STREAM, 1, grpcMessage(Buffer.from('big 200000'))));
    await client.until(ended(1));
    const sizes = client.frames.filter((f) => f.type === FrameType.DATA).map((f) => f.payload.length);
    assert.equal(Math.max(...sizes), maxFrame);
    assert.ok(messages(streamOf(client.frames, 1).data)[0]?.equals(bigMessage(200_000)));
    client.destroy();
  }
});

test('raw: header blocks across CONTINUATION frames, padding and priority flags are read', async () => {
  const client = await raw();
  const block = requestHeaders(PATHS.chat, [['x-name', 'y'.repeat(300)]]);
  const padded = (payload: Buffer, pad: number) => Buffer.concat([Buffer.from([pad]), payload, Buffer.alloc(pad)]);
  const priority = Buffer.concat([u32(0), Buffer.from([15])]);
  client.send(
    frame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, Buffer.concat([Buffer.from([3]), priority, block.subarray(0, 10), Buffer.alloc(3)])),
    frame(FrameType.CONTINUATION, 0, 1, block.subarray(10, 100)),
    frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(100)),
    frame(FrameType.PRIORITY, 0, 1, Buffer.concat([u32(0), Buffer.from([1])])),
    frame(FrameType.DATA, Flag.PADDED, 1, padded(grpcMessage(Buffer.from('padded')), 20)),
    frame(FrameType.DATA, Flag.END_STREAM, 1),
  );
  await client.until(ended(1));
  const stream = streamOf(client.frames, 1);
  assert.deepEqual(messages(stream.data).map(String), ['echo:padded']);
  assert.equal(stream.blocks.at(-1)?.get('grpc-status'), '0');
});

test('raw: streams beyond MAX_CONCURRENT_STREAMS are refused; stream-level faults reset only their stream', async () => {
  const client = await raw();
  for (let i = 0; i < 51; i++) client.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 2 * i + 1, requestHeaders(PATHS.chat)));
  await client.until((frames) => resetOf(frames, 101) !== undefined);
  assert.equal(resetOf(client.frames, 101), ErrorCode.REFUSED_STREAM);
  client.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(0)), frame(FrameType.PRIORITY, 0, 3, u32(0)));
  await client.until((frames) => resetOf(frames, 1) !== undefined && resetOf(frames, 3) !== undefined);
  assert.equal(resetOf(client.frames, 1), ErrorCode.PROTOCOL_ERROR);
  assert.equal(resetOf(client.frames, 3), ErrorCode.FRAME_SIZE_ERROR);
  client.send(frame(FrameType.DATA, 0, 5, grpcMessage(Buffer.from('still'))));
  await client.until(() => messages(streamOf(client.frames, 5).data).length === 1);
  assert.equal(client.goawayCode(), undefined);
});

test('handshake timeout: a silent connection gets GOAWAY SETTINGS_TIMEOUT; a preface that waits unread while the server is busy past the deadline is served', async () => {
  const short = await startServer({ handshakeTimeoutMs: 1000 });
  const clients: RawClient[] = [];
  try {
    const silent = await RawClient.connect(short.port, false);
    const late = await RawClient.connect(short.port, false);
    clients.push(silent, late);
    // the server's SETTINGS came: it accepted both connections and their handshake timers run
    await late.until((frames) => frames.some((f) => f.type === FrameType.SETTINGS));
    late.send(PREFACE, frame(FrameType.SETTINGS, 0, 0));
    // the loop (the server's too) is busy past both deadlines: the timers fire before the preface is read
    for (const until = Date.now() + 1200; Date.now() < until;);
    late.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestHeaders(PATHS.echo)), frame(FrameType.DATA, Flag.END_STREAM, 1, grpcMessage(Buffer.from('late'))));
    await late.until(ended(1));
    assert.equal(messages(streamOf(late.frames, 1).data)[0]?.toString(), 'late');
    assert.equal(late.goawayCode(), undefined);
    assert.ok(await silent.closedWithin(5000));
    assert.equal(silent.goawayCode(), ErrorCode.SETTINGS_TIMEOUT);
  } finally {
    for (const client of clients) client.destroy();
    await short.server.shutdown(100);
  }
});

test('shutdown GOAWAY reaches an http2 client naming its last stream; the connection closes once the handler ends the call', async () => {
  const { server: own, port: ownPort, calls: ownCalls } = await startServer();
  const session = http2.connect(`http://127.0.0.1:${ownPort}`);
  session.on('error', () => {});
  try {
    const goaway = new Promise<[number, number]>((resolve) => session.on('goaway', (code, last) => resolve([code, last])));
    const closed = new Promise((resolve) => session.on('close', resolve));
    const stream = session.request({ ':method': 'POST', ':path': PATHS.chat, 'content-type': 'application/grpc' });
    stream.on('error', () => {});
    stream.write(grpcMessage(Buffer.from('open')));
    const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.on('trailers', resolve));
    stream.on('data', () => {});
    while (ownCalls.open.size === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const stopped = own.shutdown(5000);
    assert.deepEqual(await goaway, [0, 1]);
    for (const call of ownCalls.open) call.end({ code: Status.UNAVAILABLE, details: 'draining' });
    assert.equal((await trailers)['grpc-status'], String(Status.UNAVAILABLE));
    await stopped;
    await closed;
    assert.equal(own.connections, 0);
  } finally {
    session.destroy();
    await own.shutdown(0);
  }
});

/** Malformed input after a valid handshake, and the GOAWAY code it must earn. */
const MALFORMED: Array<[string, number, () => Buffer[]]> = [
  ['DATA on stream 0', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.DATA, 0, 0, Buffer.from('x'))]],
  ['HEADERS on stream 0', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.HEADERS, Flag.END_HEADERS, 0, requestHeaders(PATHS.echo))]],
  ['HEADERS on an even stream id', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.HEADERS, Flag.END_HEADERS, 2, requestHeaders(PATHS.echo))]],
  ['decreasing stream ids', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.HEADERS, Flag.END_HEADERS, 5, requestHeaders(PATHS.chat)), frame(FrameType.HEADERS, Flag.END_HEADERS, 3, requestHeaders(PATHS.chat))]],
  ['CONTINUATION without HEADERS', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, requestHeaders(PATHS.echo))]],
  ['a header block interrupted by PING', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.HEADERS, 0, 1, requestHeaders(PATHS.echo)), frame(FrameType.PING, 0, 0, Buffer.alloc(8))]],
  ['CONTINUATION on another stream', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.HEADERS, 0, 1, requestHeaders(PATHS.echo)), frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3, Buffer.alloc(0))]],
  ['connection window overflow', ErrorCode.FLOW_CONTROL_ERROR, () => [frame(FrameType.WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1))]],
  ['stream window overflow', ErrorCode.FLOW_CONTROL_ERROR, () => [frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestHeaders(PATHS.chat)), frame(FrameType.WINDOW_UPDATE, 0, 1, u32(2 ** 31 - 1))]],
  ['SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1', ErrorCode.FLOW_CONTROL_ERROR, () => [frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 4, 0x80, 0, 0, 0]))]],
  ['DATA after Flag.END_STREAM', ErrorCode.STREAM_CLOSED, () => [frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestHeaders(PATHS.echo)), frame(FrameType.DATA, Flag.END_STREAM, 1, grpcMessage(Buffer.from('never'))), frame(FrameType.DATA, 0, 1, Buffer.from('x'))]],
  ['DATA on an idle stream', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.DATA, 0, 7, Buffer.from('x'))]],
  ['a frame longer than SETTINGS_MAX_FRAME_SIZE', ErrorCode.FRAME_SIZE_ERROR, () => [frame(FrameType.DATA, 0, 1, Buffer.alloc(0), 20_000)]],
  ['PING of 6 bytes', ErrorCode.FRAME_SIZE_ERROR, () => [frame(FrameType.PING, 0, 0, Buffer.alloc(6))]],
  ['PING on a stream', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.PING, 0, 1, Buffer.alloc(8))]],
  ['SETTINGS of 5 bytes', ErrorCode.FRAME_SIZE_ERROR, () => [frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5))]],
  ['SETTINGS ACK with a payload', ErrorCode.FRAME_SIZE_ERROR, () => [frame(FrameType.SETTINGS, 1, 0, Buffer.alloc(6))]],
  ['SETTINGS_MAX_FRAME_SIZE too small', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 5, 0, 0, 0x10, 0]))]],
  ['SETTINGS_ENABLE_PUSH of 2', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 2, 0, 0, 0, 2]))]],
  ['RST_STREAM of 3 bytes', ErrorCode.FRAME_SIZE_ERROR, () => [frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestHeaders(PATHS.chat)), frame(FrameType.RST_STREAM, 0, 1, Buffer.alloc(3))]],
  ['RST_STREAM on an idle stream', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.RST_STREAM, 0, 9, u32(8))]],
  ['WINDOW_UPDATE of 0 on the connection', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0))]],
  ['PUSH_PROMISE from a client', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, u32(2))]],
  ['padding longer than the frame', ErrorCode.PROTOCOL_ERROR, () => [frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestHeaders(PATHS.chat)), frame(FrameType.DATA, Flag.PADDED, 1, Buffer.from([9, 1, 2]))]],
  ['an undecodable header block', ErrorCode.COMPRESSION_ERROR, () => [frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x80]))]],
  ['a header list beyond MAX_HEADER_LIST_SIZE', ErrorCode.COMPRESSION_ERROR, () => {
    const block = encodeHeaders([[':method', 'POST'], [':scheme', 'http'], [':path', PATHS.echo], ['x-big', 'x'.repeat(70_000)]]);
    const frames = [frame(FrameType.HEADERS, 0, 1, block.subarray(0, 16_000))];
    for (let at = 16_000; at < block.length; at += 16_000) frames.push(frame(FrameType.CONTINUATION, at + 16_000 >= block.length ? Flag.END_HEADERS : 0, 1, block.subarray(at, at + 16_000)));
    return frames;
  }],
  ['a PING flood', ErrorCode.ENHANCE_YOUR_CALM, () => Array.from({ length: 100 }, () => frame(FrameType.PING, 0, 0, Buffer.alloc(8)))],
  ['rapid reset: streams opened and reset at once, over and over', ErrorCode.ENHANCE_YOUR_CALM, () => {
    const frames: Buffer[] = [];
    for (let id = 1; id < 2 * 1100; id += 2) frames.push(frame(FrameType.HEADERS, Flag.END_HEADERS, id, requestHeaders(PATHS.chat)), frame(FrameType.RST_STREAM, 0, id, u32(8)));
    return frames;
  }],
];

test('malformed input: each case gets its GOAWAY and a close, and the server keeps serving', async () => {
  const client = grpcClient(port);
  try {
    for (const [name, code, frames] of MALFORMED) {
      const bad = await raw();
      bad.send(...frames());
      assert.ok(await bad.closedWithin(5000), `${name}: the connection was not closed; frames: ${bad.describe()}`);
      assert.equal(bad.goawayCode(), code, `${name}: GOAWAY code; frames: ${bad.describe()}`);
      assert.equal((await unary(client, PATHS.echo, Buffer.from(name))).toString(), name);
    }
    const preface = await raw(false);
    preface.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.ok(await preface.closedWithin(5000));
    assert.equal(preface.goawayCode(), ErrorCode.PROTOCOL_ERROR);
    const first = await raw(false);
    first.send(PREFACE, frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    assert.ok(await first.closedWithin(5000));
    assert.equal(first.goawayCode(), ErrorCode.PROTOCOL_ERROR);
  } finally {
    client.close();
  }
});

/** A small seeded generator, so that a failing fuzz run can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

test('fuzz: random bytes and random frames after a valid preface on 200 connections never throw out of the server', async () => {
  const seed = Date.now() % 1_000_000;
  const next = random(seed);
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
  try {
    const clients = await Promise.all(Array.from({ length: 200 }, () => raw()));
    await Promise.all(clients.map(async (client, i) => {
      if (i % 2 === 0) {
        client.send(bytes(1 + Math.floor(next() * 2048)));
        return;
      }
      const frames: Buffer[] = [frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestHeaders(PATHS.chat))];
      for (let n = 0; n < 20; n++) {
        const type = Math.floor(next() * 11);
        const id = next() < 0.3 ? 0 : 1 + 2 * Math.floor(next() * 4);
        frames.push(frame(type, Math.floor(next() * 256), id, bytes(Math.floor(next() * 40))));
      }
      // in random slices, so that frames also arrive split across reads
      const all = Buffer.concat(frames);
      for (let at = 0; at < all.length; ) {
        const size = 1 + Math.floor(next() * 64);
        client.send(all.subarray(at, at + size));
        at += size;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const client of clients) client.destroy();
    const client = grpcClient(port);
    try {
      assert.equal((await unary(client, PATHS.echo, Buffer.from('alive'))).toString(), 'alive');
    } finally {
      client.close();
    }
    assert.deepEqual(uncaught, [], `fuzz seed ${seed}`);
    assert.deepEqual(warnings, [], `fuzz seed ${seed}`);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});

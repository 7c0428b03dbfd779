// HPACK (RFC 7541) for skiff's HTTP/2 server: the RFC's Appendix C examples, the Huffman code
// checked end to end against nghttp2 (Node's http2 client encodes, our decoder reads; our encoder
// writes, Node's http2 server reads), table size updates, every malformed input, and fuzzing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import { HpackDecoder, HpackError, encodeHeaders } from '../../xds/grpc/hpack.js';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS, huffmanDecode, huffmanEncode, huffmanLength } from '../../xds/grpc/huffman.js';

type Fields = Array<[string, string]>;

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** The dynamic table, newest first, read back through indexed fields (which leave it unchanged). */
function table(decoder: HpackDecoder): Fields {
  const entries: Fields = [];
  for (let index = 62; ; index++) {
    try {
      entries.push(...decoder.decode(Uint8Array.of(0x80 | index)));
    } catch (error) {
      assert.ok(error instanceof HpackError);
      return entries;
    }
  }
}

function tableSize(entries: Fields): number {
  return entries.reduce((sum, [name, value]) => sum + name.length + value.length + 32, 0);
}

function huffman(text: string): string {
  const out = new Uint8Array(huffmanLength(text));
  assert.equal(huffmanEncode(text, out, 0), out.length);
  return Buffer.from(out).toString('hex');
}

/** A seeded generator (mulberry32), so that a failing fuzz case is reproducible. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomText(next: () => number, length: number, low: number, high: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(low + Math.floor(next() * (high - low + 1)));
  return text;
}

/** decode either returns fields or throws HpackError, never anything else. */
function decodesOrRefuses(decoder: HpackDecoder, block: Uint8Array): void {
  try {
    decoder.decode(block);
  } catch (error) {
    if (!(error instanceof HpackError)) throw new Error(`block ${Buffer.from(block).toString('hex')} threw ${String(error)}`);
  }
}

// HTTP/2 framing, as much as the interop tests need (RFC 7540 4.1, 6.2, 6.5, 6.10)
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

function frame(type: number, flags: number, stream: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

function settings(values: Array<[number, number]>): Buffer {
  const payload = Buffer.alloc(values.length * 6);
  values.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(SETTINGS, 0, 0, payload);
}

/** Feeds socket bytes in, calls `onFrame` per whole frame; `preface`: the bytes start with the client preface. */
function frameReader(preface: boolean, onFrame: (frame: Frame) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let skip = preface ? PREFACE.length : 0;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    if (skip > 0) {
      if (pending.length < skip) return;
      assert.deepEqual(pending.subarray(0, skip), PREFACE);
      pending = pending.subarray(skip);
      skip = 0;
    }
    while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
      const length = pending.readUIntBE(0, 3);
      onFrame({ type: pending[3]!, flags: pending[4]!, stream: pending.readUInt32BE(5) & 0x7fffffff, payload: pending.subarray(9, 9 + length) });
      pending = pending.subarray(9 + length);
    }
  };
}

/** Joins HEADERS + CONTINUATION fragments (without padding and priority) into blocks. */
function blockAssembler(onBlock: (stream: number, block: Buffer) => void): (frame: Frame) => void {
  let fragments: Buffer[] = [];
  return ({ type, flags, stream, payload }) => {
    if (type === HEADERS) {
      const padding = flags & PADDED ? payload[0]! : 0;
      const start = (flags & PADDED ? 1 : 0) + (flags & PRIORITY ? 5 : 0);
      fragments = [payload.subarray(start, payload.length - padding)];
    } else if (type === CONTINUATION) {
      fragments.push(payload);
    } else {
      return;
    }
    if (flags & END_HEADERS) onBlock(stream, Buffer.concat(fragments));
  };
}

/** Resolves when `done` is called, rejects on `fail` or after 15 s. */
function completion(): { promise: Promise<void>; done: () => void; fail: (error: unknown) => void } {
  let done!: () => void;
  let fail!: (error: unknown) => void;
  const promise = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('interop test timed out')), 15000);
    done = () => {
      clearTimeout(timer);
      resolve();
    };
    fail = (error) => {
      clearTimeout(timer);
      reject(error);
    };
  });
  return { promise, done, fail };
}

/**
 * Node's http2 client (nghttp2's encoder) sends `requests` to a plain TCP server that decodes each
 * header block with one HpackDecoder, as our session will; with `tableSize`, that server's SETTINGS
 * shrink the table and the decoder learns of it at the client's SETTINGS ACK. Half the requests go
 * before our SETTINGS reach the client, half after. Returns each request's fields and block size.
 */
async function decodeNodeRequests(requests: Fields[], tableSize?: number): Promise<{ results: Array<{ fields: Fields; size: number }>; updates: number }> {
  const decoder = new HpackDecoder();
  const results: Array<{ fields: Fields; size: number }> = [];
  /** Set at the SETTINGS ACK: the next block must start with a size update; counted when it does. */
  let updateDue = false;
  let updates = 0;
  const finished = completion();
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    const ours: Array<[number, number]> = [[SETTINGS_MAX_CONCURRENT_STREAMS, 10000]];
    if (tableSize !== undefined) ours.push([SETTINGS_HEADER_TABLE_SIZE, tableSize]);
    socket.write(settings(ours));
    const assemble = blockAssembler((stream, block) => {
      if (updateDue) {
        assert.equal(block[0]! & 0xe0, 0x20, 'the first block after our SETTINGS ACK starts with a size update');
        updateDue = false;
        updates++;
      }
      results[(stream - 1) / 2] = { fields: decoder.decode(block), size: block.length };
      if (results.filter(Boolean).length === requests.length) finished.done();
    });
    const read = frameReader(true, (received) => {
      if (received.type === SETTINGS && received.flags & ACK) {
        if (tableSize !== undefined) decoder.setMaxTableSize(tableSize);
        updateDue = tableSize !== undefined;
      } else if (received.type === SETTINGS) {
        socket.write(frame(SETTINGS, ACK, 0));
      }
      assemble(received);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        read(chunk);
      } catch (error) {
        finished.fail(error);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = http2.connect(`http://127.0.0.1:${port}`, { peerMaxConcurrentStreams: 10000 });
  client.on('error', () => {});
  const send = (fields: Fields): void => {
    client.request(Object.fromEntries(fields)).on('error', () => {});
  };
  try {
    const half = Math.floor(requests.length / 2);
    requests.slice(0, half).forEach(send);
    client.once('remoteSettings', () => requests.slice(half).forEach(send));
    await finished.promise;
    return { results, updates };
  } finally {
    client.destroy();
    for (const socket of sockets) socket.destroy();
    server.close();
  }
}

/** A request's headers as Node's client sends them: random printable values, some latin1, one value shared by all. */
function nodeRequests(count: number, seed: number): Fields[] {
  const next = random(seed);
  const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
  const requests: Fields[] = [];
  for (let i = 0; i < count; i++) {
    const fields: Fields = [[':path', `/skiff.Test/Method${i % 5}`], ['x-request', String(i)], ['x-same', 'a value every request repeats']];
    const randoms = Math.floor(next() * 4);
    for (let k = 0; k < randoms; k++) fields.push([`x-random-${k}`, `v${randomText(next, Math.floor(next() * 300), 0x20, 0x7e)}.`]);
    if (i % 10 === 0) fields.push(['x-printable', `<${printable}>`]);
    if (i % 7 === 0) fields.push(['x-latin1', randomText(next, 1 + Math.floor(next() * 40), 0x80, 0xff)]);
    requests.push(fields);
  }
  return requests;
}

function assertSameRequests(results: Array<{ fields: Fields }>, requests: Fields[]): void {
  assert.equal(results.length, requests.length);
  results.forEach(({ fields }, i) => {
    const pseudo = new Map(fields.filter(([name]) => name.startsWith(':')));
    assert.equal(pseudo.get(':method'), 'GET', `request ${i}`);
    assert.equal(pseudo.get(':scheme'), 'http', `request ${i}`);
    assert.equal(pseudo.get(':path'), requests[i]![0]![1], `request ${i}`);
    assert.match(pseudo.get(':authority') ?? '', /^127\.0\.0\.1:\d+$/, `request ${i}`);
    assert.deepEqual(
      fields.filter(([name]) => !name.startsWith(':')),
      requests[i]!.filter(([name]) => !name.startsWith(':')),
      `request ${i}`,
    );
  });
}

test('Huffman code: RFC 7541 Appendix B codes and the Appendix C string codings', () => {
  assert.deepEqual([HUFFMAN_CODES[0], HUFFMAN_LENGTHS[0]], [0x1ff8, 13]);
  assert.deepEqual([HUFFMAN_CODES[0x20], HUFFMAN_LENGTHS[0x20]], [0x14, 6]);
  assert.deepEqual([HUFFMAN_CODES[0x61], HUFFMAN_LENGTHS[0x61]], [0x3, 5]);
  assert.deepEqual([HUFFMAN_CODES[0x7f], HUFFMAN_LENGTHS[0x7f]], [0xffffffc, 28]);
  assert.deepEqual([HUFFMAN_CODES[0xff], HUFFMAN_LENGTHS[0xff]], [0x3ffffee, 26]);
  assert.deepEqual([HUFFMAN_CODES[256], HUFFMAN_LENGTHS[256]], [0x3fffffff, 30]);
  assert.equal(huffman('www.example.com'), 'f1e3c2e5f23a6ba0ab90f4ff');
  assert.equal(huffman('no-cache'), 'a8eb10649cbf');
  assert.equal(huffman('custom-key'), '25a849e95ba97d7f');
  assert.equal(huffman('custom-value'), '25a849e95bb8e8b4bf');
  assert.equal(huffman('private'), 'aec3771a4b');
  assert.equal(huffman('Mon, 21 Oct 2013 20:13:21 GMT'), 'd07abe941054d444a8200595040b8166e082a62d1bff');
  assert.equal(huffman('https://www.example.com'), '9d29ad171863c78f0b97c8e9ae82ae43d3');
  const every = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
  const coded = new Uint8Array(huffmanLength(every));
  huffmanEncode(every, coded, 0);
  assert.equal(huffmanDecode(coded, 0, coded.length), every);
});

test('RFC 7541 C.2: literal header fields', () => {
  const indexed = new HpackDecoder();
  assert.deepEqual(indexed.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')), [['custom-key', 'custom-header']]);
  assert.deepEqual(table(indexed), [['custom-key', 'custom-header']]);
  const withoutIndexing = new HpackDecoder();
  assert.deepEqual(withoutIndexing.decode(hex('040c 2f73 616d 706c 652f 7061 7468')), [[':path', '/sample/path']]);
  assert.deepEqual(table(withoutIndexing), []);
  const neverIndexed = new HpackDecoder();
  assert.deepEqual(neverIndexed.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74')), [['password', 'secret']]);
  assert.deepEqual(table(neverIndexed), []);
  assert.deepEqual(new HpackDecoder().decode(hex('82')), [[':method', 'GET']]);
  // a view into a larger buffer reads only its own bytes
  assert.deepEqual(new HpackDecoder().decode(Uint8Array.of(0xff, 0x82, 0xff).subarray(1, 2)), [[':method', 'GET']]);
});

const REQUESTS: Fields[] = [
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
  [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
];
const REQUEST_TABLE: Fields = [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']];

function decodesInTurn(decoder: HpackDecoder, blocks: string[], expected: Fields[]): void {
  blocks.forEach((block, i) => assert.deepEqual(decoder.decode(hex(block)), expected[i], `block ${i + 1}`));
}

test('RFC 7541 C.3: requests without Huffman coding share one dynamic table', () => {
  const decoder = new HpackDecoder();
  const blocks = [
    '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    '8286 84be 5808 6e6f 2d63 6163 6865',
    '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
  ];
  decodesInTurn(decoder, blocks, REQUESTS);
  assert.deepEqual(table(decoder), REQUEST_TABLE);
  assert.equal(tableSize(REQUEST_TABLE), 164);
});

test('RFC 7541 C.4: requests with Huffman coding', () => {
  const decoder = new HpackDecoder();
  const blocks = ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'];
  decodesInTurn(decoder, blocks, REQUESTS);
  assert.deepEqual(table(decoder), REQUEST_TABLE);
});

const RESPONSES: Fields[] = [
  [[':status', '302'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']],
  [[':status', '307'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']],
  [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
    ['location', 'https://www.example.com'],
    ['content-encoding', 'gzip'],
    ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
  ],
];
/** The dynamic table after each response at table size 256: entries are evicted oldest first. */
const RESPONSE_TABLES: Fields[] = [
  [['location', 'https://www.example.com'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['cache-control', 'private'], [':status', '302']],
  [[':status', '307'], ['location', 'https://www.example.com'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['cache-control', 'private']],
  [['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'], ['content-encoding', 'gzip'], ['date', 'Mon, 21 Oct 2013 20:13:22 GMT']],
];

function responsesEvict(blocks: string[]): void {
  const decoder = new HpackDecoder(256);
  blocks.forEach((block, i) => {
    assert.deepEqual(decoder.decode(hex(block)), RESPONSES[i], `response ${i + 1}`);
    assert.deepEqual(table(decoder), RESPONSE_TABLES[i], `table after response ${i + 1}`);
  });
  assert.deepEqual(RESPONSE_TABLES.map(tableSize), [222, 222, 215]);
}

test('RFC 7541 C.5: responses without Huffman coding evict at table size 256', () => {
  responsesEvict([
    '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    '4803 3330 37c1 c0bf',
    '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
  ]);
});

test('RFC 7541 C.6: responses with Huffman coding evict at table size 256', () => {
  responsesEvict([
    '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
    '4883 640e ffc1 c0bf',
    '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
  ]);
});

test('the encoder: static indexed fields, static name indexes, literal names, Huffman only when shorter', () => {
  assert.equal(encodeHeaders([[':method', 'GET'], [':status', '200'], ['accept-encoding', 'gzip, deflate']]).toString('hex'), '828890');
  // content-type is static entry 31 (four-bit prefix: 0f 10), its value Huffman-coded
  assert.equal(encodeHeaders([['content-type', 'application/grpc']]).toString('hex'), `0f108b${huffman('application/grpc')}`);
  // a literal name; 'x-a' codes to 18 bits (3 bytes, not shorter) and the high bytes to 46 bits: both raw
  assert.equal(encodeHeaders([['x-a', '\u00e9\u00ff']]).toString('hex'), '0003782d6102e9ff');
  // lengths of 127 and more take continuation bytes
  const long = 'x'.repeat(300);
  const block = encodeHeaders([['custom-key', long]]);
  // 300 'x' of 7 bits: 263 bytes = 127 + 136 (0x88 then 0x01)
  assert.equal(block.toString('hex'), `008825a849e95ba97d7fff8801${huffman(long)}`);
  assert.deepEqual(new HpackDecoder().decode(block), [['custom-key', long]]);
  assert.throws(() => encodeHeaders([['x', '\u0100']]), RangeError);
  assert.equal(encodeHeaders([]).length, 0);
});

test('encoder and decoder round-trip random byte-string header lists', () => {
  const next = random(7);
  const decoder = new HpackDecoder();
  for (let round = 0; round < 500; round++) {
    const fields: Fields = [];
    const count = Math.floor(next() * 8);
    for (let i = 0; i < count; i++) fields.push([randomText(next, 1 + Math.floor(next() * 20), 0x21, 0x7e).toLowerCase(), randomText(next, Math.floor(next() * 200), 0, 255)]);
    if (next() < 0.3) fields.push([':status', '200'], ['content-type', 'application/grpc']);
    assert.deepEqual(decoder.decode(encodeHeaders(fields)), fields);
  }
});

test('table size: our smaller SETTINGS_HEADER_TABLE_SIZE requires the peer\'s update at the next block start', () => {
  const decoder = new HpackDecoder();
  decoder.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
  assert.equal(decoder.dynamicTableSize, 10 + 13 + 32);
  decoder.setMaxTableSize(0);
  assert.equal(decoder.dynamicTableSize, 0, 'entries that cannot survive the required update go at the ACK, not at the next block');
  assert.throws(() => decoder.decode(hex('82')), HpackError, 'a block without the required update');
  assert.throws(() => decoder.decode(new Uint8Array(0)), HpackError, 'an empty block without the required update');
  assert.throws(() => decoder.decode(hex('3f 02 82')), HpackError, 'an update to 33, above the new limit 0');
  assert.deepEqual(decoder.decode(hex('20 82')), [[':method', 'GET']]);
  assert.deepEqual(table(decoder), []);
  // a field added to a zero-size table is not kept
  assert.deepEqual(decoder.decode(hex('4003 782d 6101 62')), [['x-a', 'b']]);
  assert.deepEqual(table(decoder), []);
  // a larger size needs no update; the peer may grow up to it later, never beyond
  decoder.setMaxTableSize(100);
  assert.deepEqual(decoder.decode(hex('82')), [[':method', 'GET']]);
  assert.throws(() => decoder.decode(hex('3f 46')), HpackError, 'an update to 101');
  decoder.decode(hex('3f 45 4003 782d 6101 62'));
  assert.deepEqual(table(decoder), [['x-a', 'b']]);
});

test('table size: the minimum then the final size, both at the block start; an update elsewhere or above 4096 throws', () => {
  const decoder = new HpackDecoder();
  assert.throws(() => new HpackDecoder().decode(hex('3fe2 1f')), HpackError, 'an update to 4097 above the default 4096');
  assert.deepEqual(new HpackDecoder().decode(hex('3fe1 1f 82')), [[':method', 'GET']]);
  assert.throws(() => decoder.decode(hex('82 20')), HpackError, 'an update after a field');
  decoder.setMaxTableSize(64);
  assert.deepEqual(decoder.decode(hex('20 3f21 82')), [[':method', 'GET']], 'updates to 0 then 64');
  decoder.decode(hex('4003 782d 6101 62 4003 782d 6201 63'));
  assert.deepEqual(table(decoder), [['x-b', 'c']], '36 + 36 bytes do not fit in 64');
});

test('malformed blocks throw HpackError', () => {
  const cases: Array<[string, string]> = [
    ['80', 'index 0'],
    ['be', 'dynamic index 62 in an empty table'],
    ['ff 00', 'index 127'],
    ['0f 30 00', 'literal name index 63'],
    ['ff ff ff ff ff ff 7f', 'integer overflow'],
    ['ff 80 80 80 80 80 80 80 80 80 01', 'integer with endless zero continuations'],
    ['ff 80', 'integer cut short'],
    ['ff', 'integer prefix with no continuation'],
    ['00', 'literal name missing'],
    ['04', 'value missing'],
    ['00 05 61', 'string longer than the block'],
    ['04 7f ff ff ff 0f', 'string length far past the block'],
    ['04 82 1f ff', 'Huffman padding of 11 bits'],
    ['04 81 ff', 'Huffman padding of 8 bits'],
    ['04 81 18', 'Huffman padding not all ones'],
    ['04 84 ff ff ff ff', 'EOS inside a Huffman string'],
    ['04 84 ff ff ff fc', 'EOS then more bits'],
    ['3fe2 1f', 'size update above the limit'],
    ['82 3f 01', 'size update after a field'],
  ];
  for (const [block, why] of cases) assert.throws(() => new HpackDecoder().decode(hex(block)), HpackError, why);
  // the same shapes, valid, decode: 'a' (00011) with 3 bits of padding
  assert.deepEqual(new HpackDecoder().decode(hex('04 81 1f')), [[':path', 'a']]);
});

test('maxHeaderListSize counts name + value + 32 per field, including fields from the tables', () => {
  // :method GET is 7 + 3 + 32 = 42 bytes
  assert.deepEqual(new HpackDecoder(4096, 84).decode(hex('82 82')), [[':method', 'GET'], [':method', 'GET']]);
  assert.throws(() => new HpackDecoder(4096, 84).decode(hex('82 82 82')), HpackError);
  // a 1000-byte value, indexed once, then referenced by one byte each: refused before it adds up
  const decoder = new HpackDecoder(4096, 5000);
  const literal = encodeHeaders([['x-big', 'v'.repeat(1000)]]);
  literal[0] = 0x40;
  assert.equal(decoder.decode(literal).length, 1);
  assert.equal(decoder.decode(hex('be be be be')).length, 4);
  assert.throws(() => decoder.decode(hex('be be be be be')), HpackError);
  assert.equal(new HpackDecoder().decode(encodeHeaders([['x-big', 'v'.repeat(60000)]])).length, 1, 'the default allows 64 KiB');
});

test('fuzz: random blocks and mutations of valid blocks decode or throw HpackError', () => {
  const next = random(42);
  const shared = new HpackDecoder(256);
  for (let i = 0; i < 20000; i++) {
    const block = new Uint8Array(Math.floor(next() * 40));
    for (let j = 0; j < block.length; j++) block[j] = Math.floor(next() * 256);
    decodesOrRefuses(new HpackDecoder(), block);
    decodesOrRefuses(shared, block);
  }
  const valid = [
    hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'),
    hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'),
    hex('4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3'),
    encodeHeaders([[':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', '0'], ['x-bin', randomText(next, 300, 0, 255)]]),
  ];
  for (let i = 0; i < 20000; i++) {
    const block = Uint8Array.from(valid[i % valid.length]!);
    const flips = 1 + Math.floor(next() * 4);
    for (let j = 0; j < flips; j++) block[Math.floor(next() * block.length)] = Math.floor(next() * 256);
    const cut = next() < 0.3 ? Math.floor(next() * block.length) : block.length;
    decodesOrRefuses(new HpackDecoder(), block.subarray(0, cut));
    decodesOrRefuses(shared, block.subarray(0, cut));
  }
});

test('interop: our decoder reads every header block of Node\'s http2 client (nghttp2), table 4096 with eviction', async () => {
  const requests = nodeRequests(200, 3);
  // the last requests repeat one another: nghttp2 refers to its dynamic table entries
  const repeated: Fields = [[':path', '/again'], ['x-request', 'again'], ['x-same', 'a value every request repeats'], ['x-random-0', 'a value of moderate length']];
  for (let i = 0; i < 5; i++) requests.push(repeated);
  const { results, updates } = await decodeNodeRequests(requests);
  assert.equal(updates, 0);
  assertSameRequests(results, requests);
  const last = results.at(-1)!;
  // nghttp2 sends :path as a literal (7 bytes here, never indexed); the six other fields are one-byte references
  assert.ok(last.size <= 13, `a repeated request's block is ${last.size} bytes: its fields should be dynamic table references`);
});

test('interop: our SETTINGS_HEADER_TABLE_SIZE 256, applied at Node\'s SETTINGS ACK, then its size update and eviction', async () => {
  const requests = nodeRequests(120, 4);
  const { results, updates } = await decodeNodeRequests(requests, 256);
  assert.equal(updates, 1);
  assertSameRequests(results, requests);
});

test('interop: our SETTINGS_HEADER_TABLE_SIZE 0 disables the dynamic table', async () => {
  const requests = nodeRequests(40, 5);
  const { results, updates } = await decodeNodeRequests(requests, 0);
  assert.equal(updates, 1);
  assertSameRequests(results, requests);
  // with no dynamic table, a block repeating the previous request's fields is no smaller
  assert.ok(results.at(-1)!.size > 40);
});

test('interop: Node\'s http2 server (nghttp2) reads every header block our encoder writes', async () => {
  const next = random(11);
  const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
  const requests: Fields[] = [];
  for (let i = 0; i < 100; i++) {
    const fields: Fields = [
      [':method', i % 2 ? 'POST' : 'GET'],
      [':scheme', 'http'],
      [':path', i % 3 ? `/skiff.Test/Method${i}` : '/'],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['grpc-timeout', `${i}S`],
    ];
    const randoms = Math.floor(next() * 4);
    for (let k = 0; k < randoms; k++) fields.push([`x-random-${k}`, `v${randomText(next, Math.floor(next() * 400), 0x20, 0x7e)}.`]);
    if (i % 10 === 0) fields.push(['x-printable', `<${printable}>`], ['user-agent', 'grpc-node-js/1.14.7']);
    if (i % 7 === 0) fields.push(['x-latin1', randomText(next, 1 + Math.floor(next() * 40), 0x80, 0xff)]);
    if (i === 50) fields.push(['x-long', `${'long value '.repeat(600)}end`]);
    requests.push(fields);
  }
  const seen: Fields[] = [];
  const finished = completion();
  const server = http2.createServer({ maxHeaderListPairs: 256 });
  server.on('request', (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => {
    const raw = request.rawHeaders;
    const fields: Fields = [];
    for (let i = 0; i < raw.length; i += 2) fields.push([raw[i]!, raw[i + 1]!]);
    seen[(request.stream.id! - 1) / 2] = fields;
    response.end();
    if (seen.filter(Boolean).length === requests.length) finished.done();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', (error) => finished.fail(error));
  const read = frameReader(false, ({ type, stream, payload }) => {
    if (type === GOAWAY) finished.fail(new Error(`Node sent GOAWAY, error code ${payload.readUInt32BE(4)}`));
    if (type === RST_STREAM) finished.fail(new Error(`Node reset stream ${stream}, error code ${payload.readUInt32BE(0)}`));
  });
  socket.on('data', (chunk: Buffer) => read(chunk));
  try {
    await once(socket, 'connect');
    socket.write(Buffer.concat([PREFACE, settings([])]));
    requests.forEach((fields, i) => {
      const block = encodeHeaders(fields);
      if (i % 9 !== 4) {
        socket.write(frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, block));
        return;
      }
      // some blocks split over HEADERS and CONTINUATION frames
      const cut = Math.floor(block.length / 2);
      socket.write(frame(HEADERS, END_STREAM, 2 * i + 1, block.subarray(0, cut)));
      socket.write(frame(CONTINUATION, END_HEADERS, 2 * i + 1, block.subarray(cut)));
    });
    await finished.promise;
    assert.deepEqual(seen, requests);
  } finally {
    socket.destroy();
    server.close();
  }
});

// skiff's own gRPC server judged by grpc-js clients (a gRPC implementation nobody here wrote):
// unary, client-streaming and bidi calls, the statuses clients see for handler errors, unknown
// methods and undecodable requests, a 5 MB response through a 64 KB window, 200 bidi streams on
// one connection, cancellation, deadlines, and a graceful shutdown that clients survive.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Status } from '../../xds/grpc/handlers.js';
import type { GrpcServer } from '../../xds/grpc/server.js';
import { PATHS, type TestCalls, UNDECODABLE, bigMessage, grpcClient, startServer, unary } from './grpc-server-fixtures.js';

let server: GrpcServer;
let port: number;
let calls: TestCalls;
let client: grpc.Client;
const identity = (value: Buffer): Buffer => value;

before(async () => {
  ({ server, port, calls } = await startServer());
  client = grpcClient(port, { 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
});

after(async () => {
  client.close();
  await server.shutdown(100);
});

async function rejection(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  assert.fail('the call succeeded');
}

interface Bidi {
  call: grpc.ClientDuplexStream<Buffer, Buffer>;
  received: string[];
  status: Promise<grpc.StatusObject>;
}

function bidi(on: grpc.Client = client, options: grpc.CallOptions = {}): Bidi {
  const call = on.makeBidiStreamRequest(PATHS.chat, identity, identity, new grpc.Metadata(), options);
  const received: string[] = [];
  call.on('data', (message: Buffer) => received.push(message.toString()));
  call.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return { call, received, status };
}

async function eventually(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('unary: the response comes back; an empty request too', async () => {
  assert.equal((await unary(client, PATHS.echo, Buffer.from('hello'))).toString(), 'hello');
  assert.equal((await unary(client, PATHS.echo, Buffer.alloc(0))).length, 0);
});

test('listen: IPv6 [::1]:PORT beside 127.0.0.1 on one server; CallInfo.peer is the caller; bad addresses are refused', async () => {
  const v6Port = await server.listen('[::1]:0');
  const v6 = new grpc.Client(`[::1]:${v6Port}`, grpc.credentials.createInsecure());
  try {
    assert.match((await unary(v6, PATHS.echo, Buffer.from('peer'))).toString(), /^\[::1\]:\d+$/);
    assert.match((await unary(client, PATHS.echo, Buffer.from('peer'))).toString(), /^127\.0\.0\.1:\d+$/);
  } finally {
    v6.close();
  }
  await assert.rejects(server.listen('localhost'), /HOST:PORT/);
});

test('unary: a GrpcError reaches the client with its code and details; a thrown Error is INTERNAL', async () => {
  const failed = await rejection(unary(client, PATHS.echo, Buffer.from('error')));
  assert.equal(failed.code, Status.NOT_FOUND);
  assert.equal(failed.details, 'no such thing: ü%');
  const thrown = await rejection(unary(client, PATHS.echo, Buffer.from('throw')));
  assert.equal(thrown.code, Status.INTERNAL);
  assert.equal(thrown.details, 'handler broke');
});

test('unknown methods are UNIMPLEMENTED, server-streaming ones too; undecodable requests are INTERNAL', async () => {
  const unknown = await rejection(unary(client, '/skiff.test.Test/Nothing', Buffer.from('x')));
  assert.equal(unknown.code, Status.UNIMPLEMENTED);
  const watch = client.makeServerStreamRequest(PATHS.watch, identity, identity, Buffer.from('x'));
  watch.on('error', () => {});
  const watched = await new Promise<grpc.StatusObject>((resolve) => watch.on('status', resolve));
  assert.equal(watched.code, Status.UNIMPLEMENTED);
  const undecodable = await rejection(unary(client, PATHS.echo, Buffer.from([UNDECODABLE, 1, 2])));
  assert.equal(undecodable.code, Status.INTERNAL);
  assert.equal(undecodable.details, 'could not decode request');
});

test('client-streaming: every message counts; the single response ends the call', async () => {
  const response = await new Promise<Buffer>((resolve, reject) => {
    const call = client.makeClientStreamRequest(PATHS.sum, identity, identity, (error, value) => (error ? reject(error) : resolve(value as Buffer)));
    for (let i = 0; i < 100; i++) call.write(Buffer.alloc(i));
    call.end();
  });
  assert.equal(response.toString(), String((99 * 100) / 2));
});

test('bidi: messages both ways, the handler ends the call with its status (a throwing onMessage or done callback: INTERNAL), and onClose runs once', async () => {
  const ok = bidi();
  ok.call.write(Buffer.from('one'));
  ok.call.write(Buffer.from('two'));
  await eventually(() => ok.received.length === 2);
  assert.deepEqual(ok.received, ['echo:one', 'echo:two']);
  ok.call.write(Buffer.from('end'));
  assert.equal((await ok.status).code, Status.OK);

  const failing = bidi();
  failing.call.write(Buffer.from('first'));
  failing.call.write(Buffer.from('fail'));
  const status = await failing.status;
  assert.equal(status.code, Status.FAILED_PRECONDITION);
  assert.equal(status.details, 'told to fail');

  const throwing = bidi();
  throwing.call.write(Buffer.from('throw'));
  assert.equal((await throwing.status).code, Status.INTERNAL);

  const throwingDone = bidi();
  throwingDone.call.write(Buffer.from('done-throws'));
  const doneStatus = await throwingDone.status;
  assert.equal(doneStatus.code, Status.INTERNAL);
  assert.equal(doneStatus.details, 'done callback broke');

  await eventually(() => calls.closes.get('first') === 1 && calls.closes.get('one') === 1 && calls.closes.get('throw') === 1);
});

test('a 5 MB response reaches a client whose windows are 64 KB, intact', async () => {
  const small = grpcClient(port, {
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc-node.flow_control_window': 65_535,
    'grpc.use_local_subchannel_pool': 1,
  });
  try {
    const size = 5 * 1024 * 1024;
    const response = await unary(small, PATHS.echo, Buffer.from(`big ${size}`));
    assert.equal(response.length, size);
    assert.ok(response.equals(bigMessage(size)));
  } finally {
    small.close();
  }
});

test('200 bidi streams on one connection each get their own messages', async () => {
  const streams = Array.from({ length: 200 }, () => bidi());
  streams.forEach((stream, i) => {
    stream.call.write(Buffer.from(`s${i}`));
    stream.call.write(Buffer.from(`t${i}`));
  });
  await eventually(() => streams.every((stream) => stream.received.length === 2));
  streams.forEach((stream, i) => assert.deepEqual(stream.received, [`echo:s${i}`, `echo:t${i}`]));
  assert.equal(server.connections, 1);
  for (const stream of streams) stream.call.end();
  const statuses = await Promise.all(streams.map((stream) => stream.status));
  assert.ok(statuses.every((status) => status.code === Status.OK));
});

test('a client cancelling its call closes it on the server once', async () => {
  const cancelled = bidi();
  cancelled.call.write(Buffer.from('cancel-me'));
  await eventually(() => cancelled.received.length === 1);
  cancelled.call.cancel();
  await eventually(() => calls.closes.get('cancel-me') === 1);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(calls.closes.get('cancel-me'), 1);
  assert.equal((await cancelled.status).code, Status.CANCELLED);
});

test('a deadline ends the call DEADLINE_EXCEEDED and closes it on the server', async () => {
  const slow = await rejection(unary(client, PATHS.echo, Buffer.from('never'), { deadline: Date.now() + 200 }));
  assert.equal(slow.code, Status.DEADLINE_EXCEEDED);
  const waiting = bidi(client, { deadline: Date.now() + 200 });
  waiting.call.write(Buffer.from('deadline'));
  assert.equal((await waiting.status).code, Status.DEADLINE_EXCEEDED);
  await eventually(() => calls.closes.get('deadline') === 1);
});

test('shutdown: open calls get the status their handlers end them with, sockets close, and clients reconnect to a new server', async () => {
  const { server: first, port: firstPort, calls: firstCalls } = await startServer();
  const reconnecting = grpcClient(firstPort);
  try {
    assert.equal((await unary(reconnecting, PATHS.echo, Buffer.from('before'))).toString(), 'before');
    const open = bidi(reconnecting);
    open.call.write(Buffer.from('draining'));
    await eventually(() => open.received.length === 1);
    const stopped = first.shutdown(5000);
    for (const call of firstCalls.open) call.end({ code: Status.UNAVAILABLE, details: 'server shutting down' });
    const status = await open.status;
    assert.equal(status.code, Status.UNAVAILABLE);
    assert.equal(status.details, 'server shutting down');
    await stopped;
    assert.equal(first.connections, 0);
    assert.equal(firstCalls.closes.get('draining'), 1);

    const { server: second } = await startServer({}, `127.0.0.1:${firstPort}`);
    try {
      const answer = await unary(reconnecting, PATHS.echo, Buffer.from('after'), { deadline: Date.now() + 10_000, waitForReady: true } as grpc.CallOptions);
      assert.equal(answer.toString(), 'after');
    } finally {
      reconnecting.close();
      await second.shutdown(100);
    }
  } finally {
    reconnecting.close();
    await first.shutdown(0);
  }
});

test('shutdown: calls still open when the grace period ends are closed with their connections', async () => {
  const { server: first, port: firstPort, calls: firstCalls } = await startServer();
  const stuck = grpcClient(firstPort);
  try {
    const open = bidi(stuck);
    open.call.write(Buffer.from('stuck'));
    await eventually(() => open.received.length === 1);
    const started = Date.now();
    await first.shutdown(200);
    assert.ok(Date.now() - started >= 190, 'waited for the grace period');
    assert.equal(first.connections, 0);
    assert.equal(firstCalls.closes.get('stuck'), 1);
    assert.equal((await open.status).code, Status.UNAVAILABLE);
  } finally {
    stuck.close();
  }
});

// The libbpf binding with real packets: a counting program on the root-side veth of a namespace
// pair, attached through TCX links and clsact filters; its ring buffer read asynchronously; a
// pinned TCX link that keeps counting after the object and the process's fds are closed.
import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  attachTc,
  BpfMap,
  BpfObject,
  listTcAttachments,
  RingBufferReader,
  TcAttachment,
} from '../../bpf/libbpf.js';
import { eventually, objectPath, pinDir, u32, VethNetns } from './libbpf-fixtures.js';

const pins = pinDir('tc');
const netns = new VethNetns('tc', 0);
after(() => {
  netns.destroy();
  pins.remove();
});

/** Runs cleanup after the test, pass or fail, ignoring what is already gone. */
function finallyDo(t: TestContext, cleanup: () => void): void {
  t.after(() => {
    try {
      cleanup();
    } catch {
      // already detached or closed by the test itself
    }
  });
}

function loadCounter(t: TestContext): BpfObject {
  const obj = BpfObject.open(objectPath('tc_count'), { pinRoot: pins.path }).load();
  finallyDo(t, () => obj.close());
  return obj;
}

function packets(counters: BpfMap): number {
  return Number((counters.lookup(u32(0)) as Buffer).readBigUInt64LE());
}

/** Sends a few datagrams and checks that no program counts them any more. */
async function assertNotCounting(counters: BpfMap): Promise<void> {
  const before = packets(counters);
  await netns.sendUdp(3);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(packets(counters), before, 'a detached program counts nothing');
}

/** ETH_P_IP as skb->protocol holds it (network byte order), read little-endian. */
const ipv4Protocol = 0x0008;

test('TCX ingress: every datagram is counted and reported through the ring buffer without blocking', async (t) => {
  const obj = loadCounter(t);
  const counters = obj.map('counters');
  const attachment = attachTc(netns.hostIfindex, 'ingress', obj.program('count_packets'), { mode: 'tcx' });
  finallyDo(t, () => attachment.detach());
  assert.equal(attachment.mode, 'tcx');
  assert.equal(attachment.ifindex, netns.hostIfindex);
  assert.equal(attachment.direction, 'ingress');
  assert.equal(attachment.progId, obj.program('count_packets').id);
  assert.deepEqual(listTcAttachments(netns.hostIfindex), [
    { direction: 'ingress', progId: obj.program('count_packets').id },
  ]);

  const records: Buffer[] = [];
  const reader = new RingBufferReader(obj.map('events'), (data) => records.push(data));
  finallyDo(t, () => reader.close());
  // While the reader waits for records, timers keep firing: the event loop is free (a busy
  // machine may run them late, a blocked loop never).
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  finallyDo(t, () => clearInterval(timer));
  assert.ok(await eventually(() => ticks >= 3), `timers fired ${ticks} times while the reader was open`);

  await netns.sendUdp(5, 100);
  // Our datagrams: IPv4, 100 bytes of payload + UDP, IP and Ethernet headers.
  const udp = () =>
    records.filter(
      (r) => r.readUInt32LE(0) === netns.hostIfindex && r.readUInt32LE(8) === ipv4Protocol && r.readUInt32LE(4) === 142,
    );
  assert.ok(await eventually(() => udp().length >= 5), `ring buffer records: ${records.length}`);
  clearInterval(timer);
  assert.ok(packets(counters) >= 5);
  // Other packets (neighbour discovery) may be counted just now: their records arrive a moment later.
  await eventually(() => records.length === packets(counters));
  assert.equal(packets(counters), records.length, 'one record per counted packet');
  const percpu = obj.map('percpu_packets');
  const perCpuTotal = percpu
    .perCpuValues(percpu.lookup(u32(0)) as Buffer)
    .reduce((sum, v) => sum + Number(v.readBigUInt64LE()), 0);
  assert.equal(perCpuTotal, packets(counters));

  reader.close();
  attachment.detach();
  assert.deepEqual(listTcAttachments(netns.hostIfindex), []);
  await assertNotCounting(counters);
});

test('a pinned TCX link keeps the program attached after the object closes, is re-adopted by pin and swaps programs', async (t) => {
  const obj = loadCounter(t);
  const linkPin = join(pins.path, 'count-link');
  const mapPin = join(pins.path, 'count-counters');
  const progId = obj.program('count_packets').id;
  const attachment = attachTc(netns.hostIfindex, 'ingress', obj.program('count_packets'));
  finallyDo(t, () => TcAttachment.fromPin(linkPin).detach());
  assert.equal(attachment.mode, 'tcx', 'this kernel has TCX, so auto picks it');
  attachment.pin(linkPin);
  obj.map('counters').pin(mapPin);
  attachment.link?.close();
  obj.close();

  // As after an agent restart: only the pins remain.
  const counters = BpfMap.fromPin(mapPin);
  finallyDo(t, () => counters.close());
  const before = packets(counters);
  await netns.sendUdp(4);
  assert.ok(await eventually(() => packets(counters) >= before + 4), 'the pinned link still counts');

  const adopted = TcAttachment.fromPin(linkPin);
  assert.equal(adopted.mode, 'tcx');
  assert.equal(adopted.ifindex, netns.hostIfindex);
  assert.equal(adopted.direction, 'ingress');
  assert.equal(adopted.progId, progId);

  // The restarted agent swaps in its newly loaded program without a moment unattached.
  const upgraded = loadCounter(t);
  adopted.link?.update(upgraded.program('count_packets'));
  assert.equal(adopted.progId, upgraded.program('count_packets').id);
  await netns.sendUdp(2);
  assert.ok(await eventually(() => packets(upgraded.map('counters')) >= 2), 'the new program counts');

  adopted.detach();
  assert.equal(existsSync(linkPin), false, 'detach removes the pin');
  assert.deepEqual(listTcAttachments(netns.hostIfindex), []);
  await assertNotCounting(upgraded.map('counters'));
});

test('clsact filters: attach, count, re-adopt by priority and handle, detach', async (t) => {
  const obj = loadCounter(t);
  const counters = obj.map('counters');
  const attachment = attachTc(netns.hostIfindex, 'ingress', obj.program('count_packets'), {
    mode: 'clsact',
    priority: 7,
    handle: 3,
  });
  finallyDo(t, () => attachment.detach());
  assert.equal(attachment.mode, 'clsact');
  assert.equal(attachment.priority, 7);
  assert.equal(attachment.handle, 3);
  assert.equal(attachment.link, undefined);
  assert.throws(() => attachment.pin(join(pins.path, 'nope')), /only TCX/);
  assert.equal(attachment.progId, obj.program('count_packets').id);

  await netns.sendUdp(5);
  assert.ok(await eventually(() => packets(counters) >= 5));

  const adopted = TcAttachment.clsact(netns.hostIfindex, 'ingress', { priority: 7, handle: 3 });
  assert.ok(adopted);
  assert.equal(adopted.progId, obj.program('count_packets').id);
  adopted.detach();
  assert.equal(TcAttachment.clsact(netns.hostIfindex, 'ingress', { priority: 7, handle: 3 }), undefined);
  await assertNotCounting(counters);
});

test('TCX egress counts what the host sends into the namespace', async (t) => {
  const obj = loadCounter(t);
  const attachment = attachTc(netns.hostIfindex, 'egress', obj.program('count_packets'), { mode: 'tcx' });
  finallyDo(t, () => attachment.detach());
  assert.equal(attachment.direction, 'egress');
  assert.deepEqual(listTcAttachments(netns.hostIfindex), [
    { direction: 'egress', progId: obj.program('count_packets').id },
  ]);
  const socket = createSocket('udp4');
  finallyDo(t, () => socket.close());
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => socket.send(Buffer.alloc(32), 9, netns.peerAddr, resolve));
  }
  assert.ok(await eventually(() => packets(obj.map('counters')) >= 4));
});

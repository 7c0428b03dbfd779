// An agent restart with the datapath's pins: the object is closed and loaded again from the same
// pin root while a TCP transfer through a VIP is running. Pinned maps keep the services and the
// conntrack state, pinned TCX links keep forwarding and get the new programs atomically, so the
// transfer loses no byte and keeps its backend; new connections and events work afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfLink } from '../../bpf/libbpf.js';
import { CtScope, Programs, Proto, services, Verdict } from '../../bpf/maps/index.js';
import { DatapathNode } from '../helpers/datapath-node.js';
import { NetnsFixture } from '../helpers/netns.js';
import { linkPin } from '../helpers/tc-attach.js';
import { startServer, TcpClient } from '../helpers/tcp-peer.js';

const fx = new NetnsFixture('skfrs');
let dp: DatapathNode;

const VIP = '10.96.0.40';
const service = { addr: VIP, port: 80, proto: Proto.TCP };

before(async () => {
  dp = DatapathNode.create(fx, 'n1', [
    { name: 'cli', ip: '10.81.0.10', identity: 1001 },
    { name: 'b1', ip: '10.81.0.21', identity: 1002 },
    { name: 'b2', ip: '10.81.0.22', identity: 1002 },
  ]);
  await Promise.all(['b1', 'b2'].map((b) => startServer(fx, dp.pod(b).netns, 8000, b)));
  dp.setService(service, 5, ['b1', 'b2'].map((b, i) => ({ id: 51 + i, addr: dp.pod(b).ip, port: 8000 })));
});

after(() => fx.cleanup());

/** The program attached to the client veth's ingress, by its pinned TCX link. */
function attachedFromPod(): number {
  const link = BpfLink.fromPin(linkPin(dp.pinRoot, dp.pod('cli').hostIf, 'ingress'));
  const id = link.progId;
  link.close();
  return id;
}

test('a restart mid-transfer loses no byte, keeps the backend, and keeps the maps', async () => {
  const cli = dp.pod('cli');
  const conn = await TcpClient.open(fx, cli.netns, VIP, 80);
  const backend = (await conn.send('start')).split(' ')[0];
  const ctBefore = dp.conntrack(CtScope.SERVICE).length;
  const oldProgram = attachedFromPod();

  const replies: string[] = [];
  const transfer = (async () => {
    for (let i = 0; i < 200; i++) replies.push(await conn.send(`seq ${i}`));
  })();
  await new Promise((resolve) => setTimeout(resolve, 50));
  dp.restart();
  await transfer;

  assert.notEqual(attachedFromPod(), oldProgram, 'the links run the new programs');
  assert.equal(attachedFromPod(), dp.object.program(Programs.FROM_POD).id);
  assert.equal(replies.length, 200);
  replies.forEach((reply, i) => assert.equal(reply, `${backend} ${cli.ip} seq ${i}`));
  assert.ok(dp.object.map(services.MAP_NAME).lookup(services.encodeKey(service)), 'services survived');
  assert.equal(dp.conntrack(CtScope.SERVICE).length, ctBefore, 'conntrack survived');
  await conn.close();

  const fresh = await TcpClient.open(fx, cli.netns, VIP, 80);
  assert.match(await fresh.send('after'), /^b[12] /);
  const sport = Number(fresh.local.split(':')[1]);
  await dp.waitForEvent((e) => e.verdict === Verdict.TRANSLATED && e.orig.sport === sport);
  await fresh.close();
});

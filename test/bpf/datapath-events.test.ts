// Flow events are bounded and never hold packets up: with nobody reading and a small ring, new
// flows keep passing while the datapath counts the events it could not write (skf_ev_lost); once
// read again, events flow again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Verdict } from '../../bpf/maps/index.js';
import { DatapathNode } from '../helpers/datapath-node.js';
import { NetnsFixture } from '../helpers/netns.js';
import { request, startServer, udpBurst } from '../helpers/tcp-peer.js';

const fx = new NetnsFixture('skfev');
let dp: DatapathNode;

before(async () => {
  // 4 KiB holds about 30 records
  dp = DatapathNode.create(
    fx,
    'n1',
    [
      { name: 'cli', ip: '10.82.0.10', identity: 1001 },
      { name: 'web', ip: '10.82.0.30', identity: 1003 },
    ],
    { skf_events: 4096 },
  );
  await startServer(fx, dp.pod('web').netns, 9090, 'web');
});

after(() => fx.cleanup());

test('a full ring loses events, counted, while traffic keeps flowing', async () => {
  const cli = dp.pod('cli');
  const web = dp.pod('web');
  dp.pauseEvents();
  assert.equal(dp.lostEvents(), 0n);
  await udpBurst(fx, cli.netns, web.ip, 9090, 100);
  assert.ok(dp.lostEvents() > 0n, 'events beyond the ring were counted as lost');
  assert.equal(await request(fx, cli.netns, web.ip, 9090, 'full'), `web ${cli.ip} full`, 'new flows still pass');

  dp.resumeEvents();
  await dp.waitForEvent((e) => e.verdict === Verdict.FORWARDED);
  const seen = dp.events.length;
  assert.ok(seen < 100, `the ring kept only what fit (${seen} events)`);
  const before = dp.events.length;
  assert.match(await request(fx, cli.netns, web.ip, 9090, 'again'), /^web /);
  await dp.waitForEvent((e) => dp.events.indexOf(e) >= before && e.verdict === Verdict.FORWARDED);
});

// The libbpf binding's cgroup attachment with real sockets: a connect4 program attached to a
// fresh cgroup v2 directory rewrites one destination for the processes in that cgroup only; its
// link pins, reopens by pin and detaches.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { attachCgroup, BpfLink, BpfObject, cgroupAttachTypes } from '../../bpf/libbpf.js';
import { eventually, objectPath, pinDir, u32 } from './libbpf-fixtures.js';

// cgroup v2: its own mount on hybrid hosts (like this Debian), the whole of /sys/fs/cgroup otherwise.
const cgroupRoot = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
const cgroup = join(cgroupRoot, `skiff-test-${process.pid}`);
mkdirSync(cgroup);
const pins = pinDir('cgroup');
const obj = BpfObject.open(objectPath('connect_rewrite')).load();
const received: string[] = [];
const server = createServer((socket) => socket.on('data', (d) => received.push(d.toString())));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;

after(() => {
  obj.close();
  server.close();
  pins.remove();
  rmdirSync(cgroup);
});

/** Connects to 127.0.0.77:port from a child process, inside our cgroup or not; its outcome. */
function connectFromChild(inCgroup: boolean): Promise<string> {
  const script = `const s = require('node:net').connect(${port}, '127.0.0.77', () => s.end('hello', () => console.log('sent')));
    s.on('error', (e) => console.log(e.code));`;
  const enter = inCgroup ? `echo $$ > "${cgroup}/cgroup.procs" && ` : '';
  const child = spawn('sh', ['-c', `${enter}exec "$0" -e "$1"`, process.execPath, script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', () => resolve(out.trim())));
}

function rewriteValue(from: string, fromPort: number, to: string, toPort: number): Buffer {
  const v = Buffer.alloc(16);
  Buffer.from(from.split('.').map(Number)).copy(v, 0);
  v.writeUInt16BE(fromPort, 4); // user_port: network byte order in the low 16 bits
  Buffer.from(to.split('.').map(Number)).copy(v, 8);
  v.writeUInt16BE(toPort, 12);
  return v;
}

test('connect4 rewrites the destination of sockets in the cgroup, and only there', async () => {
  obj.map('rewrites').update(u32(0), rewriteValue('127.0.0.77', port, '127.0.0.1', port));
  const link = attachCgroup(cgroup, obj.program('rewrite_connect4'), 'connect4');
  try {
    assert.equal(link.attachType, cgroupAttachTypes.connect4);
    assert.ok(link.cgroupId && link.cgroupId > 0);
    assert.equal(link.progId, obj.program('rewrite_connect4').id);

    assert.equal(await connectFromChild(true), 'sent');
    assert.ok(await eventually(() => received.length === 1));
    assert.deepEqual(received, ['hello']);
    assert.equal(obj.map('rewritten').lookup(u32(0))?.readBigUInt64LE(), 1n);
    assert.equal(await connectFromChild(false), 'ECONNREFUSED', 'outside the cgroup nothing is rewritten');

    // The pinned link outlives our fd and is found again by its pin.
    const linkPin = join(pins.path, 'connect4');
    link.pin(linkPin);
    link.close();
    const reopened = BpfLink.fromPin(linkPin);
    assert.equal(reopened.progId, obj.program('rewrite_connect4').id);
    assert.equal(await connectFromChild(true), 'sent');
    assert.ok(await eventually(() => received.length === 2));

    reopened.detach();
    assert.equal(await connectFromChild(true), 'ECONNREFUSED', 'after detach nothing is rewritten');
  } finally {
    if (!link.closed) link.detach();
  }
});

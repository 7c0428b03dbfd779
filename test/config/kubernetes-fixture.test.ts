// The fixture API server, judged on the wire with plain HTTP (no client library): List shapes,
// chunked newline-delimited watch streams kept open, bookmarks only when asked for, the two forms
// of 410 Gone, and Status bodies for injected failures and uninstalled CRD groups.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { KubeApiServer } from '../fixtures/kube-apiserver.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(api: KubeApiServer, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(api.url + path, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

/** Opens a watch and collects its events as they arrive; `close` ends it from the client side. */
function openWatch(api: KubeApiServer, path: string) {
  const events: { type: string; object: Record<string, unknown> }[] = [];
  let ended = false;
  let request: http.ClientRequest | undefined;
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    request = http.get(api.url + path, (res) => {
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          events.push(JSON.parse(pending.slice(0, newline)));
          pending = pending.slice(newline + 1);
        }
      });
      res.on('error', () => undefined); // a cut stream errors; `close` follows
      res.on('close', () => (ended = true));
      resolve(res);
    });
    request.on('error', reject);
  });
  return { events, response, ended: () => ended, close: () => request?.destroy() };
}

async function until(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function fixture(t: TestContext): Promise<KubeApiServer> {
  const api = await KubeApiServer.start();
  t.after(() => api.close());
  return api;
}

const svc = (name: string, namespace = 'shop') => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: { ports: [{ port: 80 }] },
});

test('lists carry the List kind and resourceVersion; built-in items omit apiVersion/kind, CRD items keep them', async (t) => {
  const api = await fixture(t);
  api.apply(svc('orders'));
  api.apply(svc('billing', 'finance'));
  api.apply({ apiVersion: 'skiff.io/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh', namespace: 'default' }, spec: {} });

  const all = await get(api, '/api/v1/services');
  assert.equal(all.status, 200);
  const list = JSON.parse(all.body);
  assert.equal(list.kind, 'ServiceList');
  assert.equal(list.apiVersion, 'v1');
  assert.equal(list.metadata.resourceVersion, api.resourceVersion);
  assert.equal(list.items.length, 2);
  assert.equal(list.items[0].kind, undefined);
  assert.match(list.items[0].metadata.resourceVersion, /^\d+$/);

  const shop = JSON.parse((await get(api, '/api/v1/namespaces/shop/services')).body);
  assert.deepEqual(shop.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['orders']);

  const crd = JSON.parse((await get(api, '/apis/skiff.io/v1alpha1/meshconfigs')).body);
  assert.equal(crd.kind, 'MeshConfigList');
  assert.equal(crd.items[0].kind, 'MeshConfig');
  assert.equal(crd.items[0].apiVersion, 'skiff.io/v1alpha1');
});

test('a watch is a chunked stream of JSON lines kept open: history after the rv, then live events, bookmarks when asked', async (t) => {
  const api = await fixture(t);
  const from = api.apply(svc('orders'));
  api.apply(svc('payments'));
  const watch = openWatch(api, `/api/v1/services?watch=true&resourceVersion=${from}&allowWatchBookmarks=true`);
  t.after(watch.close);
  const res = await watch.response;
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  await until('history replayed', () => watch.events.length === 1);
  assert.equal(watch.events[0].type, 'ADDED');
  assert.equal((watch.events[0].object.metadata as { name: string }).name, 'payments');
  assert.equal(watch.events[0].object.kind, 'Service');

  api.apply(svc('orders'));
  api.remove('v1', 'Service', 'shop', 'payments');
  const rv = api.bookmark();
  await until('live events', () => watch.events.length === 4);
  assert.deepEqual(watch.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK']);
  assert.deepEqual(watch.events[3].object.metadata, { resourceVersion: rv });
  assert.equal(watch.ended(), false, 'kept open');

  const plain = openWatch(api, `/api/v1/services?watch=true&resourceVersion=${rv}`);
  t.after(plain.close);
  await plain.response;
  api.bookmark();
  api.apply(svc('cart'));
  await until('event on the plain watch', () => plain.events.length === 1);
  assert.equal(plain.events[0].type, 'ADDED', 'no bookmark without allowWatchBookmarks');
});

test('an expired resourceVersion gets 410 Gone: as an ERROR event ending a 200 watch, or as HTTP 410', async (t) => {
  const api = await fixture(t);
  const old = api.apply(svc('orders'));
  api.apply(svc('payments'));
  api.expire({ as: 'event' });
  const watch = openWatch(api, `/api/v1/services?watch=true&resourceVersion=${old}`);
  assert.equal((await watch.response).statusCode, 200);
  await until('stream ended', watch.ended);
  assert.equal(watch.events.length, 1);
  assert.equal(watch.events[0].type, 'ERROR');
  assert.equal(watch.events[0].object.kind, 'Status');
  assert.equal(watch.events[0].object.code, 410);
  assert.equal(watch.events[0].object.reason, 'Expired');

  api.expire({ as: 'http' });
  const gone = await get(api, `/api/v1/services?watch=true&resourceVersion=${old}`);
  assert.equal(gone.status, 410);
  assert.equal(JSON.parse(gone.body).code, 410);

  const current = openWatch(api, `/api/v1/services?watch=true&resourceVersion=${api.resourceVersion}`);
  t.after(current.close);
  assert.equal((await current.response).statusCode, 200, 'the current resourceVersion is still good');
  api.expire({ openWatches: true });
  await until('open watch ended with an ERROR event', current.ended);
  assert.equal(current.events.at(-1)?.type, 'ERROR');
});

test('injected failures, an uninstalled CRD group and unknown paths answer with a Status body', async (t) => {
  const api = await fixture(t);
  api.failNext(2, 500, '/api/v1/pods');
  assert.equal((await get(api, '/api/v1/services')).status, 200, 'other paths unaffected');
  for (let i = 0; i < 2; i++) {
    const failed = await get(api, '/api/v1/pods');
    assert.equal(failed.status, 500);
    assert.equal(JSON.parse(failed.body).kind, 'Status');
  }
  assert.equal((await get(api, '/api/v1/pods')).status, 200);

  api.uninstall('cilium.io');
  const missing = await get(api, '/apis/cilium.io/v2/ciliumnetworkpolicies');
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body).reason, 'NotFound');
  api.install('cilium.io');
  assert.equal((await get(api, '/apis/cilium.io/v2/ciliumnetworkpolicies')).status, 200);
  assert.equal((await get(api, '/apis/example.com/v1/widgets')).status, 404);
  assert.equal((await get(api, '/api/v1/namespaces/shop/nodes')).status, 404, 'cluster-scoped kinds have no namespaced path');
});

test('closeWatches cuts the stream without its end; goDown refuses connections until comeUp', async (t) => {
  const api = await fixture(t);
  const watch = openWatch(api, `/api/v1/pods?watch=true&resourceVersion=${api.resourceVersion}`);
  await watch.response;
  await until('watch registered', () => api.openWatches() === 1);
  assert.equal(api.closeWatches(), 1);
  await until('client saw the cut', watch.ended);

  await api.goDown();
  await assert.rejects(get(api, '/api/v1/pods'), /ECONNREFUSED/);
  await api.comeUp();
  assert.equal((await get(api, '/api/v1/pods')).status, 200);
});

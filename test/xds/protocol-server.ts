// The xDS server the protocol tests (SotW and Delta) run against: started before a test file's
// tests and closed after them with every stream the file opened, and per test a client class of
// its own ("scenario") served a small mesh.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotCache } from '../../xds/cache.js';
import { XdsServer } from '../../xds/server.js';
import type { TypeStateView } from '../../xds/type-state.js';
import { nodeProxy, type SmallMesh, smallMesh } from './fixtures.js';
import { RawXdsClient, type StreamKind } from './raw-client.js';

/** Two clusters, two listeners each routing to one of them. */
export const BASE_MESH: SmallMesh = { clusters: { a: [1001], b: [1002] }, listeners: { l1: { a: 100 }, l2: { b: 100 } } };

export function protocolServer(defaultKind: StreamKind) {
  const cache = new SnapshotCache();
  const opened: RawXdsClient[] = [];
  let xds: XdsServer;
  let port = 0;

  before(async () => {
    xds = new XdsServer({ cache });
    port = await xds.listen('127.0.0.1:0');
  });

  after(async () => {
    for (const c of opened) c.close();
    await xds.close(500);
  });

  return {
    cache,
    get xds(): XdsServer {
      return xds;
    },
    /** A client class of the test's own, served `mesh`, and a way to open streams as a node proxy of it. */
    scenario(name: string, mesh: SmallMesh = BASE_MESH) {
      const classKey = `node-proxy/${name}`;
      assert.ok(cache.update(classKey, smallMesh(mesh)));
      return {
        node: nodeProxy(`${name}-proxy`, name),
        classKey,
        update: (next: SmallMesh) => assert.ok(cache.update(classKey, smallMesh(next))),
        open: (kind: StreamKind = defaultKind) => {
          const client = new RawXdsClient(port, kind);
          opened.push(client);
          return client;
        },
      };
    },
    /** One type's state on the newest stream of a node id, as /debug/syncz shows it. */
    typeView(nodeId: string, typeUrl: string): TypeStateView | undefined {
      const mine = xds.syncz().clients.filter((c) => c.id === nodeId).sort((a, b) => b.streamId - a.streamId)[0];
      return mine?.types.find((t) => t.typeUrl === typeUrl);
    },
  };
}

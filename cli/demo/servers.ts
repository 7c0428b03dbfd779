// The small real servers the demo runs in its pods, each answering with the pod's name and version
// label so the report can tell which backend served a request: HTTP (node:http, a JSON body),
// gRPC (the inventory service) and plain TCP (one reply line per message, like a database's).
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import type { Server as GrpcServer } from '@grpc/grpc-js';

export type ServerKind = 'http' | 'grpc' | 'tcp';

export interface Identity {
  pod: string;
  app: string;
  version: string;
}

/** What an HTTP server answers (and the probes read back). */
export interface HttpAnswer extends Identity {
  method: string;
  path: string;
}

export interface Closable {
  close(): Promise<void>;
}

function listenNet(server: Server | ReturnType<typeof createHttpServer>, port: number): Promise<Closable> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () =>
      resolve({ close: () => new Promise<void>((done) => server.close(() => done())) }),
    );
  });
}

function startHttp(id: Identity, port: number): Promise<Closable> {
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer: HttpAnswer = { ...id, method: req.method ?? '', path: req.url ?? '' };
      res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': id.pod });
      res.end(`${JSON.stringify(answer)}\n`);
    });
  });
  return listenNet(server, port);
}

function startTcp(id: Identity, port: number): Promise<Closable> {
  const server = createTcpServer((socket) => {
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => socket.write(`${id.pod} ${socket.remoteAddress ?? '?'} ${data.trim()}\n`));
    socket.on('error', () => socket.destroy());
  });
  return listenNet(server, port);
}

async function startGrpc(id: Identity, port: number): Promise<Closable> {
  const grpc = await import('@grpc/grpc-js');
  const { inventoryService } = await import('./inventory.js');
  const server: GrpcServer = new grpc.Server();
  server.addService(inventoryService().service, {
    ReserveStock: (call: { metadata: { get(key: string): unknown[] } }, done: (err: null, reply: object) => void) => {
      const route = call.metadata.get('x-skiff-route')[0];
      done(null, { pod: id.pod, version: id.version, reserved: true, route: typeof route === 'string' ? route : '' });
    },
    GetStock: (_call: unknown, done: (err: null, reply: object) => void) => done(null, { pod: id.pod, version: id.version, available: 42 }),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`0.0.0.0:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return { close: () => new Promise<void>((done) => server.tryShutdown(() => done())) };
}

export function startServer(kind: ServerKind, id: Identity, port: number): Promise<Closable> {
  switch (kind) {
    case 'http':
      return startHttp(id, port);
    case 'grpc':
      return startGrpc(id, port);
    case 'tcp':
      return startTcp(id, port);
  }
}

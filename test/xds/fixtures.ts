// Test fixtures for the xDS server: Envoy resources in the shapes proxyless gRPC clients accept
// (Listener with api_listener + RDS, RouteConfiguration with weighted clusters, EDS Cluster over
// ADS, ClusterLoadAssignment), and real gRPC echo backends on 127.0.0.1 that report their name.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { TypeUrl } from '../../xds/protos.js';
import type { SnapshotInput } from '../../xds/snapshot.js';

export const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

export function listener(name: string, routeConfig: string): object {
  return {
    name,
    api_listener: {
      api_listener: {
        '@type': TypeUrl.httpConnectionManager,
        rds: { route_config_name: routeConfig, config_source: { ads: {}, resource_api_version: 'V3' } },
        http_filters: [{ name: 'router', typed_config: { '@type': ROUTER } }],
      },
    },
  };
}

/** A route configuration sending every request to the clusters with these weights. */
export function routeConfig(name: string, weights: Record<string, number>): object {
  const clusters = Object.entries(weights).map(([cluster, weight]) => ({ name: cluster, weight: { value: weight } }));
  const route = clusters.length === 1 ? { cluster: clusters[0]?.name } : { weighted_clusters: { clusters } };
  return { name, virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '' }, route }] }] };
}

export function cluster(name: string, lbPolicy = 'ROUND_ROBIN'): object {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } }, lb_policy: lbPolicy };
}

export function loadAssignment(clusterName: string, ports: number[]): object {
  return {
    cluster_name: clusterName,
    endpoints: [
      {
        locality: { region: 'r', zone: 'z', sub_zone: 's' },
        load_balancing_weight: { value: 1 },
        lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })),
      },
    ],
  };
}

/** A whole proxyless mesh: one listener/route, clusters with their backends' ports. */
export interface MeshSpec {
  listener: string;
  weights: Record<string, number>;
  backends: Record<string, number[]>;
}

export function meshResources(spec: MeshSpec): SnapshotInput {
  return {
    [TypeUrl.listener]: [{ message: listener(spec.listener, `${spec.listener}-routes`) }],
    [TypeUrl.route]: [{ message: routeConfig(`${spec.listener}-routes`, spec.weights) }],
    [TypeUrl.cluster]: Object.keys(spec.backends).map((name) => ({ message: cluster(name) })),
    [TypeUrl.endpoint]: Object.entries(spec.backends).map(([name, ports]) => ({ message: loadAssignment(name, ports) })),
  };
}

const ECHO_PROTO = `syntax = "proto3";
package skifftest;
message EchoRequest { string text = 1; }
message EchoReply { string backend = 1; string text = 2; }
service Echo { rpc Echo(EchoRequest) returns (EchoReply); }
`;

export interface EchoReply {
  backend: string;
  text: string;
}

export type EchoClient = grpc.Client & {
  Echo(request: { text: string }, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, reply?: EchoReply) => void): grpc.ClientUnaryCall;
};

function loadEcho(): grpc.ServiceClientConstructor {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-echo-'));
  try {
    const file = join(dir, 'echo.proto');
    writeFileSync(file, ECHO_PROTO);
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(file)) as unknown as { skifftest: { Echo: grpc.ServiceClientConstructor } };
    return pkg.skifftest.Echo;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const Echo = loadEcho();

/** A real gRPC server on 127.0.0.1 answering Echo with its own name. */
export async function startBackend(name: string): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(Echo.service, {
    Echo: (call: grpc.ServerUnaryCall<{ text: string }, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => callback(null, { backend: name, text: call.request.text }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { port, server };
}

export function echo(client: EchoClient, text = 'hi', deadlineMs = 5000): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    client.Echo({ text }, { deadline: Date.now() + deadlineMs }, (error, reply) => (error || !reply ? reject(error ?? new Error('no reply')) : resolve(reply)));
  });
}

/** Polls until check() returns true (or throws the last failure after timeoutMs). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}

/** A node-proxy-shaped resource set: clusters with endpoint ports, listeners with route weights. */
export interface SmallMesh {
  clusters: Record<string, number[]>;
  listeners: Record<string, Record<string, number>>;
}

export function smallMesh(mesh: SmallMesh): SnapshotInput {
  return {
    [TypeUrl.cluster]: Object.keys(mesh.clusters).map((name) => ({ message: cluster(name) })),
    [TypeUrl.endpoint]: Object.entries(mesh.clusters).map(([name, ports]) => ({ message: loadAssignment(name, ports) })),
    [TypeUrl.listener]: Object.keys(mesh.listeners).map((name) => ({ message: listener(name, `${name}-routes`) })),
    [TypeUrl.route]: Object.entries(mesh.listeners).map(([name, weights]) => ({ message: routeConfig(`${name}-routes`, weights) })),
  };
}

/** Node metadata for a node-proxy client of a test's own class (`node-proxy/<nodeName>`). */
export function nodeProxy(id: string, nodeName: string): { id: string; metadata: Record<string, string> } {
  return { id, metadata: { role: 'node-proxy', node_name: nodeName } };
}

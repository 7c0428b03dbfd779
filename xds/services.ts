// The gRPC service definitions the xDS server answers: ADS and the per-type discovery services,
// each with a SotW and a Delta method. Requests are decoded with Envoy's protos; responses are
// already-encoded bytes (see wire.ts), so their serializer is the identity.
import type * as grpc from '@grpc/grpc-js';
import { TypeUrl, decodeDeltaDiscoveryRequest, decodeDiscoveryRequest } from './protos.js';

export interface MethodSpec {
  /** Key in the implementation object. */
  name: string;
  delta: boolean;
  /** The only type URL this method serves (per-type services); undefined for ADS. */
  typeUrl?: string;
}

export interface ServiceSpec {
  definition: grpc.ServiceDefinition;
  methods: MethodSpec[];
}

const identity = (value: Buffer): Buffer => value;

function method(service: string, name: string, delta: boolean): grpc.MethodDefinition<unknown, Buffer> {
  return {
    path: `/${service}/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: () => {
      throw new Error('the xDS server never sends requests');
    },
    requestDeserialize: delta ? decodeDeltaDiscoveryRequest : decodeDiscoveryRequest,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

function service(name: string, sotw: string, delta: string, typeUrl?: string): ServiceSpec {
  const definition: grpc.ServiceDefinition = { [sotw]: method(name, sotw, false), [delta]: method(name, delta, true) };
  const methods: MethodSpec[] = [
    { name: sotw, delta: false, ...(typeUrl ? { typeUrl } : {}) },
    { name: delta, delta: true, ...(typeUrl ? { typeUrl } : {}) },
  ];
  return { definition, methods };
}

export const SERVICES: ServiceSpec[] = [
  service('envoy.service.discovery.v3.AggregatedDiscoveryService', 'StreamAggregatedResources', 'DeltaAggregatedResources'),
  service('envoy.service.cluster.v3.ClusterDiscoveryService', 'StreamClusters', 'DeltaClusters', TypeUrl.cluster),
  service('envoy.service.endpoint.v3.EndpointDiscoveryService', 'StreamEndpoints', 'DeltaEndpoints', TypeUrl.endpoint),
  service('envoy.service.listener.v3.ListenerDiscoveryService', 'StreamListeners', 'DeltaListeners', TypeUrl.listener),
  service('envoy.service.route.v3.RouteDiscoveryService', 'StreamRoutes', 'DeltaRoutes', TypeUrl.route),
  service('envoy.service.secret.v3.SecretDiscoveryService', 'StreamSecrets', 'DeltaSecrets', TypeUrl.secret),
];

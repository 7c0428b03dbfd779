// The contract between skiff's gRPC server (xds/grpc/server.ts: gRPC over our own HTTP/2, so that
// an idle proxy's connection costs a socket and a few objects, not an nghttp2 session) and the
// services it serves: the call a handler gets, the three handler shapes skiff uses (unary,
// client-streaming, bidirectional), and the error a handler throws to end a call with a status.
import { status as Status } from '@grpc/grpc-js';

export { Status };

/** What every call knows about its request. */
export interface CallInfo {
  /** The method path, e.g. `/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources`. */
  readonly path: string;
  /** The remote end, `address:port`. */
  readonly peer: string;
  /** A request header's first value (`name` lower-case; pseudo-headers excluded), or undefined. */
  header(name: string): string | undefined;
}

/** The status a call ends with (trailers `grpc-status`, `grpc-message`). */
export interface CallStatus {
  code: Status;
  details?: string;
}

/** A handler throws (or rejects with) this to end its call with `code`; any other error ends it with INTERNAL. */
export class GrpcError extends Error {
  constructor(
    readonly code: Status,
    details: string,
  ) {
    super(details);
  }
}

/** A call whose requests stream in (client-streaming and bidirectional methods). */
export interface StreamCall<Request> extends CallInfo {
  /** Set by the handler: each request message, decoded with the method's requestDeserialize. */
  onMessage: (message: Request) => void;
  /** Set by the handler: the client half-closed (no more requests). */
  onEnd: () => void;
  /** Set by the handler: the call is over, for whatever reason (status sent, RST_STREAM, connection gone); called once. */
  onClose: () => void;
  /** True once the call is over. */
  readonly closed: boolean;
  /**
   * Sends one response message whose bytes are `parts` concatenated, already encoded (no
   * responseSerialize; the parts are referenced, never copied). `done` runs when the message's last
   * byte was handed to the socket, or when the call closes before that.
   */
  write(parts: readonly Uint8Array[], done?: () => void): void;
  /** Ends the call: trailers with `status` (default OK). Further writes are dropped. */
  end(status?: CallStatus): void;
}

/** Unary: the decoded request in, the response out (serialized with the method's responseSerialize). */
export type UnaryHandler<Request = unknown, Response = unknown> = (request: Request, call: CallInfo) => Response | Promise<Response>;

/** Client-streaming: reads `call.onMessage` until `call.onEnd`, then resolves the single response. */
export type ClientStreamHandler<Request = unknown, Response = unknown> = (call: StreamCall<Request>) => Promise<Response>;

/** Bidirectional: owns the call; writes responses with `call.write` and ends it with `call.end`. */
export type BidiHandler<Request = unknown> = (call: StreamCall<Request>) => void;

/**
 * A service's methods by name (the keys of its grpc-js ServiceDefinition, whose path, stream flags,
 * requestDeserialize and responseSerialize the server uses). Server-streaming is not used by skiff.
 * A unary handler names its own request type (the definition's deserializer makes it), hence `never`.
 */
export type Handler = UnaryHandler<never> | ClientStreamHandler | BidiHandler;

export type ServiceHandlers = Record<string, Handler>;

// Hand-assembled protobuf bytes for the xDS responses. Each resource is encoded once per version
// (as the `resources` field of a DiscoveryResponse or DeltaDiscoveryResponse); a response for any
// number of clients is the concatenation of those shared bytes plus the few per-stream fields.
import protobuf from 'protobufjs';

const LEN = 2; // protobuf wire type: length-delimited

function tag(field: number): number {
  return (field << 3) | LEN;
}

/** One length-delimited field (string or bytes) as its complete wire bytes. */
export function bytesField(field: number, value: Uint8Array | string): Uint8Array {
  const writer = protobuf.Writer.create().uint32(tag(field));
  if (typeof value === 'string') writer.string(value);
  else writer.bytes(value);
  return writer.finish();
}

/** google.protobuf.Any { type_url = 1; value = 2 }. */
export function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  return protobuf.Writer.create().uint32(tag(1)).string(typeUrl).uint32(tag(2)).bytes(value).finish();
}

/** envoy.service.discovery.v3.Resource { version = 1; resource = 2 (Any); name = 3 }. */
export function encodeDeltaResource(name: string, version: string, any: Uint8Array): Uint8Array {
  return protobuf.Writer.create().uint32(tag(1)).string(version).uint32(tag(2)).bytes(any).uint32(tag(3)).string(name).finish();
}

/** Field numbers of DiscoveryResponse. */
export const SotwField = { versionInfo: 1, resources: 2, typeUrl: 4, nonce: 5 } as const;
/** Field numbers of DeltaDiscoveryResponse. */
export const DeltaField = { systemVersionInfo: 1, resources: 2, typeUrl: 4, nonce: 5, removedResources: 6 } as const;

/** Joins pre-encoded field bytes into one message body. */
export function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts as Uint8Array[]);
}


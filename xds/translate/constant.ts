// Constant parts of Envoy messages as protobufjs messages, converted and encoded once. A builder
// puts one in its plain object where the plain form would go: `fromObject` passes a message of
// the right type through unchanged, and encoding it writes the bytes encoded the first time (the
// same bytes encoding it again would give). Shared by every resource that uses it and frozen.
import protobuf from 'protobufjs';
import { lookupType } from '../validate/index.js';
import { frozen, type Json } from './types.js';

/** The bytes of each constant message. */
const encodedOnce = new WeakMap<object, Uint8Array>();
const replayed = new WeakSet<protobuf.Type>();

type Encode = (message: protobuf.Message | object, writer?: protobuf.Writer) => protobuf.Writer;

/** How protobufjs appends raw bytes (no length prefix) to a BufferWriter (what Writer.create() makes under Node). */
function writeBytes(): unknown {
  return (protobuf.BufferWriter as unknown as { writeBytesBuffer: unknown }).writeBytesBuffer;
}
type Push = { _push(fn: unknown, len: number, value: Uint8Array): protobuf.Writer };

/** Makes `type`'s encoder write a constant message's stored bytes instead of encoding it again. */
function replayConstants(type: protobuf.Type): void {
  if (replayed.has(type)) return;
  replayed.add(type);
  const encode = type.encode as Encode;
  type.encode = ((message: object, writer?: protobuf.Writer) => {
    const bytes = encodedOnce.get(message);
    if (!bytes) return encode(message, writer);
    const w = writer ?? protobuf.Writer.create();
    return bytes.length === 0 || !(w instanceof protobuf.BufferWriter) ? encode(message, w) : (w as unknown as Push)._push(writeBytes(), bytes.length, bytes);
  }) as typeof type.encode;
}

/**
 * A constant of message type `typeName` (`envoy.config.cluster.v3.CircuitBreakers`), converted on
 * first use (the Envoy API loads lazily) and the same frozen message after.
 */
export function constantMessage(typeName: string, value: Json): () => Json {
  let message: Json | undefined;
  return () => {
    if (message) return message;
    const type = lookupType(typeName).setup();
    const converted = type.fromObject(frozen(structuredClone(value)));
    encodedOnce.set(converted, type.encode(converted).finish());
    replayConstants(type);
    message = frozen(converted) as unknown as Json;
    return message;
  };
}

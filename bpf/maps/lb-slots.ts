// skf_lb_slots (hash): (service revNatId, slot) -> backend id (u32). A new flow takes slot
// flowHash % count. Fill slots 0..count-1 before raising the service's count, and lower the count
// before removing slots; a backend may fill several slots (weights, Maglev-style tables).
export const MAP_NAME = 'skf_lb_slots';
export const KEY_SIZE = 8;
export const VALUE_SIZE = 4;
export const DEFAULT_MAX_ENTRIES = 262144;

export interface SlotKey {
  revNatId: number;
  slot: number;
}

export function encodeKey(k: SlotKey): Buffer {
  const buf = Buffer.alloc(KEY_SIZE);
  buf.writeUInt32LE(k.revNatId, 0);
  buf.writeUInt32LE(k.slot, 4);
  return buf;
}

export function decodeKey(buf: Buffer): SlotKey {
  return { revNatId: buf.readUInt32LE(0), slot: buf.readUInt32LE(4) };
}

/** The value: a backend id of skf_backends. */
export function encodeValue(backendId: number): Buffer {
  const buf = Buffer.alloc(VALUE_SIZE);
  buf.writeUInt32LE(backendId, 0);
  return buf;
}

export function decodeValue(buf: Buffer): number {
  return buf.readUInt32LE(0);
}

// skf_lb_slots (hash): (service revNatId, slot) -> backend id (u32). A new flow takes slot
// flowHash % count. Fill slots 0..count-1 before raising the service's count, and lower the count
// before removing slots; a backend may fill several slots (weights, Maglev-style tables).
import { Struct, u32 } from './struct.js';

export const MAP_NAME = 'skf_lb_slots';
export const DEFAULT_MAX_ENTRIES = 262144;

export interface SlotKey {
  revNatId: number;
  slot: number;
}

export const KEY = new Struct<SlotKey>('skf_slot_key', 8, [
  { name: 'revNatId', kind: 'u32', offset: 0 },
  { name: 'slot', kind: 'u32', offset: 4 },
]);

export const encodeKey = (k: SlotKey): Buffer => KEY.encode(k);
export const decodeKey = (buf: Buffer): SlotKey => KEY.decode(buf);
/** The value: a backend id of skf_backends. */
export const encodeValue = (backendId: number): Buffer => u32.encode(backendId);
export const decodeValue = (buf: Buffer): number => u32.decode(buf);

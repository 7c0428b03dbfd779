// skf_config (array, one entry, key 0): where the node proxy listens. struct skf_config, 24 bytes.
// The port of the listener comes from each policy entry's proxy_port; a zero address means "the
// packet's own destination", which finds a listener bound to 0.0.0.0 / ::.
import { readAddr, writeAddr } from './addr.js';
import { AF_INET, AF_INET6 } from './constants.js';

export const MAP_NAME = 'skf_config';
export const KEY_SIZE = 4;
export const VALUE_SIZE = 24;

export interface ConfigValue {
  /** IPv4 address of the proxy listener ('' or '0.0.0.0': any). */
  proxyAddr4: string;
  /** IPv6 address of the proxy listener ('' or '::': any). */
  proxyAddr6: string;
  flags: number;
}

export function encodeKey(): Buffer {
  return Buffer.alloc(KEY_SIZE);
}

export function encodeValue(v: ConfigValue): Buffer {
  const buf = Buffer.alloc(VALUE_SIZE);
  const scratch = Buffer.alloc(16);
  if (v.proxyAddr4) {
    writeAddr(scratch, 0, v.proxyAddr4);
    scratch.copy(buf, 0, 0, 4);
  }
  buf.writeUInt32LE(v.flags, 4);
  if (v.proxyAddr6) writeAddr(buf, 8, v.proxyAddr6);
  return buf;
}

export function decodeValue(buf: Buffer): ConfigValue {
  return {
    proxyAddr4: readAddr(buf, 0, AF_INET),
    proxyAddr6: readAddr(buf, 8, AF_INET6),
    flags: buf.readUInt32LE(4),
  };
}

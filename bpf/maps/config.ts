// skf_config (array, one entry, key 0): where the node proxy listens (struct skf_config). The
// listener's port comes from each policy entry's proxyPort; an empty address means "the packet's
// own destination", which finds a listener bound to 0.0.0.0 / ::.
import { AF_INET6 } from './constants.js';
import { Struct, u32 } from './struct.js';

export const MAP_NAME = 'skf_config';

export interface ConfigValue {
  /** IPv4 address of the proxy listener ('' = any). */
  proxyAddr4: string;
  flags: number;
  /** IPv6 address of the proxy listener ('' = any). */
  proxyAddr6: string;
  /** The HBONE outbound listener's port: cross-node pod flows are steered there (0 = off). */
  hbonePort: number;
}

export const VALUE = new Struct<ConfigValue>('skf_config', 28, [
  { name: 'proxyAddr4', kind: 'addr4', offset: 0 },
  { name: 'flags', kind: 'u32', offset: 4 },
  { name: 'proxyAddr6', kind: 'addr', offset: 8 },
  { name: 'hbonePort', kind: 'u32', offset: 24 },
]);

export const encodeKey = (): Buffer => u32.encode(0);
export const encodeValue = (v: ConfigValue): Buffer => VALUE.encode(v);
/** The addresses read back as 0.0.0.0 / :: when unset. */
export const decodeValue = (buf: Buffer): ConfigValue => VALUE.decode(buf, AF_INET6);

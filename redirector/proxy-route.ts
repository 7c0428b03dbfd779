// The policy route that delivers flows steered to the node proxy: packets carrying the datapath's
// proxy mark are looked up in PROXY_ROUTE_TABLE, where everything is local, so the socket that
// from_pod assigned (bpf_sk_assign) receives them. Installed idempotently for IPv4 and IPv6.
import { MARK_MASK, MARK_TO_PROXY, PROXY_ROUTE_TABLE } from '../bpf/maps/constants.js';
import { ip, ipJson } from './ip.js';

const FAMILIES = [
  { flag: '-4', any: '0.0.0.0/0' },
  { flag: '-6', any: '::/0' },
] as const;

interface Rule {
  fwmark?: string;
  fwmask?: string;
  table?: string;
}

function isOurs(rule: Rule): boolean {
  return Number(rule.fwmark) === MARK_TO_PROXY && Number(rule.fwmask) === MARK_MASK && rule.table === String(PROXY_ROUTE_TABLE);
}

export async function installProxyRoute(): Promise<void> {
  for (const { flag, any } of FAMILIES) {
    const rules = await ipJson<Rule>(flag, 'rule', 'show');
    if (!rules.some(isOurs)) {
      await ip(flag, 'rule', 'add', 'fwmark', `${MARK_TO_PROXY}/${MARK_MASK}`, 'lookup', String(PROXY_ROUTE_TABLE));
    }
    await ip(flag, 'route', 'replace', 'local', any, 'dev', 'lo', 'table', String(PROXY_ROUTE_TABLE));
  }
}

export async function removeProxyRoute(): Promise<void> {
  for (const { flag, any } of FAMILIES) {
    const rules = await ipJson<Rule>(flag, 'rule', 'show');
    for (let i = rules.filter(isOurs).length; i > 0; i--) {
      await ip(flag, 'rule', 'del', 'fwmark', `${MARK_TO_PROXY}/${MARK_MASK}`, 'lookup', String(PROXY_ROUTE_TABLE));
    }
    await ip(flag, 'route', 'del', 'local', any, 'dev', 'lo', 'table', String(PROXY_ROUTE_TABLE)).catch(() => undefined);
  }
}

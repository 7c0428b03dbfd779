// The baseline a kube-proxy node runs: the services as iptables DNAT chains in the nat table, in
// the shape kube-proxy's iptables mode writes them (KUBE-SERVICES -> KUBE-SVC-* -> KUBE-SEP-*,
// backends picked with `-m statistic --mode random` probabilities 1/n, 1/(n-1), ..., masquerade
// marks for traffic from outside the cluster CIDR and hairpin), loaded in one iptables-restore
// into a node's netns (the rules go away with the netns).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { netnsPath } from '../../test/helpers/netns.js';
import type { CatalogueService } from './catalogue.js';

/** The pods' CIDR as kube-proxy's --cluster-cidr (covers every pod address of the benchmark). */
const CLUSTER_CIDR = '10.64.0.0/10';

/** kube-proxy's chain names: a prefix and 16 characters of a hash of the service port/endpoint. */
function chainName(prefix: 'KUBE-SVC-' | 'KUBE-SEP-', text: string): string {
  return prefix + createHash('sha256').update(text).digest('base64url').replace(/[-_]/g, 'X').slice(0, 16).toUpperCase();
}

/** The iptables-restore input (nat table) for services. */
export function kubeProxyRules(services: CatalogueService[]): string {
  const chains: string[] = [':KUBE-SERVICES - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]'];
  const portals: string[] = [];
  const rules: string[] = [];
  for (const svc of services) {
    const svcChain = chainName('KUBE-SVC-', svc.name);
    chains.push(`:${svcChain} - [0:0]`);
    const match = `-d ${svc.vip}/32 -p tcp -m comment --comment "${svc.name} cluster IP" -m tcp --dport ${svc.port}`;
    portals.push(`-A KUBE-SERVICES ${match} -j ${svcChain}`);
    rules.push(`-A ${svcChain} ! -s ${CLUSTER_CIDR} ${match} -j KUBE-MARK-MASQ`);
    svc.backends.forEach((b, i) => {
      const endpoint = `${b.addr}:${b.port}`;
      const sepChain = chainName('KUBE-SEP-', `${svc.name}/${endpoint}`);
      chains.push(`:${sepChain} - [0:0]`);
      const left = svc.backends.length - i;
      const pick = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : '';
      rules.push(`-A ${svcChain} -m comment --comment "${svc.name} -> ${endpoint}"${pick} -j ${sepChain}`);
      rules.push(`-A ${sepChain} -s ${b.addr}/32 -m comment --comment "${svc.name}" -j KUBE-MARK-MASQ`);
      rules.push(`-A ${sepChain} -p tcp -m comment --comment "${svc.name}" -m tcp -j DNAT --to-destination ${endpoint}`);
    });
  }
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...chains,
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ...portals,
    ...rules,
    'COMMIT',
    '',
  ].join('\n');
}

/** Loads services into netns's nat table with one iptables-restore; returns the rule count. */
export function loadKubeProxyRules(netns: string, services: CatalogueService[]): number {
  const input = kubeProxyRules(services);
  const r = spawnSync('nsenter', [`--net=${netnsPath(netns)}`, 'iptables-restore', '-w'], { input, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`iptables-restore in ${netns} failed (exit ${r.status}): ${r.stderr.trim()}`);
  return input.split('\n').filter((line) => line.startsWith('-A ')).length;
}

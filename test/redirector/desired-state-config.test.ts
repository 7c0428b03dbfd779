// skf_config as the agent's desired state has it: the HBONE outbound port (where from_pod steers
// new cross-node pod flows) when NodeConfig.encryption is hbone, or while the HBONE tunnel still
// runs after a switch away from it; 0 otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { config, policy } from '../../bpf/maps/index.js';
import type { NodeConfig__Output } from '../../proto/skiff/v1alpha1/wire.js';
import { DesiredState } from '../../redirector/desired-state.js';
import { HBONE_OUTBOUND_PORT } from '../../redirector/tunnel/hbone.js';

function nodeConfig(encryption: string): NodeConfig__Output {
  return { node_name: 'a', proxy_port: 15001, nodes: [], encryption, trust_domain: 'cluster.local', hbone_port: 15008 };
}

function hbonePort(state: DesiredState): number {
  const [entry] = state.content('config').values();
  return config.decodeValue((entry as { value: Buffer }).value).hbonePort;
}

test('skf_config.hbonePort follows NodeConfig.encryption, and stays while the HBONE tunnel still runs', () => {
  const state = new DesiredState({ node: 'a' });
  assert.equal(hbonePort(state), 0, 'no NodeConfig yet: no steering');
  state.setNodeConfig(nodeConfig('hbone'));
  assert.equal(hbonePort(state), HBONE_OUTBOUND_PORT);
  assert.equal(state.takeDirty().config.size, 1, 'the change is written');
  state.setHboneRunning(true);
  state.setNodeConfig(nodeConfig('wireguard'));
  assert.equal(hbonePort(state), HBONE_OUTBOUND_PORT, 'until WireGuard is up, flows stay in HBONE');
  state.setHboneRunning(false);
  assert.equal(hbonePort(state), 0);
  state.setNodeConfig(nodeConfig('none'));
  assert.equal(hbonePort(state), 0);
});

test('the agent\'s outbound listener port, when it is not the default, is the one steered to', () => {
  const state = new DesiredState({ node: 'a', hboneOutboundPort: 25009 });
  state.setNodeConfig(nodeConfig('hbone'));
  assert.equal(hbonePort(state), 25009);
});

test('egress entries that need L7 only for a waypoint steer to the HBONE outbound with encryption hbone, to the node proxy otherwise', () => {
  const state = new DesiredState({ node: 'a' });
  const w = { namespace: 'shop', name: 'client', uid: 'u', ips: ['10.1.0.10'], node_name: 'a', identity: 1001, spiffe_id: 'spiffe://cluster.local/ns/shop/sa/client', service_account: 'client', labels: {}, ready: true };
  const entry = (via: boolean, identity: number) => ({ any_peer: false, identities: [identity], cidrs: [], protocol: 'TCP' as const, port: 8080, end_port: 8080, verdict: 'ALLOW' as const, proxy_port: 15001, origin: 'l7', via_waypoint: via });
  state.setWorkload('shop/client', w);
  const open = { enforced: false, entries: [] };
  state.setPolicy('shop/client', { workload: 'shop/client', identity: 1001, ingress: open, authorization: open, egress: { enforced: false, entries: [entry(true, 2001), entry(false, 2002)] } });
  const proxyPorts = () => Object.fromEntries([...state.content('policy').values()].map((e) => [policy.decodeKey(e.key).identity, policy.decodeValue(e.value).proxyPort]));
  state.setNodeConfig(nodeConfig('hbone'));
  assert.deepEqual(proxyPorts(), { 2001: HBONE_OUTBOUND_PORT, 2002: 15001 });
  state.setNodeConfig(nodeConfig('wireguard'));
  assert.deepEqual(proxyPorts(), { 2001: 15001, 2002: 15001 });
});

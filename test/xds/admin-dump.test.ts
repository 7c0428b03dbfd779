// /debug/config_dump decodes the typed_config the translator emits (TcpProxy, OriginalDst, TLS
// transport sockets, upstream HTTP protocol options, …) and prints bytes as base64 strings.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotCache } from '../../xds/cache.js';
import { XdsServer } from '../../xds/server.js';
import { AdminServer } from '../../xds/admin.js';
import { TypeUrl } from '../../xds/protos.js';
import { getJson, nodeProxy } from './fixtures.js';
import { RawXdsClient } from './raw-client.js';

const T = 'type.googleapis.com/envoy.extensions.';
const cache = new SnapshotCache();
const xds = new XdsServer({ cache });
const admin = new AdminServer({ xds });
let client: RawXdsClient | undefined;

after(async () => {
  client?.close();
  await admin.close();
  await xds.close(500);
});

const cluster = {
  name: 'tls-out',
  type: 'STATIC',
  load_assignment: { cluster_name: 'tls-out', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 8443 } } } }] }] },
  transport_socket: {
    name: 'envoy.transport_sockets.tls',
    typed_config: { '@type': `${T}transport_sockets.tls.v3.UpstreamTlsContext`, sni: 'svc.example', common_tls_context: { validation_context: { trusted_ca: { inline_bytes: Buffer.from('ca-pem') } } } },
  },
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': `${T}upstreams.http.v3.HttpProtocolOptions`, explicit_http_config: { http2_protocol_options: {} } },
  },
};

const listener = {
  name: 'outbound',
  address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
  listener_filters: [{ name: 'envoy.filters.listener.original_dst', typed_config: { '@type': `${T}filters.listener.original_dst.v3.OriginalDst` } }],
  filter_chains: [
    {
      filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 'out', cluster: 'tls-out' } }],
      transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': `${T}transport_sockets.raw_buffer.v3.RawBuffer` } },
    },
  ],
};

test('config dumps decode the translator typed_configs and print bytes as base64', async () => {
  const port = await xds.listen('127.0.0.1:0');
  const base = `http://127.0.0.1:${await admin.listen('127.0.0.1', 0)}`;
  assert.ok(cache.update('node-proxy/node-dump', { [TypeUrl.cluster]: [{ message: cluster }], [TypeUrl.listener]: [{ message: listener }] }));
  client = new RawXdsClient(port, 'sotw');
  client.send({ node: nodeProxy('dump-proxy', 'node-dump'), type_url: TypeUrl.cluster });
  await client.next();
  client.send({ type_url: TypeUrl.listener });
  await client.next();
  const text = await (await fetch(`${base}/debug/config_dump?proxy=dump-proxy`)).text();
  assert.doesNotMatch(text, /"0":/, 'no bytes printed as {"0": …}');
  const dump = await getJson<{ configs: { dynamic_active_clusters?: { cluster: typeof cluster }[]; dynamic_listeners?: { active_state: { listener: typeof listener } }[] }[] }>(
    `${base}/debug/config_dump?proxy=dump-proxy`,
  );
  const c = dump.configs[0]?.dynamic_active_clusters?.[0]?.cluster;
  const tls = c?.transport_socket.typed_config as unknown as { '@type': string; sni: string; common_tls_context: { validation_context: { trusted_ca: { inline_bytes: string } } } };
  assert.equal(tls['@type'], `${T}transport_sockets.tls.v3.UpstreamTlsContext`);
  assert.equal(tls.sni, 'svc.example');
  assert.equal(tls.common_tls_context.validation_context.trusted_ca.inline_bytes, Buffer.from('ca-pem').toString('base64'));
  const options = c?.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'] as unknown as Record<string, unknown>;
  assert.deepEqual(options.explicit_http_config, { http2_protocol_options: {} });
  const l = dump.configs[1]?.dynamic_listeners?.[0]?.active_state.listener;
  assert.equal(l?.listener_filters[0]?.typed_config['@type'], `${T}filters.listener.original_dst.v3.OriginalDst`);
  const chain = l?.filter_chains[0];
  assert.deepEqual(chain?.filters[0]?.typed_config, { '@type': `${T}filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 'out', cluster: 'tls-out' });
  assert.deepEqual(chain?.transport_socket.typed_config, { '@type': `${T}transport_sockets.raw_buffer.v3.RawBuffer` });
});

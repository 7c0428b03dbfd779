// The translator asks Envoy for access logs over gRPC ALS: every HTTP connection manager of a node
// proxy carries an HttpGrpcAccessLogConfig to the bootstrap's xDS cluster (the control plane's
// AccessLogService), surviving encoding and passing Envoy's validation rules; proxyless API
// listeners (no Envoy) carry none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XDS_CLUSTER } from '../../envoy/bootstrap.js';
import { typeOf } from '../../xds/translate/encode.js';
import { TRANSPARENT_LISTENER } from '../../xds/translate/listeners.js';
import { Translator } from '../../xds/translate/translator.js';
import { validateResource } from '../../xds/validate/index.js';
import { EXAMPLE_MESH, objectsFromDirectory, snapshotOf } from './translate-fixtures.js';

const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
type Obj = Record<string, unknown>;

const t = new Translator().translate(snapshotOf(objectsFromDirectory(EXAMPLE_MESH)));
const listenerType = typeOf(LISTENER_TYPE);
const decode = (bytes: Uint8Array): Obj => listenerType.toObject(listenerType.decode(bytes), { longs: Number, enums: String, defaults: false }) as Obj;

test('node proxy HTTP connection managers log every request to the control plane over gRPC ALS', () => {
  for (const node of ['node-a', 'node-b']) {
    const built = t.classes.get(`node-proxy/${node}`)?.resources.get(LISTENER_TYPE)?.get(TRANSPARENT_LISTENER);
    assert.ok(built, `node-proxy/${node} has the transparent listener`);
    assert.deepEqual(validateResource(LISTENER_TYPE, built.value), []);
    const chains = decode(built.value).filter_chains as Obj[];
    assert.ok(chains.length > 0);
    for (const chain of chains) {
      const hcm = ((chain.filters as Obj[])[0] as Obj).typed_config as Obj;
      // the HCM is an Any: decode it to read the access log config as Envoy will
      const hcmType = typeOf(String(hcm.type_url));
      const decoded = hcmType.toObject(hcmType.decode(hcm.value as Uint8Array), { enums: String }) as Obj;
      const [log] = decoded.access_log as Obj[];
      assert.equal(log?.name, 'envoy.access_loggers.http_grpc');
      const any = log?.typed_config as Obj;
      assert.equal(any.type_url, 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig');
      const alsType = typeOf(String(any.type_url));
      const als = alsType.toObject(alsType.decode(any.value as Uint8Array), { enums: String }) as { common_config: Obj };
      assert.equal(als.common_config.log_name, 'skiff');
      assert.equal(als.common_config.transport_api_version, 'V3');
      assert.deepEqual(als.common_config.grpc_service, { envoy_grpc: { cluster_name: XDS_CLUSTER } });
    }
  }
  assert.equal(XDS_CLUSTER, 'xds-grpc');
});

test('proxyless API listeners carry no access log (no Envoy to send one)', () => {
  const listeners = t.classes.get('proxyless')?.resources.get(LISTENER_TYPE);
  assert.ok(listeners && listeners.size > 0);
  for (const [name, built] of listeners) {
    assert.deepEqual(validateResource(LISTENER_TYPE, built.value), [], name);
    assert.equal((built.message.api_listener as Obj).api_listener && 'access_log' in ((built.message.api_listener as Obj).api_listener as Obj), false, name);
  }
});

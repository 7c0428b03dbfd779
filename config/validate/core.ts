// Validation of the core kinds (v1 Namespace, Node, Service, Pod; discovery.k8s.io/v1
// EndpointSlice), after the rules of Kubernetes' apimachinery and core validation.
import { isIP } from 'node:net';
import { DNS_LABEL, type Field } from './fields.js';
import { CONDITION_STATUSES, MAX_POD_IPS, POD_PHASES, PROTOCOLS, SERVICE_TYPES } from './core-rules.js';
import { isPlainlyValidEndpoint, isPlainlyValidPodSpec, isPlainlyValidPodStatus, isPlainlyValidServiceSpec } from './fast-accept.js';

const NODE_ADDRESS_TYPES = ['Hostname', 'InternalIP', 'ExternalIP', 'InternalDNS', 'ExternalDNS'] as const;

export function validateNamespace(_root: Field): void {
  // A Namespace is its metadata; the name rule (a DNS label) is checked with the metadata.
}

export function validateNode(root: Field): void {
  const spec = root.opt('spec');
  if (spec?.object()) {
    spec.opt('podCIDR')?.cidr();
    spec.opt('podCIDRs')?.strings((c) => c.cidr(), { max: 2, unique: true });
  }
  const status = root.opt('status');
  if (status?.object()) {
    status.opt('addresses')?.list((addr) => {
      if (!addr.object()) return;
      const type = addr.req('type')?.oneOf(NODE_ADDRESS_TYPES);
      const address = addr.req('address');
      if (type === 'InternalIP' || type === 'ExternalIP') address?.ip();
      else address?.string({ min: 1 });
    });
  }
}

export function validateService(root: Field): void {
  const spec = root.req('spec');
  if (spec && !isPlainlyValidServiceSpec(spec.value)) validateServiceSpec(spec);
}

/** A Service's spec, walked field by field (what isPlainlyValidServiceSpec does not accept). */
export function validateServiceSpec(spec: Field): void {
  if (!spec.object()) return;
  const type = spec.opt('type')?.oneOf(SERVICE_TYPES) ?? 'ClusterIP';
  spec.opt('selector')?.labels();
  const clusterIP = spec.opt('clusterIP');
  if (clusterIP && clusterIP.value !== 'None' && clusterIP.value !== '') clusterIP.ip();
  const clusterIPs = spec.opt('clusterIPs')?.strings((ip) => (ip.value === 'None' ? 'None' : ip.ip()), { max: 2, unique: true });
  if (clusterIPs && clusterIPs.length > 0 && typeof clusterIP?.value === 'string' && clusterIP.value !== '' && clusterIP.value !== clusterIPs[0]) {
    spec.at('clusterIPs').at(0).error('must equal spec.clusterIP');
  }
  if (type === 'ExternalName') spec.req('externalName')?.dnsSubdomain();
  const ports = spec.opt('ports');
  const portless = type === 'ExternalName' || clusterIP?.value === 'None'; // headless Services may have no ports
  if (!portless && !ports) spec.at('ports').error('required field is missing (a Service needs at least one port)');
  ports?.list((port) => {
    if (!port.object()) return;
    const name = port.opt('name');
    if (name) name.string({ min: 1, max: 63, pattern: DNS_LABEL, patternHint: 'must be a DNS label' });
    else if (Array.isArray(ports.value) && ports.value.length > 1) port.at('name').error('required when a Service has more than one port');
    port.opt('protocol')?.oneOf(PROTOCOLS);
    appProtocol(port.opt('appProtocol'));
    port.req('port')?.port();
    port.opt('targetPort')?.portOrName();
    port.opt('nodePort')?.int(0, 65535);
  }, { min: portless ? 0 : 1 });
  ports?.uniqueBy('name');
}

export function validatePod(root: Field): void {
  const spec = root.req('spec');
  if (spec && !isPlainlyValidPodSpec(spec.value)) validatePodSpec(spec);
  const status = root.opt('status');
  if (status && !isPlainlyValidPodStatus(status.value)) validatePodStatus(status);
}

/** A Pod's spec, walked field by field (what isPlainlyValidPodSpec does not accept). */
export function validatePodSpec(spec: Field): void {
  if (!spec.object()) return;
  spec.opt('nodeName')?.dnsSubdomain();
  spec.opt('serviceAccountName')?.dnsSubdomain();
  spec.opt('hostNetwork')?.bool();
  const containers = spec.req('containers');
  containers?.list(container, { min: 1 });
  containers?.uniqueBy('name');
  spec.opt('initContainers')?.list(container);
}

/** A Pod's status, walked field by field (what isPlainlyValidPodStatus does not accept). */
export function validatePodStatus(status: Field): void {
  if (!status.object()) return;
  status.opt('phase')?.oneOf(POD_PHASES);
  const podIP = status.opt('podIP')?.ip();
  const podIPs = status.opt('podIPs')?.list((entry) => entry.object() && entry.req('ip')?.ip(), { max: MAX_POD_IPS });
  const first = podIPs?.[0]?.at('ip').value;
  if (podIP !== undefined && typeof first === 'string' && first !== podIP) status.at('podIPs').at(0).at('ip').error('must equal status.podIP');
  status.opt('conditions')?.list((c) => {
    if (!c.object()) return;
    c.req('type')?.string({ min: 1 });
    c.req('status')?.oneOf(CONDITION_STATUSES);
  });
}

function container(c: Field): void {
  if (!c.object()) return;
  c.req('name')?.dnsLabel();
  c.opt('image')?.string();
  const ports = c.opt('ports');
  ports?.list((port) => {
    if (!port.object()) return;
    port.opt('name')?.ianaServiceName();
    port.req('containerPort')?.port();
    port.opt('protocol')?.oneOf(PROTOCOLS);
  });
  ports?.uniqueBy('name');
}

function appProtocol(f: Field | undefined): void {
  f?.string({
    min: 1,
    max: 316,
    pattern: /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/,
    patternHint: 'must be a protocol name such as http, grpc or kubernetes.io/h2c',
  });
}

export function validateEndpointSlice(root: Field): void {
  const addressType = root.req('addressType')?.oneOf(['IPv4', 'IPv6', 'FQDN'] as const);
  // `endpoints` is required by the schema, yet the API server writes an empty one as null: both mean none.
  const endpoints = root.opt('endpoints');
  const items = endpoints?.values({ max: 1000 });
  if (endpoints && items) {
    for (let i = 0; i < items.length; i++) {
      if (!isPlainlyValidEndpoint(items[i], addressType)) validateEndpoint(endpoints.at(i), addressType);
    }
  }
  const ports = root.opt('ports');
  ports?.list((port) => {
    if (!port.object()) return;
    port.opt('name')?.string({ max: 63, pattern: /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/, patternHint: 'must be empty or a DNS label' });
    port.opt('protocol')?.oneOf(PROTOCOLS);
    port.opt('port')?.int(0, 65535);
    appProtocol(port.opt('appProtocol'));
  }, { max: 100 });
  ports?.uniqueBy('name');
}

/** One endpoint of a slice, walked field by field (what isPlainlyValidEndpoint does not accept). */
export function validateEndpoint(ep: Field, addressType: string | undefined): void {
  if (!ep.object()) return;
  ep.req('addresses')?.strings((a) => endpointAddress(a, addressType), { min: 1, max: 100 });
  const conditions = ep.opt('conditions');
  if (conditions?.object()) {
    for (const key of ['ready', 'serving', 'terminating']) conditions.opt(key)?.bool();
  }
  ep.opt('hostname')?.dnsLabel();
  ep.opt('nodeName')?.dnsSubdomain();
  ep.opt('zone')?.string();
  const targetRef = ep.opt('targetRef');
  if (targetRef?.object()) {
    targetRef.opt('kind')?.string({ min: 1 });
    targetRef.opt('namespace')?.dnsLabel();
    targetRef.opt('name')?.string({ min: 1 });
  }
}

function endpointAddress(a: Field, addressType: string | undefined): string | undefined {
  if (addressType === 'FQDN') return a.dnsSubdomain();
  if (addressType === 'IPv4') return a.ip(4);
  if (addressType === 'IPv6') return a.ip(6);
  return typeof a.value === 'string' && isIP(a.value) !== 0 ? a.value : a.string();
}

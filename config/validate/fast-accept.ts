// The fast accepts of validation: whether an endpoint of an EndpointSlice, or an object's metadata,
// is plainly valid, read straight from the object. A large mesh has 100,000 endpoints and 37,000
// objects, and the Field walk spends most of its time on a Field per value; what a fast accept does
// not take is walked as before, and that walk decides and reports. So a fast accept may only say
// yes where the walk finds no problem (a test holds each to that): it checks every field the walk
// checks, by the same rules, and says no to anything unusual.
import { isIP } from 'node:net';
import { CONDITION_STATUSES, MAX_POD_IPS, POD_PHASES, PROTOCOLS, SERVICE_TYPES } from './core-rules.js';
import { isDns1035Label, isDnsLabel, isDnsSubdomainName, isHeaderName, isIanaServiceName, isIntIn, isIpText, isLabelValue, isObj, qualifiedNameProblem, type NameRule } from './fields.js';
import {
  HTTP_METHODS, isGroup, isKind, isObjectName, isSectionName, MAX_HEADER_VALUE, MAX_HTTP_MATCHES, MAX_LIST, MAX_PATH, MAX_QUERY_VALUE, MAX_WEIGHT, pathValueProblem,
} from './gateway-rules.js';

const MAX_ADDRESSES = 100;
const NAME_CHECKS: Record<NameRule, (value: unknown) => boolean> = {
  dnsLabel: isDnsLabel,
  dns1035Label: isDns1035Label,
  dnsSubdomain: isDnsSubdomainName,
};

/** Metadata as checkMetadata walks it: a name by the kind's rule, a namespace where one belongs, labels, generation; no annotations. */
export function isPlainlyValidMetadata(metadata: unknown, nameRule: NameRule, namespaced: boolean): boolean {
  if (!isObj(metadata) || !NAME_CHECKS[nameRule](metadata.name)) return false;
  if (isPresent(metadata.namespace) && !(namespaced && isDnsLabel(metadata.namespace))) return false;
  if (isPresent(metadata.annotations)) return false; // the walk also measures their size
  const generation = metadata.generation;
  if (isPresent(generation) && !(Number.isInteger(generation) && (generation as number) >= 0 && (generation as number) <= Number.MAX_SAFE_INTEGER)) return false;
  return isAbsentOr(metadata.labels, isPlainLabels);
}

/** A map of label keys to label values, as Field.labels() checks it. */
function isPlainLabels(labels: unknown): boolean {
  if (!isObj(labels)) return false;
  for (const key of Object.keys(labels)) {
    if (qualifiedNameProblem(key) !== undefined || !isLabelValue(labels[key])) return false;
  }
  return true;
}

/** A Service's spec as validateServiceSpec walks it; ExternalName Services, clusterIPs and appProtocol are left to the walk. */
export function isPlainlyValidServiceSpec(spec: unknown): boolean {
  if (!isObj(spec)) return false;
  const type = spec.type;
  if (isPresent(type) && !(isOneOf(type, SERVICE_TYPES) && type !== 'ExternalName')) return false;
  if (!isAbsentOr(spec.selector, isPlainLabels)) return false;
  const clusterIP = spec.clusterIP;
  if (isPresent(clusterIP) && clusterIP !== 'None' && clusterIP !== '' && !isIpText(clusterIP)) return false;
  if (isPresent(spec.clusterIPs)) return false;
  const ports = spec.ports;
  const headless = clusterIP === 'None';
  if (!isPresent(ports)) return headless;
  if (!Array.isArray(ports) || (ports.length === 0 && !headless)) return false;
  return allItems(ports, (port) => isPlainServicePort(port, ports.length)) && hasUniqueNames(ports);
}

/** One port of a Service with `count` ports (more than one must each be named). */
function isPlainServicePort(port: unknown, count: number): boolean {
  if (!isObj(port)) return false;
  if (isPresent(port.name) ? !isDnsLabel(port.name) : count > 1) return false;
  if (!isAbsentOr(port.protocol, isProtocol) || isPresent(port.appProtocol)) return false;
  if (!isPortNumber(port.port) || !isAbsentOr(port.targetPort, isPortOrName)) return false;
  return isAbsentOr(port.nodePort, (nodePort) => isIntIn(nodePort, 0, 65535));
}

/** A Pod's spec as validatePodSpec walks it. */
export function isPlainlyValidPodSpec(spec: unknown): boolean {
  if (!isObj(spec)) return false;
  if (!isAbsentOr(spec.nodeName, isDnsSubdomainName) || !isAbsentOr(spec.serviceAccountName, isDnsSubdomainName)) return false;
  if (!isAbsentOr(spec.hostNetwork, isBoolean)) return false;
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0 || !allItems(containers, isPlainContainer) || !hasUniqueNames(containers)) return false;
  return isAbsentOr(spec.initContainers, (list) => isListOf(list, isPlainContainer));
}

function isPlainContainer(container: unknown): boolean {
  if (!isObj(container) || !isDnsLabel(container.name) || !isAbsentOr(container.image, isString)) return false;
  const ports = container.ports;
  if (!isPresent(ports)) return true;
  return isListOf(ports, isPlainContainerPort) && hasUniqueNames(ports as unknown[]);
}

function isPlainContainerPort(port: unknown): boolean {
  if (!isObj(port)) return false;
  return isAbsentOr(port.name, isIanaServiceName) && isPortNumber(port.containerPort) && isAbsentOr(port.protocol, isProtocol);
}

/** A Pod's status as validatePodStatus walks it: podIPs[0] must be podIP when both are there. */
export function isPlainlyValidPodStatus(status: unknown): boolean {
  if (!isObj(status)) return false;
  if (!isAbsentOr(status.phase, (phase) => isOneOf(phase, POD_PHASES)) || !isAbsentOr(status.podIP, isIpText)) return false;
  const podIPs = status.podIPs;
  if (isPresent(podIPs)) {
    if (!Array.isArray(podIPs) || podIPs.length > MAX_POD_IPS || !allItems(podIPs, isPlainPodIP)) return false;
    if (isPresent(status.podIP) && podIPs.length > 0 && (podIPs[0] as { ip: unknown }).ip !== status.podIP) return false;
  }
  return isAbsentOr(status.conditions, (list) => isListOf(list, isPlainPodCondition));
}

function isPlainPodIP(entry: unknown): boolean {
  return isObj(entry) && isIpText(entry.ip);
}

function isPlainPodCondition(condition: unknown): boolean {
  return isObj(condition) && isNonEmptyString(condition.type) && isOneOf(condition.status, CONDITION_STATUSES);
}

/** A route's parentRef as the walk's parentRef checks it. */
export function isPlainlyValidParentRef(ref: unknown): boolean {
  if (!isObj(ref) || !isAbsentOr(ref.group, isGroup) || !isAbsentOr(ref.kind, isKind) || !isAbsentOr(ref.namespace, isDnsLabel)) return false;
  return isObjectName(ref.name) && isAbsentOr(ref.sectionName, isSectionName) && isAbsentOr(ref.port, isPortNumber);
}

/**
 * An HTTPRoute rule as the walk's routeRule checks it: matches and backendRefs; a rule with filters,
 * timeouts or retry, and a regular expression match, are left to the walk.
 */
export function isPlainlyValidHTTPRouteRule(rule: unknown): boolean {
  if (!isObj(rule) || !isAbsentOr(rule.name, isSectionName)) return false;
  if (isPresent(rule.filters) || isPresent(rule.timeouts) || isPresent(rule.retry)) return false;
  const matches = rule.matches;
  if (isPresent(matches) && !(isListOf(matches, isPlainHTTPRouteMatch) && (matches as unknown[]).length <= MAX_HTTP_MATCHES)) return false;
  const backendRefs = rule.backendRefs;
  return !isPresent(backendRefs) || (isListOf(backendRefs, isPlainBackendRef) && (backendRefs as unknown[]).length <= MAX_LIST);
}

function isPlainHTTPRouteMatch(match: unknown): boolean {
  if (!isObj(match) || !isAbsentOr(match.path, isPlainPathMatch) || !isAbsentOr(match.method, (method) => isOneOf(method, HTTP_METHODS))) return false;
  const headers = match.headers;
  if (isPresent(headers) && !isPlainNameValueMatches(headers, MAX_HEADER_VALUE, (name) => name.toLowerCase())) return false;
  const queryParams = match.queryParams;
  return !isPresent(queryParams) || isPlainNameValueMatches(queryParams, MAX_QUERY_VALUE, (name) => name);
}

/** An Exact or PathPrefix path match (a regular expression is left to the walk). */
function isPlainPathMatch(path: unknown): boolean {
  if (!isObj(path)) return false;
  const type = path.type;
  if (isPresent(type) && type !== 'Exact' && type !== 'PathPrefix') return false;
  const value = path.value;
  return !isPresent(value) || (typeof value === 'string' && value.length <= MAX_PATH && pathValueProblem(value, 'a path') === undefined);
}

/** Exact header or query parameter matches, at most MAX_LIST, with names unique as `sameName` sees them. */
function isPlainNameValueMatches(list: unknown, maxValue: number, sameName: (name: string) => string): boolean {
  if (!Array.isArray(list) || list.length > MAX_LIST) return false;
  const seen = new Set<string>();
  for (const match of list) {
    if (!isPlainNameValueMatch(match, maxValue)) return false;
    const name = sameName((match as { name: string }).name);
    if (seen.has(name)) return false;
    seen.add(name);
  }
  return true;
}

function isPlainNameValueMatch(match: unknown, maxValue: number): boolean {
  if (!isObj(match) || (isPresent(match.type) && match.type !== 'Exact') || !isHeaderName(match.name)) return false;
  const value = match.value;
  return typeof value === 'string' && value.length >= 1 && value.length <= maxValue;
}

/** A backendRef without filters; one to a core Service names its port. */
function isPlainBackendRef(ref: unknown): boolean {
  if (!isObj(ref) || isPresent(ref.filters)) return false;
  if (!isAbsentOr(ref.group, isGroup) || !isAbsentOr(ref.kind, isKind) || !isAbsentOr(ref.namespace, isDnsLabel)) return false;
  if (!isObjectName(ref.name) || !isAbsentOr(ref.weight, (weight) => isIntIn(weight, 0, MAX_WEIGHT))) return false;
  const toService = (ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service';
  return isPresent(ref.port) ? isPortNumber(ref.port) : !toService;
}

/** Whether `rule` holds for every item (holes included, as the walk's list sees them). */
function allItems(list: unknown[], rule: (item: unknown) => boolean): boolean {
  for (const item of list) {
    if (!rule(item)) return false;
  }
  return true;
}

function isListOf(value: unknown, rule: (item: unknown) => boolean): boolean {
  return Array.isArray(value) && allItems(value, rule);
}

/** Whether the items' `name`s, where strings, repeat none (as Field.uniqueBy('name') checks). */
function hasUniqueNames(items: unknown[]): boolean {
  if (items.length < 2) return true;
  const seen = new Set<string>();
  for (const item of items) {
    const name = isObj(item) ? item.name : undefined;
    if (typeof name !== 'string') continue;
    if (seen.has(name)) return false;
    seen.add(name);
  }
  return true;
}

function isPortNumber(value: unknown): boolean {
  return isIntIn(value, 1, 65535);
}

/** What Field.portOrName() accepts: a port number, or else an IANA service name. */
function isPortOrName(value: unknown): boolean {
  return typeof value === 'number' ? isPortNumber(value) : isIanaServiceName(value);
}

function isProtocol(value: unknown): boolean {
  return isOneOf(value, PROTOCOLS);
}

function isOneOf(value: unknown, values: readonly unknown[]): boolean {
  return values.includes(value);
}

export function isPlainlyValidEndpoint(endpoint: unknown, addressType: unknown): boolean {
  if (!isObj(endpoint)) return false;
  const addresses = endpoint.addresses;
  if (!Array.isArray(addresses) || addresses.length < 1 || addresses.length > MAX_ADDRESSES) return false;
  for (const address of addresses) {
    if (!isPlainAddress(address, addressType)) return false;
  }
  const conditions = endpoint.conditions;
  if (isPresent(conditions)) {
    if (!isObj(conditions)) return false;
    if (!isAbsentOr(conditions.ready, isBoolean) || !isAbsentOr(conditions.serving, isBoolean) || !isAbsentOr(conditions.terminating, isBoolean)) return false;
  }
  if (!isAbsentOr(endpoint.hostname, isDnsLabel) || !isAbsentOr(endpoint.nodeName, isDnsSubdomainName) || !isAbsentOr(endpoint.zone, isString)) return false;
  const targetRef = endpoint.targetRef;
  if (isPresent(targetRef)) {
    if (!isObj(targetRef)) return false;
    if (!isAbsentOr(targetRef.kind, isNonEmptyString) || !isAbsentOr(targetRef.namespace, isDnsLabel) || !isAbsentOr(targetRef.name, isNonEmptyString)) return false;
  }
  return true;
}

/** An address as the slice's addressType wants it (an unknown addressType is left to the walk). */
function isPlainAddress(address: unknown, addressType: unknown): boolean {
  if (addressType === 'IPv4') return typeof address === 'string' && isIP(address) === 4;
  if (addressType === 'IPv6') return typeof address === 'string' && isIP(address) === 6;
  if (addressType === 'FQDN') return isDnsSubdomainName(address);
  return false;
}

/** As Field.opt sees a value: null and undefined are absent. */
function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function isAbsentOr(value: unknown, rule: (value: unknown) => boolean): boolean {
  return !isPresent(value) || rule(value);
}

function isBoolean(value: unknown): boolean {
  return typeof value === 'boolean';
}

function isString(value: unknown): boolean {
  return typeof value === 'string';
}

function isNonEmptyString(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

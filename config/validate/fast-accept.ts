// The fast accepts of validation: whether an endpoint of an EndpointSlice, or an object's metadata,
// is plainly valid, read straight from the object. A large mesh has 100,000 endpoints and 37,000
// objects, and the Field walk spends most of its time on a Field per value; what a fast accept does
// not take is walked as before, and that walk decides and reports. So a fast accept may only say
// yes where the walk finds no problem (a test holds each to that): it checks every field the walk
// checks, by the same rules, and says no to anything unusual.
import { isIP } from 'node:net';
import { isDns1035Label, isDnsLabel, isDnsSubdomainName, isLabelValue, isObj, qualifiedNameProblem, type NameRule } from './fields.js';

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
  const labels = metadata.labels;
  if (!isPresent(labels)) return true;
  if (!isObj(labels)) return false;
  for (const key of Object.keys(labels)) {
    if (qualifiedNameProblem(key) !== undefined || !isLabelValue(labels[key])) return false;
  }
  return true;
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

// The fast accept of EndpointSlice validation: whether one endpoint is plainly valid, read straight
// from the object. A large mesh has 100,000 endpoints, and the Field walk spends most of its time on
// a Field per value; an endpoint this check does not accept is walked as before, and that walk
// decides and reports. So it may only say yes where the walk finds no problem (a test holds it to
// that): it checks every field the walk checks, by the same rules, and says no to anything unusual.
import { isIP } from 'node:net';
import { isDnsLabel, isDnsSubdomainName, isObj } from './fields.js';

const MAX_ADDRESSES = 100;

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

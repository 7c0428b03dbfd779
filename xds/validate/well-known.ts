// protoc-gen-validate's well-known string formats (email, hostname, ip, uri, uuid, HTTP header
// names and values), written after PGV's own generated checks.
import { isIP } from 'node:net';

/**
 * PGV's header regexes, verbatim. They are single character classes, which JavaScript's RegExp (in
 * `u` mode) reads exactly as RE2 does, so they run without a trip into RE2's wasm; non-strict
 * header checks use HEADER_STRING.
 */
/* eslint-disable no-control-regex -- these rules are exactly about control characters */
const HEADER_REGEX = {
  HTTP_HEADER_NAME: new RegExp("^:?[0-9a-zA-Z!#$%&'*+-.^_|~\\x60]+$", 'u'),
  HTTP_HEADER_VALUE: new RegExp('^[^\\x00-\\x08\\x0A-\\x1F\\x7F]*$', 'u'),
  HEADER_STRING: new RegExp('^[^\\x00\\x0A\\x0D]*$', 'u'),
} as const;
/* eslint-enable no-control-regex */

/** Why a string fails PGV's `well_known_regex` (strict defaults to true), or undefined. */
export function headerRegexError(kind: string, strict: boolean, value: string): string | undefined {
  if (kind !== 'HTTP_HEADER_NAME' && kind !== 'HTTP_HEADER_VALUE') return undefined;
  const pattern = strict ? HEADER_REGEX[kind] : HEADER_REGEX.HEADER_STRING;
  if (pattern.test(value)) return undefined;
  const what = kind === 'HTTP_HEADER_NAME' ? 'an HTTP header name' : 'an HTTP header value';
  return `is not ${what}${strict ? '' : ' (it contains NUL, CR or LF)'}`;
}

/** Why a string is not a hostname per PGV (labels of 1-63 letters, digits, hyphens), or undefined. */
function hostnameError(host: string): string | undefined {
  if (host.length > 253) return 'hostname cannot exceed 253 characters';
  const trimmed = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase();
  for (const part of trimmed.split('.')) {
    if (part.length === 0 || part.length > 63) return 'hostname parts must be 1 to 63 characters';
    if (part.startsWith('-') || part.endsWith('-')) return 'hostname parts cannot begin or end with a hyphen';
    if (!/^[a-z0-9-]+$/.test(part)) return 'hostname parts can only contain letters, digits and hyphens';
  }
  return undefined;
}

function emailError(value: string): string | undefined {
  const angle = /<([^>]*)>\s*$/.exec(value);
  const address = angle ? angle[1] : value.trim();
  if (address.length > 254) return 'email address cannot exceed 254 characters';
  const at = address.lastIndexOf('@');
  if (at <= 0) return 'is not an email address';
  if (Buffer.byteLength(address.slice(0, at)) > 64) return 'email local part cannot exceed 64 bytes';
  const hostError = hostnameError(address.slice(at + 1));
  return hostError ? `email host: ${hostError}` : undefined;
}

/** Control characters or a malformed %-escape make a string unparseable as a URI reference. */
function uriRefError(value: string): string | undefined {
  if ([...value].some((c) => c <= ' ' || c === '\x7f')) return 'is not a URI reference (control character or space)';
  if (/%(?![0-9a-fA-F]{2})/.test(value)) return 'is not a URI reference (bad %-escape)';
  return undefined;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The string well-known formats PGV knows, each returning why a value fails it. */
export const wellKnownString = new Map<string, (value: string) => string | undefined>(Object.entries({
  email: emailError,
  hostname: hostnameError,
  ip: (v) => (isIP(v) ? undefined : 'is not an IP address'),
  ipv4: (v) => (isIP(v) === 4 ? undefined : 'is not an IPv4 address'),
  ipv6: (v) => (isIP(v) === 6 ? undefined : 'is not an IPv6 address'),
  uri: (v) => uriRefError(v) ?? (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(v) && URL.canParse(v) ? undefined : 'is not an absolute URI'),
  uri_ref: uriRefError,
  address: (v) => (isIP(v) || !hostnameError(v) ? undefined : 'is not an IP address or hostname'),
  uuid: (v) => (UUID.test(v) ? undefined : 'is not a UUID'),
}));

// Who an xDS client is, from the `node` of its first request: id, role (node.metadata.role, default
// proxyless), and the role's identifying fields; and the default client class a snapshot serves.
import type { Node__Output } from './generated/envoy/config/core/v3/Node.js';
import type { Struct__Output } from './generated/google/protobuf/Struct.js';
import type { Value__Output } from './generated/google/protobuf/Value.js';

export const ROLES = ['node-proxy', 'waypoint', 'proxyless', 'redirector'] as const;
export type Role = (typeof ROLES)[number];

export interface ClientInfo {
  /** node.id */
  id: string;
  /** node.cluster */
  cluster: string;
  role: Role;
  /** metadata.node_name (node-proxy, redirector) */
  nodeName?: string;
  /** metadata.namespace and metadata.name (waypoint) */
  namespace?: string;
  name?: string;
  /** node.metadata as plain JSON */
  metadata: Record<string, unknown>;
  userAgent: string;
  /** The bootstrap token from the stream's call metadata (CREDENTIAL_HEADER); never shown in debug views. */
  credential?: string;
}

/** Call metadata header carrying a client's bootstrap token (node attestation, xds/ca/attest.ts). */
export const CREDENTIAL_HEADER = 'x-skiff-token';

function valueToJson(value: Value__Output): unknown {
  switch (value.kind) {
    case 'stringValue':
      return value.stringValue;
    case 'numberValue':
      return value.numberValue;
    case 'boolValue':
      return value.boolValue;
    case 'structValue':
      return value.structValue ? structToJson(value.structValue) : {};
    case 'listValue':
      return (value.listValue?.values ?? []).map(valueToJson);
    default:
      return null;
  }
}

export function structToJson(struct: Struct__Output): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct.fields ?? {})) out[key] = valueToJson(value);
  return out;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function clientInfoFromNode(node: Node__Output | null | undefined, fallbackId: string, credential?: string): ClientInfo {
  const metadata = node?.metadata ? structToJson(node.metadata) : {};
  const role = ROLES.find((r) => r === metadata.role) ?? 'proxyless';
  const info: ClientInfo = {
    id: text(node?.id) ?? fallbackId,
    cluster: node?.cluster ?? '',
    role,
    metadata,
    userAgent: [node?.user_agent_name, node?.user_agent_version].filter(Boolean).join('/'),
  };
  const nodeName = text(metadata.node_name);
  const namespace = text(metadata.namespace);
  const name = text(metadata.name);
  if (nodeName) info.nodeName = nodeName;
  if (namespace) info.namespace = namespace;
  if (name) info.name = name;
  if (credential) info.credential = credential;
  return info;
}

/**
 * The default client class: clients of one class are served one snapshot. `node-proxy/<node>`,
 * `waypoint/<namespace>/<name>`, `redirector/<node>`, `proxyless`.
 */
export function defaultClassKey(client: ClientInfo): string {
  switch (client.role) {
    case 'node-proxy':
    case 'redirector':
      return `${client.role}/${client.nodeName ?? ''}`;
    case 'waypoint':
      return `waypoint/${client.namespace ?? ''}/${client.name ?? ''}`;
    default:
      return 'proxyless';
  }
}

// The enumerations of the core kinds, read by both the Field walk (core.ts) and the fast accepts
// (fast-accept.ts), so that the two judge a value by one list.
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
export const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;
/** A Pod holds at most one IP of each family. */
export const MAX_POD_IPS = 2;

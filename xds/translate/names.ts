// Resource names, Istio style, so operators recognise them in config dumps:
// clusters `outbound|PORT|SUBSET|HOST`, route configurations and proxyless listeners `HOST:PORT`.

/** The fully qualified host name of a Service: `name.namespace.svc.clusterDomain`. */
export function serviceHost(name: string, namespace: string, clusterDomain: string): string {
  return `${name}.${namespace}.svc.${clusterDomain}`;
}

/** The EDS cluster of one Service port (subset empty), or of a subset of it. */
export function clusterName(host: string, port: number, subset = ''): string {
  return `outbound|${port}|${subset}|${host}`;
}

/** The route configuration (RDS) of one Service port; also the proxyless listener name. */
export function hostPortName(host: string, port: number): string {
  return `${host}:${port}`;
}


/** The SPIFFE id of a service account. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

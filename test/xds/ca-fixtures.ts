// A small mesh for the CA tests: trust domain example.org, certificates for 1h, two nodes, and
// workloads with service accounts cart (on both nodes), web (node-a) and pay (node-b), and a waypoint.

export const TD = 'example.org';

function pod(name: string, node: string, sa: string, ip: string): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: shop, labels: { app: ${name} } }
spec: { nodeName: ${node}, serviceAccountName: ${sa}, containers: [{ name: c, image: x }] }
status: { phase: Running, podIP: ${ip}, podIPs: [{ ip: ${ip} }] }
`;
}

export const MESH = [
  `apiVersion: skiff.io/v1alpha1
kind: MeshConfig
metadata: { name: mesh, namespace: default }
spec: { trustDomain: ${TD}, certificateTTL: 1h }
`,
  `apiVersion: v1
kind: Node
metadata: { name: node-a }
`,
  `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: shop-waypoint, namespace: shop }
spec: { gatewayClassName: skiff-waypoint, listeners: [{ name: mesh, port: 15008, protocol: HBONE }] }
`,
  `apiVersion: v1
kind: Node
metadata: { name: node-b }
`,
  pod('cart-1', 'node-a', 'cart', '10.244.1.10'),
  pod('web-1', 'node-a', 'web', '10.244.1.11'),
  pod('cart-2', 'node-b', 'cart', '10.244.2.10'),
  pod('pay-1', 'node-b', 'pay', '10.244.2.11'),
].join('---\n');

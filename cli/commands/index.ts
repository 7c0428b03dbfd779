// The list of `skiff` subcommands, in the order `skiff --help` shows them. Each command's module is
// imported only when that command runs (or shows its help), so `skiff --help` and `skiff version`
// do not load the protos, gRPC and Kubernetes modules the other commands need.
import type { Command, CommandEntry } from '../command.js';

export const registry: CommandEntry[] = [
  { name: 'version', summary: 'Print the skiff version', load: async () => (await import('./version.js')).versionCommand },
  { name: 'envoy-bootstrap', summary: 'Print (or run envoy with) the bootstrap of a node proxy or waypoint', load: async () => (await import('./envoy-bootstrap.js')).envoyBootstrapCommand },
  { name: 'redirector', summary: 'Run the node agent that programs the eBPF datapath', load: async () => (await import('./redirector.js')).redirectorCommand },
  { name: 'mesh', summary: 'Show the mesh a config directory describes (services, workloads, routes, policies, L7 set, issues)', load: async () => (await import('./mesh.js')).meshCommand },
  { name: 'proxy-status', summary: 'Show every xDS client of the control plane and whether each type is SYNCED, STALE or NACKED', load: async () => (await import('./proxy-status.js')).proxyStatusCommand },
  { name: 'proxy-config', summary: "Show an xDS client's clusters, listeners, routes, endpoints or secrets (tables or Envoy ConfigDump)", load: async () => (await import('./proxy-config.js')).proxyConfigCommand },
  { name: 'bpf', summary: "Show a node's eBPF maps (services, backends, identities, policy, ct, endpoints) with names", load: async () => (await import('./bpf.js')).bpfCommand },
  { name: 'observe', summary: 'Show the flow log of every node (Hubble-like), merged by time; --follow streams it', load: async () => (await import('./observe.js')).observeCommand },
  { name: 'completion', summary: 'Print a bash or zsh completion script', load: async () => (await import('./completion.js')).completionCommand },
  { name: 'control-plane', summary: 'Serve the mesh over xDS (ADS, SotW and Delta) with an admin HTTP API', load: async () => (await import('./control-plane.js')).controlPlaneCommand },
  { name: 'demo', summary: 'Run the example mesh for real (namespaces, eBPF, control plane), send traffic, report', load: async () => (await import('./demo.js')).demoCommand },
  { name: 'tunnel', summary: "Show each node's tunnels: WireGuard peers and handshakes, HBONE certificates and sessions", load: async () => (await import('./tunnel.js')).tunnelCommand },
];

/** The registry entry called `name`, if any (loads nothing). */
export function findCommand(name: string | undefined): CommandEntry | undefined {
  return registry.find((c) => c.name === name);
}

/** Every command, loaded, in registry order: for `skiff completion` and tests, never for dispatch. */
export function loadAll(): Promise<Command[]> {
  return Promise.all(registry.map((c) => c.load()));
}

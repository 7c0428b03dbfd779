// `skiff envoy-bootstrap`: prints a complete, checked Envoy bootstrap for a node proxy or a
// waypoint (ADS to the control plane, Delta by default), or starts envoy with it (`--run`).
import type { Command } from '../command.js';
import { readTokenFile } from '../../redirector/agent.js';
import { EXIT_OK, EXIT_PROBLEM, EXIT_UNAVAILABLE, UsageError } from '../command.js';
import { BootstrapError, envoyBootstrap, type BootstrapOptions, type ProxyRole } from '../../envoy/bootstrap.js';
import { EnvoyNotFound, startEnvoy } from '../../envoy/run.js';
import { parseCommandArgs, stringFlag, type ParsedArgs } from '../output/args.js';
import { writeData } from '../output/write.js';

const HELP = `Usage: skiff envoy-bootstrap --role node-proxy|waypoint --node-id ID --xds HOST:PORT [flags]

Prints a complete Envoy bootstrap: one ADS stream to the control plane (Delta by default), admin
on 127.0.0.1, and the node metadata the control plane classifies the proxy by. The bootstrap is
checked against envoy.config.bootstrap.v3.Bootstrap before it is printed.

Flags:
  --role ROLE          node-proxy or waypoint (required)
  --node-id ID         Envoy node id (required)
  --xds HOST:PORT      the control plane's xDS address (required)
  --node-name NAME     node-proxy: the node it serves (default: the node id)
  --namespace NS       waypoint: the Gateway's namespace (required for waypoints)
  --name NAME          waypoint: the Gateway's name (required for waypoints)
  --admin-port PORT    admin port on 127.0.0.1 (default 15000)
  --sotw               state-of-the-world ADS instead of Delta
  --token-file PATH    the proxy's bootstrap token (the control plane writes
                       <ca-dir>/bootstrap-tokens/node.NODE.token, waypoint.NS.NAME.token): sent as
                       x-skiff-token on the ADS stream (initial_metadata), so the control plane
                       serves it certificates
  --run                start envoy with the bootstrap (needs envoy on PATH)
  -o json|yaml         output format (default json)

Examples:
  skiff envoy-bootstrap --role node-proxy --node-id node-a --xds 127.0.0.1:15010 --token-file .skiff/ca/bootstrap-tokens/node.node-a.token
  skiff envoy-bootstrap --role waypoint --node-id wp-1 --namespace shop --name waypoint --xds cp:15010 -o yaml
`;

const FLAGS = {
  role: { type: 'string' },
  'node-id': { type: 'string' },
  xds: { type: 'string' },
  'node-name': { type: 'string' },
  namespace: { type: 'string' },
  name: { type: 'string' },
  'admin-port': { type: 'string' },
  sotw: { type: 'boolean' },
  'token-file': { type: 'string' },
  run: { type: 'boolean' },
} as const;

function port(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${flag}: '${text}' is not a port`);
  return n;
}

function readToken(path: string): string {
  try {
    return readTokenFile(path);
  } catch (err) {
    throw new UsageError(`--token-file: ${(err as Error).message}`);
  }
}

/** The bootstrap options the flags describe. */
function bootstrapOptions(args: ParsedArgs): BootstrapOptions {
  const role = stringFlag(args, 'role');
  if (role !== 'node-proxy' && role !== 'waypoint') throw new UsageError('--role must be node-proxy or waypoint');
  const nodeId = stringFlag(args, 'node-id');
  if (!nodeId) throw new UsageError('--node-id is required');
  const xds = stringFlag(args, 'xds');
  const m = xds ? /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(xds) : null;
  if (!m) throw new UsageError('--xds HOST:PORT is required');
  const options: BootstrapOptions = {
    role: role as ProxyRole,
    nodeId,
    xdsHost: (m[1] as string).replace(/^\[|\]$/g, ''),
    xdsPort: port(m[2] as string, '--xds'),
    sotw: args.values.sotw === true,
  };
  const nodeName = stringFlag(args, 'node-name');
  if (nodeName) options.nodeName = nodeName;
  const tokenFile = stringFlag(args, 'token-file');
  if (tokenFile) options.token = readToken(tokenFile);
  const adminPort = stringFlag(args, 'admin-port');
  if (adminPort) options.adminPort = port(adminPort, '--admin-port');
  if (role === 'waypoint') {
    const namespace = stringFlag(args, 'namespace');
    const name = stringFlag(args, 'name');
    if (!namespace || !name) throw new UsageError('a waypoint needs --namespace and --name (its Gateway)');
    options.namespace = namespace;
    options.name = name;
  }
  return options;
}

export const envoyBootstrapCommand: Command = {
  name: 'envoy-bootstrap',
  summary: 'Print (or run envoy with) the bootstrap of a node proxy or waypoint',
  help: HELP,
  async run(argv) {
    const args = parseCommandArgs(argv, FLAGS, ['json', 'yaml']);
    let bootstrap: object;
    try {
      bootstrap = envoyBootstrap(bootstrapOptions(args));
    } catch (err) {
      if (!(err instanceof BootstrapError)) throw err;
      process.stderr.write(`skiff envoy-bootstrap: ${err.message}\n`);
      return EXIT_PROBLEM;
    }
    if (args.values.run !== true) {
      writeData(args.output as 'json' | 'yaml', bootstrap);
      return EXIT_OK;
    }
    try {
      const child = startEnvoy(bootstrap);
      return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? EXIT_PROBLEM)));
    } catch (err) {
      if (!(err instanceof EnvoyNotFound)) throw err;
      process.stderr.write(`skiff envoy-bootstrap: ${err.message}\n`);
      return EXIT_UNAVAILABLE;
    }
  },
};

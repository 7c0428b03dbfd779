// `skiff control-plane`: watches the mesh (a config directory and/or Kubernetes) through the
// MeshStore and serves it over xDS (ADS, SotW and Delta) with the admin HTTP API beside it.
// MeshResources (xds/translate/serve.ts) turns each mesh snapshot into every client class's resources.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError } from '../command.js';
import { logger } from '../../config/log.js';
import { DirectorySource } from '../../config/sources/directory.js';
import { KubernetesSource } from '../../config/sources/kubernetes.js';
import type { ConfigSource } from '../../config/source.js';
import { MeshStore } from '../../config/store.js';
import { snapshotToData, type MeshSnapshot } from '../../config/snapshot/index.js';
import { AdminServer, SnapshotCache, XdsServer } from '../../xds/index.js';
import { MeshResources } from '../../xds/translate/serve.js';
import { IdentityRuntime, type IdentityOptions } from '../../xds/ca/runtime.js';
import { AccessLogStore, addAccessLogService } from '../../xds/accesslog/index.js';

const log = logger('control-plane');

const HELP = `Usage: skiff control-plane [--config DIR] [--xds HOST:PORT] [--admin HOST:PORT] [--kubeconfig PATH]
                           [--ca-dir DIR] [--ca-cert FILE --ca-key FILE | --ca-secret NAMESPACE/NAME]

Runs the control plane: loads the mesh from a config directory (multi-document Kubernetes YAML,
watched for changes) and/or a Kubernetes API server, and serves it over xDS (ADS, SotW and Delta)
to node proxies, waypoints, proxyless gRPC clients and redirectors. The admin HTTP API serves
/healthz, /readyz, /metrics, /debug/syncz, /debug/config_dump?proxy=ID, /debug/mesh, /debug/translation (resources
withheld by the translator, with the mesh object at fault) and /debug/accesslog (the L7 request lines
node proxies and waypoints send over gRPC ALS, served on the xDS port).
SIGINT or SIGTERM shuts down gracefully (streams end with UNAVAILABLE; clients retry).

Flags:
  --config DIR        config directory to watch (at least one of --config, --kubeconfig)
  --xds HOST:PORT     xDS gRPC listen address (default 127.0.0.1:15010)
  --admin HOST:PORT   admin HTTP listen address (default 127.0.0.1:15014)
  --kubeconfig PATH   watch the Kubernetes API server of this kubeconfig
  --ca-dir DIR        CA state: a root generated on first start (root-cert.pem, root-key.pem 0600),
                      the bootstrap token key, and bootstrap-tokens/node.<node>.token per node
                      (default .skiff/ca)
  --ca-cert FILE      sign with this CA certificate chain (PEM: signing certificate first, root
  --ca-key FILE       last) and key instead of a generated root
  --ca-secret NS/NAME keep the root in this kubernetes.io/tls Secret (e.g. skiff-system/skiff-ca),
                      created when absent

Workload certificates (SPIFFE SVIDs) go over SDS and to redirectors only to clients whose stream
carries their node's bootstrap token in call metadata x-skiff-token; CertificateService (CSR
issuance) is served on the xDS port.

Examples:
  skiff control-plane --config examples/mesh
  skiff control-plane --kubeconfig ~/.kube/config --xds 0.0.0.0:15010
`;

interface Options {
  dir?: string;
  ca: IdentityOptions;
  kubeconfig?: string;
  xds: { host: string; port: number };
  admin: { host: string; port: number };
}

function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UsageError(`${flag} must be HOST:PORT, not '${value}'`);
  return { host: (match[1] ?? match[2]) as string, port };
}

function parseOptions(argv: string[]): Options {
  const options: Options = { xds: { host: '127.0.0.1', port: 15010 }, admin: { host: '127.0.0.1', port: 15014 }, ca: { caDir: '.skiff/ca' } };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (flag === '--config') options.dir = value;
    else if (flag === '--kubeconfig') options.kubeconfig = value;
    else if (flag === '--xds') options.xds = parseHostPort(flag, value);
    else if (flag === '--admin') options.admin = parseHostPort(flag, value);
    else if (flag === '--ca-dir') options.ca.caDir = value;
    else if (flag === '--ca-cert') options.ca.caCert = value;
    else if (flag === '--ca-key') options.ca.caKey = value;
    else if (flag === '--ca-secret') options.ca.caSecret = value;
    else throw new UsageError(`unknown flag '${flag}'`);
  }
  if (!options.dir && !options.kubeconfig) throw new UsageError('give --config DIR and/or --kubeconfig PATH');
  if (!options.ca.caCert !== !options.ca.caKey) throw new UsageError('give both --ca-cert and --ca-key');
  if (options.ca.caCert && options.ca.caSecret) throw new UsageError('give --ca-cert/--ca-key or --ca-secret, not both');
  if (options.kubeconfig) options.ca.kubeconfig = options.kubeconfig;
  if (options.dir) {
    if (!existsSync(options.dir) || !statSync(options.dir).isDirectory()) throw new UsageError(`--config ${options.dir}: not a directory`);
    options.dir = resolve(options.dir);
  }
  return options;
}

export const controlPlaneCommand: Command = {
  name: 'control-plane',
  summary: 'Serve the mesh over xDS (ADS, SotW and Delta) with an admin HTTP API',
  help: HELP,
  async run(argv) {
    const options = parseOptions(argv);
    const sources: ConfigSource[] = [];
    if (options.dir) sources.push(new DirectorySource(options.dir));
    if (options.kubeconfig) sources.push(new KubernetesSource({ kubeconfigPath: options.kubeconfig }));
    const store = new MeshStore(sources);
    await store.start();
    let identity: IdentityRuntime;
    try {
      identity = await IdentityRuntime.start(options.ca, store.current());
    } catch (error) {
      log.error({ err: (error as Error).message }, 'cannot start the certificate authority');
      await store.stop();
      return EXIT_PROBLEM;
    }
    const translated = new MeshResources();
    // A class's resources: the translated ones of its base class, with the CA's secrets.
    const served = (mesh: MeshSnapshot, classKey: string) => identity.resources(mesh, classKey, (base) => translated.forClass(mesh, base));
    const cache = new SnapshotCache({
      classOf: (client) => identity.classOf(client),
      onMissingClass: (classKey) => cache.update(classKey, served(store.current(), classKey)),
    });
    let reportedIssues = '';
    const reportTranslation = (mesh: MeshSnapshot) => {
      const issues = translated.issues(mesh);
      const text = JSON.stringify(issues);
      if (text === reportedIssues) return;
      reportedIssues = text;
      for (const issue of issues) log.warn({ object: issue.object, field: issue.field, resource: issue.resource?.name }, issue.message);
    };
    const serveAll = (mesh: MeshSnapshot) => {
      for (const classKey of cache.classes()) cache.update(classKey, served(mesh, classKey));
      identity.afterRound(mesh);
      reportTranslation(mesh);
    };
    store.onSnapshot((mesh) => {
      serveAll(mesh);
      log.info({ version: mesh.version, classes: cache.classes().length }, 'mesh snapshot served');
    });
    identity.startRotation(() => serveAll(store.current()));

    const accessLog = new AccessLogStore();
    const xds = new XdsServer({
      cache,
      addServices: (server) => {
        identity.addServices(server, () => store.current());
        addAccessLogService(server, accessLog);
      },
    });
    accessLog.countIn(xds.metrics.registry);
    const admin = new AdminServer({
      xds,
      snapshotVersion: () => store.current().version,
      pages: {
        '/debug/mesh': () => snapshotToData(store.current()),
        '/debug/translation': () => ({ issues: translated.issues(store.current()) }),
      },
      feeds: { '/debug/accesslog': accessLog },
    });
    await xds.listen(`${options.xds.host.includes(':') ? `[${options.xds.host}]` : options.xds.host}:${options.xds.port}`);
    await admin.listen(options.admin.host, options.admin.port);

    const signal = await new Promise<NodeJS.Signals>((done) => {
      process.once('SIGINT', () => done('SIGINT'));
      process.once('SIGTERM', () => done('SIGTERM'));
    });
    log.info({ signal }, 'shutting down');
    identity.stop();
    await xds.close();
    await admin.close();
    await store.stop();
    return EXIT_OK;
  },
};

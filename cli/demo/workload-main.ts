// One demo pod's process, started inside the pod's network namespace by `skiff demo`: runs the
// pod's servers (HTTP, gRPC, TCP: answering with the pod's name) and, on a unix socket the demo
// reaches from the root namespace, a small control API: GET /healthz, POST /probe (a Probe as JSON:
// send that traffic from this pod, answer with the ProbeResult).
//
// Usage: node workload-main.js '<WorkloadSpec as JSON>'
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import { runProbe, type Probe } from './probes.js';
import { startServer, type Closable, type Identity, type ServerKind } from './servers.js';

export interface WorkloadSpec extends Identity {
  servers: { kind: ServerKind; port: number }[];
  /** The control socket's path. */
  control: string;
}

async function main(spec: WorkloadSpec): Promise<void> {
  const running: Closable[] = [];
  for (const s of spec.servers) running.push(await startServer(s.kind, spec, s.port));
  const control = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.url === '/healthz') {
        res.end('ok\n');
        return;
      }
      if (req.url !== '/probe' || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      runProbe(JSON.parse(body) as Probe).then(
        (result) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result)),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
  });
  rmSync(spec.control, { force: true });
  await new Promise<void>((resolve) => control.listen(spec.control, resolve));
  const stop = (): void => {
    control.close();
    void Promise.all(running.map((s) => s.close())).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main(JSON.parse(process.argv[2] ?? '{}') as WorkloadSpec).catch((err: Error) => {
  process.stderr.write(`workload: ${err.stack ?? err.message}\n`);
  process.exit(1);
});

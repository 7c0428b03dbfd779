// `skiff demo`: brings up the example shop mesh for real on this machine (nodes and pods as network
// namespaces, real servers in the pods, the control plane, a redirector per node, Envoys where one
// is installed), sends traffic through it, prints what the datapath did, and tears it all down —
// or keeps it running (`--keep`) for the other commands, until `skiff demo --down`.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_PROBLEM, EXIT_UNAVAILABLE, UsageError } from '../command.js';
import { findEnvoy } from '../../envoy/run.js';
import { parseCommandArgs, stringFlag } from '../output/args.js';
import { DEFAULT_NAME, Instance } from '../demo/instance.js';
import type { DemoPlan } from '../demo/plan.js';
import { Progress, type StepTime } from '../demo/progress.js';
import { buildReport, type DemoReport } from '../demo/report.js';
import { renderReport } from '../demo/report-text.js';
import { Demo, DEFAULT_CONFIG } from '../demo/run.js';
import { demoExists, demoProcesses, readRecord, teardown, writeRecord, type DemoRecord } from '../demo/state.js';

const HELP = `Usage: skiff demo [--keep] [--name NAME] [--config DIR] [-o table|json]
       skiff demo --down [--name NAME]

Runs the example shop mesh (examples/mesh) for real, as root: its two nodes and seven pods as
network namespaces, small real HTTP, gRPC and TCP servers in the pods, the control plane, one
redirector per node programming eBPF on the pods' veths, and node-local Envoys where an \`envoy\`
binary is on PATH. Then it sends traffic (the 90/10 canary, gRPC stock reservations, database
connections, requests that policy denies), reads both redirectors' flow logs and the control
plane's proxy-status, and prints what was fast-pathed in the kernel, what was steered to the node
proxy, what was denied and why, and the canary split observed. Without Envoy, flows that need L7
are dropped by the kernel (fail closed, PROXY_UNAVAILABLE), and the report says so.

Everything is removed on exit, on error and on Ctrl-C: namespaces, veths, pins, processes.
Progress goes to stderr; the report to stdout.

Flags:
  --keep          leave the demo running and print how to try the other commands against it
  --down          tear down a demo left running by --keep (or the leftovers of a crashed one)
  --name NAME     the demo's name (default ${DEFAULT_NAME}): its namespaces, links, pins and
                  /run/NAME are named from it, so demos of other names run beside it
  --config DIR    the mesh to run (default: the example mesh; the traffic is the shop's)
  -o, --output F  table (default) or json

Exit codes: 0 everything went as the mesh says, 1 something did not (or not root, or a demo of
that name is kept running), 3 the demo could not be brought up, 130 interrupted.

Examples:
  sudo skiff demo
  sudo skiff demo -o json
  sudo skiff demo --keep && skiff proxy-status --admin 127.0.0.1:PORT
  sudo skiff demo --down
`;

interface Options {
  instance: Instance;
  keep: boolean;
  down: boolean;
  configDir: string;
  output: 'table' | 'json';
}

function parseOptions(argv: string[]): Options {
  const flags = { keep: { type: 'boolean' }, down: { type: 'boolean' }, name: { type: 'string' }, config: { type: 'string' } } as const;
  const args = parseCommandArgs(argv, flags, ['table', 'json']);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
  const keep = args.values.keep === true;
  const down = args.values.down === true;
  const config = stringFlag(args, 'config');
  if (down && (keep || config)) throw new UsageError('--down takes only --name');
  let instance: Instance;
  try {
    instance = new Instance(stringFlag(args, 'name') ?? DEFAULT_NAME);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const configDir = resolve(config ?? DEFAULT_CONFIG);
  if (!existsSync(configDir) || !statSync(configDir).isDirectory()) throw new UsageError(`--config ${configDir}: not a directory`);
  return { instance, keep, down, configDir, output: args.output as Options['output'] };
}

/** The commands to try against a kept demo. */
function keptHelp(demo: Instance, record: DemoRecord, report: DemoReport): string {
  const admin = record.endpoints.controlPlaneAdmin ?? '';
  const redirectors = Object.values(record.endpoints.redirectors).map((a) => `--redirector ${a}`).join(' ');
  const [firstNode, firstAdmin] = Object.entries(record.endpoints.redirectors)[0] ?? ['', ''];
  const frontend = report.nodes.flatMap((n) => n.pods).find((p) => p.includes('/frontend'));
  const client = (role: string): string | undefined => report.proxyStatus.clients.find((c) => c.role === role)?.id;
  const envoy = client('node-proxy');
  const orders = report.traffic.find((s) => s.name === 'checkout')?.target;
  return [
    '',
    'The demo keeps running. Try:',
    `  skiff proxy-status --admin ${admin}`,
    `  skiff proxy-status ${client('redirector') ?? ''} --admin ${admin}`,
    ...(envoy ? [`  skiff proxy-config all ${envoy} --admin ${admin}`] : []),
    `  skiff bpf services --node ${firstNode} --redirector ${firstAdmin}`,
    `  skiff bpf policy ${redirectors}`,
    `  skiff observe --follow ${redirectors}`,
    ...(frontend && orders ? [`  nsenter --net=/var/run/netns/${demo.podNetns(frontend)} curl -s --max-time 2 -X POST http://${orders}/orders`] : []),
    `Logs: ${demo.dir}/logs/. Remove it all with: skiff demo --down${demo.nameFlag}`,
    '',
  ].join('\n');
}

/** Tears a demo down as a progress step; false (with the reasons on stderr) when something stayed. */
async function removeAll(demo: Instance, progress: Progress, what: string, record: DemoRecord | undefined): Promise<boolean> {
  const problems = await progress.step(what, () => teardown(demo, record));
  for (const p of problems) process.stderr.write(`skiff demo: ${p}\n`);
  return problems.length === 0;
}

async function down(demo: Instance): Promise<number> {
  if (!demoExists(demo)) {
    process.stderr.write(`skiff demo: no demo named ${demo.name} is running\n`);
    return EXIT_OK;
  }
  return (await removeAll(demo, new Progress(), 'tearing the demo down', readRecord(demo))) ? EXIT_OK : EXIT_PROBLEM;
}

/** The report, from the traffic's results, both flow logs, the control plane's sync state and the node tunnels. */
async function report(demo: Demo, progress: Progress, startup: StepTime[], envoyPath: string | undefined): Promise<DemoReport> {
  const steps = await demo.traffic();
  return progress.step('reading the flow logs and proxy-status', async () => {
    const [logs, sync, tunnels] = await Promise.all([demo.settledFlows(), demo.settledSync(), demo.tunnels()]);
    const plan = demo.plan as DemoPlan;
    return buildReport({ plan, steps, logs, sync, controlPlane: demo.controlPlaneAdmin, envoyPath, proxyPort: demo.proxyPort, startup, tunnels });
  });
}

/** Brings the demo up, reports, and tears it down unless kept; Ctrl-C (or SIGTERM) tears down at once. */
async function up(options: Options): Promise<number> {
  const progress = new Progress();
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!controller.signal.aborted) process.stderr.write(`\nskiff demo: ${signal}: tearing everything down\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // a reader that goes away (skiff demo | head) must not end the process before the teardown
  process.stdout.on('error', () => undefined);
  const envoyPath = findEnvoy();
  let demo: Demo | undefined;
  let kept = false;
  let code: number = EXIT_UNAVAILABLE;
  try {
    if (demoExists(options.instance)) await removeAll(options.instance, progress, "removing a previous demo's leftovers", readRecord(options.instance));
    if (!envoyPath) progress.note('no envoy on PATH: flows that need L7 will be dropped by the kernel (fail closed)');
    demo = new Demo({ instance: options.instance, configDir: options.configDir, progress, signal: controller.signal, envoyPath });
    await demo.start();
    const result = await report(demo, progress, [...progress.times], envoyPath);
    controller.signal.throwIfAborted(); // interrupted while the traffic ran: no report
    process.stdout.write(options.output === 'json' ? `${JSON.stringify(result, null, 2)}\n` : `\n${renderReport(result)}`);
    if (options.keep) {
      demo.record.kept = true;
      writeRecord(options.instance, demo.record);
      kept = true;
      (options.output === 'json' ? process.stderr : process.stdout).write(keptHelp(options.instance, demo.record, result));
    }
    code = result.ok ? EXIT_OK : EXIT_PROBLEM;
  } catch (err) {
    if (controller.signal.aborted) code = 130;
    else process.stderr.write(`skiff demo: ${(err as Error).message}\n`);
  } finally {
    if (!kept) {
      const clean = await removeAll(options.instance, progress, 'tearing everything down', demo?.record);
      if (!clean && code === EXIT_OK) code = EXIT_PROBLEM;
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return code;
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run the example mesh for real (namespaces, eBPF, control plane), send traffic, report',
  help: HELP,
  async run(argv) {
    const options = parseOptions(argv);
    if (process.getuid?.() !== 0) {
      process.stderr.write('skiff demo: needs root (network namespaces, eBPF): run it as root\n');
      return EXIT_PROBLEM;
    }
    const demo = options.instance;
    if (options.down) return down(demo);
    if (readRecord(demo)?.kept && demoProcesses(demo).length > 0) {
      process.stderr.write(`skiff demo: the demo ${demo.name}, started with --keep, is running; remove it first with skiff demo --down${demo.nameFlag}\n`);
      return EXIT_PROBLEM;
    }
    return up(options);
  },
};

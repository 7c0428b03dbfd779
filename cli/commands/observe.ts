// `skiff observe`: the Hubble-like flow log of every redirector (its admin API's /debug/flows),
// merged by time with the control plane's L7 request lines (gRPC ALS), filtered by namespace, pod,
// verdict and port; --follow streams both.
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_UNAVAILABLE, UsageError } from '../command.js';
import { Verdict } from '../../bpf/maps/constants.js';
import { ControlPlaneClient, DEFAULT_CONTROL_PLANE_ADMIN } from '../clients/control-plane.js';
import type { AccessLogEntry } from '../../xds/accesslog/index.js';
import { exitIfUnreachable, type NdjsonStream } from '../clients/http.js';
import { DEFAULT_REDIRECTOR_ADMIN, REDIRECTOR_FLAGS, redirectorsFromArgs, type Flow, type FlowEnd } from '../clients/redirector.js';
import { integerFlag, parseCommandArgs, stringFlag } from '../output/args.js';
import { renderTable } from '../output/write.js';

const VERDICTS = Object.keys(Verdict);
const DEFAULT_LAST = 20;
/** How long --follow collects the redirectors' replay of recent flows before printing them merged. */
const REPLAY_SETTLE_MS = 300;

const HELP = `Usage: skiff observe [--follow] [--last N] [--namespace NS] [--pod NS/NAME] [--from-pod] [--to-pod]
                     [--verdict ${VERDICTS.join('|')}] [--port P] [--node N] [--redirector HOST:PORT]... [-o table|json]

The flow log, as Hubble shows it: one line per new connection, drop and redirect that the eBPF
datapath of every node saw, with pods and services named, and the L7 request
lines node proxies and waypoints send the control plane over gRPC ALS (TYPE L7/HTTP, SUMMARY
METHOD path → code, DROPPED for 403), merged by time:
  TIMESTAMP  SOURCE  DESTINATION  TYPE  VERDICT  SUMMARY  NODE
DESTINATION is the backend pod for connections to a service VIP (SUMMARY names the service);
SUMMARY gives the drop reason and, for flows steered to the node proxy, its port.

Which redirectors: the --redirector addresses (repeatable); else those the control plane's
redirector clients announce (node metadata admin_address, via --admin); else ${DEFAULT_REDIRECTOR_ADMIN}.

Exit codes: 0 shown, 2 usage, 3 a redirector cannot be reached (or, with --follow, it or the
control plane went away). An unreachable control plane only leaves out the L7 lines.

Flags:
  -f, --follow             keep streaming new flows and L7 lines (Ctrl-C ends)
  --last N                 the last N flows that match (default ${DEFAULT_LAST}; 0 = all kept)
  --namespace NS           flows from or to namespace NS
  --pod NS/NAME            flows from or to this pod (NAME alone matches any namespace)
  --from-pod               with --pod: only flows whose source is the pod
  --to-pod                 with --pod: only flows whose destination is the pod
  --verdict V              ${VERDICTS.join(', ')}
  --port P                 flows with P as source, destination or backend port
  --node N                 only the redirector of node N
  --redirector HOST:PORT   a redirector's admin API (repeatable; unix:PATH works)
  --admin HOST:PORT        the control plane's admin API, to find redirectors (default ${DEFAULT_CONTROL_PLANE_ADMIN})
  -o, --output FMT         table (default) or json (one flow per line, with its node)

Examples:
  skiff observe --namespace shop --verdict DROPPED
  skiff observe --pod shop/frontend --from-pod --follow
  skiff observe --port 8080 --last 100 -o json | jq .reason
`;

/** A flow with its node; `l7` marks an L7 request line (from the control plane's /debug/accesslog). */
export type NodeFlow = Flow & { node: string; type?: 'L7/HTTP'; l7?: { method: string; path: string; authority: string; code: number } };

/**
 * An L7 request line as a flow: TYPE L7/HTTP, DROPPED for 403 (the RBAC filter's denial), else
 * FORWARDED; source and destination are the downstream addresses Envoy saw.
 */
function l7Flow(e: AccessLogEntry): NodeFlow {
  const end = (a: AccessLogEntry['src']): FlowEnd => ({ ip: a?.ip ?? '', port: a?.port ?? 0, identity: 0 });
  return {
    time: e.time,
    verdict: e.code === 403 ? 'DROPPED' : 'FORWARDED',
    reason: e.code === 403 ? 'POLICY_DENIED' : 'NONE',
    source: 'proxy',
    proto: 6,
    src: end(e.src),
    dst: end(e.dst),
    proxyPort: 0,
    node: e.node,
    type: 'L7/HTTP',
    l7: { method: e.method, path: e.path, authority: e.authority, code: e.code },
  };
}

/** The control plane's L7 request lines as flows; none when it cannot be reached (L4 flows still show). */
async function l7Flows(admin: string): Promise<NodeFlow[]> {
  try {
    return (await new ControlPlaneClient(admin).accessLog()).map(l7Flow);
  } catch {
    return [];
  }
}

/** Streams the control plane's L7 request lines as flows; undefined when it cannot be reached. */
async function followL7Flows(admin: string, onFlow: (flow: NodeFlow) => void): Promise<NdjsonStream | undefined> {
  try {
    return await new ControlPlaneClient(admin).followAccessLog((entry) => onFlow(l7Flow(entry)));
  } catch {
    return undefined;
  }
}

interface Filter {
  namespace?: string;
  pod?: string;
  fromPod: boolean;
  toPod: boolean;
  verdict?: string;
  port?: number;
}

function podMatches(end: FlowEnd | undefined, pod: string): boolean {
  if (!end?.pod) return false;
  return pod.includes('/') ? end.pod === pod : end.pod.slice(end.pod.indexOf('/') + 1) === pod;
}

function inNamespace(end: FlowEnd | undefined, ns: string): boolean {
  return [end?.pod, end?.service].some((name) => name?.startsWith(`${ns}/`));
}

export function matches(flow: Flow, f: Filter): boolean {
  const targets = [flow.dst, flow.backend];
  if (f.namespace !== undefined && ![flow.src, ...targets].some((e) => inNamespace(e, f.namespace as string))) return false;
  if (f.pod !== undefined) {
    const pod = f.pod;
    const from = podMatches(flow.src, pod);
    const to = targets.some((e) => podMatches(e, pod));
    if (f.fromPod && !f.toPod ? !from : f.toPod && !f.fromPod ? !to : !(from || to)) return false;
  }
  if (f.verdict !== undefined && flow.verdict !== f.verdict) return false;
  if (f.port !== undefined && ![flow.src, ...targets].some((e) => e?.port === f.port)) return false;
  return true;
}

const PROTOS: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };

function endName(end: FlowEnd): string {
  return `${end.pod ?? end.service ?? end.ip}:${end.port}`;
}

function summary(flow: NodeFlow): string {
  if (flow.l7) return `${flow.l7.method} ${flow.l7.path} → ${flow.l7.code}`;
  const parts: string[] = [];
  if (flow.reason && flow.reason !== 'NONE') parts.push(flow.reason);
  if (flow.backend) parts.push(`via service ${flow.dst.service ?? flow.dst.ip} (${flow.dst.ip}:${flow.dst.port})`);
  if (flow.proxyPort) parts.push(`to proxy :${flow.proxyPort}`);
  return parts.join('; ') || '-';
}

function row(flow: NodeFlow): string[] {
  const type = flow.type ?? `${PROTOS[flow.proto] ?? String(flow.proto)} ${flow.source.toLowerCase()}`;
  return [flow.time, endName(flow.src), endName(flow.backend ?? flow.dst), type, flow.verdict, summary(flow), flow.node];
}

const HEADER = ['TIMESTAMP', 'SOURCE', 'DESTINATION', 'TYPE', 'VERDICT', 'SUMMARY', 'NODE'];

function render(flows: NodeFlow[], json: boolean): string {
  if (json) return flows.map((f) => `${JSON.stringify(f)}\n`).join('');
  return flows.length > 0 ? renderTable(HEADER, flows.map(row)) : '';
}

/** Merged by time, the last `last` (0 = all). */
function lastOf(flows: NodeFlow[], last: number): NodeFlow[] {
  const sorted = [...flows].sort((a, b) => a.time.localeCompare(b.time));
  return last === 0 ? sorted : sorted.slice(-last);
}

function parseFilter(args: ReturnType<typeof parseCommandArgs>): Filter {
  const verdict = stringFlag(args, 'verdict')?.toUpperCase();
  if (verdict !== undefined && !VERDICTS.includes(verdict)) throw new UsageError(`--verdict must be one of ${VERDICTS.join(', ')}`);
  const portText = stringFlag(args, 'port');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError(`--port: '${portText}' is not a port`);
  const fromPod = args.values['from-pod'] === true;
  const toPod = args.values['to-pod'] === true;
  const pod = stringFlag(args, 'pod');
  if ((fromPod || toPod) && pod === undefined) throw new UsageError('--from-pod and --to-pod need --pod');
  return { namespace: stringFlag(args, 'namespace'), pod, fromPod, toPod, verdict, port };
}

export const observeCommand: Command = {
  name: 'observe',
  summary: 'Show the flow log of every node (Hubble-like), merged by time; --follow streams it',
  help: HELP,
  run(argv) {
    const args = parseCommandArgs(
      argv,
      {
        follow: { type: 'boolean', short: 'f' },
        last: { type: 'string' },
        namespace: { type: 'string' },
        pod: { type: 'string' },
        'from-pod': { type: 'boolean' },
        'to-pod': { type: 'boolean' },
        verdict: { type: 'string' },
        port: { type: 'string' },
        ...REDIRECTOR_FLAGS,
      },
      ['table', 'json'],
    );
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    const filter = parseFilter(args);
    const last = integerFlag(args, 'last', DEFAULT_LAST);
    const json = args.output === 'json';
    const nodeFlag = stringFlag(args, 'node');
    return exitIfUnreachable('observe', async () => {
      const redirectors = await redirectorsFromArgs(args);
      if (args.values.follow !== true) {
        const l7 = l7Flows(stringFlag(args, 'admin') ?? DEFAULT_CONTROL_PLANE_ADMIN);
        const all = (await Promise.all(redirectors.map(async (r) => (await r.flows()).map((f): NodeFlow => ({ ...f, node: r.node }))))).flat();
        all.push(...(await l7).filter((f) => nodeFlag === undefined || f.node === nodeFlag));
        const shown = lastOf(all.filter((f) => matches(f, filter)), last);
        process.stdout.write(shown.length > 0 || json ? render(shown, json) : 'No flows match.\n');
        return EXIT_OK;
      }
      // the streams replay their recent flows first: collect them briefly, print them merged, then pass new ones through
      let replay: NodeFlow[] | undefined = [];
      let headerShown = false;
      const print = (flows: NodeFlow[]) => {
        if (flows.length === 0) return;
        const text = render(flows, json);
        process.stdout.write(json || !headerShown ? text : text.slice(text.indexOf('\n') + 1));
        headerShown = true;
      };
      const deliver = (f: NodeFlow) => {
        if (!matches(f, filter)) return;
        if (replay) replay.push(f);
        else print([f]);
      };
      const streams: NdjsonStream[] = await Promise.all(redirectors.map((r) => r.follow((flow) => deliver({ ...flow, node: r.node }))));
      const l7 = await followL7Flows(stringFlag(args, 'admin') ?? DEFAULT_CONTROL_PLANE_ADMIN, (f) => {
        if (nodeFlag === undefined || f.node === nodeFlag) deliver(f);
      });
      setTimeout(() => {
        print(lastOf(replay ?? [], last));
        replay = undefined;
      }, REPLAY_SETTLE_MS);
      let interrupted = false;
      const stop = () => {
        for (const s of streams) s.stop();
        l7?.stop();
      };
      const interrupt = () => {
        interrupted = true;
        stop();
      };
      process.once('SIGINT', interrupt);
      process.once('SIGTERM', interrupt);
      const endings = streams.map((s) => s.done.then(() => 'a redirector ended its flow stream'));
      if (l7) endings.push(l7.done.then(() => 'the control plane ended its access log stream'));
      const ended = await Promise.race(endings);
      stop();
      if (interrupted) return EXIT_OK;
      process.stderr.write(`skiff observe: ${ended} (stopped or restarted)\n`);
      return EXIT_UNAVAILABLE;
    });
  },
};

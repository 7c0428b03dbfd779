// The redirector end to end with real packets: a control plane in this process serves a mesh built
// from YAML; the agent runs as `skiff redirector` in a simulated node's netns and programs the
// datapath for real pods (netns with real TCP). Every check goes through the agent — nothing here
// writes a map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import type { MeshObject } from '../../config/resources.js';
import { encodeRedirectorResource, RedirectorType } from '../../proto/skiff/v1alpha1/wire.js';
import { NetnsFixture, requireRoot, type NetnsNode } from '../helpers/netns.js';
import { request, startServer, TcpClient } from '../helpers/tcp-peer.js';
import { TransparentProxy } from '../helpers/tproxy.js';
import { AgentProcess, ControlPlane, eventually, mainJs, meshObjects } from './harness.js';

const VIP = '10.96.0.10';
/** A service whose target port (9090) needs L7. */
const API_VIP = '10.96.0.11';
const PROXY_PORT = 15001;
const VIP6 = 'fd00:96::10';
const pods: Record<string, { ip: string; ip6?: string; labels: string }> = {
  client: { ip: '10.10.0.2', ip6: 'fd00:10::2', labels: 'app: client' },
  'web-1': { ip: '10.10.0.11', ip6: 'fd00:10::11', labels: 'app: web' },
  'web-2': { ip: '10.10.0.12', ip6: 'fd00:10::12', labels: 'app: web' },
  db: { ip: '10.10.0.20', labels: 'app: db' },
};

function podYaml(name: string, ip: string, ip6: string | undefined, labels: string, ready = true): string {
  const ips = ip6 ? `[{ip: ${ip}}, {ip: "${ip6}"}]` : `[{ip: ${ip}}]`;
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: shop, labels: {${labels}}}
spec:
  nodeName: n1
  containers: [{name: app, ports: [{name: http, containerPort: 8080}, {containerPort: 9090}, {containerPort: 5432}]}]
status: {phase: Running, podIP: ${ip}, podIPs: ${ips}, conditions: [{type: Ready, status: "${ready ? 'True' : 'False'}"}]}
`;
}

function meshYaml(notReady: string[] = []): string {
  const docs = [
    `apiVersion: v1
kind: Namespace
metadata: {name: shop}`,
    `apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: 10.10.0.0/24}
status: {addresses: [{type: InternalIP, address: 172.30.9.1}]}`,
    ...Object.entries(pods).map(([name, p]) => podYaml(name, p.ip, p.ip6, p.labels, !notReady.includes(name))),
    `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: ${VIP}
  clusterIPs: [${VIP}, "${VIP6}"]
  ipFamilyPolicy: PreferDualStack
  selector: {app: web}
  ports: [{name: tcp-web, port: 80, targetPort: 8080}]`,
    `apiVersion: v1
kind: Service
metadata: {name: web-api, namespace: shop}
spec:
  clusterIP: ${API_VIP}
  clusterIPs: [${API_VIP}]
  selector: {app: web}
  ports: [{name: http-api, port: 90, targetPort: 9090}]`,
    // L3/L4 NetworkPolicy: db accepts only the client, only on 5432 (default deny once selected)
    `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-client, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: client}}}]
      ports: [{protocol: TCP, port: 5432}]`,
    // CiliumNetworkPolicy: web accepts the client on 8080 (L3/L4) and on 9090 with an HTTP rule (L7)
    `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-from-client, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
    - fromEndpoints: [{matchLabels: {app: client}}]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
    - fromEndpoints: [{matchLabels: {app: client}}]
      toPorts:
        - ports: [{port: "9090", protocol: TCP}]
          rules: {http: [{method: GET}]}`,
  ];
  return docs.join('\n---\n');
}

interface FlowEnd {
  ip: string;
  port: number;
  pod?: string;
  service?: string;
}
interface Flow {
  verdict: string;
  reason: string;
  src: FlowEnd;
  dst: FlowEnd;
  backend?: FlowEnd;
}

/** A request that must be answered (a generous timeout: node processes start slowly on a busy machine). */
const ask = (fx: NetnsFixture, ns: string, host: string, port: number, line: string): Promise<string> => request(fx, ns, host, port, line, 5000);

/** The name of the server that answered ("web-1 10.10.0.2 hi" → "web-1"). */
const server = (reply: string): string => reply.split(' ')[0] as string;

test('the redirector programs the datapath from the control plane, end to end', { timeout: 120_000 }, async (t) => {
  requireRoot('the redirector tests');
  const fx = new NetnsFixture('skr');
  const pinRoot = `/sys/fs/bpf/${fx.id}-n1`;
  fx.onCleanup(() => rmSync(pinRoot, { recursive: true, force: true }));
  try {
    const node: NetnsNode = fx.createNode('n1');
    const netns: Record<string, string> = {};
    for (const [name, p] of Object.entries(pods)) netns[name] = fx.addPod(node, { name, ip: p.ip, ip6: p.ip6 }).netns;
    await Promise.all([
      startServer(fx, netns['web-1'] as string, 8080, 'web-1'),
      startServer(fx, netns['web-1'] as string, 9090, 'web-1:9090'),
      startServer(fx, netns['web-2'] as string, 8080, 'web-2'),
      startServer(fx, netns['web-2'] as string, 9090, 'web-2:9090'),
      startServer(fx, netns.db as string, 5432, 'db'),
      startServer(fx, netns.db as string, 5433, 'db:5433'),
      startServer(fx, netns.client as string, 7000, 'client'),
    ]);
    const cp = await ControlPlane.start(fx);
    let objects: Map<string, MeshObject> = meshObjects(meshYaml());
    cp.publish(objects);
    let agent = await AgentProcess.start(fx, node.netns, 'n1', cp, pinRoot);
    const clientNs = netns.client as string;
    /** A connection that must not be answered, and the agent's flow log saying why. */
    const denied = async (ns: string, pod: string, ip: string, port: number, reason: string): Promise<void> => {
      assert.equal(await request(fx, ns, ip, port, 'q', 2500), 'connect timeout', `${pod} → ${ip}:${port}`);
      await eventually(`a ${reason} drop of ${pod} → ${ip}:${port}`, async () =>
        (await agent.flows<Flow>()).find((f) => f.verdict === 'DROPPED' && f.reason === reason && f.src.pod === pod && f.dst.ip === ip && f.dst.port === port),
      );
    };
    /** How many backends the kernel has for the web service's VIP. */
    const webSlots = async (): Promise<number> => {
      const services = await agent.json<{ addr: string; port: number; revNatId: number; count: number }[]>('/debug/maps/services');
      const web = services.find((s) => s.addr === VIP && s.port === 80);
      const slots = await agent.json<{ revNatId: number }[]>('/debug/maps/slots');
      return slots.filter((slot) => slot.revNatId === web?.revNatId).length;
    };

    await t.test('service VIP load balancing across backends, consistent per connection', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 16 && seen.size < 2; i++) {
        const c = await TcpClient.open(fx, clientNs, VIP, 80, 5000);
        const first = server(await c.send('one'));
        assert.equal(server(await c.send('two')), first, 'a connection keeps its backend');
        assert.equal(server(await c.send('three')), first);
        assert.equal(c.remote, `${VIP}:80`, 'the client sees the VIP as its peer');
        seen.add(first);
        await c.close();
      }
      assert.deepEqual([...seen].sort(), ['web-1', 'web-2']);
    });

    await t.test('IPv6: the dual-stack VIP balances over the backends\' IPv6 addresses', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 16 && seen.size < 2; i++) {
        const c = await TcpClient.open(fx, clientNs, VIP6, 80, 5000);
        const reply = await c.send('six');
        assert.match(reply, /^web-[12] fd00:10::2 six$/);
        assert.equal(c.remote, `${VIP6}:80`);
        seen.add(server(reply));
        await c.close();
      }
      assert.deepEqual([...seen].sort(), ['web-1', 'web-2']);
    });

    await t.test('NetworkPolicy: allowed peer and port pass, everything else is denied once selected', async () => {
      assert.match(await ask(fx, clientNs, pods.db.ip, 5432, 'q'), /^db 10\.10\.0\.2 q$/);
      await denied(clientNs, 'shop/client', pods.db.ip, 5433, 'POLICY_DENIED');
      await denied(netns['web-1'] as string, 'shop/web-1', pods.db.ip, 5432, 'POLICY_DENIED');
      assert.match(await ask(fx, netns.db as string, pods.client.ip, 7000, 'q'), /^client /, 'an unselected pod accepts anyone');
      const entries = await agent.json<{ pod: string; direction: string; dport: number; verdict: string; peer: string }[]>('/debug/maps/policy');
      assert.ok(
        entries.some((e) => e.pod === 'shop/db' && e.direction === 'INGRESS' && e.dport === 5432 && e.verdict === 'ALLOW' && e.peer.startsWith('shop/') && e.peer.includes('app=client')),
        'the admin API shows the entry with its pod and peer named',
      );
    });

    await t.test('CiliumNetworkPolicy: the client may reach web, db may not', async () => {
      assert.match(await ask(fx, clientNs, pods['web-1'].ip, 8080, 'q'), /^web-1 10\.10\.0\.2 q$/);
      await denied(netns.db as string, 'shop/db', pods['web-1'].ip, 8080, 'POLICY_DENIED');
    });

    await t.test('a flow to an L7-policed port lands on the transparent proxy; other ports go straight', async () => {
      // the proxy connects upstream from the node's address (identity HOST, allowed as Cilium's
      // allow-localhost does); the mark's 16 identity bits cannot carry the mesh's identities
      const proxy = await TransparentProxy.start(fx, node.netns, PROXY_PORT, { [`${API_VIP}:90`]: `${pods['web-1'].ip}:9090` });
      try {
        const c = await TcpClient.open(fx, clientNs, pods['web-1'].ip, 9090, 5000);
        const reply = await c.send('via-proxy');
        await c.close();
        const accepted = proxy.accepted();
        assert.equal(accepted.length, 1);
        assert.equal(accepted[0]?.peer, c.local, 'the proxy sees the client address');
        assert.equal(accepted[0]?.local, `${pods['web-1'].ip}:9090`, 'and the original destination');
        assert.match(reply, /^web-1:9090 \S+ via-proxy$/, 'the proxy relayed it to the pod');
        const direct = await ask(fx, clientNs, pods['web-1'].ip, 8080, 'direct');
        assert.equal(direct, 'web-1 10.10.0.2 direct', 'the non-policed port is reached directly, from the client address');
        assert.equal(proxy.accepted().length, 1, 'the proxy saw nothing of it');
        const viaVip = await TcpClient.open(fx, clientNs, API_VIP, 90, 5000);
        await viaVip.close();
        assert.equal(proxy.accepted()[1]?.local, `${API_VIP}:90`, 'a flow to an L7 service reaches the proxy untranslated: it sees the VIP');
        assert.equal(proxy.accepted()[1]?.peer, viaVip.local);
      } finally {
        await proxy.stop();
      }
    });

    await t.test('fail closed: no proxy listening drops the L7 flow with PROXY_UNAVAILABLE', async () => {
      await denied(clientNs, 'shop/client', pods['web-1'].ip, 9090, 'PROXY_UNAVAILABLE');
    });

    await t.test('flow events name both pods and the verdict', async () => {
      const flows = await agent.flows<Flow>();
      const translated = flows.find((f) => f.verdict === 'TRANSLATED' && f.src.pod === 'shop/client');
      assert.ok(translated, 'a service flow');
      assert.equal(translated.dst.service, 'shop/web');
      assert.match(translated.backend?.pod ?? '', /^shop\/web-[12]$/);
      const denied = flows.find((f) => f.verdict === 'DROPPED' && f.reason === 'POLICY_DENIED' && f.src.pod === 'shop/db' && f.dst.pod === 'shop/web-1');
      assert.ok(denied, `a policy drop db → web-1 among ${flows.length} flows`);
      const metrics = (await agent.get('/metrics')).body;
      assert.match(metrics, /skiff_redirector_drops_total\{reason="POLICY_DENIED"\} [1-9]/);
    });

    await t.test('an endpoint change reaches new connections; established ones keep their backend', async () => {
      let onWeb2: TcpClient | undefined;
      for (let i = 0; i < 20 && !onWeb2; i++) {
        const c = await TcpClient.open(fx, clientNs, VIP, 80, 5000);
        if (server(await c.send('pick')) === 'web-2') onWeb2 = c;
        else await c.close();
      }
      assert.ok(onWeb2, 'a connection to web-2');
      objects = meshObjects(meshYaml(['web-2']));
      cp.publish(objects);
      await eventually('web-2 out of the service', async () => ((await webSlots()) === 1 ? true : undefined));
      for (let i = 0; i < 6; i++) assert.equal(server(await ask(fx, clientNs, VIP, 80, 'new')), 'web-1');
      assert.equal(server(await onWeb2.send('still')), 'web-2', 'the established connection keeps web-2');
      await onWeb2.close();
      objects = meshObjects(meshYaml());
      cp.publish(objects);
      await eventually('web-2 back', async () => ((await webSlots()) === 2 ? true : undefined));
    });

    await t.test('a bad resource is NACKed and the last good state stays', async () => {
      const bad = encodeRedirectorResource(RedirectorType.workload, { namespace: 'shop', name: 'bad', ips: ['not-an-ip'], identity: 300, node_name: 'n1' });
      cp.publishWith('n1', RedirectorType.workload, { name: 'shop/bad', value: bad });
      const status = await eventually('a NACK', async () => {
        const state = await agent.json<{ xds: { types: Record<string, { nacks: number; lastNackError: string }> } }>('/debug/state');
        const s = state.xds.types[RedirectorType.workload];
        return s && s.nacks > 0 ? s : undefined;
      });
      assert.match(status.lastNackError, /shop\/bad: ips: 'not-an-ip' is not an IP/);
      const syncz = cp.server.syncz().clients.find((c) => JSON.stringify(c).includes('not-an-ip'));
      assert.ok(syncz, 'the control plane recorded the NACK');
      assert.match(await ask(fx, clientNs, VIP, 80, 'q'), /^web-[12] /, 'the datapath is unchanged');
      cp.publish(objects);
    });

    await t.test('a control plane restart: the agent keeps its state, reconnects and takes new changes', async () => {
      interface State { ready: boolean; xds: { connected: boolean; connects: number } }
      const before = await agent.json<State>('/debug/state');
      await cp.stop();
      await eventually('the stream is lost', async () => ((await agent.json<State>('/debug/state')).xds.connected ? undefined : true));
      assert.match(await ask(fx, clientNs, VIP, 80, 'q'), /^web-[12] /, 'the datapath keeps working');
      assert.equal((await agent.get('/readyz')).status, 200);
      await cp.restart();
      await eventually('reconnected', async () => {
        const s = await agent.json<State>('/debug/state');
        return s.xds.connected && s.xds.connects > before.xds.connects ? true : undefined;
      }, 10_000);
      cp.publish(meshObjects(meshYaml(['web-1'])));
      await eventually('the change after the restart arrives', async () => ((await webSlots()) === 1 ? true : undefined));
      cp.publish(objects);
      await eventually('and the next one', async () => ((await webSlots()) === 2 ? true : undefined));
    });

    await t.test('an agent restart mid-transfer drops no byte and re-adopts the state without writes', async () => {
      const c = await TcpClient.open(fx, clientNs, VIP, 80, 5000);
      const backend = server(await c.send('start'));
      let restarted = false;
      let sent = 0;
      const transfer = (async () => {
        while (!restarted || sent < 100) {
          const reply = await c.send(`line-${sent}`);
          assert.equal(reply, `${backend} 10.10.0.2 line-${sent}`);
          sent++;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await agent.kill('SIGKILL');
      assert.ok(existsSync(`${pinRoot}/links`), 'pins outlive the agent');
      const during = sent;
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(sent > during, 'traffic flows while no agent runs');
      agent = await AgentProcess.start(fx, node.netns, 'n1', cp, pinRoot);
      restarted = true;
      await transfer;
      await c.close();
      const initial = agent.logs.map((l) => JSON.parse(l) as { msg: string; writes?: number; deletes?: number }).find((l) => l.msg === 'initial reconcile done');
      assert.deepEqual({ writes: initial?.writes, deletes: initial?.deletes }, { writes: 0, deletes: 0 });
      assert.match(await ask(fx, clientNs, pods.db.ip, 5432, 'after'), /^db /);
    });

    await t.test('--uninstall removes links, pins and the proxy route', async () => {
      await agent.kill('SIGTERM');
      fx.exec(node.netns, process.execPath, mainJs, 'redirector', '--node', 'n1', '--bpffs', pinRoot, '--uninstall');
      assert.equal(existsSync(pinRoot), false);
      assert.doesNotMatch(fx.ip(node.netns, 'rule', 'show'), /fwmark 0x200/);
    });
  } finally {
    await fx.cleanup();
  }
});

/**
 * The connection watch on a real 3-server cluster (docs/membership.md): idle, one node (the first
 * by name of those that can read `$SYS.REQ.ACCOUNT.PING.CONNZ`) reads the servers' connection
 * lists every idle period and probes a member that has none; the others probe their ring
 * successors at the slow watched period. Idle 1 s, watched 60 s: within the test, only the watch
 * and the watcher's predecessor can notice a death.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import type { MeshNode } from '../../src/node/index.js';
import { decodeJson } from '../../src/protocol/codec.js';
import { startTestCluster, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { eventually, spawnCli, type CliProcess } from '../harness/processes.js';

const ENV = { WFMESH_HEARTBEAT_MS: '200', WFMESH_IDLE_PROBE_MS: '1000', WFMESH_WATCHED_PROBE_MS: '60000' };

interface Said {
  kind: string;
  name: string;
  from?: string;
  sure?: boolean;
}

describe('the connection watch on a real 3-server NATS cluster', () => {
  let nats: TestNats;
  let monitor: NatsConnection;
  const said: Said[] = [];
  const inProcess: MeshNode[] = [];
  const procs: CliProcess[] = [];

  const spawnNode = async (name: string, serverIndex: number, env: NodeJS.ProcessEnv = ENV) => {
    const p = spawnCli(['node', '--nats', nats.urls[serverIndex]!, '--name', name, '--no-mcp'], { env });
    procs.push(p);
    await p.waitFor('node joined the mesh', 60_000);
    return p;
  };
  const names = (node: MeshNode) => node.registry.list().map((p) => p.name);

  /**
   * A suspicion makes the mesh busy (random probes at the busy rate, by anyone) for the linger, and
   * a join or a death keeps every node at the idle period for six more: waits both out.
   */
  async function idleAgain(): Promise<void> {
    await eventually(() => inProcess.every((n) => !n.membership.activity.busy()), 'the mesh idle again', 30_000);
    await new Promise((r) => setTimeout(r, 7_000));
  }

  /** Probes sent during `ms`, by sender (the probe's `from`). No subscriber may stay on probe subjects when a node is killed: it would hide "no responders". */
  async function probesDuring(ms: number): Promise<Map<string, number>> {
    const nc = await connect({ servers: nats.urls[1]! });
    const by = new Map<string, number>();
    nc.subscribe('wfmesh.probe.>', { callback: (_e, m) => {
      const from = (decodeJson(m.data) as { from: string }).from;
      by.set(from, (by.get(from) ?? 0) + 1);
    } });
    await nc.flush();
    await new Promise((r) => setTimeout(r, ms));
    await nc.close();
    return by;
  }

  before(async () => {
    nats = await startTestCluster();
    monitor = await connect({ servers: nats.urls[2]! });
    monitor.subscribe('wfmesh.member.>', { callback: (_e, m) => said.push(decodeJson(m.data) as Said) });
    await monitor.flush();
    // The ring by name: cw-a (the watcher, a process) → cw-b → cw-c (a process) → cw-d → cw-a.
    await spawnNode('cw-a', 0);
    inProcess.push(await startTestNode(nats.urls[1]!, { name: 'cw-b', noMcp: true }, ENV));
    await spawnNode('cw-c', 2);
    inProcess.push(await startTestNode(nats.urls[0]!, { name: 'cw-d', noMcp: true }, ENV));
    await eventually(() => inProcess.every((n) => n.registry.size === 4), 'every node knows all four');
  });

  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await stopAll(inProcess);
    await monitor.close();
    await nats.stop();
  });

  test('every node can read the connection lists; the first by name watches them, and only the watcher\'s predecessor probes at the idle period', async () => {
    const [b, d] = inProcess as [MeshNode, MeshNode];
    for (const node of inProcess) {
      assert.ok(node.registry.list().every((p) => p.watches_connections === true), `${node.name}: every member says it can watch`);
      assert.equal(node.membership.watchingConnections, false, `${node.name} is not the watcher`);
      assert.ok(!node.membership.activity.busy(), 'nothing has run: the mesh is idle');
    }
    // Past the settling periods after the last join (six idle periods at the idle rate).
    await new Promise((r) => setTimeout(r, 7_000));
    const sent = await probesDuring(4_000);
    assert.ok((sent.get('cw-d') ?? 0) >= 2, `cw-d probes the watcher every idle period (${sent.get('cw-d') ?? 0} in 4 s)`);
    for (const slow of ['cw-a', 'cw-b', 'cw-c']) assert.ok((sent.get(slow) ?? 0) <= 1, `${slow} probes at the watched period (${sent.get(slow) ?? 0} in 4 s)`);
    assert.deepEqual(names(b), names(d));
    // Each node says on /metrics whether it reads the lists: the watcher alone does.
    const watching: Record<string, string | undefined> = {};
    for (const peer of b.registry.list()) {
      const text = await (await fetch(`${peer.http_url}/metrics`)).text();
      watching[peer.name] = /^wfmesh_connection_watcher (\d)$/m.exec(text)?.[1];
    }
    assert.deepEqual(watching, { 'cw-a': '1', 'cw-b': '0', 'cw-c': '0', 'cw-d': '0' });
  });

  test('kill -9 of a node whose predecessor probes slowly: the watcher notices it from the connection lists, and every view drops it', async () => {
    const [b, d] = inProcess as [MeshNode, MeshNode];
    const victim = procs[1]!;
    victim.kill('SIGKILL');
    await eventually(() => !names(b).includes('cw-c') && !names(d).includes('cw-c'), 'cw-c dropped by cw-b and cw-d', 20_000);
    const suspicions = said.filter((m) => m.kind === 'suspect' && m.name === 'cw-c');
    assert.ok(suspicions.length >= 1, 'cw-c was suspected');
    assert.equal(suspicions[0]!.from, 'cw-a', 'by the watcher, whose read found no connection for it');
    assert.equal(suspicions[0]!.sure, true, 'its probe met no responders');
    await eventually(() => said.some((m) => m.kind === 'dead' && m.name === 'cw-c'), 'cw-c declared dead (the monitor hears it)');
  });

  test('kill -9 of the watcher: its predecessor notices, and the next by name takes the watch over', async () => {
    const [b, d] = inProcess as [MeshNode, MeshNode];
    await idleAgain();
    procs[0]!.kill('SIGKILL');
    await eventually(() => !names(b).includes('cw-a') && !names(d).includes('cw-a'), 'cw-a dropped by cw-b and cw-d', 20_000);
    assert.equal(said.find((m) => m.kind === 'suspect' && m.name === 'cw-a')?.from, 'cw-d', "suspected by its ring predecessor");
    await eventually(() => b.membership.watchingConnections, 'cw-b watches the connection lists now');
    assert.equal(d.membership.watchingConnections, false);
    // The new watcher notices the next kill: a fresh node, killed at once.
    const e = await spawnNode('cw-e', 2);
    await eventually(() => names(b).includes('cw-e') && names(d).includes('cw-e'), 'cw-e seen');
    // cw-d's probe of its new successor at its old period (its successor was the watcher) goes first.
    await idleAgain();
    e.kill('SIGKILL');
    await eventually(() => !names(b).includes('cw-e') && !names(d).includes('cw-e'), 'cw-e dropped', 20_000);
    // cw-e's ring predecessor is cw-d, which probes it at the watched period (60 s).
    assert.equal(said.find((m) => m.kind === 'suspect' && m.name === 'cw-e')?.from, 'cw-b', 'suspected by the new watcher');
  });

  test('a node told not to watch (WFMESH_CONNECTION_WATCH=off) says so, and is never the watcher', async () => {
    const p = await spawnNode('cw-0', 1, { ...ENV, WFMESH_CONNECTION_WATCH: 'off' });
    const [b] = inProcess as [MeshNode];
    await eventually(() => names(b).includes('cw-0'), 'cw-0 seen');
    assert.equal(b.registry.list().find((m) => m.name === 'cw-0')?.watches_connections, undefined);
    assert.equal(b.membership.watchingConnections, true, 'cw-b still watches, though cw-0 comes first by name');
    p.kill('SIGKILL');
  });
});

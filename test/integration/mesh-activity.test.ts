/**
 * Busy and idle probe rates on a real 3-server cluster (docs/membership.md): nodes probe at the
 * idle period while nothing runs; an execution makes every node probe at the busy one, told by
 * one `busy` announcement however many steps run; once nothing has run for the linger, back to
 * idle. Heartbeat 200 ms: busy probes every 100 ms, idle every 1 s, linger 6 s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from 'nats';
import type { MeshNode } from '../../src/node/index.js';
import { decodeJson } from '../../src/protocol/codec.js';
import { startTestCluster } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { eventually } from '../harness/processes.js';

const ENV = { WFMESH_HEARTBEAT_MS: '200', WFMESH_IDLE_PROBE_MS: '1000' };

/** Probes sent in the mesh during `ms`. */
async function probesDuring(url: string, ms: number): Promise<number> {
  const nc = await connect({ servers: url });
  let n = 0;
  nc.subscribe('wfmesh.probe.>', { callback: () => n++ });
  await nc.flush();
  await new Promise((r) => setTimeout(r, ms));
  await nc.close();
  return n;
}

test('nodes probe at the idle period until an execution runs; one busy announcement covers all its steps; idle again after the linger', async () => {
  const nats = await startTestCluster();
  const nodes: MeshNode[] = [];
  const announcements: Record<string, unknown>[] = [];
  const watcher = await connect({ servers: nats.urls[0]! });
  try {
    for (const [i, name] of ['act-a', 'act-b', 'act-c'].entries()) nodes.push(await startTestNode(nats.urls[i]!, { name, noMcp: true }, ENV));
    const [a, b, c] = nodes as [MeshNode, MeshNode, MeshNode];
    await eventually(() => nodes.every((n) => n.registry.size === 3), 'every node knows the other two');
    watcher.subscribe('wfmesh.member.>', { callback: (_e, m) => announcements.push(decodeJson(m.data) as Record<string, unknown>) });
    await watcher.flush();

    assert.ok(nodes.every((n) => !n.membership.activity.busy()), 'nothing has run: the mesh is idle');
    const { idleProbeIntervalMs, probeIntervalMs } = a.membership.timings;
    assert.deepEqual([probeIntervalMs, idleProbeIntervalMs], [100, 1_000]);
    // At most one probe per node per idle period, plus one each for the window's edges.
    const idleBound = (windowMs: number) => nodes.length * (windowMs / idleProbeIntervalMs + 1);
    const idle = await probesDuring(nats.urls[1]!, 2_000);
    assert.ok(idle <= idleBound(2_000), `idle: ${idle} probes in 2 s (at most ${idleBound(2_000)})`);

    // Sixteen steps that hold a slot (sleep), spread over b and c by an execution on a: about
    // 1.6 s, under half the linger, so nobody needs to say it again.
    const steps = Array.from({ length: 16 }, (_, i) => `    - {id: s${i}, tool: sleep, args: {ms: 100}, requires: {node: act-${i % 2 ? 'b' : 'c'}}}`).join('\n');
    const run = a.executions!.start({ yaml: `workflows:\n  main:\n${steps}\n`, mode: 'distributed' });
    await eventually(() => b.membership.activity.busy() && c.membership.activity.busy(), 'the peers know the mesh is busy');
    const busy = await probesDuring(nats.urls[1]!, 1_000);
    const record = await run;
    assert.equal(record.status, 'completed');
    assert.ok(busy >= 2 * idleBound(1_000), `busy: ${busy} probes in 1 s, against at most ${idleBound(1_000)} idle`);
    const told = announcements.filter((m) => m.kind === 'alive' && m.busy === true);
    assert.equal(told.length, 1, `one busy announcement for the whole execution (${told.map((m) => m.name).join(', ')})`);
    assert.equal(told[0]!.name, 'act-a', 'said by the coordinator as the execution started');
    assert.equal(told[0]!.caps, undefined, 'without capabilities');

    // Nothing runs any more: after the linger every node is back at the idle period.
    await eventually(() => nodes.every((n) => !n.membership.activity.busy()), 'the mesh is idle again', a.membership.activity.lingerMs + 5_000);
    await new Promise((r) => setTimeout(r, probeIntervalMs * 2)); // the period timers scheduled at the busy rate have fired
    const after = await probesDuring(nats.urls[1]!, 2_000);
    assert.ok(after <= idleBound(2_000), `idle again: ${after} probes in 2 s (at most ${idleBound(2_000)})`);
  } finally {
    await watcher.close();
    await stopAll(nodes);
    await nats.stop();
  }
});

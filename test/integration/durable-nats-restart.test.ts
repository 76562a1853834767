/**
 * Every nats-server of the cluster dies at once while executions run, and comes back 5 s later
 * (same config: ports, routes, JetStream folders): the nodes reconnect, and every execution
 * completes with its effect applied once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { findNatsServerBinary } from '../../src/nats/index.js';
import { startEffectServer, type EffectServer } from '../harness/effect-server.js';
import { holdPort, startTestCluster, type TestNats } from '../harness/nats.js';
import { waitFor } from '../harness/processes.js';
import { assertEffectsOnce, effectWorkflow, startMany, TestMesh } from './durable-helpers.js';

describe('the whole NATS cluster restarts while executions run', () => {
  let nats: TestNats | undefined;
  let effect: EffectServer | undefined;
  let mesh: TestMesh | undefined;
  const restarted: ChildProcess[] = [];
  after(async () => {
    await mesh?.close();
    await effect?.close();
    for (const p of restarted) p.kill('SIGKILL');
    await nats?.stop();
  });

  test('the nodes reconnect and every execution completes, each effect once', async () => {
    nats = await startTestCluster();
    effect = await startEffectServer();
    mesh = new TestMesh(nats.urls.join(','), effect);
    await Promise.all([mesh.start('nr-a', [], { mcp: true }), mesh.start('nr-b'), mesh.start('nr-c')]);
    const client = await mesh.client('nr-a');
    // The effect is held 3 s: the servers die while calls are open and come back before they end.
    const ids = await startMany(client, effectWorkflow(effect.url, 3_000), 6);
    await effect.arrived(':effect:1');
    for (const s of nats.servers) s.kill('SIGKILL');
    await Promise.all(nats.servers.map((s) => s.exited));
    // Their ports stay taken while they are down (see holdPort), and are let go just before the restart.
    const held = await Promise.all(nats.servers.map((s) => holdPort(s.port)));
    await new Promise((r) => setTimeout(r, 5_000));
    for (const h of held) await h.release();
    for (const s of nats.servers) restarted.push(spawn(findNatsServerBinary(), ['-c', s.configFile], { stdio: 'ignore' }));
    // The test's own reads connect afresh: only once the servers listen again.
    for (const s of nats.servers) await waitFor(`${s.name} to listen again`, async () => ((await fetch(`${s.monitorUrl}/healthz`).catch(() => undefined))?.ok ? true : undefined), 60_000);
    const records = await mesh.allEnded(ids, 180_000);
    assertEffectsOnce(records, effect);
    assert.equal(records.length, 6);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MeshStepRunner } from '../../src/dispatch/index.js';
import type { StepCall } from '../../src/engine/types.js';
import { silentLogger } from '../../src/log/index.js';
import type { MeshNode } from '../../src/node/index.js';
import { StepFailure } from '../../src/protocol/errors.js';
import type { Requires } from '../../src/protocol/step.js';
import { startTestCluster, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { eventually } from '../harness/processes.js';

let seq = 0;
function call(tool: 'echo' | 'sleep', args: unknown, requires?: Requires): StepCall {
  seq++;
  return {
    execution_id: `ex-${seq}`,
    step_id: `s${seq}`,
    attempt: 1,
    task: { kind: 'tool', tool_id: tool, tool_type: tool, args },
    ...(requires ? { requires } : {}),
    timeout_ms: 30_000,
    isolation: 'in_process',
  };
}

describe('placement over a real 3-server cluster', () => {
  let nats: TestNats;
  const nodes: MeshNode[] = [];
  let runner: MeshStepRunner;

  before(async () => {
    nats = await startTestCluster();
    const dir = mkdtempSync(join(tmpdir(), 'wfmesh-gpu-'));
    const gpuConfig = join(dir, 'gpu.yaml');
    writeFileSync(gpuConfig, 'hardware:\n  gpus: [{vendor: NVIDIA, model: "NVIDIA H100 80GB HBM3", vram_mib: 81559}]\n');
    nodes.push(await startTestNode(nats.urls[0]!, { name: 'coord', region: 'us-east' }));
    nodes.push(await startTestNode(nats.urls[1]!, { name: 'gpu-1', region: 'us-east', config: gpuConfig }));
    nodes.push(await startTestNode(nats.urls[2]!, { name: 'eu-1', region: 'eu-west' }));
    nodes.push(await startTestNode(nats.urls[1]!, { name: 'us-2', region: 'us-east' }));
    const coord = nodes[0]!;
    await eventually(() => coord.registry.size === 4, 'the coordinator sees all four nodes');
    runner = new MeshStepRunner({ nc: coord.nc, registry: coord.registry, origin: coord.name, log: silentLogger() });
  });

  after(async () => {
    await stopAll(nodes);
    await nats.stop();
  });

  test('the node declared with an NVIDIA GPU gets every gpu step, shown as declared', async () => {
    const gpuPeer = nodes[0]!.registry.list().find((p) => p.name === 'gpu-1')!;
    assert.ok(nodes[0]!.registry.list().every((p) => p.takes_step_batches === true), 'every node says it takes step batches (steps to one node in one turn leave joined)');
    assert.deepEqual(gpuPeer.gpus, [{ vendor: 'NVIDIA', model: 'NVIDIA H100 80GB HBM3', vram_mib: 81559, declared: true }]);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => runner.run(call('echo', { i }, { gpu: true }), new AbortController().signal)));
    assert.deepEqual(new Set(results.map((r) => r.node)), new Set(['gpu-1']));
    assert.deepEqual(results.map((r) => (r.output as { i: number }).i), Array.from({ length: 20 }, (_, i) => i));
    const vram = await runner.run(call('echo', {}, { gpu: { vendor: 'NVIDIA', min_vram_mib: 80_000, model: 'H100' } }), new AbortController().signal);
    assert.equal(vram.node, 'gpu-1');
  });

  test('an eu-west step runs only on EU nodes', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => runner.run(call('echo', {}, { region: 'eu-west' }), new AbortController().signal)));
    assert.deepEqual(new Set(results.map((r) => r.node)), new Set(['eu-1']));
  });

  test('a step nobody can satisfy fails at once as infeasible, naming the constraint, and reaches no node', async () => {
    const admittedBefore = nodes.map((n) => n.stepServer!.admitted);
    for (const [requires, pattern] of [
      [{ gpu: { count: 2 } }, /requires\.gpu \(count >= 2\)/],
      [{ region: 'ap-south' }, /requires\.region = ap-south/],
      [{ min_memory_mib: 10_000_000 }, /requires\.min_memory_mib/],
      [{ labels: { tier: 'nope' } }, /requires\.labels\.tier = nope/],
    ] as const) {
      await assert.rejects(runner.run(call('echo', {}, requires), new AbortController().signal), (err: unknown) => {
        assert.ok(err instanceof StepFailure);
        assert.equal(err.type, 'infeasible');
        assert.equal(err.retryable, false);
        assert.match(err.message, pattern);
        return true;
      });
    }
    await assert.rejects(runner.run(call('echo', {}, { gpu: true, region: 'eu-west' }), new AbortController().signal), /no single live node meets all of/);
    assert.deepEqual(nodes.map((n) => n.stepServer!.admitted), admittedBefore);
  });

  test('a step whose tool no node offers is infeasible', async () => {
    await assert.rejects(runner.run(call('shell' as 'echo', {}), new AbortController().signal), /offers tool "shell"/);
  });

  test('a step timeout on the remote node comes back as a timeout failure', async () => {
    const c = { ...call('sleep', { ms: 5_000 }, { node: 'us-2' }), timeout_ms: 300 };
    await assert.rejects(runner.run(c, new AbortController().signal), (err: unknown) => err instanceof StepFailure && err.type === 'timeout');
    await eventually(() => nodes[3]!.stepServer!.inflight === 0, 'the remote step was stopped');
  });

  test('aborting the caller cancels the remote in-flight step', async () => {
    const controller = new AbortController();
    const pending = runner.run(call('sleep', { ms: 20_000 }, { node: 'eu-1' }), controller.signal);
    await eventually(() => nodes[2]!.stepServer!.inflight === 1, 'the step is running on eu-1');
    controller.abort(new StepFailure('cancelled', 'test cancelled it'));
    await assert.rejects(pending, (err: unknown) => err instanceof StepFailure && err.type === 'cancelled');
    await eventually(() => nodes[2]!.stepServer!.inflight === 0, 'eu-1 stopped the step');
  });
});

describe('load spreading', () => {
  let nats: TestNats;
  const nodes: MeshNode[] = [];

  before(async () => {
    nats = await startTestCluster();
    for (let i = 0; i < 3; i++) nodes.push(await startTestNode(nats.urls[i]!, { name: `eq-${i + 1}`, region: 'us-east' }));
    await eventually(() => nodes.every((n) => n.registry.size === 3), 'all three see each other');
  });

  after(async () => {
    await stopAll(nodes);
    await nats.stop();
  });

  test('300 concurrent sleep steps over 3 equal nodes: none runs more than 45% of them', async () => {
    const coord = nodes[0]!;
    const runner = new MeshStepRunner({ nc: coord.nc, registry: coord.registry, origin: coord.name, log: silentLogger() });
    const results = await Promise.all(Array.from({ length: 300 }, () => runner.run(call('sleep', { ms: 50 }), new AbortController().signal)));
    const counts = new Map<string, number>();
    for (const r of results) counts.set(r.node, (counts.get(r.node) ?? 0) + 1);
    assert.equal(counts.size, 3, `all three nodes took steps: ${JSON.stringify([...counts])}`);
    for (const [name, n] of counts) assert.ok(n <= 135, `${name} ran ${n} of 300 steps`);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MeshStepRunner } from '../../src/dispatch/index.js';
import type { StepCall } from '../../src/engine/types.js';
import { silentLogger } from '../../src/log/index.js';
import type { MeshNode } from '../../src/node/index.js';
import { StepFailure } from '../../src/protocol/errors.js';
import type { Requires } from '../../src/protocol/step.js';
import { startTestCluster, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { eventually, spawnCli, type CliProcess } from '../harness/processes.js';

/** Steps a node has run or is running, from its own /metrics (every status, plus in flight). */
async function stepsRun(peer: { name: string; http_url: string | null }): Promise<number> {
  assert.ok(peer.http_url, `${peer.name} serves /metrics`);
  const text = await (await fetch(`${peer.http_url}/metrics`)).text();
  const samples = text.split('\n').filter((l) => /^wfmesh_steps_(total\{|inflight )/.test(l));
  assert.ok(samples.length > 1, `${peer.name} exports wfmesh_steps_total and wfmesh_steps_inflight`);
  return samples.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

function longSleep(id: string, ms: number, requires?: Requires): StepCall {
  return {
    execution_id: `ex-${id}`,
    step_id: id,
    attempt: 1,
    task: { kind: 'tool', tool_id: 'nap', tool_type: 'sleep', args: { ms } },
    ...(requires ? { requires } : {}),
    timeout_ms: 60_000,
    isolation: 'in_process',
  };
}

describe('surviving dead and frozen nodes (real child processes on a 3-server cluster)', () => {
  let nats: TestNats;
  let coord: MeshNode;
  let runner: MeshStepRunner;
  const procs = new Map<string, CliProcess>();

  const spawnWorker = async (name: string, server: number, region = 'us-east') => {
    const p = spawnCli(['node', '--nats', nats.urls[server]!, '--name', name, '--region', region, '--no-mcp', '--tools', 'echo,sleep']);
    procs.set(name, p);
    await p.waitFor('node joined the mesh', 60_000); // start-up from source is slow on a busy machine
    await eventually(() => coord.registry.list().some((n) => n.name === name), `${name} seen by the coordinator`);
  };
  /** How many times step `id` ran to completion, counted from every worker's audit lines. */
  const completions = (id: string): number => {
    let n = 0;
    for (const p of procs.values()) {
      for (const line of p.stderr().split('\n')) {
        if (line.includes('"audit":true') && line.includes(`"step_id":"${id}"`) && line.includes('"outcome":"completed"')) n++;
      }
    }
    return n;
  };
  /** The worker whose heartbeat says it is running a step. */
  const holder = async (): Promise<string> => {
    let name = '';
    await eventually(() => {
      name = coord.registry.list().find((p) => p.name !== 'coord' && p.load.inflight > 0)?.name ?? '';
      return name !== '';
    }, 'a worker reports the step in flight');
    return name;
  };

  before(async () => {
    nats = await startTestCluster();
    // The coordinator offers only echo, so sleep steps must go to the worker processes.
    coord = await startTestNode(nats.urls[0]!, { name: 'coord', region: 'us-east', tools: 'echo' });
    runner = new MeshStepRunner({ nc: coord.nc, registry: coord.registry, origin: coord.name, log: silentLogger(), waitForEligibleMs: 1_000 });
    await Promise.all([spawnWorker('w1', 1), spawnWorker('w2', 2)]);
  });

  after(async () => {
    for (const p of procs.values()) {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    }
    await stopAll([coord]);
    await nats.stop();
  });

  test('kill -9 of the node running a long step: the step completes once, on another node', async () => {
    const pending = runner.run(longSleep('kill9', 3_000), new AbortController().signal);
    const victim = await holder();
    procs.get(victim)!.kill('SIGKILL');
    const result = await pending;
    assert.notEqual(result.node, victim);
    assert.ok(['w1', 'w2'].includes(result.node));
    assert.deepEqual(result.output, { slept_ms: 3_000 });
    // Audit lines are written in batches: wait for the survivor's, then count them all.
    await eventually(() => completions('kill9') >= 1, 'the survivor audits the step');
    assert.equal(completions('kill9'), 1, 'the step ran to completion once, on the survivor');
    await spawnWorker(victim, 1); // back to two workers
  });

  test('kill -9 of a node holding steps that reached it joined in one message: each completes once, on the survivor', async () => {
    // Made in one turn: the steps to each worker leave joined (protocol/step-batch.ts).
    const ids = Array.from({ length: 6 }, (_, i) => `joined${i}`);
    const pending = ids.map((id) => runner.run(longSleep(id, 3_000), new AbortController().signal));
    const victim = await holder();
    procs.get(victim)!.kill('SIGKILL');
    const results = await Promise.all(pending);
    assert.ok(results.every((r) => r.node !== victim && ['w1', 'w2'].includes(r.node)), results.map((r) => r.node).join(', '));
    await eventually(() => ids.every((id) => completions(id) >= 1), 'the survivor audits every step');
    assert.deepEqual(ids.map(completions), ids.map(() => 1), 'each step ran to completion once');
    await spawnWorker(victim, 1); // back to two workers
  });

  test('a frozen node (SIGSTOP): the step moves on and the late reply is ignored', async () => {
    const pending = runner.run(longSleep('frozen', 3_000), new AbortController().signal);
    const victim = await holder();
    procs.get(victim)!.kill('SIGSTOP');
    const result = await pending;
    assert.notEqual(result.node, victim);
    procs.get(victim)!.kill('SIGCONT');
    await eventually(() => coord.registry.list().some((n) => n.name === victim), 'the thawed node rejoins');
    // It wakes fenced: it notices it stood still past the dead timeout (and gets the cancel of
    // its dispatch), so it stops the step instead of finishing it a second time.
    await eventually(() => /"step_id":"frozen".*"outcome":"(cancelled|failed)"/.test(procs.get(victim)!.stderr()), 'the thawed node ends its copy of the step');
    await eventually(() => completions('frozen') >= 1, 'the other worker audits the step');
    assert.equal(completions('frozen'), 1, 'the step ran to completion once');
  });

  test('an EU-only step whose only EU node dies fails clearly and never runs elsewhere', async () => {
    await spawnWorker('eu-only', 2, 'eu-west');
    // w1 and w2 offer `sleep` and would take the step if its region were ignored: count what they run.
    await eventually(() => coord.registry.list().every((p) => p.load.inflight === 0), 'every worker is idle');
    const others = coord.registry.list().filter((p) => p.region !== 'eu-west' && p.tools.includes('sleep'));
    assert.deepEqual(others.map((p) => p.name).sort(), ['w1', 'w2']);
    const before = await Promise.all(others.map(stepsRun));
    const pending = runner.run(longSleep('eu', 5_000, { region: 'eu-west' }), new AbortController().signal);
    await eventually(() => coord.registry.list().find((p) => p.name === 'eu-only')?.load.inflight === 1, 'the EU node runs it');
    procs.get('eu-only')!.kill('SIGKILL');
    const outcome = await pending.then(
      (result) => result,
      (err: unknown) => err,
    );
    const after = await Promise.all(others.map(stepsRun));
    assert.deepEqual(after, before, `steps run by ${others.map((p) => p.name).join(', ')} before and after: the EU-only step ran outside the EU`);
    assert.ok(outcome instanceof StepFailure, `the step failed (got ${JSON.stringify(outcome)})`);
    assert.equal(outcome.type, 'infeasible');
    assert.match(outcome.message, /requires\.region = eu-west/);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { MeshStepRunner } from '../../src/dispatch/index.js';
import type { StepCall } from '../../src/engine/types.js';
import { freezeServer, killServerForGood, startTestCluster } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { eventually } from '../harness/processes.js';

const stepOn = (node: string, task: StepCall['task']): StepCall => ({
  execution_id: 'ex-reconnect',
  step_id: 's1',
  attempt: 1,
  task,
  requires: { node },
  // Long: without a second send a lost step would wait this out and fail as a timeout.
  timeout_ms: 120_000,
  isolation: 'in_process',
  idempotency_key: 'ex-reconnect:s1:1',
});
const echoOn = (node: string, message: string) => stepOn(node, { kind: 'tool', tool_id: 'echo', tool_type: 'echo', args: { message } });
const RESENT = 'a node came back after a reconnect: sent it the step requests still waiting on it again';

/** A pino logger whose lines land in `lines`. */
function capture(lines: Record<string, unknown>[]) {
  return pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
}

test('a step request lost with the worker’s server is sent again when the worker comes back, and runs once', async () => {
  const nats = await startTestCluster();
  const lines: Record<string, unknown>[] = [];
  const log = capture(lines);
  const coord = await startTestNode(nats.urls[0]!, { name: 'coord', noMcp: true });
  const worker = await startTestNode(nats.urls[1]!, { name: 'w-lost', noMcp: true });
  let held: { release(): Promise<void> } | undefined;
  try {
    await eventually(() => coord.registry.list().some((p) => p.name === 'w-lost'), 'the coordinator sees the worker');
    const incarnation = coord.registry.list().find((p) => p.name === 'w-lost')?.incarnation ?? 0;
    const runner = new MeshStepRunner({ nc: coord.nc, registry: coord.registry, origin: 'coord', log });
    const server = nats.servers[1]!;

    // The worker's server stands still: the request is routed to it and waits in its socket...
    await freezeServer(server);
    const pending = runner.run(echoOn('w-lost', 'across a lost server'), new AbortController().signal);
    // Awaited below; should a check before that fail, stopping the nodes rejects it: that must
    // not hide the check that failed.
    pending.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(worker.stepServer!.admitted, 0, 'the request has not reached the worker');
    // ...and dies with it. The worker reconnects to another server and announces itself again.
    held = await killServerForGood(server);

    const result = await pending;
    assert.equal(result.node, 'w-lost');
    assert.deepEqual(result.output, { message: 'across a lost server' });
    assert.equal(worker.stepServer!.admitted, 1, 'the worker ran the step once');
    assert.ok((coord.registry.list().find((p) => p.name === 'w-lost')?.incarnation ?? 0) > incarnation, 'the worker came back under a higher incarnation');
    const resent = lines.find((l) => l.msg === RESENT);
    assert.deepEqual(resent && { peer: resent.peer, requests: resent.requests }, { peer: 'w-lost', requests: 1 });
  } finally {
    await stopAll([coord, worker]);
    await held?.release();
    await nats.stop();
  }
});

test('a step still running when its worker reconnects is sent again and joins the running attempt: it runs once', async () => {
  const nats = await startTestCluster();
  const lines: Record<string, unknown>[] = [];
  const coord = await startTestNode(nats.urls[0]!, { name: 'coord', noMcp: true });
  const worker = await startTestNode(nats.urls[1]!, { name: 'w-busy', noMcp: true });
  let held: { release(): Promise<void> } | undefined;
  try {
    await eventually(() => coord.registry.list().some((p) => p.name === 'w-busy'), 'the coordinator sees the worker');
    const runner = new MeshStepRunner({ nc: coord.nc, registry: coord.registry, origin: 'coord', log: capture(lines) });
    const pending = runner.run(stepOn('w-busy', { kind: 'tool', tool_id: 'nap', tool_type: 'sleep', args: { ms: 5_000 } }), new AbortController().signal);
    pending.catch(() => undefined); // as above
    await eventually(() => worker.stepServer!.inflight === 1, 'the worker runs the step');
    held = await killServerForGood(nats.servers[1]!);
    await eventually(() => lines.some((l) => l.msg === RESENT), 'the coordinator sends the step again when the worker is back');
    const result = await pending;
    assert.equal(result.node, 'w-busy');
    assert.equal(worker.stepServer!.admitted, 1, 'the second copy joined the attempt already running: one run');
  } finally {
    await stopAll([coord, worker]);
    await held?.release();
    await nats.stop();
  }
});

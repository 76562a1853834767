import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { MeshStepRunner } from '../../src/dispatch/index.js';
import type { StepCall } from '../../src/engine/types.js';
import { killServerForGood, startTestCluster } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { eventually } from '../harness/processes.js';

const echoOn = (node: string, message: string): StepCall => ({
  execution_id: 'ex-reconnect',
  step_id: 'echo',
  attempt: 1,
  task: { kind: 'tool', tool_id: 'echo', tool_type: 'echo', args: { message } },
  requires: { node },
  // Long: without a second send the step would wait this out and fail as a timeout.
  timeout_ms: 120_000,
  isolation: 'in_process',
  idempotency_key: 'ex-reconnect:echo:1',
});

test('a step request lost with the worker’s server is sent again when the worker comes back, and runs once', async () => {
  const nats = await startTestCluster();
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const coord = await startTestNode(nats.urls[0]!, { name: 'coord', noMcp: true });
  const worker = await startTestNode(nats.urls[1]!, { name: 'w-lost', noMcp: true });
  let held: { release(): Promise<void> } | undefined;
  try {
    await eventually(() => coord.registry.list().some((p) => p.name === 'w-lost'), 'the coordinator sees the worker');
    const incarnation = coord.registry.list().find((p) => p.name === 'w-lost')?.incarnation ?? 0;
    const runner = new MeshStepRunner({ nc: coord.nc, registry: coord.registry, origin: 'coord', log });
    const server = nats.servers[1]!;

    // The worker's server stands still: the request is routed to it and waits in its socket...
    server.kill('SIGSTOP');
    const pending = runner.run(echoOn('w-lost', 'across a lost server'), new AbortController().signal);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(worker.stepServer!.admitted, 0, 'the request has not reached the worker');
    // ...and dies with it. The worker reconnects to another server and announces itself again.
    held = await killServerForGood(server);

    const result = await pending;
    assert.equal(result.node, 'w-lost');
    assert.deepEqual(result.output, { message: 'across a lost server' });
    assert.equal(worker.stepServer!.admitted, 1, 'the worker ran the step once');
    assert.ok((coord.registry.list().find((p) => p.name === 'w-lost')?.incarnation ?? 0) > incarnation, 'the worker came back under a higher incarnation');
    const resent = lines.find((l) => l.msg === 'a node came back after a reconnect: sent it the step requests still waiting on it again');
    assert.deepEqual(resent && { peer: resent.peer, requests: resent.requests }, { peer: 'w-lost', requests: 1 });
  } finally {
    await stopAll([coord, worker]);
    await held?.release();
    await nats.stop();
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MeshStepRunner } from '../../../src/dispatch/index.js';
import type { StepCall } from '../../../src/engine/types.js';
import { silentLogger } from '../../../src/log/index.js';
import { PeerRegistry } from '../../../src/mesh/registry.js';
import { decodeJson } from '../../../src/protocol/codec.js';
import { STEP_BATCH_TYPE } from '../../../src/protocol/step-batch.js';
import { testCapabilities } from '../../harness/capabilities.js';
import { natsForTests } from '../../harness/nats.js';
import { startStepServer } from './step-requests.js';

const shared = natsForTests();

let seq = 0;
const echo = (i: number): StepCall => ({
  execution_id: `ex-${++seq}`,
  step_id: 's',
  attempt: 1,
  task: { kind: 'tool', tool_id: 'echo', tool_type: 'echo', args: { i } },
  timeout_ms: 10_000,
  isolation: 'in_process',
});

/** One peer `name` (a step server on the shared connection) known to a coordinator's registry as taking batches or not; the messages on its step subject are counted. */
async function peer(name: string, takesBatches: boolean) {
  const { id, subject, ended } = startStepServer(shared.nc, name, 64);
  const messages: { batch: boolean }[] = [];
  const tap = shared.nc.subscribe(subject, { callback: (_e, m) => messages.push({ batch: (decodeJson(m.data) as { type?: string }).type === STEP_BATCH_TYPE }) });
  await shared.nc.flush();
  const registry = new PeerRegistry();
  registry.alive(testCapabilities(id, { name, ...(takesBatches && { takes_step_batches: true }) }), 0, 'RUNNING', Date.now());
  const runner = new MeshStepRunner({ nc: shared.nc, registry, origin: 'coord', log: silentLogger() });
  return { runner, ran: () => ended.map((r) => r.execution_id), messages, stop: () => tap.unsubscribe() };
}

test('steps dispatched together to a peer that takes batches leave joined, and each runs once with its own result', async () => {
  const p = await peer('joins', true);
  const calls = Array.from({ length: 40 }, (_, i) => echo(i));
  const results = await Promise.all(calls.map((c) => p.runner.run(c, new AbortController().signal)));
  assert.deepEqual(results.map((r) => (r.output as { i: number }).i), calls.map((_, i) => i), 'each call got its own output');
  assert.deepEqual(p.ran().sort(), calls.map((c) => c.execution_id).sort(), 'each step ran once');
  assert.ok(p.messages.length <= 2, `40 steps in ${p.messages.length} messages`);
  assert.ok(p.messages.some((m) => m.batch));
  // One step alone goes as a plain request.
  p.messages.length = 0;
  await p.runner.run(echo(99), new AbortController().signal);
  assert.deepEqual(p.messages, [{ batch: false }]);
  p.stop();
});

test('a peer that does not say it takes batches (an older version) gets every step as a message of its own', async () => {
  const p = await peer('plain', false);
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => p.runner.run(echo(i), new AbortController().signal)));
  assert.equal(results.length, 20);
  assert.equal(p.messages.length, 20);
  assert.ok(p.messages.every((m) => !m.batch));
  assert.equal(p.ran().length, 20);
  p.stop();
});

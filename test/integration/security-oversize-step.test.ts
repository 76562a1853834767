/**
 * A step request over the NATS server's max_payload can never be delivered to any node: it fails
 * at once, naming the limit, instead of being retried as "next node" until its deadline.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MeshStepRunner } from '../../src/dispatch/index.js';
import type { StepCall } from '../../src/engine/types.js';
import { silentLogger } from '../../src/log/index.js';
import type { MeshNode } from '../../src/node/index.js';
import { StepFailure } from '../../src/protocol/errors.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { waitFor } from '../harness/processes.js';

const call = (args: unknown): StepCall => ({
  execution_id: 'ex-big',
  step_id: 'big',
  attempt: 1,
  task: { kind: 'tool', tool_id: 'echo', tool_type: 'echo', args },
  requires: { node: 'far' },
  // Long enough that the old behaviour (retry until the deadline) cannot pass as "at once".
  timeout_ms: 600_000,
  isolation: 'in_process',
});

describe('an over-size step request', () => {
  let nats: TestNats;
  const nodes: MeshNode[] = [];
  let runner: MeshStepRunner;

  before(async () => {
    nats = await startTestNats({ extraConfig: 'max_payload: 8192', useEnv: false, jetstream: false });
    nodes.push(await startTestNode(nats.url, { name: 'near' }));
    nodes.push(await startTestNode(nats.url, { name: 'far' }));
    const near = nodes[0]!;
    await waitFor('near sees far', () => (near.registry.size === 2 ? true : undefined), 20_000);
    runner = new MeshStepRunner({ nc: near.nc, registry: near.registry, origin: near.name, log: silentLogger() });
  });

  after(async () => {
    await stopAll(nodes);
    await nats?.stop();
  });

  test('fails at once with a non-retryable failure naming the limit; a small one still runs', async () => {
    const small = await runner.run(call({ text: 'fits' }), new AbortController().signal);
    assert.equal(small.node, 'far');
    let failure: unknown;
    try {
      await runner.run(call({ text: 'x'.repeat(20_000) }), new AbortController().signal);
    } catch (err) {
      failure = err;
    }
    assert.ok(failure instanceof StepFailure, String(failure));
    assert.equal(failure.type, 'invalid_args');
    assert.equal(failure.retryable, false);
    assert.match(failure.message, /step big: its request is \d+ bytes, over the NATS payload limit of 8192 bytes \(the server's max_payload\)/);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StepServer } from '../../../src/dispatch/index.js';
import { createStepExecutor } from '../../../src/executor/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { StallWatch } from '../../../src/mesh/stall-watch.js';
import type { StepRequest } from '../../../src/protocol/step.js';
import { natsForTests } from '../../harness/nats.js';
import { stepRequest } from './step-requests.js';

const shared = natsForTests();

/** A stall watch that says when it ticks. */
class CountedWatch extends StallWatch {
  ticking = false;
  starts = 0;
  override start(): this {
    if (!this.ticking) this.starts++;
    this.ticking = true;
    return super.start();
  }
  override stop(): void {
    this.ticking = false;
    super.stop();
  }
}

const request = (n: number, task: StepRequest['task']): StepRequest => stepRequest(n, task);

test('the stall watch ticks while steps run here, and only then', async () => {
  const env = { node_name: 'n', allow: { filesystem_root: process.cwd(), http_hosts: [], shell_commands: [], env_vars: [] }, llm: { models: [], timeout_ms: 1_000 }, max_output_bytes: 1 << 20 };
  const watch = new CountedWatch();
  const server = new StepServer({
    nc: shared.nc,
    nodeId: 'id-1',
    nodeName: 'n',
    maxConcurrency: 4,
    executor: createStepExecutor(env),
    accepting: () => true,
    onLoadChange: () => undefined,
    stalls: { watch, fenceAfterMs: 2_500 },
    log: silentLogger(),
  });
  server.start();
  const sleep = (n: number, ms: number) => server.serve(request(n, { kind: 'tool', tool_id: 'sleep', tool_type: 'sleep', args: { ms } }));
  assert.equal(watch.ticking, false, 'an idle node does not tick');
  const short = sleep(1, 200);
  const long = sleep(2, 400);
  assert.equal(watch.ticking, true, 'ticking while steps run');
  assert.equal((await short).ok, true);
  assert.equal(watch.ticking, true, 'still ticking while one step runs');
  assert.equal((await long).ok, true);
  assert.equal(watch.ticking, false, 'stopped once none runs');
  assert.equal(watch.starts, 1, 'started once for the two overlapping steps');
  // An instant step (echo) has nothing to fence: it never starts the watch.
  assert.equal((await server.serve(request(3, { kind: 'tool', tool_id: 'echo', tool_type: 'echo', args: { message: 'hi' } }))).ok, true);
  assert.equal(watch.starts, 1);
  await server.drain(1_000);
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import type { MeshNode } from '../../src/node/index.js';
import { decodeJson, encodeJson } from '../../src/protocol/codec.js';
import { StepReplySchema, type StepReply, type StepRequest, type StepTask } from '../../src/protocol/step.js';
import { subjects } from '../../src/protocol/subjects.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { eventually, spawnCli, type CliProcess } from '../harness/processes.js';

describe('isolated mode: misbehaving steps die in their own process, the node keeps serving', () => {
  let nats: TestNats;
  let observer: MeshNode;
  let worker: CliProcess;
  let nc: NatsConnection;
  let workerId = '';
  let n = 0;

  async function send(task: StepTask, timeoutMs = 20_000): Promise<StepReply> {
    const req: StepRequest = {
      type: 'wfmesh.step.request.v1',
      key: `k${++n}`,
      execution_id: `ex-iso-${n}`,
      step_id: `s${n}`,
      attempt: 1,
      origin: 'test',
      deadline: Date.now() + timeoutMs,
      isolation: 'child_process',
      task,
    };
    const msg = await nc.request(subjects.step("iso-worker", workerId), encodeJson(req), { timeout: timeoutMs + 10_000 });
    return StepReplySchema.parse(decodeJson(msg.data));
  }
  const fault = (method: string): StepTask => ({ kind: 'tool', tool_id: 'f', tool_type: 'fault', method, args: {} });
  const echo: StepTask = { kind: 'tool', tool_id: 'e', tool_type: 'echo', args: { still: 'serving' } };

  before(async () => {
    nats = await startTestNats({ jetstream: false });
    observer = await startTestNode(nats.url, { name: 'observer' });
    worker = spawnCli(['node', '--nats', nats.url, '--name', 'iso-worker', '--no-mcp'], { env: { WFMESH_TEST_FAULTS: '1' } });
    await worker.waitFor('node joined the mesh');
    await eventually(() => observer.registry.list().some((p) => p.name === 'iso-worker'), 'the worker is seen');
    workerId = observer.registry.list().find((p) => p.name === 'iso-worker')!.id;
    nc = await connect({ servers: nats.url });
  });

  after(async () => {
    worker.kill('SIGKILL');
    await nc.close();
    await stopAll([observer]);
    await nats.stop();
  });

  test('an isolated echo step runs in a child process and answers', async () => {
    const r = await send(echo);
    assert.ok(r.ok);
    assert.deepEqual(r.ok && r.output, { still: 'serving' });
  });

  for (const [method, pattern] of [
    ['crash', /crash|uncaught|exit/i],
    ['exit', /exit(ed)? .*3|code 3/i],
    ['oom', /memory/i],
  ] as const) {
    test(`a step that does "${method}" fails as crashed with a clear reason`, async () => {
      const r = await send(fault(method));
      assert.equal(r.ok, false);
      assert.ok(!r.ok);
      assert.equal(r.failure.type, 'crashed', r.failure.message);
      assert.match(r.failure.message, pattern);
      assert.ok((await send(echo)).ok, 'the node still serves');
    });
  }

  test('an endless loop is killed at its deadline and fails as a timeout', async () => {
    const r = await send(fault('loop'), 1_500);
    assert.ok(!r.ok);
    assert.equal(r.failure.type, 'timeout', r.failure.message);
    assert.ok((await send(echo)).ok, 'the node still serves');
    assert.equal(worker.child.exitCode, null, 'the node process is alive');
  });
});

/**
 * The record changes of steps dispatched over a real mesh (nats-server, two nodes, the mesh
 * runner): each step tells the record's observers twice, running with its dispatch, then done.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runExecution } from '../../src/engine/index.js';
import { stepRunners, type MeshNode } from '../../src/node/index.js';
import type { StepRecord } from '../../src/protocol/execution.js';
import { loadWorkflowDocument } from '../../src/workflow/index.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { eventually } from '../harness/processes.js';

const CHAIN = `
workflows:
  chain:
    steps:
      - {id: a, tool: echo, args: {n: 1}, requires: {node: rc-worker}, output: {to: b}}
      - {id: b, tool: echo, args: {n: 2}, requires: {node: rc-worker}, output: {to: c}}
      - {id: c, tool: echo, args: {n: 3}, requires: {node: rc-worker}, output: {to: user}}
`;

describe('record changes of steps dispatched over the mesh', () => {
  let nats: TestNats;
  let coordinator: MeshNode;
  let worker: MeshNode;

  before(async () => {
    nats = await startTestNats();
    coordinator = await startTestNode(nats.url, { name: 'rc-coordinator' });
    worker = await startTestNode(nats.url, { name: 'rc-worker' });
    await eventually(() => coordinator.registry.size === 2, 'the coordinator sees the worker');
  });

  after(async () => {
    await stopAll([coordinator, worker]);
    await nats.stop();
  });

  test('each step makes two changes: running on its node with the dispatch open, then completed with it closed', async () => {
    const seen: StepRecord[] = [];
    const record = await runExecution({
      document: loadWorkflowDocument(CHAIN),
      input: 'x',
      runner: stepRunners(coordinator)('distributed'),
      mode: 'distributed',
      coordinator: coordinator.name,
      onChange: (r, i) => {
        if (i !== undefined) seen.push(structuredClone(r.steps[i] as StepRecord));
      },
    });
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    assert.deepEqual(record.output, { n: 3 });
    for (const id of ['a', 'b', 'c']) {
      const changes = seen.filter((r) => r.id === id);
      assert.deepEqual(
        changes.map((r) => [r.status, r.node, r.attempts, r.history?.map((h) => `${h.attempt}@${h.node}:${h.status}`)]),
        [
          ['running', 'rc-worker', 1, ['1@rc-worker:running']],
          ['completed', 'rc-worker', 1, ['1@rc-worker:completed']],
        ],
        `changes of ${id}`,
      );
    }
  });
});

/**
 * How many changes a step makes to the record, and what each shows: observers (the durable
 * writer, progress events, watchers) pay for every change, so a dispatched step makes two.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runExecution, type StepCall, type StepRunner } from '../../../src/engine/index.js';
import type { ExecutionRecord, StepRecord } from '../../../src/protocol/execution.js';
import { loadWorkflowDocument } from '../../../src/workflow/index.js';
import { row } from './helpers.js';

const CHAIN = `
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {n: 1}, output: {to: b}}
      - {id: b, tool: echo, args: {n: 2}, output: {to: c}}
      - {id: c, tool: echo, args: {n: 3}, output: {to: user}}
`;

/** Runs CHAIN through `runner`; every change as the changed row looked then (a copy). */
async function changesThrough(runner: StepRunner): Promise<{ record: ExecutionRecord; seen: StepRecord[] }> {
  const seen: StepRecord[] = [];
  const record = await runExecution({
    document: loadWorkflowDocument(CHAIN),
    input: 'x',
    runner,
    mode: 'distributed',
    coordinator: 'here',
    onChange: (r, i) => {
      if (i !== undefined) seen.push(structuredClone(r.steps[i] as StepRecord));
    },
  });
  return { record, seen };
}

/** Answers every step on node "w2", telling the engine of the dispatch as the mesh runner does. */
function meshLike(opts: { sendLater?: boolean } = {}): StepRunner & { dispatches: number } {
  const runner = {
    dispatches: 0,
    async run(call: StepCall) {
      if (opts.sendLater) await new Promise((r) => setTimeout(r, 1));
      runner.dispatches++;
      call.track?.({ kind: 'sent', node: 'w2' });
      await Promise.resolve();
      call.track?.({ kind: 'ended', node: 'w2', status: 'completed' });
      return { output: call.task.kind === 'tool' ? call.task.args : null, node: 'w2' };
    },
  };
  return runner;
}

describe('record changes of a step', () => {
  test('a step sent at once makes two changes: running with its dispatch, then completed with it closed', async () => {
    const runner = meshLike();
    const { record, seen } = await changesThrough(runner);
    assert.equal(record.status, 'completed');
    assert.equal(runner.dispatches, 3);
    for (const id of ['a', 'b', 'c']) {
      const mine = seen.filter((r) => r.id === id);
      assert.deepEqual(mine.map((r) => r.status), ['running', 'completed'], `changes of ${id}`);
      const [started, done] = mine as [StepRecord, StepRecord];
      // The first change already shows the attempt, its node and its open dispatch.
      assert.equal(started.attempts, 1);
      assert.equal(started.node, 'w2');
      assert.deepEqual(started.history?.map((h) => [h.attempt, h.node, h.status]), [[1, 'w2', 'running']]);
      assert.deepEqual(done.history?.map((h) => [h.attempt, h.node, h.status]), [[1, 'w2', 'completed']]);
      assert.ok(done.history?.[0]?.ended_at, `${id}: its dispatch has an end`);
    }
    assert.deepEqual(row(record, 'c').output, { n: 3 });
  });

  test('a step whose runner sends it later is running from the start, then shows its dispatch', async () => {
    const { record, seen } = await changesThrough(meshLike({ sendLater: true }));
    assert.equal(record.status, 'completed');
    const mine = seen.filter((r) => r.id === 'a');
    assert.deepEqual(mine.map((r) => [r.status, r.history?.length ?? 0]), [['running', 0], ['running', 1], ['completed', 1]]);
    assert.equal(mine[0]?.attempts, 1);
  });
});

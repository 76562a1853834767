/**
 * How many changes a step makes to the record, and what each shows, when its runner cannot send
 * it at once (no eligible node yet). A step sent at once makes two changes: see
 * test/integration/engine-record-changes.test.ts, with the mesh runner on a real nats-server.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runExecution, type StepCall, type StepRunner } from '../../../src/engine/index.js';
import type { ExecutionRecord, StepRecord } from '../../../src/protocol/execution.js';
import { loadWorkflowDocument } from '../../../src/workflow/index.js';
import { CHAIN } from './helpers.js';


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

/** Answers every step on node "w2" a moment after it is given, telling the engine of the dispatch as the mesh runner does. */
function sendsLater(): StepRunner {
  return {
    async run(call: StepCall) {
      await new Promise((r) => setTimeout(r, 1));
      call.track?.({ kind: 'sent', node: 'w2' });
      await Promise.resolve();
      call.track?.({ kind: 'ended', node: 'w2', status: 'completed' });
      return { output: call.task.kind === 'tool' ? call.task.args : null, node: 'w2' };
    },
  };
}

describe('record changes of a step', () => {
  test('a step whose runner sends it later is running from the start, then shows its dispatch', async () => {
    const { record, seen } = await changesThrough(sendsLater());
    assert.equal(record.status, 'completed');
    const mine = seen.filter((r) => r.id === 'a');
    assert.deepEqual(mine.map((r) => [r.status, r.history?.length ?? 0]), [['running', 0], ['running', 1], ['completed', 1]]);
    assert.equal(mine[0]?.attempts, 1);
  });
});

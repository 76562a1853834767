/**
 * The record held while a step that ended starts the next: the next step's request leaves before
 * the ended row, the new dispatch and their observers, and the changes are made in the order made.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runExecution, type StepCall, type StepRunner } from '../../../src/engine/index.js';
import { RecordKeeper } from '../../../src/engine/record.js';
import type { ExecutionRecord, StepRecord } from '../../../src/protocol/execution.js';
import { loadWorkflowDocument } from '../../../src/workflow/index.js';
import { CHAIN } from './helpers.js';


function emptyRecord(): ExecutionRecord {
  const at = new Date().toISOString();
  return { type: 'wfmesh.execution.v1', execution_id: 'e1', workflow: 'w', mode: 'distributed', status: 'running', steps: [], coordinator: 'here', created_at: at, updated_at: at };
}

/** Each change an observer was told of, as `row status`. */
function observed(): { seen: string[]; onChange: (r: ExecutionRecord, i: number | undefined) => void } {
  const seen: string[] = [];
  return { seen, onChange: (r, i) => i !== undefined && seen.push(`${(r.steps[i] as StepRecord).id} ${(r.steps[i] as StepRecord).status}`) };
}

/**
 * Sends every step at once, in the turn it is given (as the mesh runner does), and answers it a
 * moment later from node "w2". `atSend` sees each call as it is sent.
 */
function sendsAtOnce(atSend: (call: StepCall) => void): StepRunner {
  return {
    run(call: StepCall) {
      call.track?.({ kind: 'sent', node: 'w2' });
      const durable = call.awaitDurable?.();
      atSend(call);
      return (async () => {
        await durable;
        await new Promise((r) => setTimeout(r, 1));
        call.track?.({ kind: 'ended', node: 'w2', status: 'completed' });
        return { output: call.task.kind === 'tool' ? call.task.args : null, node: 'w2' };
      })();
    },
  };
}

describe('the record held while the next step starts', () => {
  test('held changes reach neither the record nor its observers until release, then all of them in the order made', () => {
    const { seen, onChange } = observed();
    const keeper = new RecordKeeper(emptyRecord(), { onChange });
    keeper.addAll(['a', 'b']);
    keeper.hold();
    keeper.running('a', 1, 'w2');
    keeper.completed('a', 'out', 'w2');
    keeper.running('b', 1, 'w2');
    assert.deepEqual(seen, []);
    assert.equal(keeper.record.steps[0]?.status, 'pending');
    keeper.release();
    assert.deepEqual(seen, ['a running', 'a completed', 'b running']);
    assert.equal(keeper.record.steps_done, 1);
    keeper.release(); // nothing held: nothing happens twice
    assert.deepEqual(seen, ['a running', 'a completed', 'b running']);
  });

  test('reading a row, sealing or finishing first makes what was held', () => {
    const k1 = new RecordKeeper(emptyRecord());
    k1.hold();
    k1.running('a', 1);
    assert.equal(k1.row('a')?.status, 'running');

    const k2 = new RecordKeeper(emptyRecord());
    k2.hold();
    k2.completed('a', 1, 'w2');
    const final = k2.finish('completed', { output: 1 }, 'skipped');
    assert.equal(final.steps[0]?.status, 'completed');
    assert.equal(final.steps_done, 1);
  });

  test("a step's request is sent before the step that ended shows completed, and observers see every change in order", async () => {
    const { seen, onChange } = observed();
    const seenAtSend: Record<string, string[]> = {};
    const record = await runExecution({
      document: loadWorkflowDocument(CHAIN),
      input: 'x',
      runner: sendsAtOnce((call) => (seenAtSend[call.step_id] = seen.slice())),
      mode: 'distributed',
      coordinator: 'here',
      onChange,
    });
    assert.equal(record.status, 'completed');
    // When a left, nobody had been told it runs; when b left, nobody had been told that a
    // completed yet (before, they had: the old order).
    assert.deepEqual(seenAtSend.a, []);
    assert.ok(!seenAtSend.b?.includes('a completed'), `seen when b was sent: ${JSON.stringify(seenAtSend.b)}`);
    assert.ok(!seenAtSend.c?.includes('b completed'), `seen when c was sent: ${JSON.stringify(seenAtSend.c)}`);
    assert.deepEqual(seen, ['a running', 'a completed', 'b running', 'b completed', 'c running', 'c completed']);
    assert.deepEqual(record.steps.map((s) => [s.id, s.status, s.history?.map((h) => h.status)]), [
      ['a', 'completed', ['completed']],
      ['b', 'completed', ['completed']],
      ['c', 'completed', ['completed']],
    ]);
  });

  test('a durable write before a dispatch includes what was held: the step that ended and the new dispatch', async () => {
    let live: ExecutionRecord | undefined;
    const atDurableWrite: Record<string, string[]> = {};
    const record = await runExecution({
      document: loadWorkflowDocument(CHAIN),
      input: 'x',
      runner: sendsAtOnce(() => undefined),
      mode: 'distributed',
      coordinator: 'here',
      onChange: (r) => (live = r),
      beforeDispatch: (call, recordNow) => {
        recordNow();
        atDurableWrite[call.step_id] = (live?.steps ?? []).map((s) => `${s.id} ${s.status} ${s.history?.length ?? 0}`);
        return Promise.resolve();
      },
    });
    assert.equal(record.status, 'completed');
    // The first step's: the rows added and its dispatch, held until then.
    assert.deepEqual(atDurableWrite.a, ['a running 1', 'b pending 0', 'c pending 0']);
    assert.deepEqual(atDurableWrite.b, ['a completed 1', 'b running 1', 'c pending 0']);
    assert.deepEqual(atDurableWrite.c, ['a completed 1', 'b completed 1', 'c running 1']);
  });
});

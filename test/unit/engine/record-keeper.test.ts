/**
 * A dispatch that ended completed is written into its row with the row's own change that follows
 * (one copy of the row instead of two). Whatever follows instead, the history shows the dispatch
 * completed, and no observer ever sees a final row with a dispatch still running.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runExecution, type StepCall, type StepRunner } from '../../../src/engine/index.js';
import { RecordKeeper } from '../../../src/engine/record.js';
import { StepFailure } from '../../../src/protocol/errors.js';
import type { ExecutionRecord, StepRecord } from '../../../src/protocol/execution.js';
import type { Requires } from '../../../src/protocol/step.js';
import { loadWorkflowDocument } from '../../../src/workflow/index.js';

function keeper(): { keeper: RecordKeeper; seen: StepRecord[] } {
  const record: ExecutionRecord = {
    type: 'wfmesh.execution.v1',
    execution_id: 'e1',
    workflow: 'w',
    mode: 'distributed',
    status: 'running',
    steps: [],
    coordinator: 'here',
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
  };
  const seen: StepRecord[] = [];
  const k = new RecordKeeper(record, { onChange: (r, i) => i !== undefined && seen.push(structuredClone(r.steps[i] as StepRecord)) });
  k.addAll(['a', 'b']);
  return { keeper: k, seen };
}

const statuses = (row: StepRecord | undefined) => row?.history?.map((h) => h.status);

/** Every row an observer saw that was final had no dispatch still running. */
function assertNoOpenDispatchInFinalRows(seen: StepRecord[]): void {
  for (const row of seen) {
    if (row.status === 'running' || row.status === 'pending') continue;
    assert.ok(!row.history?.some((h) => h.status === 'running'), `${row.id} ${row.status} with a dispatch running: ${JSON.stringify(row.history)}`);
  }
}

describe('RecordKeeper: a completed dispatch', () => {
  test('is closed by the completion of its row, in one change', () => {
    const { keeper: k, seen } = keeper();
    k.dispatched('a', 1, 'w2');
    k.dispatchEnded('a', 1, 'w2', 'completed');
    k.completed('a', { ok: true }, 'w2');
    const row = k.row('a');
    assert.equal(row?.status, 'completed');
    assert.deepEqual(statuses(row), ['completed']);
    assert.ok(row?.history?.[0]?.ended_at);
    assert.deepEqual(seen.filter((r) => r.id === 'a').map((r) => [r.status, statuses(r)]), [['running', ['running']], ['completed', ['completed']]]);
  });

  test('shows completed when its row then fails (its routes failed), is cancelled, or the execution ends', () => {
    const { keeper: k, seen } = keeper();
    k.dispatched('a', 1, 'w2');
    k.dispatchEnded('a', 1, 'w2', 'completed');
    k.failed('a', new StepFailure('invalid_args', 'routes to a missing step', false), 'w2');
    assert.equal(k.row('a')?.status, 'failed');
    assert.deepEqual(statuses(k.row('a')), ['completed']);

    k.dispatched('b', 1, 'w3');
    k.dispatchEnded('b', 1, 'w3', 'completed');
    k.ended('b', 'cancelled');
    assert.equal(k.row('b')?.status, 'cancelled');
    assert.deepEqual(statuses(k.row('b')), ['completed']);
    assertNoOpenDispatchInFinalRows(seen);
  });

  test('is written before another row changes, and before the record is finished or sealed', () => {
    const { keeper: k, seen } = keeper();
    k.dispatched('a', 1, 'w2');
    k.dispatchEnded('a', 1, 'w2', 'completed');
    k.dispatched('b', 1, 'w3'); // another row changes first
    assert.deepEqual(statuses(k.record.steps[0]), ['completed']);
    k.dispatchEnded('b', 1, 'w3', 'completed');
    const final = k.finish('cancelled', {}, 'cancelled');
    const b = final.steps.find((r) => r.id === 'b');
    assert.equal(b?.status, 'cancelled');
    assert.deepEqual(statuses(b), ['completed']);
    assertNoOpenDispatchInFinalRows(seen);

    const other = keeper().keeper;
    other.dispatched('a', 1, 'w2');
    other.dispatchEnded('a', 1, 'w2', 'completed');
    other.seal();
    assert.deepEqual(statuses(other.record.steps[0]), ['completed']);
  });

  test('of an attempt whose row already ended (a late reply) closes its entry and leaves the row as it was', () => {
    const { keeper: k, seen } = keeper();
    k.dispatched('a', 1, 'w2');
    k.ended('a', 'cancelled'); // a sibling failed meanwhile
    k.dispatchEnded('a', 1, 'w2', 'completed');
    k.completed('a', { late: true }, 'w2'); // never happens after a cancel, and changes nothing if it does
    const row = k.row('a');
    assert.equal(row?.status, 'cancelled');
    assert.equal(row?.output, undefined);
    assert.deepEqual(statuses(row), ['completed']);
    assert.equal(seen.filter((r) => r.id === 'a').length, 2);
  });

  test('of one node is not taken for the completion of a dispatch to another', () => {
    const { keeper: k } = keeper();
    k.dispatched('a', 1, 'w2');
    k.dispatchEnded('a', 1, 'w2', 'lost', 'left the mesh');
    k.dispatched('a', 1, 'w3');
    k.dispatchEnded('a', 1, 'w3', 'completed');
    k.completed('a', 'done', 'w3');
    const row = k.row('a');
    assert.deepEqual(row?.history?.map((h) => [h.node, h.status]), [['w2', 'lost'], ['w3', 'completed']]);
    assert.equal(row?.node, 'w3');
  });
});

describe('a tool step whose tool declares requires too', () => {
  test('places every attempt with the same combined constraints (one object: placement caches by it)', async () => {
    const seen: (Requires | undefined)[] = [];
    const runner: StepRunner = {
      async run(call: StepCall) {
        seen.push(call.requires);
        if (seen.length < 3) throw new StepFailure('tool_error', 'not yet', true);
        return { output: 'ok', node: 'w2' };
      },
    };
    const document = loadWorkflowDocument(`
tools:
  - {id: gpu_echo, type: echo, requires: {gpu: true}}
workflows:
  w:
    steps:
      - {id: a, tool: gpu_echo, args: {}, requires: {region: eu-west}, retry: {count: 2, backoff_ms: 1}}
`);
    const record = await runExecution({ document, input: 'x', runner, mode: 'distributed', coordinator: 'here' });
    assert.equal(record.status, 'completed');
    assert.equal(seen.length, 3);
    assert.deepEqual(seen[0], { gpu: true, region: 'eu-west' });
    assert.ok(seen.every((r) => r === seen[0]), 'a fresh constraints object per attempt');
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, runExecution, type StepRunner } from '../../../src/engine/index.js';
import { loadWorkflowDocument } from '../../../src/workflow/index.js';
import type { StepStatus } from '../../../src/protocol/execution.js';
import { countingAbortControllers, row, run, statuses } from './helpers.js';

describe('retry', () => {
  test('retryable failures are retried; attempts are counted on one row', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - {id: f, tool: flaky, args: {times: 2}, retry: {count: 2, backoff_ms: 1}}
`);
    assert.equal(record.status, 'completed');
    assert.equal(row(record, 'f').attempts, 3);
    assert.deepEqual(row(record, 'f').output, { ok: true, after: 2 });
  });

  test('the last failure is reported after the retries run out', async () => {
    const { record } = await run('workflows: {w: [{id: f, tool: flaky, args: {times: 5}, retry: {count: 1, backoff_ms: 1}}]}');
    assert.equal(record.status, 'failed');
    assert.equal(row(record, 'f').attempts, 2);
    assert.deepEqual(row(record, 'f').error, { type: 'tool_error', message: 'flaky failure 2', retryable: true });
  });

  test('failures that are not retryable are not retried', async () => {
    const { record } = await run('workflows: {w: [{id: f, tool: flaky, args: {times: 1, retryable: false}, retry: 3}]}');
    assert.equal(row(record, 'f').attempts, 1);
    assert.equal(record.status, 'failed');
  });

  test('backoff grows exponentially, is capped, and is jittered', () => {
    const r = { count: 5, backoff_ms: 100, max_backoff_ms: 1000 };
    assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffMs(r, a, () => 0)), [50, 100, 200, 400, 500]);
    assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffMs(r, a, () => 0.999999)), [100, 200, 400, 800, 1000]);
    assert.equal(backoffMs(r, 50, () => 0.5), 750);
  });
});

describe('timeouts and continue_on_error', () => {
  test('a step past its timeout fails with type timeout and its work is aborted', async () => {
    const { record, executor } = await run('workflows: {w: [{id: s, tool: sleep, args: {tag: s, ms: 10000}, timeout: 50ms}]}');
    assert.equal(record.status, 'failed');
    assert.equal(row(record, 's').error?.type, 'timeout');
    assert.match(record.error?.message ?? '', /timeout of 50 ms/);
    assert.ok(executor.events.includes('abort s'));
  });

  test('a timeout on a loop bounds the whole loop', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - {id: l, timeout: 50ms, loop: {max: 3, body: [{id: s, tool: sleep, args: {ms: 10000}}]}}
`);
    assert.equal(record.error?.type, 'timeout');
    assert.equal(row(record, 'l').status, 'failed');
    assert.equal(row(record, 'l[0].s').status, 'cancelled');
  });

  test('continue_on_error: the failure is recorded and the flow goes on with {error}', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - id: risky
        tool: fail
        args: {message: disk full}
        continue_on_error: true
        output:
          to:
            - condition: {if: "\${risky.output.error} exists", then: handle, else: fine}
      - {id: handle, tool: echo, args: {msg: "\${risky.output.error.message}"}, output: {to: user}}
      - {id: fine, tool: echo, args: {}, output: {to: user}}
`);
    assert.equal(record.status, 'completed');
    assert.equal(row(record, 'risky').status, 'failed');
    assert.equal(row(record, 'risky').error?.message, 'disk full');
    assert.deepEqual(record.output, { msg: 'disk full' });
    assert.equal(row(record, 'fine').status, 'skipped');
  });

  test('a failure stops running siblings and skips what never started', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {}, output: {to: [bad, slow]}}
      - {id: bad, tool: fail, args: {}, output: {to: user}}
      - {id: slow, tool: sleep, args: {ms: 10000}, output: {to: later}}
      - {id: later, tool: echo, args: {}}
`);
    assert.equal(record.status, 'failed');
    assert.deepEqual(record.error, { step: 'bad', type: 'tool_error', message: 'failed on purpose' });
    assert.deepEqual(statuses(record), { a: 'completed', bad: 'failed', slow: 'cancelled', later: 'skipped' });
  });

  test('a variable that cannot resolve at run time fails the step, never a leftover ${...}', async () => {
    const { record, executor } = await run(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {x: 1}}
      - {id: b, tool: echo, args: {tag: b, y: "value: \${a.output.y}"}}
`);
    assert.equal(record.status, 'failed');
    assert.equal(record.error?.step, 'b');
    assert.equal(record.error?.type, 'invalid_args');
    assert.match(record.error?.message ?? '', /\$\{a\.output\.y\}: a\.output has no field "y"; it has x/);
    assert.ok(!executor.events.includes('start b'), 'the step never ran with a half-resolved argument');
  });

  test('env values reach ${env.NAME} only for allowed names', async () => {
    const { record } = await run('workflows: {w: [{tool: echo, args: {r: "${env.REGION}"}}]}', '', { allowedEnv: ['REGION'], env: { REGION: 'eu-west' } });
    assert.deepEqual(record.output, { r: 'eu-west' });
  });
});

describe('cancellation and the record', () => {
  test('aborting the signal reaches in-flight steps and ends the record cancelled', async () => {
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('user asked')), 300); // after s1 and z have started (they sleep 10 s)
    const { record, executor } = await run(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {}, output: {to: [s1, s2]}}
      - {id: s1, tool: sleep, args: {tag: s1, ms: 10000}}
      - {id: s2, loop: {max: 2, body: [{id: z, tool: sleep, args: {tag: z, ms: 10000}}]}}
      - {id: after, depends_on: [s1, s2], tool: echo, args: {}}
`, 'x', { signal: ctl.signal });
    assert.equal(record.status, 'cancelled');
    assert.equal(record.error?.message, 'user asked');
    assert.ok(executor.events.includes('abort s1'));
    assert.ok(executor.events.includes('abort z'));
    assert.equal(row(record, 's1').status, 'cancelled');
    assert.equal(row(record, 's2').status, 'cancelled');
    assert.equal(row(record, 's2[0].z').status, 'cancelled');
    assert.equal(row(record, 'after').status, 'cancelled');
  });

  test('aborting the signal stops a step that runs alone, and what follows it never starts', async () => {
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('user asked')), 300); // while s sleeps (10 s), the only step in flight
    const { record, executor } = await run(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {}, output: {to: s}}
      - {id: s, tool: sleep, args: {tag: s, ms: 10000}, output: {to: b}}
      - {id: b, tool: echo, args: {tag: b}}
`, 'x', { signal: ctl.signal });
    assert.equal(record.status, 'cancelled');
    assert.equal(record.error?.message, 'user asked');
    assert.ok(executor.events.includes('abort s'));
    assert.ok(!executor.events.includes('start b'));
    assert.deepEqual(statuses(record), { a: 'completed', s: 'cancelled', b: 'cancelled' });
  });

  test('steps that run one at a time share the outer signal; steps beside others get one controller for the list', async () => {
    const signals: AbortSignal[] = [];
    const runner: StepRunner = {
      run: async (call, signal) => {
        signals.push(signal);
        return { output: call.task.kind === 'tool' ? call.task.args : null, node: 'n' };
      },
    };
    const outer = new AbortController();
    const go = (yaml: string) => countingAbortControllers(() => runExecution({ document: loadWorkflowDocument(yaml), input: 'x', runner, mode: 'distributed', coordinator: 'n', signal: outer.signal }));
    const chain = await go('workflows: {w: [{id: a, tool: echo, args: {}}, {id: b, tool: echo, args: {}}, {id: c, tool: echo, args: {}}]}');
    assert.equal(chain.value.status, 'completed');
    assert.equal(chain.made, 0);
    assert.deepEqual(signals, [outer.signal, outer.signal, outer.signal]);
    signals.length = 0;
    const fanOut = await go(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {}, output: {to: [b, c]}}
      - {id: b, tool: echo, args: {}, output: {to: d}}
      - {id: c, tool: echo, args: {}, output: {to: d}}
      - {id: d, tool: echo, args: {}}
`);
    assert.equal(fanOut.value.status, 'completed');
    assert.equal(fanOut.made, 1);
    assert.equal(signals[0], outer.signal, 'a runs alone');
    assert.ok(signals[1] !== outer.signal && signals[1] === signals[2], 'b and c share the list signal');
    assert.equal(signals[3], outer.signal, 'd runs alone again');
  });

  test('an already aborted signal cancels before any step runs', async () => {
    const { record, executor } = await run('workflows: {w: [{tool: echo}]}', '', { signal: AbortSignal.abort() });
    assert.equal(record.status, 'cancelled');
    assert.deepEqual(executor.events, []);
  });

  test('onUpdate sees every change; each row reaches a final status once and keeps it', async () => {
    const { record, updates } = await run(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {}, output: {to: [b, c]}}
      - {id: b, tool: flaky, args: {times: 1}, retry: {count: 1, backoff_ms: 1}}
      - {id: c, tool: fail, args: {}, continue_on_error: true}
      - {id: d, depends_on: [b, c], tool: echo, args: {}}
`);
    assert.equal(record.status, 'completed');
    assert.ok(updates.length >= 8);
    assert.equal(updates.at(-1)?.status, 'completed');
    const final: StepStatus[] = ['completed', 'failed', 'skipped', 'cancelled'];
    for (const s of record.steps) {
      const seen = updates.map((u) => u.steps.find((r) => r.id === s.id)?.status).filter((x) => x !== undefined);
      const firstFinal = seen.findIndex((x) => final.includes(x));
      assert.ok(firstFinal >= 0, `${s.id} reached a final status`);
      assert.ok(seen.slice(firstFinal).every((x) => x === seen[firstFinal]), `${s.id} changed after it was final: ${seen.join(' ')}`);
    }
    // Snapshots never change after they are handed out (rows are replaced, not edited).
    const first = updates[0];
    assert.deepEqual(first?.steps.map((s) => s.status), ['pending', 'pending', 'pending', 'pending']);
    assert.equal(first?.status, 'running');
  });
});

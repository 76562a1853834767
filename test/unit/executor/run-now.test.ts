import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStepExecutor } from '../../../src/executor/index.js';
import { StepFailure } from '../../../src/protocol/errors.js';
import type { StepTask } from '../../../src/protocol/step.js';
import { never, testEnv, toolTask } from './helpers.js';

/** What a task gives: its output, or its failure's type and message. */
type Outcome = { output: unknown } | { failure: string; message: string };

const outcome = (run: () => unknown): Outcome => {
  try {
    return { output: run() };
  } catch (err) {
    assert.ok(err instanceof StepFailure, `a StepFailure, not ${String(err)}`);
    return { failure: err.type, message: err.message };
  }
};
const settled = async (p: Promise<unknown>): Promise<Outcome> => {
  try {
    return { output: await p };
  } catch (err) {
    assert.ok(err instanceof StepFailure, `a StepFailure, not ${String(err)}`);
    return { failure: err.type, message: err.message };
  }
};

describe('runNow (instant tools, run at once by the step server)', () => {
  const ex = createStepExecutor(testEnv({ max_output_bytes: 200 }));
  const tasks: StepTask[] = [
    toolTask('echo', undefined, { message: 'hello', n: [1, 2] }),
    toolTask('echo', 'anything', undefined),
    toolTask('transform', 'pick', { value: { a: { b: 2 } }, path: 'a.b' }),
    toolTask('transform', 'pick', { value: { a: 1 }, path: 'a.zz' }),
    toolTask('transform', 'template', { template: 'Hi {{name}}', values: { name: 'Ann' } }),
    toolTask('transform', 'json_parse', { text: '{nope' }),
    toolTask('transform', 'split', { text: 42 }),
    toolTask('transform', 'nosuchmethod', {}),
    toolTask('transform', undefined, {}),
    toolTask('echo', undefined, { big: 'x'.repeat(500) }), // over max_output_bytes
  ];

  for (const task of tasks) {
    const name = `${task.kind === 'tool' ? `${task.tool_type}.${task.method ?? '-'}` : 'agent'} ${String(JSON.stringify(task.kind === 'tool' ? task.args : '')).slice(0, 40)}`;
    test(`gives what execute gives: ${name}`, async () => {
      assert.equal(ex.isInstant?.(task), true);
      assert.deepEqual(outcome(() => ex.runNow!(task)), await settled(ex.execute(task, never())));
    });
  }

  test('failures name the field or the limit, as execute says them', () => {
    assert.deepEqual(outcome(() => ex.runNow!(toolTask('transform', 'split', { text: 42 }))), { failure: 'invalid_args', message: 'transform.split: args.text: Invalid input: expected string, received number' });
    const big = outcome(() => ex.runNow!(toolTask('echo', undefined, { big: 'x'.repeat(500) })));
    assert.ok('failure' in big && big.failure === 'tool_error' && /over the node's max_output_bytes limit of 200 bytes/.test(big.message), JSON.stringify(big));
  });

  test('a task that is not an instant tool is refused, not run', () => {
    const shell = toolTask('shell', 'run', { command: 'true' });
    assert.equal(ex.isInstant?.(shell), false);
    assert.throws(() => ex.runNow!(shell), /not an instant tool/);
  });
});

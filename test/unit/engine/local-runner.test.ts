/**
 * LocalStepRunner with the real executor: instant tools (echo, transform) run at once, without the
 * controller, timer and listeners of the usual way, and end exactly as the usual way ends them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalStepRunner, runExecution, type StepCall } from '../../../src/engine/index.js';
import { createStepExecutor } from '../../../src/executor/index.js';
import { StepFailure } from '../../../src/protocol/errors.js';
import { loadWorkflowDocument, validateWorkflowText } from '../../../src/workflow/index.js';
import { testEnv, toolTask } from '../executor/helpers.js';
import { countingAbortControllers } from './helpers.js';

const executor = createStepExecutor(testEnv());
const runner = new LocalStepRunner(executor, 'here');
const call = (task: StepCall['task'], extra: Partial<StepCall> = {}): StepCall => ({ execution_id: 'e', step_id: 's', attempt: 1, task, timeout_ms: 1_000, isolation: 'in_process', ...extra });

test('a sync chain of instant tools runs without an AbortController, with the outputs of the usual way', async () => {
  const doc = loadWorkflowDocument(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {message: "\${user_input}"}}
      - {id: b, tool: transform, method: template, args: {template: "got {{m}}", values: {m: "\${a.output.message}"}}}
`);
  const signal = new AbortController().signal;
  const { value: record, made } = await countingAbortControllers(() => runExecution({ document: doc, input: 'hi', runner, mode: 'sync', coordinator: 'here', signal }));
  assert.equal(made, 0);
  assert.equal(record.status, 'completed');
  assert.equal(record.output, 'got hi');
  assert.deepEqual(record.steps.map((s) => [s.id, s.status, s.node]), [['a', 'completed', 'here'], ['b', 'completed', 'here']]);
});

test('an instant tool that fails ends with the failure its usual way gives', async () => {
  const task = toolTask('transform', 'json_parse', { text: 'not json' });
  const usual = await executor.execute(task, new AbortController().signal).then(() => undefined, (err: unknown) => err as StepFailure);
  await assert.rejects(runner.run(call(task), new AbortController().signal), (err: unknown) => {
    assert.ok(err instanceof StepFailure);
    assert.equal(err.type, usual?.type);
    assert.equal(err.message, usual?.message);
    assert.equal(err.retryable, usual?.retryable);
    return true;
  });
});

test('an instant step of an aborted execution is cancelled and does not run; its durable write comes first', async () => {
  await assert.rejects(runner.run(call(toolTask('echo', undefined, { x: 1 })), AbortSignal.abort()), (err: unknown) => err instanceof StepFailure && err.type === 'cancelled');
  const order: string[] = [];
  const result = await runner.run(
    call(toolTask('echo', undefined, { x: 2 }), {
      awaitDurable: () => new Promise<void>((resolve) => setTimeout(() => {
        order.push('durable');
        resolve();
      }, 20)),
    }),
    new AbortController().signal,
  );
  order.push('ran');
  assert.deepEqual(order, ['durable', 'ran']);
  assert.deepEqual(result, { output: { x: 2 }, node: 'here' });
});

test("${context.idempotency_key} resolves to each attempt's own key, alone or inside text; steps that do not read it resolve as before", async () => {
  const doc = loadWorkflowDocument(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {message: "\${context.idempotency_key}"}, retry: {count: 1, backoff_ms: 1}}
      - {id: b, tool: echo, args: {message: "key=\${context.idempotency_key} after \${a.output.message}"}}
      - {id: c, tool: echo, args: {message: "\${b.output.message}"}}
`);
  // The first attempt of a fails (retryably): its second attempt has a key of its own.
  const flaky = {
    run: (c: StepCall, signal: AbortSignal) => (c.step_id === 'a' && c.attempt === 1 ? Promise.reject(new StepFailure('node_lost', 'not yet', true)) : runner.run(c, signal)),
  };
  const record = await runExecution({ document: doc, input: 'hi', runner: flaky, mode: 'sync', coordinator: 'here', execution_id: 'x1' });
  assert.equal(record.status, 'completed');
  const out = (id: string) => (record.steps.find((s) => s.id === id)?.output as { message: string }).message;
  assert.equal(out('a'), 'x1:a:2');
  assert.equal(out('b'), 'key=x1:b:1 after x1:a:2');
  assert.equal(out('c'), 'key=x1:b:1 after x1:a:2');
});

test('every documented variable form, loaded as a workflow file and run: no warning, each resolved', async () => {
  const text = `
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {message: "\${user_input}"}}
      - id: b
        tool: echo
        args:
          input: "\${user_input}"
          context_input: "\${context.user_input}"
          outputs_a: "\${context.step_outputs.a}"
          outputs_a_field: "\${context.step_outputs.a.message}"
          a: "\${a.output}"
          a_field: "\${a.output.message}"
          in_text: "a said \${a.output.message}"
          env: "\${env.REGION_NAME}"
          key: "\${context.idempotency_key}"
`;
  const checked = validateWorkflowText(text, { allowedEnv: ['REGION_NAME'] });
  assert.deepEqual(checked.warnings, []);
  assert.deepEqual(checked.errors, []);
  const document = loadWorkflowDocument(text, { allowedEnv: ['REGION_NAME'] });
  const record = await runExecution({ document, input: 'hi', runner, mode: 'sync', coordinator: 'here', execution_id: 'x2', env: { REGION_NAME: 'eu-west' } });
  assert.equal(record.status, 'completed', JSON.stringify(record.error));
  assert.deepEqual(record.output, {
    input: 'hi',
    context_input: 'hi',
    outputs_a: { message: 'hi' },
    outputs_a_field: 'hi',
    a: { message: 'hi' },
    a_field: 'hi',
    in_text: 'a said hi',
    env: 'eu-west',
    key: 'x2:b:1',
  });
});

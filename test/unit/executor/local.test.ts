import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_TOOL_TYPES, createStepExecutor } from '../../../src/executor/index.js';
import { MeshError, StepFailure } from '../../../src/protocol/errors.js';
import { never, rejectsWith, testEnv, toolTask } from './helpers.js';

describe('createStepExecutor', () => {
  test('offers the built-in tools, shell only when commands are allowed', () => {
    const ex = createStepExecutor(testEnv());
    assert.ok(!ex.tools.includes('shell'));
    for (const t of ['echo', 'sleep', 'transform']) assert.ok(ex.tools.includes(t), t);
    assert.ok(BUILTIN_TOOL_TYPES.includes('echo'));
  });

  test('a subset narrows what it offers; an unknown name is a config error', () => {
    assert.deepEqual([...createStepExecutor(testEnv(), { tools: ['sleep', 'echo'] }).tools].sort(), ['echo', 'sleep']);
    assert.throws(() => createStepExecutor(testEnv(), { tools: ['echo', 'teleport'] }), (e: unknown) => e instanceof MeshError && /teleport/.test(e.message));
  });

  test('a tool the node does not offer is unsupported', async () => {
    const ex = createStepExecutor(testEnv(), { tools: ['echo'] });
    await rejectsWith(ex.execute(toolTask('sleep', undefined, { ms: 1 }), never()), 'unsupported', /does not offer tool type "sleep"/);
  });

  test('an output over max_output_bytes fails naming the limit', async () => {
    const ex = createStepExecutor(testEnv({ max_output_bytes: 100 }));
    const f = await rejectsWith(ex.execute(toolTask('echo', undefined, { text: 'x'.repeat(200) }), never()), 'tool_error', /max_output_bytes limit of 100 bytes/);
    assert.equal(f.retryable, false);
  });

  test('an already-aborted signal fails at once with the reason', async () => {
    const ex = createStepExecutor(testEnv());
    const ac = new AbortController();
    ac.abort(new StepFailure('timeout', 'step s1 timed out after 1s'));
    await rejectsWith(ex.execute(toolTask('echo', undefined, {}), ac.signal), 'timeout', /after 1s/);
    await rejectsWith(ex.execute(toolTask('echo', undefined, {}), AbortSignal.abort()), 'cancelled');
  });
});

describe('echo and sleep', () => {
  test('echo returns its args', async () => {
    const ex = createStepExecutor(testEnv());
    assert.deepEqual(await ex.execute(toolTask('echo', undefined, { a: [1, 'b'] }), never()), { a: [1, 'b'] });
    assert.equal(await ex.execute(toolTask('echo', undefined, undefined), never()), null);
  });

  test('sleep returns slept_ms and is abortable', async () => {
    const ex = createStepExecutor(testEnv());
    assert.deepEqual(await ex.execute(toolTask('sleep', undefined, { ms: 5 }), never()), { slept_ms: 5 });
    const ac = new AbortController();
    const p = ex.execute(toolTask('sleep', undefined, { ms: 60_000 }), ac.signal);
    setTimeout(() => ac.abort(), 10);
    await rejectsWith(p, 'cancelled');
    await rejectsWith(ex.execute(toolTask('sleep', undefined, { ms: 60_000 }), AbortSignal.timeout(5)), 'timeout');
  });

  test('sleep with bad args names the field', async () => {
    const ex = createStepExecutor(testEnv());
    await rejectsWith(ex.execute(toolTask('sleep', undefined, { ms: 'soon' }), never()), 'invalid_args', /args\.ms/);
  });
});

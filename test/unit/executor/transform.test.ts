import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStepExecutor } from '../../../src/executor/index.js';
import { never, rejectsWith, testEnv, toolTask } from './helpers.js';

const ex = createStepExecutor(testEnv());
const run = (method: string | undefined, args: unknown): Promise<unknown> => ex.execute(toolTask('transform', method, args), never());

describe('transform', () => {
  test('pick by path and by fields', async () => {
    const value = { a: { b: [{ c: 1 }, { c: 2 }] }, d: 'x' };
    assert.equal(await run('pick', { value, path: 'a.b[1].c' }), 2);
    assert.equal(await run('pick', { value, path: 'a.b.0.c' }), 1);
    assert.deepEqual(await run('pick', { value, fields: ['d', 'a.b'] }), { d: 'x', b: [{ c: 1 }, { c: 2 }] });
    await rejectsWith(run('pick', { value, path: 'a.zz.c' }), 'invalid_args', /path "a\.zz\.c" not found: a has no "zz"/);
  });

  test('template fills {{names}} and reports every missing one', async () => {
    assert.equal(await run('template', { template: 'Hi {{ name }}, {{n}} {{obj.k}} {{list}}', values: { name: 'Ann', n: 3, obj: { k: 'v' }, list: [1] } }), 'Hi Ann, 3 v [1]');
    await rejectsWith(run('template', { template: '{{a}} {{b}}', values: {} }), 'invalid_args', /\{\{a\}\}, \{\{b\}\}/);
  });

  test('json_parse', async () => {
    assert.deepEqual(await run('json_parse', { text: '{"x":[1,2]}' }), { x: [1, 2] });
    await rejectsWith(run('json_parse', { text: '{nope' }), 'invalid_args', /args\.text is not JSON/);
  });

  test('concat strings, arrays and objects; refuses a mix', async () => {
    assert.equal(await run('concat', { items: ['a', 'b', 3] }), 'ab3');
    assert.equal(await run('concat', { items: ['a', 'b'], separator: ', ' }), 'a, b');
    assert.equal(await run('concat', { a: 'x', b: 'y' }), 'xy');
    assert.deepEqual(await run('concat', { items: [[1], [2, [3]]] }), [1, 2, [3]]);
    assert.deepEqual(await run('concat', { a: { x: 1 }, b: { y: 2 } }), { x: 1, y: 2 });
    await rejectsWith(run('concat', { items: ['a', [1]] }), 'invalid_args', /mix of string, array/);
  });

  test('split and length', async () => {
    assert.deepEqual(await run('split', { text: 'a,b,,c', separator: ',' }), ['a', 'b', '', 'c']);
    assert.deepEqual(await run('split', { text: 'l1\nl2' }), ['l1', 'l2']);
    assert.equal(await run('length', { value: 'héllo' }), 5);
    assert.equal(await run('length', { value: [1, 2] }), 2);
    assert.equal(await run('length', { value: { a: 1 } }), 1);
    await rejectsWith(run('length', { value: 4 }), 'invalid_args', /no length \(got number\)/);
  });

  test('method is required and checked', async () => {
    await rejectsWith(run(undefined, {}), 'invalid_args', /needs a method: one of pick, template/);
    await rejectsWith(run('explode', {}), 'invalid_args', /no method "explode"/);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseTemplate,
  parseVariablePath,
  resolveTemplate,
  VariableError,
  type StepView,
  type VariableScope,
} from '../../../src/workflow/index.js';

function scope(steps: Record<string, StepView>, extra: Partial<VariableScope> = {}): VariableScope {
  return { input: 'hello', step: (id) => (Object.hasOwn(steps, id) ? steps[id] : undefined), ...extra };
}

const done = (output: unknown): StepView => ({ status: 'completed', output });

describe('parseVariablePath', () => {
  test('names, fields and indexes', () => {
    assert.deepEqual(parseVariablePath('a.output.items[2].name'), ['a', 'output', 'items', 2, 'name']);
    assert.deepEqual(parseVariablePath(' a.output.0 '), ['a', 'output', 0]);
    assert.deepEqual(parseVariablePath('my-step.output'), ['my-step', 'output']);
  });

  test('anything but a path is refused', () => {
    for (const bad of ['', 'a.', 'a..b', 'a[x]', 'a()', 'a + b', '1abc', 'a;b', 'a["k"]', 'process.env.HOME)']) {
      assert.throws(() => parseVariablePath(bad), VariableError, bad);
    }
  });

  test('prototype names are out of scope', () => {
    for (const bad of ['__proto__', 'a.__proto__.x', 'a.constructor', 'a.output.prototype']) {
      assert.throws(() => parseVariablePath(bad), /outside any variable's scope/, bad);
    }
  });
});

describe('parseTemplate', () => {
  test('splits text and variables; $${ is a literal', () => {
    assert.deepEqual(parseTemplate('Hi ${user_input}!'), [
      { text: 'Hi ' },
      { ref: { text: 'user_input', path: ['user_input'] } },
      { text: '!' },
    ]);
    assert.deepEqual(parseTemplate('cost: $${price}'), [{ text: 'cost: ${price}' }]);
    assert.deepEqual(parseTemplate('plain $ and { }'), [{ text: 'plain $ and { }' }]);
  });

  test('unterminated variables are errors', () => {
    assert.throws(() => parseTemplate('x ${user_input'), /unterminated/);
  });
});

describe('resolveTemplate', () => {
  const s = scope({ fetch: done({ items: [{ name: 'a' }, { name: 'b' }], count: 2, ok: true }), skipped: { status: 'skipped' } });

  test('a template parsed once resolves against each scope anew; an invalid one fails every time', () => {
    const args = { message: 'said: ${a.output.text}', whole: '${a.output}' };
    for (const text of ['one', 'two', 'three']) {
      assert.deepEqual(resolveTemplate(args, scope({ a: done({ text }) })), { message: `said: ${text}`, whole: { text } });
    }
    for (let i = 0; i < 3; i++) assert.throws(() => resolveTemplate({ m: 'x ${a.output' }, scope({})), VariableError);
    assert.throws(() => resolveTemplate(args, scope({})), /a/, 'a step out of scope is still an error after the template was kept');
  });

  test('the same object resolved again: a fresh copy each time, and its errors in the order written', () => {
    const args = { list: ['${user_input}', { n: '${a.output.n}' }], fixed: { k: 'v' } };
    const first = resolveTemplate(args, scope({ a: done({ n: 1 }) })) as { list: unknown[]; fixed: Record<string, string> };
    first.list.push('changed');
    first.fixed.k = 'changed';
    assert.deepEqual(resolveTemplate(args, scope({ a: done({ n: 2 }) })), { list: ['hello', { n: 2 }], fixed: { k: 'v' } }, 'a change to one result is not in the next');
    assert.deepEqual(args, { list: ['${user_input}', { n: '${a.output.n}' }], fixed: { k: 'v' } }, 'the template itself is unchanged');
    const invalid = { first: '${missing.output}', second: 'x ${a.output' };
    for (let i = 0; i < 3; i++) assert.throws(() => resolveTemplate(invalid, scope({})), /missing/, 'the first field fails first, every time');
    assert.throws(() => resolveTemplate(invalid, scope({ missing: done('ok') })), /unterminated/, 'then the invalid one');
  });

  test('a whole-string variable keeps its JSON type', () => {
    assert.deepEqual(resolveTemplate('${fetch.output.items}', s), [{ name: 'a' }, { name: 'b' }]);
    assert.equal(resolveTemplate('${fetch.output.count}', s), 2);
    assert.equal(resolveTemplate('${fetch.output.ok}', s), true);
  });

  test('variables inside text are rendered, objects as JSON', () => {
    assert.equal(resolveTemplate('n=${fetch.output.count} first=${fetch.output.items[0].name}', s), 'n=2 first=a');
    assert.equal(resolveTemplate('all: ${fetch.output.items}', s), 'all: [{"name":"a"},{"name":"b"}]');
  });

  test('objects and lists are resolved deeply; keys are left alone', () => {
    const v = resolveTemplate({ '${x}': ['${user_input}', { n: '${fetch.output.count}' }], k: 3 }, s);
    assert.deepEqual(v, { '${x}': ['hello', { n: 2 }], k: 3 });
  });

  test('every documented form', () => {
    assert.equal(resolveTemplate('${user_input}', s), 'hello');
    assert.equal(resolveTemplate('${context.user_input}', s), 'hello');
    assert.equal(resolveTemplate('${context.step_outputs.fetch.count}', s), 2);
    assert.equal(resolveTemplate('${fetch.output.items.1.name}', s), 'b');
    assert.deepEqual(resolveTemplate('${context.step_outputs}', scope({}, { outputs: () => ({ fetch: 'x', rank: 2 }) })), { fetch: 'x', rank: 2 });
    assert.throws(() => resolveTemplate('${context.step_outputs}', scope({})), /needs a step id/);
    assert.equal(resolveTemplate('${env.REGION}', scope({}, { env: { REGION: 'eu' } })), 'eu');
    assert.equal(resolveTemplate('${item.id}', scope({}, { locals: { item: { id: 7 } } })), 7);
    assert.equal(resolveTemplate('${summarizer.output}', scope({ s1: done('sum') }, { aliases: { summarizer: 's1' } })), 'sum');
  });

  test('a missing field is an error that says what is there', () => {
    assert.throws(() => resolveTemplate('${fetch.output.nope}', s), (err: Error) => {
      assert.ok(err instanceof VariableError);
      assert.match(err.message, /no field "nope"; it has items, count, ok/);
      return true;
    });
    assert.throws(() => resolveTemplate('${fetch.output.items[5]}', s), /list of 2; it has no item \[5\]/);
    assert.throws(() => resolveTemplate('x ${fetch.output.count.x}', s), /number, so it has no field "x"/);
  });

  test('skipped or unknown steps and other scopes are refused, never left in place', () => {
    assert.throws(() => resolveTemplate('${skipped.output}', s), /was skipped/);
    assert.throws(() => resolveTemplate('${other.output}', s), /not a step/);
    assert.throws(() => resolveTemplate('${fetch}', s), /use \$\{fetch.output\}/);
    assert.throws(() => resolveTemplate('${context.secrets}', s), /context has no field/);
    assert.throws(() => resolveTemplate('${env.HOME}', s), /HOME is not allowed/);
    assert.throws(() => resolveTemplate('${process.env.HOME}', s), /not a step/);
    assert.throws(() => resolveTemplate('${fetch.output.__proto__}', s), /outside any variable's scope/);
    assert.throws(() => resolveTemplate('${fetch.output.items.constructor}', s), /outside any variable's scope/);
  });

  test('own properties only: inherited names do not resolve', () => {
    const s2 = scope({ a: done({}) });
    assert.throws(() => resolveTemplate('${a.output.toString}', s2), /no field "toString"/);
    assert.throws(() => resolveTemplate('${a.output.hasOwnProperty}', s2), /no field/);
  });

  test('JSON text outputs can be dug into (LLM replies)', () => {
    const s2 = scope({ classify: done('{"priority": "high", "tags": ["a"]}') });
    assert.equal(resolveTemplate('${classify.output.priority}', s2), 'high');
    assert.equal(resolveTemplate('${classify.output.tags[0]}', s2), 'a');
    assert.equal(resolveTemplate('${classify.output}', s2), '{"priority": "high", "tags": ["a"]}');
  });
});

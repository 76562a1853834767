import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConditionError,
  evaluateCondition,
  evaluateExpression,
  ExpressionSyntaxError,
  expressionVariables,
  parseExpression,
  type StepView,
  type VariableScope,
} from '../../../src/workflow/index.js';

const outputs: Record<string, StepView> = {
  classify: { status: 'completed', output: { priority: 'high', tier: 'premium', score: 0.91, count: '12', tags: ['billing', 'urgent'], user_id: null } },
  analyze: { status: 'completed', output: 'Error: disk full' },
};
const scope: VariableScope = {
  input: 'hi',
  step: (id) => (Object.hasOwn(outputs, id) ? outputs[id] : undefined),
  locals: { item: { n: 3 } },
};
const check = (expr: string): boolean => evaluateCondition(expr, scope);

describe('conditions (LangSwarm documentation forms)', () => {
  test('comparisons with ${...} variables and literals', () => {
    assert.equal(check("${context.step_outputs.classify.priority} == 'high'"), true);
    assert.equal(check('${classify.output.priority} != "high"'), false);
    assert.equal(check('${classify.output.score} > 0.8'), true);
    assert.equal(check('${classify.output.score} <= 0.5'), false);
    assert.equal(check('${classify.output.count} >= 10'), true, 'numeric text compares as a number');
    assert.equal(check('${classify.output.count} == 12'), true);
    assert.equal(check("'b' < 'c'"), true);
  });

  test('and / or / not, && / || / !, parentheses', () => {
    assert.equal(check("${classify.output.priority} == 'high' && ${classify.output.tier} == 'premium'"), true);
    assert.equal(check("${classify.output.priority} == 'low' || ${classify.output.tier} == 'premium'"), true);
    assert.equal(check("not (${classify.output.priority} == 'low') and !false"), true);
    assert.equal(check("(${classify.output.priority} == 'critical' or ${classify.output.tier} == 'premium') and true"), true);
  });

  test('in, contains, not in, not contains', () => {
    assert.equal(check("${classify.output.tier} in ['enterprise', 'premium']"), true);
    assert.equal(check("${classify.output.tier} not in ['enterprise']"), true);
    assert.equal(check("${classify.output.tags} contains 'billing'"), true);
    assert.equal(check("${analyze.output} contains 'Error'"), true);
    assert.equal(check("${analyze.output} not contains 'failed'"), true);
    assert.equal(check("'priority' in ${classify.output}"), true);
  });

  test('exists / not exists tolerate missing values; null does not exist', () => {
    assert.equal(check('${classify.output.priority} exists'), true);
    assert.equal(check('${classify.output.nope} exists'), false);
    assert.equal(check('${classify.output.nope} not exists'), true);
    assert.equal(check('${classify.output.user_id} exists'), false);
    assert.equal(check('exists ${classify.output.tier}'), true);
    assert.equal(check('${missing_step.output} exists'), false);
  });

  test('empty text does not exist (LangSwarm: value is not None and value != "")', () => {
    const s: VariableScope = { ...scope, locals: { found: { user_id: '', email: 'a@b' } } };
    assert.equal(evaluateCondition('${found.user_id} exists', s), false);
    assert.equal(evaluateCondition('${found.user_id} not exists', s), true);
    assert.equal(evaluateCondition('${found.email} exists', s), true);
  });

  test('Python spellings: is None, is not None; an absent field compared with None is None', () => {
    assert.equal(check('${classify.output.user_id} is None'), true);
    assert.equal(check('${classify.output.priority} is not None'), true);
    assert.equal(check('${classify.output.warning} != None'), false, 'absent: None');
    assert.equal(check('${classify.output.warning} is None'), true);
    assert.equal(check('None == ${classify.output.warning}'), true);
  });

  test('bare paths, None/True/False, numbers', () => {
    assert.equal(check("classify.output.priority == 'high'"), true);
    assert.equal(check('item.n == 3'), true);
    assert.equal(check('${classify.output.user_id} == None'), true);
    assert.equal(check('True and not False'), true);
    assert.equal(check('-1.5e1 < 0'), true);
  });

  test('switch values', () => {
    assert.equal(evaluateExpression('${classify.output.tier}', scope), 'premium');
    assert.deepEqual(evaluateExpression('[1, "a", ${item.n}]', scope), [1, 'a', 3]);
  });

  test('boolean YAML values are conditions too', () => {
    assert.equal(evaluateCondition(true, scope), true);
  });
});

describe('conditions fail loudly, never into a quiet else', () => {
  test('missing fields are errors', () => {
    assert.throws(() => check("${classify.output.nope} == 'x'"), (err: Error) => err instanceof ConditionError && /no field "nope"/.test(err.message));
  });

  test('where the scope takes missing values as LangSwarm does (routes), the condition is false and the scope is told', () => {
    const told: string[] = [];
    const routes: VariableScope = { ...scope, onMissing: (v, why, effect) => told.push(`${effect} ${v}: ${why}`) };
    assert.equal(evaluateCondition("${classify.output.nope} == 'x'", routes), false);
    // Not a negation of the comparison: the whole condition is false, as LangSwarm's evaluation error is.
    assert.equal(evaluateCondition("not (${classify.output.nope} == 'x') or ${classify.output.score} > 0.8", routes), false);
    assert.deepEqual(told, ['false ${classify.output.nope}: classify.output has no field "nope"; it has priority, tier, score, count, tags, user_id', 'false ${classify.output.nope}: classify.output has no field "nope"; it has priority, tier, score, count, tags, user_id']);
    // Everything else stays an error.
    assert.throws(() => evaluateCondition('${classify.output.tags} > 3', routes), /cannot order/);
    assert.throws(() => evaluateExpression('${classify.output.nope}', routes), /no field "nope"/);
  });

  test('the result must be true or false', () => {
    assert.throws(() => check('${classify.output.priority}'), /gave the text "high", not true or false/);
    assert.throws(() => check("${classify.output.priority} and true"), /needs true\/false/);
  });

  test('values that cannot be ordered or searched', () => {
    assert.throws(() => check('${classify.output.tags} > 3'), /cannot order/);
    assert.throws(() => check('3 in 4'), /"in" needs a list/);
  });

  test('syntax errors name the position', () => {
    for (const [expr, msg] of [
      ["${a.output} = 'x'", /use == to compare/],
      ["${a.output} == 'x", /unterminated string/],
      ['(${a.output} == 1', /missing \)/],
      ['${a.output} ==', /ends too early/],
      ['a.output == 1 1', /unexpected number 1/],
      ['exists 3', /needs a variable/],
      ['${a.output', /unterminated \$\{/],
      ['${a.output.__proto__} exists', /outside any variable's scope/],
      ['a.output is == 3', /"is" compares with a value/],
      ['__import__("os")', /unexpected "\("/],
    ] as const) {
      assert.throws(() => parseExpression(expr), (err: Error) => err instanceof ExpressionSyntaxError && msg.test(err.message), expr);
    }
  });

  test('nesting and length are bounded', () => {
    assert.throws(() => parseExpression(`${'('.repeat(200)}1${')'.repeat(200)}`), /nests too deeply/);
    assert.throws(() => parseExpression('not '.repeat(100) + 'true'), /nests too deeply/);
    assert.throws(() => parseExpression(`'${'x'.repeat(5000)}'`), /longer than/);
  });

  test('expressionVariables lists what a condition reads', () => {
    const vars = expressionVariables(parseExpression("${a.output.x} == 1 and b.output in [${c.output}] or ${d.output} exists"));
    assert.deepEqual(vars.map((v) => v.text), ['a.output.x', 'b.output', 'c.output', 'd.output']);
  });
});

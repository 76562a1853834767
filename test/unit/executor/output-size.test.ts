import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkOutputSize, encodedSize } from '../../../src/executor/failures.js';
import { StepFailure } from '../../../src/protocol/errors.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

/** Outputs of every kind JSON.stringify treats apart. */
const OUTPUTS: [string, unknown][] = [
  ['null', null],
  ['undefined', undefined],
  ['a number', -1.7976931348623157e308],
  ['text with escapes', 'quote " backslash \\ newline \n tab \t control \u0001'],
  ['emoji and a lone surrogate', '😀 é \ud800'],
  ['a list with holes', [1, undefined, null, () => 1, 'x']],
  ['an object with undefined and function fields', { a: undefined, b: () => 1, c: 'kept' }],
  ['nested', { rows: [{ id: 1, tags: ['a', 'b'] }, { id: 2, tags: [] }], meta: { total: 2, ok: true } }],
  ['a date', { at: new Date(0) }],
  ['a class instance', new Point(1, 2)],
  ['an object with toJSON', { toJSON: () => 'x'.repeat(300) }],
  ['deeper than the walk goes', JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown],
];

test('checkOutputSize refuses exactly the outputs whose JSON is over the limit', () => {
  for (const [name, output] of OUTPUTS) {
    const size = encodedSize(output);
    for (const max of [size - 1, size, size + 1, size * 10]) {
      if (max < 0) continue;
      if (size > max) assert.throws(() => checkOutputSize(output, max), (err: unknown) => err instanceof StepFailure && err.message.includes(`is ${size} bytes`), `${name}, max ${max}`);
      else assert.doesNotThrow(() => checkOutputSize(output, max), `${name}, max ${max}`);
    }
  }
});

test('checkOutputSize: outputs JSON cannot write are a tool error, however small', () => {
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  const throwing = {
    get broken(): string {
      throw new Error('getter failed');
    },
  };
  for (const [name, output] of [['a cycle', cycle], ['a BigInt', { n: 10n }], ['a throwing getter', throwing]] as const) {
    assert.throws(() => checkOutputSize(output, 1 << 20), (err: unknown) => err instanceof StepFailure && err.type === 'tool_error' && /not JSON-serialisable/.test(err.message), name);
  }
});

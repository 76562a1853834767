import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExecutionRecordSchema, type ExecutionRecord } from '../../../src/protocol/execution.js';
import { encodeRecord } from '../../../src/store/fit.js';

const base: ExecutionRecord = {
  type: 'wfmesh.execution.v1',
  execution_id: 'e1',
  workflow: 'main',
  mode: 'sync',
  status: 'completed',
  steps: [{ id: 'a', status: 'completed', attempts: 1, output: 'small' }],
  coordinator: 'n',
  created_at: '2030-01-01T00:00:00.000Z',
  updated_at: '2030-01-01T00:00:00.000Z',
};
const decode = (b: Uint8Array) => ExecutionRecordSchema.parse(JSON.parse(new TextDecoder().decode(b)));

test('a record that fits is stored as is', () => {
  assert.deepEqual(decode(encodeRecord(base, 10_000)), base);
});

test('big values are replaced by a marker naming their size, step outputs first', () => {
  const big = 'x'.repeat(5_000);
  const r = decode(encodeRecord({ ...base, input: 'in', output: 'out', steps: [{ id: 'a', status: 'completed', attempts: 1, output: big }] }, 2_000));
  assert.deepEqual(r.steps[0]?.output, { $truncated: true, bytes: 5_002, note: (r.steps[0]?.output as { note: string }).note });
  assert.equal(r.output, 'out', 'the output stays when dropping step outputs is enough');
  assert.equal(r.input, 'in');
});

test('output, then input, go when step outputs are not enough; the result always parses', () => {
  const big = 'y'.repeat(5_000);
  const bytes = encodeRecord({ ...base, input: big, output: big }, 1_000);
  assert.ok(bytes.length <= 1_000);
  const r = decode(bytes);
  assert.equal((r.output as { $truncated: boolean }).$truncated, true);
  assert.equal((r.input as { $truncated: boolean }).$truncated, true);
});

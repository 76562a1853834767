import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { exposureWarning, isLoopback } from '../../../src/mcp/http.js';
import { inputs, outputs, toResult, toRow } from '../../../src/mcp/schemas.js';
import { describeIssues } from '../../../src/mcp/tool-kit.js';
import { outcomeOf } from '../../../src/mcp/tools-executions.js';
import { ProgressTracker, type ExecutionProgress } from '../../../src/executions/index.js';
import type { ExecutionRecord, StepRecord } from '../../../src/protocol/execution.js';

const record = (over: Partial<ExecutionRecord> = {}): ExecutionRecord => ({
  type: 'wfmesh.execution.v1',
  execution_id: 'e1',
  workflow: 'main',
  mode: 'sync',
  status: 'running',
  steps: [],
  coordinator: 'n1',
  created_at: '2030-01-01T00:00:00.000Z',
  updated_at: '2030-01-01T00:00:00.000Z',
  ...over,
});
const step = (id: string, status: StepRecord['status'], over: Partial<StepRecord> = {}): StepRecord => ({ id, status, attempts: status === 'pending' ? 0 : 1, ...over });

test('loopback binds need no token; anything else without one gets a loud warning', () => {
  for (const h of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) {
    assert.equal(isLoopback(h), true, h);
    assert.equal(exposureWarning(h, undefined, 'u'), undefined);
  }
  for (const h of ['0.0.0.0', '::', '10.0.0.5', 'node1.example']) {
    assert.equal(isLoopback(h), false, h);
    assert.match(exposureWarning(h, undefined, 'http://x/mcp') ?? '', /NO TOKEN.*WFMESH_MCP_TOKEN/);
    assert.equal(exposureWarning(h, 'secret', 'u'), undefined);
  }
});

test('argument problems name every field', () => {
  const r = inputs.execute(100).safeParse({ yaml: 5, mode: 'fast', timeout_s: 0, stray: 1 });
  assert.equal(r.success, false);
  const text = describeIssues(r.error!);
  for (const part of ['yaml:', 'mode:', 'timeout_s:', 'stray']) assert.ok(text.includes(part), `${part} in ${text}`);
  assert.match(describeIssues(inputs.execute(10).safeParse({ yaml: 'x'.repeat(11) }).error!), /at most 10 bytes \(limits.max_input_bytes\)/);
  assert.match(describeIssues(z.object({ a: z.string() }).strict().safeParse(null).error!), /^arguments: /);
});

test('results: the summary drops input and step outputs; rows count finished steps', () => {
  const r = record({ input: 'big', status: 'completed', output: 1, steps: [step('a', 'completed', { output: 'x' }), step('b', 'skipped'), step('c', 'running')] });
  const summary = toResult(r);
  assert.equal('input' in summary, false);
  assert.equal(summary.steps.some((s) => 'output' in s), false);
  assert.equal(outputs.execute.safeParse(summary).success, true);
  assert.equal(outputs.record.safeParse(r).success, true);
  const row = toRow(r);
  assert.equal(row.steps_done, 2);
  assert.equal(row.steps_total, 3);
});

test('a failed run is an isError outcome naming the step and why, still carrying its record', () => {
  const r = record({ status: 'failed', error: { step: 'boom', type: 'tool_error', message: 'disk on fire' }, steps: [step('boom', 'failed')] });
  const o = outcomeOf(r);
  assert.equal(o.ok, false);
  assert.match(o.ok ? '' : o.message, /^execution e1 failed: step "boom" failed \(tool_error\): disk on fire/);
  assert.equal(o.value?.status, 'failed');
  const c = outcomeOf(record({ status: 'cancelled', error: { type: 'cancelled', message: 'by request' } }));
  assert.match(c.ok ? '' : c.message, /the execution was cancelled \(cancelled\): by request/);
  assert.equal(outcomeOf(record({ status: 'completed' })).ok, true);
});

test('progress only grows, says the current step, and ends at total', () => {
  const seen: ExecutionProgress[] = [];
  const t = new ProgressTracker('e1', (p) => seen.push(p));
  const snapshots: ExecutionRecord[] = [
    record({ steps: [step('a', 'pending'), step('b', 'pending')] }),
    record({ steps: [step('a', 'running', { node: 'n2' }), step('b', 'pending')] }),
    record({ steps: [step('a', 'completed', { node: 'n2' }), step('b', 'pending')] }),
    record({ steps: [step('a', 'completed'), step('b', 'running', { node: 'n3' })] }),
    record({ steps: [step('a', 'completed'), step('b', 'running', { node: 'n3' })] }),
    record({ status: 'completed', steps: [step('a', 'completed'), step('b', 'completed')] }),
  ];
  // The tracker is told which row changed, and reads the record's counts.
  const rows = [undefined, 0, 0, 1, 1, undefined];
  const counted = (r: ExecutionRecord): ExecutionRecord => ({
    ...r,
    steps_total: r.steps.length,
    steps_done: r.steps.filter((s) => ['completed', 'failed', 'skipped', 'cancelled'].includes(s.status)).length,
  });
  const changed = snapshots.map((s, i) => t.update(counted(s), i === 4 ? undefined : rows[i]));
  assert.deepEqual(seen.map((p) => p.progress), [0, 0.5, 1, 1.5, 2]);
  assert.ok(seen.every((p) => p.total === 2));
  assert.equal(seen[0]?.message, '0/2 steps done');
  assert.equal(seen[1]?.message, '0/2 steps done; a running on n2');
  assert.equal(seen[4]?.message, 'execution completed: 2/2 steps');
  assert.deepEqual(changed[3], { id: 'b', status: 'running', node: 'n3' });
  assert.equal(changed[4], undefined, 'a repeated snapshot changes nothing');
});

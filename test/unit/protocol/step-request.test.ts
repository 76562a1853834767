import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStepRequest } from '../../../src/protocol/step-request.js';
import { StepRequestSchema } from '../../../src/protocol/step.js';

/** A step request as a coordinator sends it (read back from JSON, as a worker reads it). */
const plain = (): Record<string, unknown> =>
  JSON.parse(
    JSON.stringify({
      type: 'wfmesh.step.request.v1',
      key: 'mj3k2-aZ9:s1:1:4',
      idempotency_key: 'mj3k2-aZ9:s1:1',
      epoch: 0,
      execution_id: 'mj3k2-aZ9',
      step_id: 's1',
      attempt: 1,
      origin: 'eu-1',
      deadline: 1_764_000_000_000,
      isolation: 'in_process',
      task: { kind: 'tool', tool_id: 'say', tool_type: 'echo', args: { message: 'hi' }, idempotency_key: 'mj3k2-aZ9:s1:1' },
    }),
  ) as Record<string, unknown>;

/** What a field may hold instead, right or wrong. */
const ODD_VALUES: unknown[] = [null, '', 'x', 0, -1, 1, 1.5, 2 ** 53, true, [], {}, 'child_process', 'tool', 'agent', 'wfmesh.step.request.v1', { kind: 'tool' }];

/** The plain request changed every way one field can change, in the request and in its task. */
function variants(): { name: string; value: unknown }[] {
  const out: { name: string; value: unknown }[] = [{ name: 'plain', value: plain() }];
  const fields = Object.keys(plain());
  const taskFields = Object.keys(plain().task as object);
  for (const field of [...fields, 'redelivery', 'unknown']) {
    const without = plain();
    delete without[field];
    out.push({ name: `without ${field}`, value: without });
    for (const odd of ODD_VALUES) out.push({ name: `${field} = ${JSON.stringify(odd)}`, value: { ...plain(), [field]: odd } });
  }
  for (const field of [...taskFields, 'method', 'settings', 'agent', 'input', 'unknown']) {
    const task = { ...(plain().task as object) } as Record<string, unknown>;
    delete task[field];
    out.push({ name: `task without ${field}`, value: { ...plain(), task } });
    for (const odd of ODD_VALUES) out.push({ name: `task.${field} = ${JSON.stringify(odd)}`, value: { ...plain(), task: { ...(plain().task as object), [field]: odd } } });
  }
  out.push({ name: 'an agent task', value: { ...plain(), task: { kind: 'agent', agent: { id: 'a', model: 'gpt-4o-mini' }, input: 'hi' } } });
  out.push({ name: 'a "__proto__" field', value: JSON.parse(JSON.stringify(plain()).replace('{"type"', '{"__proto__":{"x":1},"type"')) });
  out.push({ name: 'not an object', value: [plain()] });
  out.push({ name: 'nothing', value: undefined });
  return out;
}

test('parseStepRequest accepts what the schema accepts, refuses what it refuses, and gives the same data and errors', () => {
  let accepted = 0;
  for (const { name, value } of variants()) {
    const fast = parseStepRequest(structuredClone(value));
    const schema = StepRequestSchema.safeParse(structuredClone(value));
    assert.equal(fast.success, schema.success, name);
    if (fast.success) {
      accepted++;
      assert.deepEqual(fast.data, schema.data, name);
    } else assert.deepEqual(fast.error.issues, schema.error?.issues, name);
  }
  assert.ok(accepted > 20, `some variants are valid requests (${accepted})`);
});

test('parseStepRequest checks the usual request by hand: the request itself comes back', () => {
  const request = plain();
  const parsed = parseStepRequest(request);
  assert.equal(parsed.success, true);
  assert.equal(parsed.data, request);
  // One with settings goes to the schema (a copy, its fields checked there).
  const withSettings = { ...plain(), task: { ...(plain().task as object), settings: { url: 'https://example.org' } } };
  const viaSchema = parseStepRequest(withSettings);
  assert.equal(viaSchema.success, true);
  assert.notEqual(viaSchema.data, withSettings);
  assert.deepEqual(viaSchema.data, withSettings);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStepReply } from '../../../src/protocol/step-reply.js';
import { StepReplySchema } from '../../../src/protocol/step.js';

/** A successful step reply as a worker sends it (read back from JSON, as a coordinator reads it). */
const plain = (): Record<string, unknown> =>
  JSON.parse(JSON.stringify({ type: 'wfmesh.step.reply.v1', key: 'mj3k2-aZ9:s1:1:4', ok: true, node: 'eu-1', output: { message: 'hi', n: [1, 2] } })) as Record<string, unknown>;

const ODD_VALUES: unknown[] = [null, '', 'x', 0, 1, true, false, [], {}, 'wfmesh.step.reply.v1', { type: 'tool_error', message: 'no', retryable: false }];

/** The plain reply changed every way one field can change, and the replies the schema's other branch takes. */
function variants(): { name: string; value: unknown }[] {
  const out: { name: string; value: unknown }[] = [{ name: 'plain', value: plain() }];
  for (const field of [...Object.keys(plain()), 'failure', 'started_at', 'ended_at', 'tool_calls', 'unknown']) {
    const without = plain();
    delete without[field];
    out.push({ name: `without ${field}`, value: without });
    for (const odd of ODD_VALUES) out.push({ name: `${field} = ${JSON.stringify(odd)}`, value: { ...plain(), [field]: odd } });
  }
  out.push({ name: 'a failure', value: { type: 'wfmesh.step.reply.v1', key: 'k', ok: false, node: 'eu-1', failure: { type: 'busy', message: 'full', retryable: true } } });
  out.push({ name: 'output null', value: { ...plain(), output: null } });
  out.push({ name: 'started_at as older nodes send it', value: { ...plain(), started_at: '2026-12-05T10:00:00.000Z' } });
  out.push({ name: 'a "__proto__" field', value: JSON.parse(JSON.stringify(plain()).replace('{"type"', '{"__proto__":{"x":1},"type"')) });
  out.push({ name: 'not an object', value: [plain()] });
  out.push({ name: 'nothing', value: undefined });
  return out;
}

test('parseStepReply accepts what the schema accepts, refuses what it refuses, and gives the same data and errors', () => {
  let fastPath = 0;
  for (const { name, value } of variants()) {
    const given = structuredClone(value);
    const fast = parseStepReply(given);
    const schema = StepReplySchema.safeParse(structuredClone(value));
    assert.equal(fast.success, schema.success, name);
    if (fast.success) assert.deepEqual(fast.data, schema.data, name);
    else assert.deepEqual(fast.error.issues, schema.error?.issues, name);
    if (fast.success && fast.data === given) fastPath++;
  }
  // The plain reply and its variants with another output value take the hand check.
  assert.ok(fastPath >= 5, `the hand check took ${fastPath} replies`);
});

test('parseStepReply hands back the reply it was given for the usual success (no copy)', () => {
  const reply = plain();
  const parsed = parseStepReply(reply);
  assert.ok(parsed.success);
  assert.equal(parsed.data, reply);
});

/**
 * A step reply read off the wire, checked. A coordinator checks one per step, between the reply
 * and the next step's request: the usual reply, a success without tool calls, is checked here by
 * hand (every field of the type the schema wants, and no other field), anything else by the
 * schema, which decides and words the error. The hand check accepts only what the schema accepts
 * and gives the same data (test/unit/protocol/step-reply.test.ts holds the two side by side).
 */
import { StepReplySchema, type StepReply } from './step.js';

export type StepReplyParse = ReturnType<typeof StepReplySchema.safeParse>;

export function parseStepReply(value: unknown): StepReplyParse {
  return isPlainSuccess(value) ? { success: true, data: value } : StepReplySchema.safeParse(value);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isPlainSuccess(v: unknown): v is StepReply {
  if (!isRecord(v) || !('output' in v)) return false;
  for (const field in v) if (field !== 'type' && field !== 'key' && field !== 'ok' && field !== 'node' && field !== 'output') return false;
  return v.type === 'wfmesh.step.reply.v1' && v.ok === true && typeof v.key === 'string' && typeof v.node === 'string';
}

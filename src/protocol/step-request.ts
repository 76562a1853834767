/**
 * A step request read off the wire, checked. A worker checks one per step, and zod's parse of it
 * was the largest cost of a step after JSON.parse itself (profiled in place, a worker answering
 * one step at a time: 6% of its CPU, as much as all of Moleculer's request handling). The usual
 * request, a tool task without settings, is checked here by hand: every field of the type the
 * schema wants, and no other field. Anything else goes to the schema, which decides and words the
 * error: the hand check accepts only what the schema accepts, and gives the same data
 * (test/unit/protocol/step-request.test.ts holds the two side by side).
 */
import { StepRequestSchema, type StepRequest } from './step.js';

export type StepRequestParse = ReturnType<typeof StepRequestSchema.safeParse>;

export function parseStepRequest(value: unknown): StepRequestParse {
  return isPlainToolRequest(value) ? { success: true, data: value } : StepRequestSchema.safeParse(value);
}

const REQUEST_FIELDS = new Set(['type', 'key', 'idempotency_key', 'epoch', 'redelivery', 'execution_id', 'step_id', 'attempt', 'origin', 'deadline', 'isolation', 'task']);
const TASK_FIELDS = new Set(['kind', 'tool_id', 'tool_type', 'method', 'args', 'idempotency_key']);

const isText = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
/** A whole number of at least `min` (zod's `int()` wants a safe integer). */
const isCount = (v: unknown, min: number): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether every field `v` has is one of `known` (zod's object schemas drop any other: this check leaves that to zod). */
function onlyFields(v: Record<string, unknown>, known: ReadonlySet<string>): boolean {
  for (const field in v) if (!known.has(field)) return false;
  return true;
}

function isPlainToolRequest(v: unknown): v is StepRequest {
  if (!isRecord(v) || !onlyFields(v, REQUEST_FIELDS)) return false;
  return (
    v.type === 'wfmesh.step.request.v1' &&
    isText(v.key) &&
    (v.idempotency_key === undefined || isText(v.idempotency_key)) &&
    (v.epoch === undefined || isCount(v.epoch, 0)) &&
    (v.redelivery === undefined || typeof v.redelivery === 'boolean') &&
    isText(v.execution_id) &&
    isText(v.step_id) &&
    isCount(v.attempt, 1) &&
    typeof v.origin === 'string' &&
    isCount(v.deadline, 1) &&
    (v.isolation === 'in_process' || v.isolation === 'child_process') &&
    isPlainToolTask(v.task)
  );
}

function isPlainToolTask(v: unknown): boolean {
  if (!isRecord(v) || !onlyFields(v, TASK_FIELDS)) return false;
  return (
    v.kind === 'tool' &&
    typeof v.tool_id === 'string' &&
    typeof v.tool_type === 'string' &&
    (v.method === undefined || typeof v.method === 'string') &&
    v.args !== undefined &&
    (v.idempotency_key === undefined || typeof v.idempotency_key === 'string')
  );
}

import type { ExecutorEnvironment } from '../../../src/executor/index.js';
import type { StepTask } from '../../../src/protocol/step.js';
import { StepFailure } from '../../../src/protocol/errors.js';
import assert from 'node:assert/strict';

/** An executor environment for tests; everything denied unless overridden. */
export function testEnv(over: Partial<Omit<ExecutorEnvironment, 'allow' | 'llm'>> & {
  allow?: Partial<ExecutorEnvironment['allow']>;
  llm?: Partial<ExecutorEnvironment['llm']>;
} = {}): ExecutorEnvironment {
  return {
    node_name: over.node_name ?? 'test-node',
    max_output_bytes: over.max_output_bytes ?? 1_000_000,
    allow: { filesystem_root: '/nonexistent-wfmesh-root', http_hosts: [], shell_commands: [], env_vars: [], ...over.allow },
    llm: { models: [], timeout_ms: 5_000, ...over.llm },
  };
}

export function toolTask(tool_type: string, method: string | undefined, args: unknown, settings?: Record<string, unknown>): StepTask {
  return { kind: 'tool', tool_id: `${tool_type}-1`, tool_type, ...(method ? { method } : {}), args, ...(settings ? { settings } : {}) };
}

export const never = (): AbortSignal => new AbortController().signal;

/** Asserts that `p` rejects with a StepFailure of `type` whose message matches `message`. */
export async function rejectsWith(p: Promise<unknown>, type: StepFailure['type'], message?: RegExp): Promise<StepFailure> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof StepFailure, `expected a StepFailure, got ${String(caught)}`);
  assert.equal(caught.type, type, `failure type (message: ${caught.message})`);
  if (message) assert.match(caught.message, message);
  return caught;
}

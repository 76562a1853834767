import type { StepRequest } from '../../../src/protocol/step.js';

/** Step request number `n` of execution `ex` (keyed like a dispatcher's), with `task`; `over` replaces fields. */
export function stepRequest(n: number, task: StepRequest['task'], over: Partial<StepRequest> = {}): StepRequest {
  return {
    type: 'wfmesh.step.request.v1',
    key: `ex:s${n}:1:${n}`,
    idempotency_key: `ex:s${n}:1`,
    execution_id: 'ex',
    step_id: `s${n}`,
    attempt: 1,
    origin: 'test',
    deadline: Date.now() + 30_000,
    isolation: 'in_process',
    task,
    ...over,
  };
}

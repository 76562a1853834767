import type { StepCall, StepResult, StepRunner } from '../engine/types.js';
import type { ToolCallDispatch, ToolCallDispatcher } from '../executor/types.js';
import { StepFailure } from '../protocol/errors.js';

/**
 * Places the tool calls of agents running on this node, through the same runners as steps: the
 * mesh runner (placement, allow-lists of the chosen node, size limits, failover, cancellation)
 * or, in sync mode, this node under its own constraints. The executor is made before the mesh
 * is joined, so the runners are attached once they exist.
 */
export class ToolCallRouter implements ToolCallDispatcher {
  private runners: { mesh: StepRunner; here: StepRunner; self: string } | undefined;

  /** `self`: this node's name (where `here` runs calls). */
  attach(runners: { mesh: StepRunner; here: StepRunner; self: string }): void {
    this.runners = runners;
  }

  dispatch(c: ToolCallDispatch, signal: AbortSignal): Promise<StepResult> {
    if (!this.runners) return Promise.reject(new StepFailure('unsupported', 'this node does not place tool calls yet (it is still starting)'));
    const call: StepCall = {
      execution_id: c.scope.execution_id,
      step_id: c.call_id,
      attempt: c.scope.attempt,
      task: c.task,
      ...(c.requires && { requires: c.requires }),
      timeout_ms: c.timeout_ms,
      isolation: 'in_process',
      ...(c.task.idempotency_key !== undefined && { idempotency_key: c.task.idempotency_key }),
      // No lease epoch: the calls belong to the agent step, which its coordinator fences (a
      // cancelled step aborts its calls); a successor that joins the running step keeps them.
      ...(c.onSent && { track: (e) => (e.kind === 'sent' ? c.onSent?.(e.node) : undefined) }),
    };
    if (c.scope.placement === 'mesh') return this.runners.mesh.run(call, signal);
    c.onSent?.(this.runners.self);
    return this.runners.here.run(call, signal);
  }
}

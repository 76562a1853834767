import { StepFailure } from '../protocol/errors.js';
import type { StepExecutor, StepScope } from '../executor/types.js';
import { ToolCallCollector, withToolCalls } from '../executor/agent-tools/collector.js';
import { NEVER_ABORTED } from '../executor/failures.js';
import type { StepCall, StepResult, StepRunner } from './types.js';

/**
 * Runs steps in this process (sync mode): the executor does the work; this enforces the
 * attempt's deadline and passes cancellation on, with one AbortSignal.
 */
export class LocalStepRunner implements StepRunner {
  constructor(
    private readonly executor: StepExecutor,
    private readonly nodeName: string,
  ) {}

  async run(call: StepCall, signal: AbortSignal): Promise<StepResult> {
    if (this.executor.runNow && this.executor.isInstant?.(call.task) === true) return this.runNow(call, signal);
    const ctl = new AbortController();
    const onAbort = (): void => ctl.abort(new StepFailure('cancelled', `step ${call.step_id} was cancelled`, false));
    if (signal.aborted) onAbort();
    else if (signal !== NEVER_ABORTED) signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => ctl.abort(new StepFailure('timeout', `step ${call.step_id} ran past its timeout of ${call.timeout_ms} ms`)),
      call.timeout_ms,
    );
    const calls = new ToolCallCollector();
    try {
      const durable = call.awaitDurable?.();
      if (durable) await durable;
      const aborted = new Promise<never>((_, reject) => {
        const fail = (): void => reject(ctl.signal.reason);
        if (ctl.signal.aborted) fail();
        else ctl.signal.addEventListener('abort', fail, { once: true });
      });
      aborted.catch(() => undefined);
      // Settle on abort even if the executor ignores the signal.
      const output = await Promise.race([this.executor.execute(call.task, ctl.signal, this.scopeOf(call, calls)), aborted]);
      return { output, node: this.nodeName, ...(calls.size && { tool_calls: calls.list() }) };
    } catch (err) {
      if (ctl.signal.aborted && ctl.signal.reason instanceof StepFailure) throw withToolCalls(ctl.signal.reason, calls);
      throw withToolCalls(StepFailure.from(err), calls);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * An instant tool (echo, transform: pure and synchronous) runs here and now: it finishes in this
   * turn, so there is no deadline to enforce and nothing to abort, and the controller, timer and
   * listeners of the usual way cost more than the tool itself (as in the step server).
   */
  private async runNow(call: StepCall, signal: AbortSignal): Promise<StepResult> {
    const durable = call.awaitDurable?.();
    if (durable) await durable;
    if (signal.aborted) throw new StepFailure('cancelled', `step ${call.step_id} was cancelled`, false);
    try {
      return { output: this.executor.runNow!(call.task), node: this.nodeName };
    } catch (err) {
      throw StepFailure.from(err);
    }
  }

  /** Sync mode: an agent's tool calls run on this node too (under their constraints). */
  private scopeOf(call: StepCall, calls: ToolCallCollector): StepScope {
    return {
      execution_id: call.execution_id,
      step_id: call.step_id,
      attempt: call.attempt,
      deadline: Date.now() + call.timeout_ms,
      ...(call.idempotency_key !== undefined && { idempotency_key: call.idempotency_key }),
      placement: 'here',
      onToolCall: (c) => {
        calls.add(c);
        call.track?.({ kind: 'tool_call', node: this.nodeName, call: c });
      },
    };
  }
}

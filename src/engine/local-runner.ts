import { StepFailure } from '../protocol/errors.js';
import type { StepExecutor } from '../executor/types.js';
import type { StepCall, StepRunner } from './types.js';

/**
 * Runs steps in this process (sync mode): the executor does the work; this enforces the
 * attempt's deadline and passes cancellation on, with one AbortSignal.
 */
export class LocalStepRunner implements StepRunner {
  constructor(
    private readonly executor: StepExecutor,
    private readonly nodeName: string,
  ) {}

  async run(call: StepCall, signal: AbortSignal): Promise<{ output: unknown; node: string }> {
    const ctl = new AbortController();
    const onAbort = (): void => ctl.abort(new StepFailure('cancelled', `step ${call.step_id} was cancelled`, false));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => ctl.abort(new StepFailure('timeout', `step ${call.step_id} ran past its timeout of ${call.timeout_ms} ms`)),
      call.timeout_ms,
    );
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
      const output = await Promise.race([this.executor.execute(call.task, ctl.signal), aborted]);
      return { output, node: this.nodeName };
    } catch (err) {
      if (ctl.signal.aborted && ctl.signal.reason instanceof StepFailure) throw ctl.signal.reason;
      throw StepFailure.from(err);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }
}

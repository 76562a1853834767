import type { StepCall, StepRunner } from '../engine/types.js';
import { eligiblePeers } from '../mesh/placement.js';
import type { Advertisement } from '../protocol/advert.js';
import { StepFailure } from '../protocol/errors.js';
import { placementNeed } from './mesh-runner.js';

/**
 * Sync mode runs every step on the entry node, but hard constraints still hold: a step this node
 * does not satisfy (an EU-only step on a US node, a GPU step without a GPU) fails as infeasible
 * instead of running here.
 */
export class SelfConstrainedRunner implements StepRunner {
  constructor(
    private readonly inner: StepRunner,
    private readonly self: () => Advertisement | undefined,
  ) {}

  run(call: StepCall, signal: AbortSignal): Promise<{ output: unknown; node: string }> {
    const me = this.self();
    if (me) {
      const { unmet } = eligiblePeers([me], placementNeed(call));
      if (unmet !== undefined) {
        return Promise.reject(new StepFailure('infeasible', `step ${call.step_id}: sync mode runs every step on ${me.name}, and ${unmet}`, false));
      }
    }
    return this.inner.run(call, signal);
  }
}

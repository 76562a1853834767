import { setMaxListeners } from 'node:events';
import { StepFailure } from '../protocol/errors.js';
import type { Isolation } from '../protocol/step.js';
import type { WorkflowDocument } from '../workflow/index.js';
import type { Journal } from './journal.js';
import type { RecordKeeper } from './record.js';
import type { RunExecutionOptions, StepRunner } from './types.js';

/** What every part of one execution shares. */
export interface ExecutionContext {
  readonly executionId: string;
  readonly document: WorkflowDocument;
  readonly runner: StepRunner;
  readonly keeper: RecordKeeper;
  readonly isolation: Isolation;
  readonly coordinator: string;
  readonly env: Readonly<Record<string, string>>;
  readonly defaultTimeoutMs: number;
  readonly random: () => number;
  readonly epoch: number;
  /** Outcomes known from before a takeover (empty for a fresh start). */
  readonly journal?: Journal;
  readonly beforeDispatch?: RunExecutionOptions['beforeDispatch'];
  /** Yields to the event loop now and then, so that long runs of in-process steps never starve timers. */
  readonly pace: () => Promise<void> | undefined;
}

/** How old the last turn seen may be before a pace() call watches for the next one. */
const WATCH_AFTER_MS = 1;

/**
 * A pacer: resolves at once while the event loop keeps getting turns, and makes the caller wait
 * for one (setImmediate) when it has seen none for `sliceMs` — a long run of in-process steps that
 * never awaits real I/O would otherwise starve timers and heartbeats.
 *
 * A turn is seen by a setImmediate armed by a call that finds the last turn seen over a
 * millisecond old, not by every call: a step of a chain that waits for a reply calls it once a
 * round trip (~0.3 ms), and an immediate per step (an Immediate, and a call into Node to keep
 * the loop's check phase going) cost 1-3 µs of the ~15 the engine spends between a reply and the
 * next request (in place). Nothing runs for more than `sliceMs` past the last turn seen; a step
 * that took longer than `sliceMs - WATCH_AFTER_MS` may wait for one turn it did not need (every
 * step over `sliceMs` did before).
 */
export function pacer(sliceMs = 10, now: () => number = Date.now): () => Promise<void> | undefined {
  let lastTurn = now();
  let watching = false;
  const turn = (): void => {
    lastTurn = now();
    watching = false;
  };
  return () => {
    const since = now() - lastTurn;
    if (since < WATCH_AFTER_MS) return undefined;
    if (!watching) {
      watching = true;
      setImmediate(turn);
    }
    if (since < sliceMs) return undefined;
    return new Promise<void>((resolve) => setImmediate(resolve));
  };
}

/** A failure and the record row it started at (empty for a cancellation from outside). */
export class StepError extends Error {
  override readonly name = 'StepError';
  constructor(
    readonly rowId: string,
    readonly failure: StepFailure,
  ) {
    super(failure.message);
  }
}

/** A controller that aborts when `parent` does; `dispose` unhooks it. */
export function linkedController(parent: AbortSignal): { ctl: AbortController; dispose: () => void } {
  const ctl = new AbortController();
  // Every in-flight step and loop iteration listens here: wide fan-outs are normal, not a leak.
  setMaxListeners(0, ctl.signal);
  const onAbort = (): void => ctl.abort(parent.reason);
  if (parent.aborted) ctl.abort(parent.reason);
  else parent.addEventListener('abort', onAbort, { once: true });
  return { ctl, dispose: () => parent.removeEventListener('abort', onAbort) };
}

/** Any thrown value as a StepError at `rowId` (a StepError keeps the row it started at). */
export function toStepError(err: unknown, rowId: string): StepError {
  if (err instanceof StepError) return err.rowId ? err : new StepError(rowId, err.failure);
  return new StepError(rowId, StepFailure.from(err));
}

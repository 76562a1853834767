import { runExecution } from '../engine/index.js';
import { hasSideEffects } from '../executor/builtin.js';
import { RideAlong } from '../nats/ride-along.js';
import { encodeJson } from '../protocol/codec.js';
import { StepFailure } from '../protocol/errors.js';
import type { ExecutionEvent, ExecutionRecord, ExecutionStatus } from '../protocol/execution.js';
import { subjects } from '../protocol/subjects.js';
import { RecordWriter } from '../store/index.js';
import type { WorkflowDocument } from '../workflow/index.js';
import type { ExecutionDeps } from './deps.js';
import { ProgressTracker, type ExecutionProgress } from './progress.js';

export interface CoordinationOptions {
  readonly deps: ExecutionDeps;
  readonly document: WorkflowDocument;
  /** The record as stored under this node's lease: a fresh one, or a claimed one with its rows. */
  readonly record: ExecutionRecord;
  /**
   * Header revision of that record (the writer's compare-and-swap token), or the create that
   * gives it: the run starts at once, and when the create fails it is cancelled.
   */
  readonly revision: number | Promise<number>;
  readonly env: Readonly<Record<string, string>>;
  readonly onProgress?: (p: ExecutionProgress) => void;
  /** Aborting it cancels the execution (a waiting caller that went away). */
  readonly callerSignal?: AbortSignal;
}

/**
 * One execution coordinated by this node, under its lease: the engine runs it (from the record's
 * rows when it was taken over), every change goes to the store and to watchers, and it ends in
 * one of three ways — finished (the final record is written), handed over (this node stops
 * without a final write; the next holder resumes from the store), or superseded (another node
 * took the lease: this one stops writing at once).
 */
export class Coordination {
  readonly settled: Promise<ExecutionRecord>;
  private live: ExecutionRecord;
  private readonly controller = new AbortController();
  private readonly writer: RecordWriter;
  /** Set when this node stops coordinating without ending the execution. */
  private leaving: string | undefined;
  /** The last event published (see publishEvent). */
  private lastEvent = '';

  constructor(private readonly opts: CoordinationOptions) {
    const { deps, record } = opts;
    this.live = record;
    this.writer = new RecordWriter(deps.store, record, opts.revision, deps.log, (stored) => this.onFenced(stored));
    if (typeof opts.revision !== 'number') {
      opts.revision.catch((err: Error) => this.controller.abort(new StepFailure('cancelled', `the execution could not be stored: ${err.message}`)));
    }
    this.settled = this.run();
  }

  get executionId(): string {
    return this.opts.record.execution_id;
  }

  get epoch(): number {
    return this.live.epoch ?? 0;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A copy of the live record (rows included). */
  snapshot(): ExecutionRecord {
    return { ...this.live, steps: this.live.steps.slice() };
  }

  /** Cancels the execution here; resolves with the status it ended in. */
  async cancel(reason: string): Promise<ExecutionStatus> {
    this.controller.abort(new StepFailure('cancelled', reason));
    const settled = await Promise.race([this.settled, new Promise<undefined>((r) => setTimeout(r, 5_000, undefined).unref())]);
    return settled?.status ?? 'cancelled';
  }

  /**
   * Stops coordinating without ending the execution: what happened so far is made durable, then
   * the engine stops (its in-flight steps keep running on their nodes, for the next holder).
   */
  async handOver(reason: string): Promise<void> {
    if (this.leaving || this.controller.signal.aborted) return;
    const flushed = this.writer.flushed();
    if (flushed) await flushed;
    this.leave(reason);
    await this.settled;
  }

  /** Another node announced the lease at `epoch`: stop at once if it is newer than ours. */
  superseded(epoch: number, by: string): void {
    if (epoch > this.epoch) this.leave(`node ${by} took the execution over (epoch ${epoch})`);
  }

  private leave(reason: string): void {
    if (this.leaving) return;
    this.leaving = reason;
    this.controller.abort(new StepFailure('superseded', reason));
  }

  private onFenced(stored: ExecutionRecord): void {
    const ended = stored.status === 'completed' || stored.status === 'failed' || stored.status === 'cancelled';
    if (ended) this.controller.abort(new StepFailure('cancelled', `ended elsewhere: ${stored.error?.message ?? stored.status}`));
    else this.leave(`node ${stored.coordinator} holds the lease now (epoch ${stored.epoch ?? 0})`);
  }

  private async run(): Promise<ExecutionRecord> {
    const { deps, record, callerSignal } = this.opts;
    const onCallerAbort = (): void => this.controller.abort(new StepFailure('cancelled', 'the caller cancelled the request'));
    if (callerSignal?.aborted) onCallerAbort();
    else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    if (record.deadline_at !== undefined) {
      const seconds = Math.round((record.deadline_at - Date.parse(record.created_at)) / 100) / 10;
      const fail = () => this.controller.abort(new StepFailure('timeout', `the execution ran past its timeout_s of ${seconds} s`));
      timer = setTimeout(fail, Math.max(0, record.deadline_at - Date.now()));
    }
    const progress = new ProgressTracker(record.execution_id, this.opts.onProgress);
    let final: ExecutionRecord;
    try {
      final = await runExecution({
        document: this.opts.document,
        workflow: record.workflow,
        input: record.input,
        runner: deps.runnerFor(record.mode),
        mode: record.mode,
        coordinator: deps.self.name,
        signal: this.controller.signal,
        env: this.opts.env,
        resume: record,
        beforeDispatch: (call, recordNow) => {
          if (!hasSideEffects(call.task)) return undefined;
          recordNow();
          return this.writer.flushed();
        },
        onChange: (r, row) => {
          if (this.leaving) return; // the next holder writes from here on
          this.live = r;
          this.writer.changed(r, row);
          this.publishEvent(r, progress.update(r, row));
        },
      });
    } catch (err) {
      // The engine resolves even for failing workflows; reaching here is a bug, never a crash.
      deps.log.error({ err, execution: record.execution_id }, 'execution crashed');
      const at = new Date().toISOString();
      final = { ...this.live, status: 'failed', error: { type: 'internal', message: `internal error: ${(err as Error)?.message ?? String(err)}` }, updated_at: at, ended_at: at };
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
    if (this.leaving) {
      deps.log.info({ execution: record.execution_id, why: this.leaving }, 'stopped coordinating the execution; it goes on elsewhere');
      return { ...this.snapshot(), status: 'running' };
    }
    final = explainAbort(final, this.controller.signal);
    this.live = final;
    progress.update(final, undefined);
    const stored = await this.writer.finish(final);
    this.publishEvent(final, undefined);
    // Our in-memory record has whole outputs; the stored one wins only when it is another verdict.
    return stored.status === final.status ? final : stored;
  }

  /**
   * Tells watchers (the CLI, dashboards, MCP clients of other nodes) what they can see change: a
   * step's status or node, the execution's status or count. A change only to a row's dispatch
   * history is not news to them (it was ~3 of the 4 events a step made).
   */
  private publishEvent(r: ExecutionRecord, step: ExecutionEvent['step']): void {
    const { nc } = this.opts.deps;
    if (nc.isClosed()) return;
    const seen = `${r.status}|${r.steps_done ?? 0}|${r.steps_total ?? r.steps.length}|${step ? `${step.id}|${step.status}|${step.node ?? ''}` : ''}`;
    if (seen === this.lastEvent) return;
    this.lastEvent = seen;
    const event: ExecutionEvent = {
      type: 'wfmesh.execution.event.v1',
      execution_id: r.execution_id,
      status: r.status,
      steps_done: r.steps_done ?? 0,
      steps_total: r.steps_total ?? r.steps.length,
      ...(step && { step }),
      coordinator: r.coordinator,
      at: r.updated_at,
    };
    // Watchers are not on the step's critical path: the event leaves with the next step's request.
    RideAlong.of(nc).publish(subjects.events(r.execution_id), encodeJson(event));
  }
}

/** The engine reports every abort as a cancel; a timeout is a failure. */
function explainAbort(final: ExecutionRecord, signal: AbortSignal): ExecutionRecord {
  const reason: unknown = signal.reason;
  if (final.status !== 'cancelled' || !(reason instanceof StepFailure) || reason.type === 'cancelled') return final;
  return { ...final, status: 'failed', error: { ...(final.error?.step && { step: final.error.step }), type: reason.type, message: reason.message } };
}

/**
 * The execution record as the engine keeps it: one row per step run, each finished exactly once.
 * Later news about a finished row (a late reply, a cancelled attempt) is ignored.
 *
 * Rows are never changed in place: a change replaces the row object. Every change costs O(1):
 * observers are told which row changed (`onChange`), and the counts of rows and finished rows are
 * kept as they go, so a 100,000-row execution does not copy its step list per change.
 */
import type { StepFailure } from '../protocol/errors.js';
import { isoTime } from '../protocol/iso-time.js';
import type { ToolCallRecord } from '../protocol/step.js';
import { FINAL_STEP_STATUSES, type AttemptRecord, type AttemptStatus, type ExecutionRecord, type ExecutionStatus, type StepRecord } from '../protocol/execution.js';

const FINAL_STEP = FINAL_STEP_STATUSES;

/** `row`: index of the row that changed; undefined for a change of the record itself. */
export type RecordChangeListener = (record: ExecutionRecord, row: number | undefined) => void;

export interface RecordKeeperOptions {
  /** A snapshot per change (O(rows) each: for tests and small runs). */
  onUpdate?: (record: ExecutionRecord) => void;
  /** The live record and the changed row (O(1)): read it at once, never keep or change it. */
  onChange?: RecordChangeListener;
  /** Lease epoch of this coordinator, written into every attempt it dispatches. */
  epoch?: number;
}

const MAX_ROW_WARNINGS = 10;

export class RecordKeeper {
  private readonly index = new Map<string, number>();
  /** Attempt whose tool calls each row shows. */
  private readonly callsAttempt = new Map<string, number>();
  private done = 0;
  private sealed = false;
  /**
   * A dispatch that ended completed, not yet written into its row: the row's own change follows in
   * the same turn (completed, or failed by its routes, or cancelled by a sibling's failure), and
   * `completed` writes both in one copy of the row. Anything else that reads or changes rows
   * writes it first.
   */
  private completedDispatch: { i: number; attempt: number; node: string; at: string } | undefined;
  /** Changes made while the record is held (see hold), in the order made. */
  private held: (() => void)[] | undefined;

  constructor(
    readonly record: ExecutionRecord,
    private readonly opts: RecordKeeperOptions = {},
  ) {
    // A resumed record brings its rows: index them and count the finished ones. Dispatches the
    // previous coordinator left open end here as handed over (a redelivery may join them).
    const epoch = opts.epoch ?? 0;
    record.steps.forEach((row, i) => {
      this.index.set(row.id, i);
      if (FINAL_STEP.has(row.status)) this.done++;
      if (row.history?.some((h) => h.status === 'running' && h.epoch < epoch)) {
        const at = now();
        record.steps[i] = { ...row, history: row.history.map((h) => (h.status === 'running' && h.epoch < epoch ? { ...h, status: 'handed_over', ended_at: at } : h)) };
      }
    });
    record.steps_total = record.steps.length;
    record.steps_done = this.done;
  }

  /**
   * Holds every change made from here until release(), which makes them, in the order made. The
   * engine holds the record while a step list starts its first steps and while a step that ended
   * starts the next: the rows, the dispatches and what their observers do (the durable writer,
   * progress events) then come after the step requests are written, not before them (see
   * GraphRun.run and GraphRun.finished). Nested holds are one: the first release makes them all.
   */
  hold(): void {
    this.held ??= [];
  }

  /** Makes the changes held since hold(), in order; changes from here on are made at once. */
  release(): void {
    const ops = this.held;
    if (!ops) return;
    this.held = undefined;
    for (const op of ops) op();
  }

  /** The row with `id`, if any. */
  row(id: string): StepRecord | undefined {
    this.release();
    this.writeCompletedDispatch();
    const i = this.index.get(id);
    return i === undefined ? undefined : this.record.steps[i];
  }

  /** Adds pending rows (idempotent) with one update. */
  addAll(ids: readonly string[]): void {
    if (this.held) return void this.held.push(() => this.addAll(ids));
    if (this.sealed) return;
    const before = this.record.steps.length;
    for (const id of ids) this.add(id);
    if (this.record.steps.length !== before) this.emit(undefined, now());
  }

  /** A row starts running (or starts another attempt). */
  running(id: string, attempt: number, node?: string): void {
    if (this.held) return void this.held.push(() => this.running(id, attempt, node));
    this.change(id, (row, at) => patched(row, runs(row, attempt, at), node !== undefined ? { node } : {}));
  }

  /**
   * An attempt was sent to `node` (one history entry per dispatch). The row runs that attempt from
   * here on: a runner that dispatches at once makes this the attempt's only change before its end,
   * instead of `running` then `dispatched` (see runAttempts).
   */
  dispatched(id: string, attempt: number, node: string): void {
    if (this.held) return void this.held.push(() => this.dispatched(id, attempt, node));
    this.change(id, (row, at) => {
      const entry: AttemptRecord = { attempt, node, epoch: this.opts.epoch ?? 0, status: 'running', started_at: at };
      // One patch (not runs() and a second): each source of a copy costs it another pass.
      return patched(row, { status: 'running', attempts: Math.max(row.attempts, attempt), started_at: row.started_at ?? at, node, history: row.history ? [...row.history, entry] : [entry] });
    });
  }

  /** How the dispatch of `attempt` to `node` ended (the latest open entry for it); a refusal (busy) leaves no entry. */
  dispatchEnded(id: string, attempt: number, node: string, status: Exclude<AttemptStatus, 'running'> | 'refused', error?: string): void {
    if (this.held) return void this.held.push(() => this.dispatchEnded(id, attempt, node, status, error));
    this.writeCompletedDispatch();
    const i = this.index.get(id);
    const row = i === undefined ? undefined : this.record.steps[i];
    if (!row?.history || i === undefined || this.sealed) return;
    // A completed dispatch is followed at once by the row's own change, which tells observers of
    // both: it is written with that change (see completedDispatch).
    if (status === 'completed') {
      if (openEntryAt(row.history, attempt, node) >= 0) this.completedDispatch = { i, attempt, node, at: now() };
      return;
    }
    const history = status === 'refused' ? dropEntry(row.history, attempt, node) : closeEntry(row.history, attempt, node, status, now(), error);
    if (history === row.history) return;
    this.record.steps[i] = patched(row, { history });
    this.emit(i, now());
  }

  /** A tool call of an agent step started or ended (live): kept by round and index, latest attempt only. */
  toolCall(id: string, attempt: number, call: ToolCallRecord): void {
    if (this.held) return void this.held.push(() => this.toolCall(id, attempt, call));
    this.changeCalls(id, attempt, (calls) => {
      const at = calls.findIndex((c) => c.round === call.round && c.index === call.index);
      if (at >= 0) return calls.map((c, k) => (k === at ? call : c));
      return [...calls, call].sort((a, b) => a.round - b.round || a.index - b.index);
    });
  }

  /** The final list of an attempt's tool calls (from the step's reply): replaces what was told live. */
  toolCalls(id: string, attempt: number, calls: ToolCallRecord[]): void {
    if (this.held) return void this.held.push(() => this.toolCalls(id, attempt, calls));
    this.changeCalls(id, attempt, () => calls);
  }

  private changeCalls(id: string, attempt: number, next: (calls: ToolCallRecord[]) => ToolCallRecord[]): void {
    this.writeCompletedDispatch();
    const i = this.index.get(id);
    const row = i === undefined ? undefined : this.record.steps[i];
    if (!row || i === undefined || this.sealed) return;
    // A later attempt starts a fresh list; news of an older one is ignored.
    const known = this.callsAttempt.get(id) ?? 0;
    if (attempt < known) return;
    this.callsAttempt.set(id, attempt);
    this.record.steps[i] = patched(row, { tool_calls: next(attempt > known ? [] : (row.tool_calls ?? [])) });
    this.emit(i, now());
  }

  completed(id: string, output: unknown, node?: string): void {
    if (this.held) return void this.held.push(() => this.completed(id, output, node));
    // The row's completed dispatch, if that is what is waiting, is closed in this same copy.
    const d = this.completedDispatch;
    const dispatch = d && this.index.get(id) === d.i && !this.sealed && !FINAL_STEP.has((this.record.steps[d.i] as StepRecord).status) ? d : undefined;
    if (dispatch) this.completedDispatch = undefined;
    this.change(id, (row, at) => {
      const history = dispatch && row.history ? closeEntry(row.history, dispatch.attempt, dispatch.node, 'completed', dispatch.at) : closeLast(row, node, 'completed', at).history;
      const patch: Partial<StepRecord> = { status: 'completed', started_at: row.started_at ?? at, ended_at: at, output };
      if (node !== undefined) patch.node = node;
      if (history !== undefined) patch.history = history;
      return patched(row, patch);
    });
  }

  failed(id: string, failure: StepFailure, node?: string): void {
    if (this.held) return void this.held.push(() => this.failed(id, failure, node));
    this.change(id, (row, at) =>
      patched(row, ended(row, at), { status: 'failed', error: failure.toWire(), ...(node !== undefined && { node }) }, closeLast(row, node, 'failed', at, failure.message), closeCalls(row, `the step failed while the call ran (${failure.type}: ${failure.message})`)),
    );
  }

  /** Notes something the run did not fail for; repeats are kept once, and at most a few. */
  warn(id: string, message: string): void {
    if (this.held) return void this.held.push(() => this.warn(id, message));
    const row = this.row(id);
    if (!row || row.warnings?.includes(message) || (row.warnings?.length ?? 0) >= MAX_ROW_WARNINGS) return;
    this.change(id, (r) => ({ ...r, warnings: [...(r.warnings ?? []), message] }));
  }

  /** Skipped (its branch was not taken) or cancelled. */
  ended(id: string, status: 'skipped' | 'cancelled'): void {
    if (this.held) return void this.held.push(() => this.ended(id, status));
    this.change(id, (row, at) => (row.started_at ? patched(row, { status, ended_at: at }, closeCalls(row, `${status}: the step ended while the call ran`)) : patched(row, { status })));
  }

  /** No further change reaches observers (a coordinator handing the execution on stops here). */
  seal(): void {
    this.release();
    this.writeCompletedDispatch();
    this.sealed = true;
  }

  /** Ends the execution: open rows end as `open` (running ones as cancelled); one last update. */
  finish(status: Extract<ExecutionStatus, 'completed' | 'failed' | 'cancelled'>, fields: Partial<ExecutionRecord>, open: 'skipped' | 'cancelled'): ExecutionRecord {
    this.release();
    if (this.sealed) return this.record;
    this.writeCompletedDispatch();
    const steps = this.record.steps;
    const at = now();
    // Usually every row has ended already (the done count says so): then there is nothing to look at.
    for (let i = 0; this.done < steps.length && i < steps.length; i++) {
      const row = steps[i] as StepRecord;
      if (FINAL_STEP.has(row.status)) continue;
      this.done++;
      steps[i] = row.status === 'running'
        ? patched(row, { status: 'cancelled', ended_at: at }, closeLast(row, undefined, 'cancelled', at), closeCalls(row, 'cancelled: the step ended while the call ran'))
        : patched(row, { status: open });
      try {
        this.opts.onChange?.(this.record, i);
      } catch {
        // An observer's failure must not change the execution.
      }
    }
    Object.assign(this.record, fields);
    this.record.status = status;
    this.record.ended_at = at;
    this.emit(undefined, at);
    this.sealed = true;
    return this.record;
  }

  private add(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.record.steps.push({ id, status: 'pending', attempts: 0 }) - 1;
      this.index.set(id, i);
    }
    return i;
  }

  /** Changes row `id` (added if new) to what `next` makes of it, stamped `at`, unless it is final. */
  private change(id: string, next: (row: StepRecord, at: string) => StepRecord): void {
    if (this.sealed) return;
    this.writeCompletedDispatch();
    const i = this.add(id);
    const row = this.record.steps[i] as StepRecord;
    if (FINAL_STEP.has(row.status)) return;
    const at = now();
    const changed = next(row, at);
    if (FINAL_STEP.has(changed.status)) this.done++;
    this.record.steps[i] = changed;
    this.emit(i, at);
  }

  /** Writes the completed dispatch still waiting for its row's change (no observer is told: the row's change tells). */
  private writeCompletedDispatch(): void {
    const d = this.completedDispatch;
    if (!d) return;
    this.completedDispatch = undefined;
    const row = this.record.steps[d.i];
    if (!row?.history) return;
    const history = closeEntry(row.history, d.attempt, d.node, 'completed', d.at);
    if (history !== row.history) this.record.steps[d.i] = patched(row, { history });
  }

  private emit(row: number | undefined, at: string): void {
    const r = this.record;
    r.updated_at = at;
    r.steps_total = r.steps.length;
    r.steps_done = this.done;
    if (this.sealed) return;
    try {
      this.opts.onChange?.(r, row);
      this.opts.onUpdate?.({ ...r, steps: r.steps.slice() });
    } catch {
      // An observer's failure must not change the execution.
    }
  }
}

/**
 * The row's tool calls with those still running ended as errors: a step settled by its abort
 * (cancelled, timed out) does not wait for its calls, and its row must not show them running.
 */
function closeCalls(row: StepRecord, error: string): Partial<StepRecord> {
  if (!row.tool_calls?.some((c) => c.status === 'running')) return {};
  const t = Date.now();
  const close = (c: ToolCallRecord): ToolCallRecord => (c.status === 'running' ? { ...c, status: 'error', duration_ms: Math.max(0, t - Date.parse(c.started_at)), error } : c);
  return { tool_calls: row.tool_calls.map(close) };
}

/** The open history entry of the row's latest attempt, closed as `status` (in a partial row). */
function closeLast(row: StepRecord, node: string | undefined, status: Exclude<AttemptStatus, 'running'>, at: string, error?: string): Partial<StepRecord> {
  const history = row.history;
  if (!history?.length) return {};
  // Usually already closed by its dispatch's end: then nothing is copied.
  for (let k = history.length - 1; k >= 0; k--) {
    const h = history[k] as AttemptRecord;
    if (h.status === 'running' && (node === undefined || h.node === node)) return { history: closeEntry(history, h.attempt, h.node, status, at, error) };
  }
  return {};
}

/** Where in `history` the open entry of `attempt` on `node` is (the latest one), or -1. */
function openEntryAt(history: readonly AttemptRecord[], attempt: number, node: string): number {
  for (let k = history.length - 1; k >= 0; k--) {
    const h = history[k] as AttemptRecord;
    if (h.attempt === attempt && h.node === node && h.status === 'running') return k;
  }
  return -1;
}

function closeEntry(history: AttemptRecord[], attempt: number, node: string, status: Exclude<AttemptStatus, 'running'>, at: string, error?: string): AttemptRecord[] {
  const k = openEntryAt(history, attempt, node);
  if (k < 0) return history;
  const copy = history.slice();
  copy[k] = patched(history[k] as AttemptRecord, { status, ended_at: at, ...(error !== undefined && { error: error.slice(0, 500) }) });
  return copy;
}

function dropEntry(history: AttemptRecord[], attempt: number, node: string): AttemptRecord[] {
  const k = openEntryAt(history, attempt, node);
  return k < 0 ? history : [...history.slice(0, k), ...history.slice(k + 1)];
}

/** A row running `attempt` (a patch): started at `at` unless it started before. */
function runs(row: StepRecord, attempt: number, at: string): Partial<StepRecord> {
  return { status: 'running', attempts: Math.max(row.attempts, attempt), started_at: row.started_at ?? at };
}

/** The start and end stamps of a row that ends now (a patch). */
function ended(row: StepRecord, at: string): Partial<StepRecord> {
  return { started_at: row.started_at ?? at, ended_at: at };
}

/**
 * A copy of `base` with `patches` applied in order: what `{ ...base, ...patch }` makes, several
 * times cheaper here. A row's shape varies with what happened to it, so a spread site sees many
 * shapes and V8 copies through its slow path (~1.5 µs a copy, measured; Object.assign ~0.2).
 */
function patched<T extends object>(base: T, ...patches: Partial<T>[]): T {
  return Object.assign({}, base, ...patches);
}

/** The time now, as the record writes it (about eight stamps a step: see isoTime). */
function now(): string {
  return isoTime(Date.now());
}

import type { Logger } from 'pino';
import type { ExecutionRecord, StepRecord } from '../protocol/execution.js';
import { isTerminal, type ExecutionStore, type StoredExecution } from './execution-store.js';
import { storedMarker } from './record-layout.js';

/** Least time between the starts of two write rounds nobody waits for. */
export const ROUND_INTERVAL_MS = 100;

/**
 * The lease holder's writes of one execution record. Step changes arrive faster than KV round
 * trips: `changed` never waits, at most one write round is in flight, and a round writes the
 * header and only the rows that changed since the last one (O(1) per step change, whatever the
 * record's size). Rounds start at most every ROUND_INTERVAL_MS unless someone waits for them (a
 * step with side effects about to be dispatched, a handover, the final write): what a crash can
 * lose in between is steps without side effects, which a successor runs again, and the record
 * is not written ten times in a ten-step run of ten milliseconds.
 *
 * The header goes first, by compare-and-swap on the revision this writer last wrote: when
 * another node took the lease (a higher epoch) or ended the execution (cancel), the write fails,
 * this writer stops for good and `onSuperseded` is told — a coordinator wrongly declared dead
 * never writes on beside its successor.
 */
export class RecordWriter {
  private revision: number;
  private readonly dirtyRows = new Set<number>();
  private dirty = false;
  private inflight: Promise<void> | undefined;
  private superseded: StoredExecution | undefined;
  /** Resolvers waiting for everything changed so far to be written. */
  private waiters: { resolve: () => void }[] = [];
  private failures = 0;
  private readonly input: unknown;
  /**
   * When the last round started (the next unurgent one waits for ROUND_INTERVAL_MS after it). The
   * record was written just before this writer was made (created or claimed): a run shorter than
   * the interval is written once, at its end.
   */
  private lastRoundAt = Date.now();
  /** Ends the pause before an unurgent round, when someone starts waiting. */
  private wake: (() => void) | undefined;
  private finishing = false;
  /** The record's create while it is on its way (nothing is written before it lands), and whether it failed. */
  private created: Promise<number> | undefined;
  private createFailed = false;

  /**
   * `revision`: the header's, or the create that will give it: the run may start while its record
   * is being created, and every write (a flush before a step with side effects, the final one)
   * waits for it. When the create fails nothing is ever written.
   */
  constructor(
    private readonly store: ExecutionStore,
    private live: ExecutionRecord,
    revision: number | Promise<number>,
    private readonly log: Logger,
    private readonly onSuperseded: (stored: ExecutionRecord) => void = () => undefined,
  ) {
    if (typeof revision === 'number') this.revision = revision;
    else {
      this.revision = 0;
      this.created = revision;
      revision.catch(() => undefined); // told through the drain (and the creator's own await)
    }
    // The input never changes: once stored under its own key, the header only points at it.
    this.input = storedMarker(live.input, 'in', store.maxValueBytes);
  }

  /** Whether another node took the execution from this writer. */
  get fenced(): boolean {
    return this.superseded !== undefined;
  }

  /** The record changed (`row`: the index of the row that did); returns at once. */
  changed(live: ExecutionRecord, row?: number): void {
    if (this.superseded || this.createFailed) return;
    this.live = live;
    this.dirty = true;
    if (row !== undefined) this.dirtyRows.add(row);
    this.inflight ??= this.drain();
  }

  /** Resolves once every change made before the call is in the store (or the writer is fenced). */
  flushed(): Promise<void> | undefined {
    if (!this.dirty && !this.inflight) return undefined;
    if (this.superseded || this.createFailed) return undefined;
    return new Promise((resolve) => {
      this.waiters.push({ resolve });
      this.inflight ??= this.drain();
      this.wake?.();
    });
  }

  /**
   * Writes the final state; resolves with what the store holds in the end. It keeps trying for as
   * long as the connection lives: while this node is alive nobody else takes the execution over,
   * so a final record given up on would stay "running" for good.
   */
  async finish(final: ExecutionRecord): Promise<ExecutionRecord> {
    if (this.superseded) return this.superseded.record;
    if (this.createFailed) return final;
    this.live = final;
    this.dirty = true;
    this.finishing = true;
    // The drain tries until it is written, superseded, or the connection is gone.
    this.inflight ??= this.drain();
    this.wake?.();
    while (this.inflight) await this.inflight;
    const superseded = this.superseded as StoredExecution | undefined;
    if (superseded) return superseded.record;
    if (this.dirty) this.log.error({ execution: this.live.execution_id }, 'could not write the final execution record before the NATS connection closed; its stored state is stale');
    return this.live;
  }

  private async drain(): Promise<void> {
    try {
      if (this.created) {
        try {
          this.revision = await this.created;
          this.created = undefined;
        } catch {
          this.createFailed = true;
          this.dirty = false;
          this.dirtyRows.clear();
          return;
        }
      }
      while (this.dirty && !this.superseded) {
        await this.pauseUnlessWaitedFor();
        if (this.superseded) break;
        this.lastRoundAt = Date.now();
        this.dirty = false;
        const rows: [number, StepRecord][] = [];
        for (const n of this.dirtyRows) rows.push([n, this.live.steps[n] as StepRecord]);
        this.dirtyRows.clear();
        const waiting = this.waiters.splice(0);
        try {
          // The final round of a small record writes it whole, rows inline: one write, not two.
          const written = await this.writeHeader(this.finishing && isTerminal(this.live.status));
          if (written === 'rows') await this.store.writeRows(this.live.execution_id, rows);
          this.failures = 0;
        } catch (err) {
          // Keep what was not written for the next round; never lose it to a hiccup.
          for (const [n] of rows) this.dirtyRows.add(n);
          this.dirty = true;
          this.waiters.unshift(...waiting);
          if (++this.failures % 20 === 1) this.log.warn({ execution: this.live.execution_id, err: (err as Error).message }, 'execution record write failed; will retry');
          if (this.store.connectionClosed) return;
          // Until it is written: nothing else would write it if the execution waits on a long step.
          await new Promise((r) => setTimeout(r, Math.min(100 * this.failures, 2_000)).unref());
          continue;
        }
        for (const w of waiting) w.resolve();
      }
    } finally {
      this.inflight = undefined;
      // Nothing more will be written when fenced or disconnected for good: nobody waits in vain.
      if (this.superseded || !this.dirty || this.store.connectionClosed) for (const w of this.waiters.splice(0)) w.resolve();
    }
  }

  /** Waits out the rest of ROUND_INTERVAL_MS since the last round, unless someone waits for the write. */
  private async pauseUnlessWaitedFor(): Promise<void> {
    const rest = this.lastRoundAt + ROUND_INTERVAL_MS - Date.now();
    if (rest <= 0 || this.finishing || this.waiters.length > 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, rest).unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
  }

  /**
   * The header by CAS (`final`: with the rows inline when they fit): 'rows' when the changed rows
   * are to be written next, 'whole' when the header carries them, false when this writer was
   * superseded (nothing more is written).
   */
  private async writeHeader(final: boolean, tries = 3): Promise<'rows' | 'whole' | false> {
    const header: ExecutionRecord = { ...this.live, steps: final ? this.live.steps : [], ...(this.input !== undefined && { input: this.input }) };
    const written = final
      ? await this.store.writeFinalHeader(header, this.revision)
      : await this.store.writeHeader(header, this.revision).then((revision) => revision !== undefined ? { revision, rowsInline: false } : undefined);
    if (written !== undefined) {
      this.revision = written.revision;
      return written.rowsInline ? 'whole' : 'rows';
    }
    if (tries <= 0) throw new Error(`the header of ${this.live.execution_id} kept changing under this writer`);
    const stored = await this.store.getHeader(this.live.execution_id);
    if (!stored) {
      // Expired or purged under us: write it again rather than lose the execution.
      this.revision = await this.store.create(this.live);
      return 'whole';
    }
    const mine = this.live.epoch ?? 0;
    const theirs = stored.record.epoch ?? 0;
    if (theirs > mine || stored.record.coordinator !== this.live.coordinator || isTerminal(stored.record.status)) {
      this.superseded = stored;
      this.log.info(
        { execution: this.live.execution_id, status: stored.record.status, coordinator: stored.record.coordinator, epoch: theirs },
        isTerminal(stored.record.status) ? 'another node ended this execution; its verdict stands' : 'another node holds this execution now; this node stops writing it',
      );
      this.onSuperseded(stored.record);
      return false;
    }
    // Our own lease, written by another path of ours (a cancel's update): carry on from there.
    this.revision = stored.revision;
    return this.writeHeader(final, tries - 1);
  }
}

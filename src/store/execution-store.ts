import type { KV, KvEntry, NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { z } from 'zod';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { MeshError } from '../protocol/errors.js';
import { ExecutionRecordSchema, ExecutionStatusSchema, type ExecutionRecord, type ExecutionStatus, type StepRecord } from '../protocol/execution.js';
import { forEachEntry, isLive, isRevisionConflict, LazyBucket } from './bucket.js';
import { encodeRecord } from './fit.js';
import { assemble, getValue, INLINE_ROWS_MAX_BYTES, keys, putValue, splitHeader } from './record-layout.js';

export const EXECUTIONS_BUCKET = 'wfmesh_executions';
const ROW_WRITES_IN_FLIGHT = 64;
export const DEFAULT_EXECUTION_TTL_MS = 7 * 24 * 3600 * 1000;

/** Execution ids are KV keys and subject tokens. */
const EXECUTION_ID = /^[A-Za-z0-9_-]{1,128}$/;
export const isExecutionId = (id: string): boolean => EXECUTION_ID.test(id);

export const TERMINAL_STATUSES: readonly ExecutionStatus[] = ['completed', 'failed', 'cancelled'];
export const isTerminal = (status: ExecutionStatus): boolean => TERMINAL_STATUSES.includes(status);
/** The statuses of executions that still run (or wait to): what recovery looks for. */
export const OPEN_STATUSES: readonly ExecutionStatus[] = ExecutionStatusSchema.options.filter((s) => !isTerminal(s));

/** How long a scan of the store works before it gives the event loop a turn. */
const SCAN_SLICE_MS = 5;

/**
 * `onEntry` for a pass over the bucket that gives the event loop a turn every SCAN_SLICE_MS: a
 * store of thousands of executions must not stall the node.
 */
function yieldingNowAndThen(onEntry: (entry: KvEntry) => void): (entry: KvEntry) => Promise<void> | undefined {
  let sliceStart = performance.now();
  return (entry) => {
    onEntry(entry);
    if (performance.now() - sliceStart <= SCAN_SLICE_MS) return undefined;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => void (sliceStart = performance.now()));
  };
}

/** A header written since some revision (see ExecutionStore.headerChangesSince). */
export interface HeaderChange {
  execution_id: string;
  revision: number;
  /** The header, when the execution is open (not finished, not deleted, readable). */
  open?: ExecutionRecord;
}

/** A record with the KV revision it was read at (the token for a compare-and-swap write). */
export interface StoredExecution {
  record: ExecutionRecord;
  revision: number;
}

export interface ExecutionQuery {
  status?: ExecutionStatus;
  /** Default 50, at most 500. */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

export interface ExecutionPage {
  executions: ExecutionRecord[];
  next_cursor?: string;
}

export interface ExecutionStoreOptions {
  /** How long a record lives after its last write (default 7 days). */
  ttlMs?: number;
  /** KV replicas (default 1; 3 on a clustered JetStream for records that survive a server loss). */
  replicas?: number;
  log?: Logger;
}

interface Cursor {
  c: string;
  i: string;
}

/** Newest first; ties broken by id so pages never skip or repeat a record. */
function newestFirst(a: Cursor, b: Cursor): number {
  if (a.c !== b.c) return a.c < b.c ? 1 : -1;
  return a.i < b.i ? 1 : a.i > b.i ? -1 : 0;
}

function encodeCursor(r: ExecutionRecord): string {
  return Buffer.from(JSON.stringify({ c: r.created_at, i: r.execution_id } satisfies Cursor)).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  const value = decodeJson(Buffer.from(cursor, 'base64url')) as Partial<Cursor> | undefined;
  if (typeof value?.c !== 'string' || typeof value.i !== 'string') {
    throw new MeshError('USAGE', `cursor "${cursor.slice(0, 40)}" is not one this node handed out (pass next_cursor back unchanged)`);
  }
  return { c: value.c, i: value.i };
}

/** What a successor needs to resume an execution: the workflow document's text. */
export const ExecutionSourceSchema = z.object({
  type: z.literal('wfmesh.execution.source.v1'),
  yaml: z.string(),
  /** Saved workflow it came from, when it did. */
  workflow_name: z.string().optional(),
});
export type ExecutionSource = z.infer<typeof ExecutionSourceSchema>;

/**
 * Execution records in the JetStream KV bucket `wfmesh_executions`, shared by every node (key
 * layout: record-layout.ts). The header is written by compare-and-swap: it carries the lease
 * (coordinator and epoch), so exactly one of several competing writers wins. Values are
 * validated on read; a corrupt one is logged and skipped, never fatal.
 */
export class ExecutionStore {
  private readonly bucket: LazyBucket;
  private readonly log: Logger | undefined;

  constructor(
    private readonly nc: NatsConnection,
    opts: ExecutionStoreOptions = {},
  ) {
    this.log = opts.log;
    this.bucket = new LazyBucket(
      nc,
      EXECUTIONS_BUCKET,
      { ttlMs: opts.ttlMs ?? DEFAULT_EXECUTION_TTL_MS, replicas: opts.replicas, description: 'wfmesh execution records' },
      opts.log,
    );
  }

  /** Opens (or creates) the bucket now; later calls reuse it. */
  async open(): Promise<void> {
    await this.bucket.kv();
  }

  /** True once the store's NATS connection closed for good (nothing can be written any more). */
  get connectionClosed(): boolean {
    return this.nc.isClosed();
  }

  /** Largest value we write: the server's max payload less room for headers. */
  get maxValueBytes(): number {
    return Math.max(64 * 1024, (this.nc.info?.max_payload ?? 1024 * 1024) - 8 * 1024);
  }

  private parse(entry: KvEntry, value: unknown = decodeJson(entry.value)): ExecutionRecord | undefined {
    const parsed = ExecutionRecordSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    this.log?.warn({ key: entry.key, revision: entry.revision, path: issue?.path.join('.'), issue: issue?.message }, 'skipped a corrupt execution record');
    return undefined;
  }

  /** Writes the fields that do not fit in the header, then the header's bytes. */
  private async headerBytes(kv: KV, record: ExecutionRecord): Promise<Uint8Array> {
    return (await this.splitAndStore(kv, record)).bytes;
  }

  /** The header's bytes, after writing the fields that moved to keys of their own. */
  private async splitAndStore(kv: KV, record: ExecutionRecord, inlineRowsUpTo = 0): Promise<{ bytes: Uint8Array; rowsInline: boolean }> {
    // Inline rows fit in inlineRowsUpTo (at most the value limit): their bytes need no fitting.
    const { header, fields, inline } = splitHeader(record, this.maxValueBytes, Math.min(inlineRowsUpTo, this.maxValueBytes));
    await Promise.all(fields.map((f) => putValue(kv, keys.field(record.execution_id, f.field), f.bytes, this.maxValueBytes)));
    return inline ? { bytes: inline, rowsInline: true } : { bytes: encodeRecord(header, this.maxValueBytes), rowsInline: false };
  }

  /** Writes a new record (and what it runs, for a successor); MeshError CONFLICT when the id is taken. */
  async create(record: ExecutionRecord, source?: Omit<ExecutionSource, 'type'>): Promise<number> {
    const kv = await this.bucket.kv();
    const id = keyOf(record.execution_id);
    // The source and the header go out together (one round trip, not two): a successor that
    // finds a header without its source ends the execution, saying so, and a failed source write
    // fails the create (the caller ends the header it may have written).
    const sourceWritten = source && putValue(kv, keys.source(id), encodeJson({ type: 'wfmesh.execution.source.v1', ...source } satisfies ExecutionSource), this.maxValueBytes);
    const headerWritten = (async () => {
      await this.writeRows(record.execution_id, record.steps.map((row, n) => [n, row]));
      try {
        return await kv.create(id, await this.headerBytes(kv, record));
      } catch (err) {
        if (isRevisionConflict(err)) throw new MeshError('CONFLICT', `execution ${record.execution_id} already exists`);
        throw err;
      }
    })();
    // Both settle before a failure is told: the caller's clean-up must come after the header's write.
    const [header, written] = await Promise.allSettled([headerWritten, sourceWritten]);
    if (header.status === 'rejected') throw header.reason;
    if (written.status === 'rejected') throw written.reason;
    return header.value;
  }

  /** The workflow text an execution runs (written by create). */
  async source(executionId: string): Promise<ExecutionSource | undefined> {
    if (!isExecutionId(executionId)) return undefined;
    const parsed = ExecutionSourceSchema.safeParse(await getValue(await this.bucket.kv(), keys.source(executionId)));
    return parsed.success ? parsed.data : undefined;
  }

  /** Writes the whole record unconditionally (last writer wins). */
  async put(record: ExecutionRecord): Promise<number> {
    const kv = await this.bucket.kv();
    await this.writeRows(record.execution_id, record.steps.map((row, n) => [n, row]));
    return kv.put(keyOf(record.execution_id), await this.headerBytes(kv, record));
  }

  /**
   * Writes the header only if it is still at `revision` (the lease holder's token); resolves
   * undefined when it moved on. Rows are not touched: write them with writeRows.
   */
  async writeHeader(record: ExecutionRecord, revision: number): Promise<number | undefined> {
    const kv = await this.bucket.kv();
    return this.compareAndSwap(kv, record.execution_id, await this.headerBytes(kv, record), revision);
  }

  /**
   * The final write of a lease holder, by compare-and-swap like writeHeader: a record small
   * enough goes whole, rows inline (`rowsInline`), else only its header and the caller writes
   * the rows. Undefined when the header moved on.
   */
  async writeFinalHeader(record: ExecutionRecord, revision: number): Promise<{ revision: number; rowsInline: boolean } | undefined> {
    const kv = await this.bucket.kv();
    const { bytes, rowsInline } = await this.splitAndStore(kv, record, INLINE_ROWS_MAX_BYTES);
    const written = await this.compareAndSwap(kv, record.execution_id, bytes, revision);
    return written === undefined ? undefined : { revision: written, rowsInline };
  }

  /** Puts the header's bytes only if it is still at `revision`; undefined when it moved on. */
  private async compareAndSwap(kv: KV, executionId: string, bytes: Uint8Array, revision: number): Promise<number | undefined> {
    try {
      return await kv.update(keyOf(executionId), bytes, revision);
    } catch (err) {
      if (isRevisionConflict(err)) return undefined;
      throw err;
    }
  }

  /** Writes step rows by index (concurrently; each is one small value, chunked when large). */
  async writeRows(executionId: string, rows: Iterable<readonly [number, StepRecord]>): Promise<void> {
    const kv = await this.bucket.kv();
    const id = keyOf(executionId);
    // Bounded: thousands of rows at once would time out their own acknowledgements.
    const queue = [...rows];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < queue.length) {
        const [n, row] = queue[next++] as readonly [number, StepRecord];
        await putValue(kv, keys.row(id, n), encodeJson(row), this.maxValueBytes);
      }
    };
    await Promise.all(Array.from({ length: Math.min(ROW_WRITES_IN_FLIGHT, queue.length) }, worker));
  }

  /** The whole record, only if its header is still at `revision`: the header first, then every row. */
  async replace(record: ExecutionRecord, revision: number): Promise<number | undefined> {
    const written = await this.writeHeader(record, revision);
    if (written !== undefined) await this.writeRows(record.execution_id, record.steps.map((row, n) => [n, row]));
    return written;
  }

  /** The header alone (no rows): status, lease, counts. */
  async getHeader(executionId: string): Promise<StoredExecution | undefined> {
    if (!isExecutionId(executionId)) return undefined;
    const kv = await this.bucket.kv();
    const entry = await kv.get(keyOf(executionId));
    if (!isLive(entry)) return undefined;
    const record = this.parse(entry);
    return record ? { record, revision: entry.revision } : undefined;
  }

  /** The whole record with its rows, and the header's revision. */
  async get(executionId: string): Promise<StoredExecution | undefined> {
    const header = await this.getHeader(executionId);
    if (!header) return undefined;
    const kv = await this.bucket.kv();
    return { record: await assemble(kv, header.record), revision: header.revision };
  }

  /**
   * Compare-and-swap update: `change` gets the current record and returns the new one, or
   * undefined to leave it as is. Retried on conflicts, so concurrent writers never lose each
   * other's changes and exactly one of several competing verdicts wins.
   */
  async update(executionId: string, change: (current: ExecutionRecord) => ExecutionRecord | undefined, attempts = 8): Promise<StoredExecution | undefined> {
    for (let i = 0; i < attempts; i++) {
      const current = await this.get(executionId);
      if (!current) return undefined;
      const next = change(current.record);
      if (!next) return current;
      const revision = await this.replace(next, current.revision);
      if (revision !== undefined) return { record: next, revision };
    }
    throw new MeshError('CONFLICT', `execution ${executionId} kept changing under ${attempts} attempts to update it`);
  }

  /**
   * Every header (optionally filtered), read in one pass over the bucket; rows are not read.
   * `statuses`: only headers in one of these are checked against the schema and `filter` (a
   * finished header carries its rows inline and costs far more to check than to skip).
   */
  async scan(filter: (r: ExecutionRecord) => boolean = () => true, statuses?: readonly ExecutionStatus[]): Promise<StoredExecution[]> {
    const kv = await this.bucket.kv();
    const out: StoredExecution[] = [];
    // Entry by entry as they arrive: only what matches is kept (see forEachEntry).
    await forEachEntry(
      kv,
      yieldingNowAndThen((entry) => {
        const value = decodeJson(entry.value);
        if (!statuses || statuses.includes((value as { status?: unknown } | undefined)?.status as ExecutionStatus)) {
          const record = this.parse(entry, value);
          if (record && filter(record)) out.push({ record, revision: entry.revision });
        }
      }),
      { key: keys.headers() },
    );
    return out;
  }

  /**
   * The headers written after `revision` (0: every header), each as its newest write, in revision
   * order, deletes included; resolves with the newest revision seen (`revision` when nothing
   * changed). Only open headers are parsed (`open`); a finished, deleted or unreadable one is
   * told without it. For a reader that keeps the open executions and reads only what changed.
   */
  async headerChangesSince(revision: number, onChange: (change: HeaderChange) => void): Promise<number> {
    const kv = await this.bucket.kv();
    let newest = revision;
    await forEachEntry(
      kv,
      yieldingNowAndThen((entry) => {
        newest = Math.max(newest, entry.revision);
        const value = isLive(entry) ? decodeJson(entry.value) : undefined;
        const status = (value as { status?: unknown } | undefined)?.status as ExecutionStatus;
        const open = OPEN_STATUSES.includes(status) ? this.parse(entry, value) : undefined;
        onChange({ execution_id: entry.key, revision: entry.revision, ...(open && { open }) });
      }),
      { key: keys.headers(), fromRevision: revision + 1, withDeletes: true },
    );
    return newest;
  }

  /** Newest first, `limit` per page; `next_cursor` is set when more records follow. */
  async list(query: ExecutionQuery = {}): Promise<ExecutionPage> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const all = (await this.scan(() => true, query.status && [query.status]))
      // Headers only, as they are listed: a final record's inline rows stay out of the page.
      .map((s) => (s.record.steps.length > 0 ? { ...s.record, steps: [] } : s.record))
      .filter((r) => !after || newestFirst({ c: r.created_at, i: r.execution_id }, after) > 0)
      .sort((a, b) => newestFirst({ c: a.created_at, i: a.execution_id }, { c: b.created_at, i: b.execution_id }));
    const page = all.slice(0, limit);
    const last = page[page.length - 1];
    return all.length > limit && last ? { executions: page, next_cursor: encodeCursor(last) } : { executions: page };
  }
}

function keyOf(executionId: string): string {
  if (!isExecutionId(executionId)) throw new MeshError('USAGE', `execution id "${executionId.slice(0, 60)}" must be 1-128 letters, digits, "_" or "-"`);
  return executionId;
}

import type { KvEntry, NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { decodeJson } from '../protocol/codec.js';
import { MeshError } from '../protocol/errors.js';
import { ExecutionRecordSchema, type ExecutionRecord, type ExecutionStatus } from '../protocol/execution.js';
import { isLive, isRevisionConflict, LazyBucket, snapshot } from './bucket.js';
import { encodeRecord } from './fit.js';

export const EXECUTIONS_BUCKET = 'wfmesh_executions';
export const DEFAULT_EXECUTION_TTL_MS = 7 * 24 * 3600 * 1000;

/** Execution ids are KV keys and subject tokens. */
const EXECUTION_ID = /^[A-Za-z0-9_-]{1,128}$/;
export const isExecutionId = (id: string): boolean => EXECUTION_ID.test(id);

export const TERMINAL_STATUSES: readonly ExecutionStatus[] = ['completed', 'failed', 'cancelled'];
export const isTerminal = (status: ExecutionStatus): boolean => TERMINAL_STATUSES.includes(status);

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

/**
 * Execution records in the JetStream KV bucket `wfmesh_executions`, shared by every node: one key
 * per execution id, history 1, file storage, a TTL after the last write. Values are validated on
 * read; a corrupt one is logged and skipped, never fatal.
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
      { ttlMs: opts.ttlMs ?? DEFAULT_EXECUTION_TTL_MS, replicas: opts.replicas ?? 1, description: 'wfmesh execution records' },
      opts.log,
    );
  }

  /** Opens (or creates) the bucket now; later calls reuse it. */
  async open(): Promise<void> {
    await this.bucket.kv();
  }

  /** Largest value we write: the server's max payload less room for headers. */
  private get maxValueBytes(): number {
    return Math.max(64 * 1024, (this.nc.info?.max_payload ?? 1024 * 1024) - 8 * 1024);
  }

  private encode(record: ExecutionRecord): Uint8Array {
    return encodeRecord(record, this.maxValueBytes);
  }

  private parse(entry: KvEntry): ExecutionRecord | undefined {
    const parsed = ExecutionRecordSchema.safeParse(decodeJson(entry.value));
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    this.log?.warn({ key: entry.key, revision: entry.revision, path: issue?.path.join('.'), issue: issue?.message }, 'skipped a corrupt execution record');
    return undefined;
  }

  /** Writes a new record; MeshError CONFLICT when the id is taken. */
  async create(record: ExecutionRecord): Promise<number> {
    const kv = await this.bucket.kv();
    try {
      return await kv.create(keyOf(record.execution_id), this.encode(record));
    } catch (err) {
      if (isRevisionConflict(err)) throw new MeshError('CONFLICT', `execution ${record.execution_id} already exists`);
      throw err;
    }
  }

  /** Writes unconditionally (last writer wins). */
  async put(record: ExecutionRecord): Promise<number> {
    const kv = await this.bucket.kv();
    return kv.put(keyOf(record.execution_id), this.encode(record));
  }

  /** Writes only if the record is still at `revision`; resolves undefined when it moved on. */
  async replace(record: ExecutionRecord, revision: number): Promise<number | undefined> {
    const kv = await this.bucket.kv();
    try {
      return await kv.update(keyOf(record.execution_id), this.encode(record), revision);
    } catch (err) {
      if (isRevisionConflict(err)) return undefined;
      throw err;
    }
  }

  async get(executionId: string): Promise<StoredExecution | undefined> {
    if (!isExecutionId(executionId)) return undefined;
    const kv = await this.bucket.kv();
    const entry = await kv.get(keyOf(executionId));
    if (!isLive(entry)) return undefined;
    const record = this.parse(entry);
    return record ? { record, revision: entry.revision } : undefined;
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

  /** Every record (optionally filtered), read in one pass over the bucket. */
  async scan(filter: (r: ExecutionRecord) => boolean = () => true): Promise<StoredExecution[]> {
    const kv = await this.bucket.kv();
    const out: StoredExecution[] = [];
    for (const entry of await snapshot(kv)) {
      const record = this.parse(entry);
      if (record && filter(record)) out.push({ record, revision: entry.revision });
    }
    return out;
  }

  /** Newest first, `limit` per page; `next_cursor` is set when more records follow. */
  async list(query: ExecutionQuery = {}): Promise<ExecutionPage> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const all = (await this.scan((r) => !query.status || r.status === query.status))
      .map((s) => s.record)
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

/**
 * How one execution record lies in the KV bucket, so that a record of any size is stored whole
 * and a step change costs one small write:
 *
 *   ID            the header: the record without its rows (status, lease, counts); CAS-written.
 *                 A final record small enough carries its rows (INLINE_ROWS_MAX_BYTES).
 *   ID.r.N        step row N (in the order rows were added)
 *   ID.in/.out    the input / output when they do not fit in the header
 *   ID.src        what a successor needs to resume: the workflow text and options
 *
 * A value larger than one NATS message is split: its key holds `{"$chunks": n}` and the parts lie
 * at KEY.0 ... KEY.n-1 (written first, so a reader never sees a manifest without its parts).
 */
import type { KV, KvEntry } from 'nats';
import { z } from 'zod';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { FINAL_STEP_STATUSES, StepRecordSchema, type ExecutionRecord, type StepRecord } from '../protocol/execution.js';
import { isLive, snapshot } from './bucket.js';

const ChunksSchema = z.object({ $chunks: z.number().int().positive(), bytes: z.number().int().nonnegative() }).strict();
/** Marks a header field whose value lives under its own key. */
const StoredSchema = z.object({ $stored: z.enum(['in', 'out']) }).strict();

/**
 * Largest final record whose rows stay in the header: it saves the final round a second write
 * (about a millisecond of a short execution), while headers stay small enough for the scans
 * that read every header (the sweeper's, list_executions').
 */
export const INLINE_ROWS_MAX_BYTES = 8_192;

export const keys = {
  header: (id: string) => id,
  row: (id: string, n: number) => `${id}.r.${n}`,
  rows: (id: string) => `${id}.r.>`,
  field: (id: string, field: 'in' | 'out') => `${id}.${field}`,
  source: (id: string) => `${id}.src`,
  /** Every header (and nothing else) in the bucket. */
  headers: () => '*',
};

/** Bytes for one value: whole, or the manifest once its chunks are written. */
export async function putValue(kv: KV, key: string, bytes: Uint8Array, maxBytes: number): Promise<void> {
  if (bytes.length <= maxBytes) {
    await kv.put(key, bytes);
    return;
  }
  const n = Math.ceil(bytes.length / maxBytes);
  for (let k = 0; k < n; k++) await kv.put(`${key}.${k}`, bytes.subarray(k * maxBytes, (k + 1) * maxBytes));
  await kv.put(key, encodeJson({ $chunks: n, bytes: bytes.length }));
}

/** A value written by putValue, reassembled; undefined when absent. */
export async function getValue(kv: KV, key: string): Promise<unknown> {
  const entry = await kv.get(key);
  if (!isLive(entry)) return undefined;
  const value = decodeJson(entry.value);
  const manifest = ChunksSchema.safeParse(value);
  if (!manifest.success) return value;
  const parts: (Uint8Array | undefined)[] = [];
  // One chunk at a time: each is a full message, and a burst of them times out on a busy server.
  for (let k = 0; k < manifest.data.$chunks; k++) {
    const part = await kv.get(`${key}.${k}`);
    parts.push(isLive(part) ? part.value : undefined);
  }
  return joinChunks(parts, manifest.data.bytes);
}

function joinChunks(parts: (Uint8Array | undefined)[], bytes: number): unknown {
  if (parts.some((p) => p === undefined)) return undefined;
  const all = new Uint8Array(bytes);
  let at = 0;
  for (const p of parts as Uint8Array[]) {
    all.set(p, at);
    at += p.length;
  }
  return decodeJson(all);
}

/**
 * The header of a record and what must be written beside it: `input` / `output` that do not fit
 * in one message (with room for the rest of the header) move to keys of their own. With
 * `inlineRowsUpTo`, a record that fits in that many bytes keeps its rows: `inline` is then its
 * encoding, measured once and written as it is.
 */
export function splitHeader(
  record: ExecutionRecord,
  maxBytes: number,
  inlineRowsUpTo = 0,
): { header: ExecutionRecord; fields: { field: 'in' | 'out'; bytes: Uint8Array }[]; inline?: Uint8Array } {
  const { steps, ...rest } = record;
  const header: ExecutionRecord = { ...rest, steps: [] };
  // Rows given: they define the counts. None (the lease holder's header): its counts stand.
  if (steps.length > 0 || header.steps_total === undefined) {
    header.steps_total = steps.length;
    header.steps_done = steps.filter((s) => FINAL_STEP_STATUSES.has(s.status)).length;
  }
  const fields: { field: 'in' | 'out'; bytes: Uint8Array }[] = [];
  const budget = Math.floor(maxBytes / 4);
  for (const [name, field] of [['input', 'in'], ['output', 'out']] as const) {
    const value = header[name];
    if (value === undefined || StoredSchema.safeParse(value).success) continue;
    const bytes = encodeJson(value);
    if (bytes.length <= budget) continue;
    fields.push({ field, bytes });
    header[name] = { $stored: field };
  }
  // A small final record keeps its rows: one write instead of the header and then its rows.
  if (inlineRowsUpTo > 0 && steps.length > 0) {
    const whole = { ...header, steps };
    const inline = encodeJson(whole);
    if (inline.length <= inlineRowsUpTo) return { header: whole, fields, inline };
  }
  return { header, fields };
}

/** `value` as the header holds it: itself, or the marker of its own key when it is too large. */
export function storedMarker(value: unknown, field: 'in' | 'out', maxBytes: number): unknown {
  if (value === undefined) return undefined;
  return encodeJson(value).length <= Math.floor(maxBytes / 4) ? value : { $stored: field };
}

/** Reads back the header's moved fields and its rows: the whole record. */
export async function assemble(kv: KV, header: ExecutionRecord): Promise<ExecutionRecord> {
  const id = header.execution_id;
  const record: ExecutionRecord = { ...header };
  for (const name of ['input', 'output'] as const) {
    const stored = StoredSchema.safeParse(record[name]);
    if (stored.success) record[name] = await getValue(kv, keys.field(id, stored.data.$stored));
  }
  // Rows inline: a small final record (INLINE_ROWS_MAX_BYTES), or one written before rows had
  // keys of their own. Row keys written while it ran may remain; the header's rows are the record.
  if (header.steps.length > 0) return record;
  record.steps = header.steps_total ? await readRows(kv, id, header.steps_total) : [];
  return record;
}

/** Every row of an execution, in one ordered consumer (chunked rows reassembled). */
async function readRows(kv: KV, id: string, expected: number): Promise<StepRecord[]> {
  const byKey = new Map<string, KvEntry>();
  try {
    for (const e of await snapshot(kv, 30_000, keys.rows(id))) byKey.set(e.key, e);
  } catch {
    // No consumer to be had (a cluster re-electing after losing a server): one get per row.
    return readRowsOneByOne(kv, id, expected);
  }
  const rows: StepRecord[] = [];
  const prefix = `${id}.r.`;
  for (let n = 0; n < Math.max(expected, byKey.size); n++) {
    const entry = byKey.get(prefix + n);
    if (!entry) {
      if (n >= expected) break;
      continue; // a row whose write has not landed yet: the header counted it first
    }
    let value = decodeJson(entry.value);
    const manifest = ChunksSchema.safeParse(value);
    if (manifest.success) {
      value = joinChunks(
        Array.from({ length: manifest.data.$chunks }, (_, k) => byKey.get(`${prefix}${n}.${k}`)?.value),
        manifest.data.bytes,
      );
    }
    const row = StepRecordSchema.safeParse(value);
    if (row.success) rows.push(row.data);
  }
  return rows;
}

async function readRowsOneByOne(kv: KV, id: string, expected: number): Promise<StepRecord[]> {
  const rows: StepRecord[] = [];
  for (let n = 0; n < expected; n++) {
    const row = StepRecordSchema.safeParse(await getValue(kv, keys.row(id, n)));
    if (row.success) rows.push(row.data);
  }
  return rows;
}

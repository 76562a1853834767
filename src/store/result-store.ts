import { createHash } from 'node:crypto';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { StepReplySchema, type StepReply } from '../protocol/step.js';
import { isLive, LazyBucket } from './bucket.js';

export const RESULTS_BUCKET = 'wfmesh_results';
export const DEFAULT_RESULT_TTL_MS = 24 * 3600 * 1000;

export interface ResultStoreOptions {
  ttlMs?: number;
  replicas?: number;
  /** Results kept in memory (most recent first out of the bucket). */
  memoryEntries?: number;
  log?: Logger;
}

/**
 * Completed step results by idempotency key: a node asked to run a key that any node already
 * completed answers with the stored reply instead of running the step again. Recent keys live in
 * a bounded in-memory map; the JetStream KV bucket `wfmesh_results` (TTL a day) lets another
 * node's retry of the same key find it.
 */
export class ResultStore {
  private readonly bucket: LazyBucket;
  private readonly recent = new Map<string, StepReply>();
  private readonly memoryEntries: number;

  constructor(
    nc: NatsConnection,
    private readonly opts: ResultStoreOptions = {},
  ) {
    this.memoryEntries = opts.memoryEntries ?? 2_000;
    this.bucket = new LazyBucket(
      nc,
      RESULTS_BUCKET,
      { ttlMs: opts.ttlMs ?? DEFAULT_RESULT_TTL_MS, replicas: opts.replicas, description: 'wfmesh step results by idempotency key' },
      opts.log,
    );
  }

  async get(idempotencyKey: string): Promise<StepReply | undefined> {
    const local = this.recent.get(idempotencyKey);
    if (local) return local;
    try {
      const kv = await this.bucket.kv();
      const entry = await kv.get(keyOf(idempotencyKey));
      if (!isLive(entry)) return undefined;
      const parsed = StepReplySchema.safeParse(decodeJson(entry.value));
      return parsed.success ? parsed.data : undefined;
    } catch (err) {
      this.opts.log?.warn({ err: (err as Error).message }, 'could not read the step result store');
      return undefined;
    }
  }

  /** Stores a completed result (before its reply leaves); a store that is down is logged, not fatal. */
  async put(idempotencyKey: string, reply: StepReply): Promise<void> {
    this.remember(idempotencyKey, reply);
    try {
      const kv = await this.bucket.kv();
      await kv.put(keyOf(idempotencyKey), encodeJson(reply));
    } catch (err) {
      this.opts.log?.warn({ err: (err as Error).message, key: idempotencyKey }, 'could not store a step result; a redelivery of it would run again');
    }
  }

  private remember(key: string, reply: StepReply): void {
    this.recent.delete(key);
    this.recent.set(key, reply);
    if (this.recent.size > this.memoryEntries) this.recent.delete(this.recent.keys().next().value as string);
  }
}

/** KV keys allow a small alphabet; idempotency keys carry step ids with any characters. */
function keyOf(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('base64url').replace(/[^A-Za-z0-9_-]/g, '_');
}

import { StorageType, type KV, type KvEntry, type NatsConnection, type QueuedIterator } from 'nats';
import type { Logger } from 'pino';
import { MeshError } from '../protocol/errors.js';
import { patientKv } from './patient-kv.js';

/** How a KV bucket is created when it does not exist yet (every node uses the same settings). */
export interface BucketSettings {
  /** Values older than this (since their last write) are dropped by JetStream; 0 keeps them forever. */
  ttlMs: number;
  /** Stream replicas: 1, or 3/5 on a JetStream cluster of that size; undefined: min(3, servers). */
  replicas: number | undefined;
  description: string;
}

/**
 * A JetStream KV bucket opened on first use. Any node may create it; a node that finds JetStream
 * missing keeps running and retries on the next use, so a mesh on a JetStream-less server still
 * runs steps and only the features that need records say why they cannot.
 */
export class LazyBucket {
  private opening: Promise<KV> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    readonly name: string,
    private readonly settings: BucketSettings,
    private readonly log?: Logger,
  ) {}

  /** The bucket; throws MeshError STORE_UNAVAILABLE when JetStream cannot provide it. */
  kv(): Promise<KV> {
    this.opening ??= openBucket(this.nc, this.name, this.settings).catch((err: unknown) => {
      this.opening = undefined;
      const error = storeUnavailable(this.name, err);
      this.log?.warn({ bucket: this.name, err: error.message }, 'JetStream KV bucket unavailable');
      throw error;
    });
    return this.opening;
  }
}

async function openBucket(nc: NatsConnection, name: string, s: BucketSettings): Promise<KV> {
  const options = (replicas: number) => ({
    history: 1,
    ttl: s.ttlMs,
    replicas,
    storage: StorageType.File,
    description: s.description,
    // Large records move megabytes; a loaded server answers slowly rather than not at all.
    timeout: 20_000,
  });
  // Unset replicas: as many as the JetStream cluster allows, up to 3, so that losing one server
  // loses no record. A single server refuses more than 1 at once; a cluster of two refuses 3.
  const tries = s.replicas !== undefined ? [s.replicas] : [3, 2, 1];
  let last: unknown;
  for (const replicas of tries) {
    // Two nodes starting together may both find the stream missing; the loser's `add` fails (or
    // succeeds, when the configs are equal): the second attempt then binds to the winner's stream.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return patientKv(await nc.jetstream({ timeout: 20_000 }).views.kv(name, options(replicas)), nc);
      } catch (err) {
        last = err;
        if (/replicas|insufficient resources|not supported|no suitable peers/i.test((err as Error)?.message ?? '')) break;
      }
    }
  }
  throw last;
}

function storeUnavailable(bucket: string, err: unknown): MeshError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  if (code === '503' || /jetstream not enabled|no responders|^503$/i.test(message)) {
    return new MeshError(
      'STORE_UNAVAILABLE',
      `JetStream is not enabled on the NATS server, and wfmesh keeps execution records and saved workflows in JetStream KV (bucket ${bucket}); start nats-server with -js (\`wfmesh up\` does)`,
    );
  }
  return new MeshError('STORE_UNAVAILABLE', `JetStream KV bucket ${bucket} is unavailable: ${message}`);
}

/** True when a KV write failed because the key moved on since the revision we read (CAS). */
export function isRevisionConflict(err: unknown): boolean {
  const apiCode = (err as { api_error?: { err_code?: number } }).api_error?.err_code;
  return apiCode === 10071 || /wrong last sequence/i.test((err as Error)?.message ?? '');
}

/** A live value (not a delete or purge marker). */
export function isLive(entry: KvEntry | null): entry is KvEntry {
  return entry !== null && entry.operation === 'PUT' && entry.length > 0;
}

/**
 * Every live entry of the bucket at the time of the call, in one ordered consumer (one round trip
 * plus deliveries, instead of a `get` per key). Stops at the snapshot: later writes are not included.
 */
export async function snapshot(kv: KV, timeoutMs = 10_000, key = '>'): Promise<KvEntry[]> {
  const entries: KvEntry[] = [];
  await forEachEntry(kv, (e) => void entries.push(e), { timeoutMs, key });
  return entries;
}

/**
 * What `snapshot` reads, handed to `onEntry` one entry at a time as it arrives (awaited when it
 * returns a promise), and held nowhere: a pass over thousands of large records that keeps only a
 * few of them leaves the rest to die young, instead of holding them all through a collection
 * (a 700-record store made the sweeper's pass stall its node 56-60 ms in the GC, measured).
 * Options: `key`, the keys to read (a KV filter); `fromRevision`, only entries written at or after
 * it (the newest write of each key); `withDeletes`, delete and purge markers too; `timeoutMs`
 * bounds the whole pass, the callbacks' time included.
 */
export async function forEachEntry(
  kv: KV,
  onEntry: (entry: KvEntry) => void | Promise<void>,
  opts: { timeoutMs?: number; key?: string; fromRevision?: number; withDeletes?: boolean } = {},
): Promise<void> {
  const { timeoutMs = 10_000, key = '>', withDeletes = false } = opts;
  let initialized = false;
  let iter: QueuedIterator<KvEntry> | undefined;
  // Stopping inside the callback still yields what was already queued, and nothing after. The
  // callback may run before `watch` returns (an empty bucket): then we stop right after. Deletes
  // are skipped here (isLive), not by the watch: nats.js 2.29 drops an ignored delete before it
  // checks for the end of the snapshot, so a snapshot whose newest entry is a delete would only
  // end at `timeoutMs`.
  iter = await kv.watch({
    key,
    ...(opts.fromRevision !== undefined && opts.fromRevision > 0 && { resumeFromRevision: opts.fromRevision }),
    initializedFn: () => {
      initialized = true;
      iter?.stop();
    },
  });
  if (initialized) iter.stop();
  const guard = setTimeout(() => iter.stop(), timeoutMs);
  try {
    for await (const e of iter) {
      if (!withDeletes && !isLive(e)) continue;
      const pending = onEntry(e);
      if (pending) await pending;
    }
  } finally {
    clearTimeout(guard);
  }
}

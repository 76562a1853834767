import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { z } from 'zod';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { MeshError } from '../protocol/errors.js';
import { isLive, LazyBucket, snapshot } from './bucket.js';

export const WORKFLOWS_BUCKET = 'wfmesh_workflows';

/** Saved workflow names: KV keys, and what `execute_workflow` takes as `workflow_name`. */
export const WorkflowNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'letters, digits, "-" and "_" (starting with a letter or digit), at most 64');

export const SavedWorkflowSchema = z.object({
  type: z.literal('wfmesh.workflow.v1'),
  name: WorkflowNameSchema,
  yaml: z.string(),
  description: z.string().optional(),
  /** Workflow ids inside the document (the first runs when none is named). */
  workflows: z.array(z.string()),
  bytes: z.number().int().nonnegative(),
  saved_at: z.string(),
  saved_by: z.string().optional(),
  /** Node that saved it. */
  node: z.string(),
});
export type SavedWorkflow = z.infer<typeof SavedWorkflowSchema>;
export type WorkflowSummary = Omit<SavedWorkflow, 'type' | 'yaml'>;

export interface WorkflowStoreOptions {
  replicas?: number;
  log?: Logger;
}

/**
 * Saved workflows (name → YAML and metadata) in the JetStream KV bucket `wfmesh_workflows`: saved
 * through any node, runnable by name from any node. No TTL: a saved workflow stays until replaced.
 */
export class WorkflowStore {
  private readonly bucket: LazyBucket;
  private readonly log: Logger | undefined;

  constructor(
    private readonly nc: NatsConnection,
    opts: WorkflowStoreOptions = {},
  ) {
    this.log = opts.log;
    this.bucket = new LazyBucket(nc, WORKFLOWS_BUCKET, { ttlMs: 0, replicas: opts.replicas, description: 'wfmesh saved workflows' }, opts.log);
  }

  async open(): Promise<void> {
    await this.bucket.kv();
  }

  /** Saves (or replaces) a workflow; resolves with what was stored. */
  async save(workflow: Omit<SavedWorkflow, 'type' | 'bytes' | 'saved_at'>): Promise<SavedWorkflow> {
    const name = WorkflowNameSchema.safeParse(workflow.name);
    if (!name.success) throw new MeshError('USAGE', `workflow name "${workflow.name.slice(0, 64)}": ${name.error.issues[0]?.message}`);
    const saved: SavedWorkflow = {
      type: 'wfmesh.workflow.v1',
      ...workflow,
      bytes: Buffer.byteLength(workflow.yaml),
      saved_at: new Date().toISOString(),
    };
    const value = encodeJson(saved);
    const max = (this.nc.info?.max_payload ?? 1024 * 1024) - 8 * 1024;
    if (value.length > max) {
      throw new MeshError('INPUT_TOO_LARGE', `workflow "${workflow.name}" is ${value.length} bytes stored; the store takes at most ${max} bytes per value (the NATS server's max_payload less headers)`);
    }
    const kv = await this.bucket.kv();
    await kv.put(workflow.name, value);
    return saved;
  }

  async get(name: string): Promise<SavedWorkflow | undefined> {
    if (!WorkflowNameSchema.safeParse(name).success) return undefined;
    const kv = await this.bucket.kv();
    const entry = await kv.get(name);
    if (!isLive(entry)) return undefined;
    const parsed = SavedWorkflowSchema.safeParse(decodeJson(entry.value));
    if (parsed.success) return parsed.data;
    this.log?.warn({ key: name, issue: parsed.error.issues[0]?.message }, 'skipped a corrupt saved workflow');
    return undefined;
  }

  /** Every saved workflow, without its YAML, sorted by name. */
  async list(): Promise<WorkflowSummary[]> {
    const kv = await this.bucket.kv();
    const out: WorkflowSummary[] = [];
    for (const entry of await snapshot(kv)) {
      const parsed = SavedWorkflowSchema.safeParse(decodeJson(entry.value));
      if (!parsed.success) {
        this.log?.warn({ key: entry.key, issue: parsed.error.issues[0]?.message }, 'skipped a corrupt saved workflow');
        continue;
      }
      const { type: _type, yaml: _yaml, ...summary } = parsed.data;
      out.push(summary);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }
}

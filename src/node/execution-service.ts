import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { newExecutionId, runExecution, type StepRunner } from '../engine/index.js';
import type { PeerEvent } from '../mesh/registry.js';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { MeshError, StepFailure } from '../protocol/errors.js';
import type { CancelReply, ExecutionEvent, ExecutionMode, ExecutionRecord, ExecutionStatus } from '../protocol/execution.js';
import { CancelMessageSchema, type CancelMessage } from '../protocol/step.js';
import { subjects } from '../protocol/subjects.js';
import {
  cancelInMesh,
  endOrphan,
  ExecutionStore,
  failOrphans,
  isTerminal,
  RecordWriter,
  WorkflowStore,
  type ExecutionPage,
  type ExecutionQuery,
} from '../store/index.js';
import { formatIssue, validateWorkflowText } from '../workflow/index.js';
import { FINAL_STEP, ProgressTracker, type ExecutionProgress } from './execution-progress.js';
import type { MeshNode } from './mesh-node.js';
import { auditExecution } from './audit.js';

export type { ExecutionProgress } from './execution-progress.js';

/** What to run, and how (MCP `execute_workflow`, `wfmesh run`). Exactly one of yaml / workflow_name. */
export interface StartExecutionRequest {
  yaml?: string;
  /** A workflow saved in the mesh (`save_workflow`). */
  workflow_name?: string;
  /** Workflow id inside the document (default: its first). */
  workflow?: string;
  input?: unknown;
  mode?: ExecutionMode;
  /** Deadline of the whole execution; past it the execution fails as `timeout`. */
  timeout_s?: number;
  /** Wait for the final record (default: true, except in `async` mode). */
  wait?: boolean;
  /** "mcp:<session>", "cli", ... */
  requested_by?: string;
  /** Aborting it cancels the execution, when the caller waits. */
  signal?: AbortSignal;
  onProgress?: (p: ExecutionProgress) => void;
}

export interface ExecutionServiceOptions {
  node: MeshNode;
  store: ExecutionStore;
  workflows: WorkflowStore;
  /** Where the steps of an execution in `mode` run (local in process, isolated, or the mesh). */
  runnerFor: (mode: ExecutionMode) => StepRunner;
}

interface Active {
  controller: AbortController;
  settled: Promise<ExecutionRecord>;
  latest: ExecutionRecord;
}

const services = new WeakMap<MeshNode, ExecutionService>();

/**
 * Runs executions coordinated by this node and answers for every execution in the mesh: records
 * live in JetStream KV, cancels travel on `subjects.cancel(id)`, and when a coordinator leaves the
 * mesh, whichever node notices first ends its unfinished records (CAS: one verdict wins).
 */
export class ExecutionService {
  private readonly active = new Map<string, Active>();
  private readonly nc: NatsConnection;
  private readonly log: Logger;
  private readonly startedAt = Date.now();
  private cancelSub: Subscription | undefined;
  private offRegistry: (() => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Store scans in flight: shutdown waits for them, or a KV watch outlives the connection. */
  private readonly scans = new Set<Promise<unknown>>();
  private stopping = false;
  private stopped: Promise<void> | undefined;

  private constructor(private readonly opts: ExecutionServiceOptions) {
    this.nc = opts.node.nc;
    this.log = opts.node.log.child({ component: 'executions' });
  }

  /** The service attached to `node` (startNode attaches one to every node). */
  static of(node: MeshNode): ExecutionService | undefined {
    return services.get(node);
  }

  static async create(opts: ExecutionServiceOptions): Promise<ExecutionService> {
    const service = new ExecutionService(opts);
    services.set(opts.node, service);
    // Open the buckets now so the first execution does not pay for it; a server without
    // JetStream is reported (once) and retried on use, not fatal.
    await Promise.all([opts.store.open(), opts.workflows.open()]).catch(() => undefined);
    service.cancelSub = service.nc.subscribe(subjects.cancelAll(), { callback: (err, msg) => !err && service.onCancelMessage(msg) });
    service.offRegistry = opts.node.registry.onChange((e) => service.onPeerEvent(e));
    // Once discovery has settled, end records whose coordinator is not in the mesh (all nodes
    // restarted; this node restarted under the same name and lost what it coordinated).
    service.sweepTimer = setTimeout(() => void service.sweep('startup'), service.warmUpMs);
    return service;
  }

  /** Saved workflows (shared by the mesh). */
  get workflows(): WorkflowStore {
    return this.opts.workflows;
  }

  /** Execution records (shared by the mesh). */
  get store(): ExecutionStore {
    return this.opts.store;
  }

  private get node(): MeshNode {
    return this.opts.node;
  }

  /** Time after start-up before this node trusts its registry to know every live coordinator. */
  private get warmUpMs(): number {
    return Math.max(this.node.options.deadAfterMs, 1_500) + 500;
  }

  /** Starts an execution; resolves with its final record, or at once with the running one when not waiting. */
  async start(req: StartExecutionRequest): Promise<ExecutionRecord> {
    if (this.stopping) throw new MeshError('USAGE', `node ${this.node.name} is stopping and takes no new executions`);
    const mode = req.mode ?? 'distributed';
    const wait = mode === 'async' ? false : (req.wait ?? true);
    this.checkSize('input', req.input);
    const text = await this.workflowText(req);
    const validation = validateWorkflowText(text, { allowedEnv: this.node.options.allow.env_vars });
    if (!validation.valid || !validation.document) {
      throw new MeshError('WORKFLOW_INVALID', `invalid workflow:\n${validation.errors.map(formatIssue).join('\n')}`, validation.errors);
    }
    const document = validation.document;
    const workflowId = req.workflow ?? document.defaultWorkflow;
    if (!Object.hasOwn(document.workflows, workflowId)) {
      throw new MeshError('WORKFLOW_NOT_FOUND', `no workflow "${workflowId}" in the document (it has: ${Object.keys(document.workflows).join(', ')})`);
    }

    const now = new Date().toISOString();
    const initial: ExecutionRecord = {
      type: 'wfmesh.execution.v1',
      execution_id: newExecutionId(),
      workflow: workflowId,
      mode,
      status: 'running',
      ...(req.input !== undefined && { input: req.input }),
      steps: [],
      coordinator: this.node.name,
      ...(req.requested_by !== undefined && { requested_by: req.requested_by }),
      created_at: now,
      updated_at: now,
    };
    // Written before anything runs, so the id is readable from every node once we return it.
    const revision = await this.opts.store.create(initial);
    this.node.metrics.executionStarted();
    auditExecution(this.log, this.node.name, initial);

    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    if (req.timeout_s !== undefined) {
      const ms = Math.round(req.timeout_s * 1000);
      timer = setTimeout(() => controller.abort(new StepFailure('timeout', `the execution ran past its timeout_s of ${req.timeout_s} s`)), ms);
    }
    const onCallerAbort = (): void => controller.abort(new StepFailure('cancelled', 'the caller cancelled the request'));
    if (wait && req.signal) {
      if (req.signal.aborted) onCallerAbort();
      else req.signal.addEventListener('abort', onCallerAbort, { once: true });
    }
    const writer = new RecordWriter(this.opts.store, { record: initial, revision }, this.log, (verdict) => {
      // Another node ended it (cancel while we were unreachable, or declared us lost): stop too.
      controller.abort(new StepFailure('cancelled', `ended elsewhere: ${verdict.error?.message ?? verdict.status}`));
    });
    const progress = new ProgressTracker(initial.execution_id, req.onProgress);
    const entry: Active = { controller, latest: initial, settled: Promise.resolve(initial) };
    this.active.set(initial.execution_id, entry);
    const stamp = (r: ExecutionRecord): ExecutionRecord => ({ ...r, created_at: initial.created_at });

    entry.settled = (async () => {
      let final: ExecutionRecord;
      try {
        final = await runExecution({
          document,
          workflow: workflowId,
          input: req.input,
          runner: this.opts.runnerFor(mode),
          mode,
          execution_id: initial.execution_id,
          coordinator: this.node.name,
          ...(req.requested_by !== undefined && { requested_by: req.requested_by }),
          signal: controller.signal,
          env: this.allowedEnv(),
          onUpdate: (r) => {
            const rec = stamp(r);
            entry.latest = rec;
            writer.push(rec);
            this.publishEvent(rec, progress.update(rec));
          },
        });
        final = this.explainAbort(stamp(final), controller.signal);
      } catch (err) {
        // The engine resolves even for failing workflows; reaching here is a bug, never a crash.
        this.log.error({ err, execution: initial.execution_id }, 'execution crashed');
        const at = new Date().toISOString();
        final = { ...entry.latest, status: 'failed', error: { type: 'internal', message: `internal error: ${(err as Error)?.message ?? String(err)}` }, updated_at: at, ended_at: at };
      } finally {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onCallerAbort);
      }
      entry.latest = final;
      progress.update(final);
      const stored = await writer.finish(final);
      this.publishEvent(final, undefined);
      this.active.delete(initial.execution_id);
      this.node.metrics.executionFinished(final.status);
      auditExecution(this.log, this.node.name, final);
      // Our in-memory record has whole outputs; the stored one wins only when it is another verdict.
      return stored.status === final.status ? final : stored;
    })();
    if (!wait) {
      entry.settled.catch(() => undefined);
      return initial;
    }
    return entry.settled;
  }

  /** A record from any node: the live one when this node coordinates it, else the shared store. */
  async get(executionId: string): Promise<ExecutionRecord | undefined> {
    const local = this.active.get(executionId);
    if (local) return local.latest;
    const stored = await this.opts.store.get(executionId);
    if (!stored) return undefined;
    return (await this.endIfOrphaned(stored.record, stored.revision)) ?? stored.record;
  }

  async list(query: ExecutionQuery = {}): Promise<ExecutionPage> {
    const page = await this.opts.store.list(query);
    const executions = await Promise.all(
      page.executions.map(async (r) => {
        const live = this.active.get(r.execution_id)?.latest;
        if (live) return live;
        if (isTerminal(r.status) || !this.orphaned(r)) return r;
        return (await this.get(r.execution_id)) ?? r;
      }),
    );
    return { ...page, executions };
  }

  /**
   * Cancels an execution wherever it runs: here directly; elsewhere through its coordinator (the
   * broadcast also reaches every node running one of its steps); with no coordinator left, by
   * writing the verdict to the record. Resolves with the status it ended in.
   */
  async cancel(executionId: string, reason = 'cancelled on request'): Promise<{ execution_id: string; status: ExecutionStatus }> {
    const local = this.active.get(executionId);
    if (local) return { execution_id: executionId, status: await this.cancelLocal(local, reason, true) };
    // A live coordinator ends it itself, with its steps; a gone one cannot answer: skip the wait.
    const live = this.liveNames();
    return cancelInMesh(this.nc, this.opts.store, executionId, reason, (coordinator) => live.has(coordinator));
  }

  /** Stops taking work; executions still running here end as failed, saying this node stopped. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.sweepTimer);
    this.offRegistry?.();
    this.cancelSub?.unsubscribe();
    const running = [...this.active.values()];
    for (const a of running) a.controller.abort(new StepFailure('node_lost', `coordinator node ${this.node.name} stopped while the execution ran`));
    await Promise.race([Promise.allSettled([...running.map((a) => a.settled), ...this.scans]), new Promise((r) => setTimeout(r, 5_000))]);
  }

  private track<T>(scan: Promise<T>): Promise<T> {
    this.scans.add(scan);
    void scan.finally(() => this.scans.delete(scan)).catch(() => undefined);
    return scan;
  }

  private async workflowText(req: StartExecutionRequest): Promise<string> {
    if ((req.yaml === undefined) === (req.workflow_name === undefined)) {
      throw new MeshError('USAGE', 'give exactly one of yaml (the workflow text) or workflow_name (a workflow saved with save_workflow)');
    }
    if (req.yaml !== undefined) {
      this.checkSize('yaml', req.yaml);
      return req.yaml;
    }
    const saved = await this.opts.workflows.get(req.workflow_name!);
    if (!saved) throw new MeshError('WORKFLOW_NOT_FOUND', `no saved workflow named "${req.workflow_name}" (list_workflows shows them)`);
    return saved.yaml;
  }

  private checkSize(field: string, value: unknown): void {
    if (value === undefined) return;
    const bytes = Buffer.byteLength(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));
    const limit = this.node.options.limits.maxInputBytes;
    if (bytes > limit) {
      throw new MeshError('INPUT_TOO_LARGE', `${field} is ${bytes} bytes; this node takes at most ${limit} bytes (limits.max_input_bytes)`);
    }
  }

  private allowedEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of this.node.options.allow.env_vars) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    return env;
  }

  /** The engine reports every abort as a cancel; a timeout or a stopping node is a failure. */
  private explainAbort(final: ExecutionRecord, signal: AbortSignal): ExecutionRecord {
    const reason: unknown = signal.reason;
    if (final.status !== 'cancelled' || !(reason instanceof StepFailure) || reason.type === 'cancelled') return final;
    return { ...final, status: 'failed', error: { ...(final.error?.step && { step: final.error.step }), type: reason.type, message: reason.message } };
  }

  /** `broadcast`: also tell the nodes running its steps at once (a cancel that came by broadcast already did). */
  private async cancelLocal(entry: Active, reason: string, broadcast: boolean): Promise<ExecutionStatus> {
    const first = !entry.controller.signal.aborted;
    entry.controller.abort(new StepFailure('cancelled', reason));
    if (first && broadcast) this.broadcastCancel(entry.latest.execution_id, reason);
    const settled = await Promise.race([entry.settled, new Promise<undefined>((r) => setTimeout(r, 5_000, undefined))]);
    return settled?.status ?? 'cancelled';
  }

  private broadcastCancel(executionId: string, reason: string): void {
    if (this.nc.isClosed()) return;
    this.nc.publish(subjects.cancel(executionId), encodeJson({ type: 'wfmesh.cancel.v1', execution_id: executionId, reason } satisfies CancelMessage));
  }

  private onCancelMessage(msg: Msg): void {
    const parsed = CancelMessageSchema.safeParse(decodeJson(msg.data));
    // Messages with a `key` cancel one dispatched step: the step servers' business, not ours.
    if (!parsed.success || parsed.data.key !== undefined) return;
    const entry = this.active.get(parsed.data.execution_id);
    if (!entry) return; // not ours: only the coordinator answers
    void this.cancelLocal(entry, parsed.data.reason ?? 'cancelled on request', false).then((status) => {
      if (!msg.reply) return;
      const reply: CancelReply = { type: 'wfmesh.cancel.reply.v1', execution_id: parsed.data.execution_id, status, node: this.node.name };
      msg.respond(encodeJson(reply));
    });
  }

  private onPeerEvent(e: PeerEvent): void {
    if (e.kind !== 'left' || this.stopping) return;
    // A quick restart under the same name is alive again: it ends its old records itself.
    if (this.liveNames().has(e.name)) return;
    // A scan reads every record in the bucket: one node does it, not every node. Reads of a
    // record and the start-up sweep still catch what a sweeper that died at the same time missed.
    if (!this.isSweeper()) return;
    const how = e.reason === 'stopped' ? 'stopped' : 'stopped heart-beating';
    void this.track(failOrphans(this.opts.store, (r) => r.coordinator === e.name, () => `coordinator node ${e.name} left the mesh (${how}) while the execution ran`))
      .then((ids) => this.afterOrphans(ids, `coordinator node ${e.name} left the mesh`))
      .catch((err: Error) => this.log.warn({ err: err.message }, 'could not end the executions of a node that left'));
  }

  /** The live node with the smallest id scans for the records of a node that left. */
  private isSweeper(): boolean {
    let first: string | undefined;
    for (const p of this.node.registry.list()) if (p.state === 'RUNNING' && (first === undefined || p.id < first)) first = p.id;
    return first === this.node.id;
  }

  private async sweep(why: string): Promise<void> {
    if (this.stopping) return;
    try {
      const me = this.node.name;
      const ids = await this.track(failOrphans(
        this.opts.store,
        (r) => (r.coordinator === me ? !this.active.has(r.execution_id) : this.orphaned(r)),
        (r) => (r.coordinator === me ? `coordinator node ${me} restarted; the execution was lost with its previous process` : `coordinator node ${r.coordinator} is no longer in the mesh`),
      ));
      this.afterOrphans(ids, `coordinator gone (${why} sweep)`);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'orphan sweep skipped');
    }
  }

  /** Steps the lost coordinator dispatched may still run somewhere: stop them (only the CAS winner gets here). */
  private afterOrphans(ids: string[], why: string): void {
    if (ids.length === 0) return;
    this.log.warn({ executions: ids, why }, 'ended executions whose coordinator is gone');
    for (const id of ids) this.broadcastCancel(id, why);
  }

  private liveNames(): Set<string> {
    return new Set(this.node.registry.list().map((p) => p.name));
  }

  /** Unfinished, its coordinator unknown to a registry old enough to know, and quiet for a while. */
  private orphaned(r: ExecutionRecord): boolean {
    if (isTerminal(r.status) || Date.now() - this.startedAt < this.warmUpMs) return false;
    if (r.coordinator === this.node.name) return !this.active.has(r.execution_id);
    const quietMs = Date.now() - Date.parse(r.updated_at);
    return !this.liveNames().has(r.coordinator) && quietMs > this.node.options.deadAfterMs;
  }

  private async endIfOrphaned(r: ExecutionRecord, revision: number): Promise<ExecutionRecord | undefined> {
    if (!this.orphaned(r)) return undefined;
    const ended = endOrphan(r, `coordinator node ${r.coordinator} is no longer in the mesh`);
    const written = await this.opts.store.replace(ended, revision).catch(() => undefined);
    if (written === undefined) return (await this.opts.store.get(r.execution_id))?.record;
    this.afterOrphans([r.execution_id], 'coordinator gone (noticed on read)');
    return ended;
  }

  private publishEvent(r: ExecutionRecord, step: ExecutionEvent['step']): void {
    if (this.nc.isClosed()) return;
    const event: ExecutionEvent = {
      type: 'wfmesh.execution.event.v1',
      execution_id: r.execution_id,
      status: r.status,
      steps_done: r.steps.filter((s) => FINAL_STEP.has(s.status)).length,
      steps_total: r.steps.length,
      ...(step && { step }),
      coordinator: r.coordinator,
      at: new Date().toISOString(),
    };
    this.nc.publish(subjects.events(r.execution_id), encodeJson(event));
  }
}

/** Creates the stores and the execution service of `node`, and stops them with it. */
export async function attachExecutions(node: MeshNode, runnerFor: (mode: ExecutionMode) => StepRunner): Promise<ExecutionService> {
  const log = node.log.child({ component: 'store' });
  const { executionTtlMs, replicas } = node.options.store;
  const store = new ExecutionStore(node.nc, { ttlMs: executionTtlMs, replicas, log });
  const workflows = new WorkflowStore(node.nc, { replicas, log });
  const service = await ExecutionService.create({ node, store, workflows, runnerFor });
  node.onStop(() => service.stop());
  return service;
}

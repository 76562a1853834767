import type { Msg, Subscription } from 'nats';
import { newExecutionId } from '../engine/index.js';
import type { PeerEvent } from '../mesh/registry.js';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { MeshError } from '../protocol/errors.js';
import { isoTime } from '../protocol/iso-time.js';
import type { CancelReply, ExecutionMode, ExecutionRecord, ExecutionStatus } from '../protocol/execution.js';
import { CancelMessageSchema, type CancelMessage } from '../protocol/step.js';
import { subjects } from '../protocol/subjects.js';
import { cancelInMesh, endOrphan, isTerminal, type ExecutionPage, type ExecutionQuery, type ExecutionStore, type WorkflowStore } from '../store/index.js';
import { formatIssue, validateWorkflowText, type WorkflowDocument } from '../workflow/index.js';
import { ShortLivedTable } from '../util/short-lived.js';
import { Coordination } from './coordination.js';
import type { ExecutionDeps } from './deps.js';
import { claimed, HandoverRequestSchema, LeaseNoticeSchema, type HandoverReply, type LeaseNotice } from './lease.js';
import type { ExecutionProgress } from './progress.js';
import { OpenExecutions } from './open-executions.js';
import { distribute, findOrphans, isSweeper, type RecoveryContext } from './recovery.js';

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
  /** Chosen by the caller: a repeated request with the same id returns the existing execution. */
  execution_id?: string;
  /** Aborting it cancels the execution, when the caller waits. */
  signal?: AbortSignal;
  onProgress?: (p: ExecutionProgress) => void;
}

type Lifecycle = 'RUNNING' | 'DRAINING' | 'STOPPED';

/**
 * How often the sweeper looks for executions nobody coordinates (among the open ones, reading
 * the headers written since its last look: see OpenExecutions). Losses are handled
 * at once from peer events; this only catches what a scanner that died at the same moment missed.
 */
const SWEEP_INTERVAL_MS = 30_000;

/**
 * Runs the executions this node coordinates and answers for every execution in the mesh.
 * Records live in JetStream KV under a lease (coordinator + epoch): when a coordinator leaves
 * the mesh, one live node takes each of its executions over by compare-and-swap and resumes it
 * from its record; a node that stops hands its executions on first.
 */
export class ExecutionService {
  /** By execution id; a ShortLivedTable, as one is added and deleted per execution (see util/short-lived.ts). */
  private readonly active = new ShortLivedTable<Coordination>();
  private readonly subs: Subscription[] = [];
  private offPeers: (() => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  /** A pass over the store has looked for this node's records from a previous process. */
  private ownRecordsSwept = false;
  private state: Lifecycle = 'RUNNING';
  /** Store scans and takeovers in flight: stop waits for them. */
  private readonly background = new Set<Promise<unknown>>();
  private stopped: Promise<void> | undefined;
  private readonly recovery: RecoveryContext;

  private constructor(private readonly deps: ExecutionDeps) {
    this.recovery = {
      nc: deps.nc,
      open: new OpenExecutions(deps.store),
      log: deps.log,
      self: deps.self,
      peers: () => deps.peers.list(),
      takeOver: (id, reason) => this.takeOver(id, reason),
    };
  }

  static async create(deps: ExecutionDeps): Promise<ExecutionService> {
    const service = new ExecutionService(deps);
    // Open the buckets now so the first execution does not pay for it; a server without
    // JetStream is reported (once) and retried on use, not fatal.
    await Promise.all([deps.store.open(), deps.workflows.open()]).catch(() => undefined);
    const { nc } = deps;
    service.subs.push(
      nc.subscribe(subjects.cancelAll(), { callback: (err, msg) => !err && service.onCancelMessage(msg) }),
      nc.subscribe(subjects.leaseAll(), { callback: (err, msg) => !err && service.onLeaseNotice(msg) }),
      nc.subscribe(subjects.handover(deps.self.name, deps.self.id), { callback: (err, msg) => !err && service.onHandoverRequest(msg) }),
    );
    service.offPeers = deps.peers.onChange((e) => service.onPeerEvent(e));
    // Once discovery has settled, resume what nobody coordinates (every node restarted, or this
    // node restarted under the same name), then keep looking now and then.
    const sweep = () => {
      service.sweepTimer = setTimeout(() => {
        void service.sweep().finally(() => service.state === 'RUNNING' && sweep());
      }, service.sweepTimer === undefined ? service.warmUpMs : SWEEP_INTERVAL_MS);
    };
    sweep();
    return service;
  }

  get workflows(): WorkflowStore {
    return this.deps.workflows;
  }

  get store(): ExecutionStore {
    return this.deps.store;
  }

  /** Executions this node coordinates now. */
  get coordinating(): number {
    return this.active.size;
  }

  /** Time after start-up before this node trusts its registry to know every live coordinator. */
  private get warmUpMs(): number {
    return Math.max(this.deps.settings.deadAfterMs, 1_500) + 500;
  }

  /** Starts an execution; resolves with its final record, or at once with the running one when not waiting. */
  async start(req: StartExecutionRequest): Promise<ExecutionRecord> {
    if (this.state !== 'RUNNING') throw new MeshError('USAGE', `node ${this.deps.self.name} is stopping and takes no new executions`);
    const mode = req.mode ?? 'distributed';
    const wait = mode === 'async' ? false : (req.wait ?? true);
    this.checkSize('input', req.input);
    const { text, document } = await this.load(req);
    const workflowId = req.workflow ?? document.defaultWorkflow;
    if (!Object.hasOwn(document.workflows, workflowId)) {
      throw new MeshError('WORKFLOW_NOT_FOUND', `no workflow "${workflowId}" in the document (it has: ${Object.keys(document.workflows).join(', ')})`);
    }
    const now = Date.now();
    const at = isoTime(now);
    const initial: ExecutionRecord = {
      type: 'wfmesh.execution.v1',
      execution_id: req.execution_id ?? newExecutionId(),
      workflow: workflowId,
      mode,
      status: 'running',
      ...(req.input !== undefined && { input: req.input }),
      steps: [],
      coordinator: this.deps.self.name,
      epoch: 1,
      ...(req.timeout_s !== undefined && { deadline_at: now + Math.round(req.timeout_s * 1000) }),
      ...(req.requested_by !== undefined && { requested_by: req.requested_by }),
      created_at: at,
      updated_at: at,
    };
    const created = this.deps.store.create(initial, { yaml: text, ...(req.workflow_name !== undefined && { workflow_name: req.workflow_name }) });
    created.catch(() => undefined); // awaited below, after a turn: a quick failure is not unhandled meanwhile
    const extra = { ...(req.onProgress && { onProgress: req.onProgress }), ...(wait && req.signal && { callerSignal: req.signal }) };
    if (req.execution_id === undefined) {
      // A fresh id cannot conflict: the run starts while its record (with the workflow text, from
      // which any node can resume it) is being created. Nothing with side effects is dispatched
      // and nothing is written before the create lands; when it fails, the run is cancelled. The
      // run starts at the end of this turn: the create's requests (microtasks away) leave first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const run = this.coordinate(initial, created, document, extra);
      try {
        await created;
      } catch (err) {
        this.endUnstarted(initial, err as Error);
        await run.settled.catch(() => undefined);
        throw err;
      }
      return wait ? run.settled : initial;
    }
    // A caller's id may be taken (a repeated request): the record is created before anything runs.
    let revision: number;
    try {
      revision = await created;
    } catch (err) {
      if (err instanceof MeshError && err.code === 'CONFLICT') return this.existing(req.execution_id, wait);
      // The header may have landed although the create failed (its acknowledgement lost, the
      // source not written): end it, or it would say "running" under a live node that never ran it.
      this.endUnstarted(initial, err as Error);
      throw err;
    }
    const run = this.coordinate(initial, revision, document, extra);
    if (!wait) return initial;
    return run.settled;
  }

  /** Best effort: a record whose start failed is ended with the reason, when it exists. */
  private endUnstarted(initial: ExecutionRecord, err: Error): void {
    const at = new Date().toISOString();
    const message = `the execution could not be started: ${err.message}`;
    void this.deps.store
      .update(initial.execution_id, (cur) =>
        cur.status === 'running' && cur.coordinator === initial.coordinator && cur.epoch === initial.epoch && cur.steps.length === 0
          ? { ...cur, status: 'failed', error: { type: 'internal', message }, updated_at: at, ended_at: at }
          : undefined,
      )
      .catch(() => undefined);
  }

  /** A repeated start with the same id: the execution it already started. */
  private async existing(executionId: string, wait: boolean): Promise<ExecutionRecord> {
    const local = this.active.get(executionId);
    if (local) return wait ? local.settled : local.snapshot();
    const stored = await this.deps.store.get(executionId);
    if (!stored) throw new MeshError('CONFLICT', `execution ${executionId} already exists`);
    return stored.record;
  }

  /** A record from any node: the live one when this node coordinates it, else the shared store. */
  async get(executionId: string): Promise<ExecutionRecord | undefined> {
    const local = this.active.get(executionId);
    if (local) return local.snapshot();
    return (await this.deps.store.get(executionId))?.record;
  }

  /** Headers (counts, no rows) newest first; the live record for executions coordinated here. */
  async list(query: ExecutionQuery = {}): Promise<ExecutionPage> {
    const page = await this.deps.store.list(query);
    return { ...page, executions: page.executions.map((r) => this.active.get(r.execution_id)?.snapshot() ?? r) };
  }

  /**
   * Cancels an execution wherever it runs: here directly; elsewhere through its coordinator (the
   * broadcast also reaches every node running one of its steps); with no coordinator left, by
   * writing the verdict to the record. Resolves with the status it ended in.
   */
  async cancel(executionId: string, reason = 'cancelled on request'): Promise<{ execution_id: string; status: ExecutionStatus }> {
    const local = this.active.get(executionId);
    if (local) {
      this.broadcastCancel(executionId, reason);
      return { execution_id: executionId, status: await local.cancel(reason) };
    }
    const live = new Set(this.deps.peers.list().map((p) => p.name));
    return cancelInMesh(this.deps.nc, this.deps.store, executionId, reason, (coordinator) => live.has(coordinator));
  }

  /**
   * Hands every execution coordinated here to another node (or leaves it resumable when none is
   * left) and takes no new ones. Resolves once each is durable and on its way.
   */
  async drain(reason = `coordinator node ${this.deps.self.name} is stopping`): Promise<void> {
    if (this.state !== 'RUNNING') return;
    this.state = 'DRAINING';
    clearTimeout(this.sweepTimer);
    const leaving = this.active.snapshot().map(([, run]) => run);
    await Promise.allSettled(leaving.map((c) => c.handOver(reason)));
    const others = this.deps.peers.list().filter((p) => p.id !== this.deps.self.id);
    if (leaving.length && others.length) {
      await distribute({ ...this.recovery, peers: () => others }, leaving.map((c) => c.executionId), reason).catch((err: Error) =>
        this.deps.log.warn({ err: err.message }, 'could not hand every execution on; they resume when a node starts'),
      );
    }
  }

  /** Stops: hands running executions on (drain), then stops listening. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.drain();
      this.state = 'STOPPED';
      this.offPeers?.();
      for (const s of this.subs) s.unsubscribe();
      await Promise.allSettled([...this.background]);
    })();
    return this.stopped;
  }

  private coordinate(record: ExecutionRecord, revision: number | Promise<number>, document: WorkflowDocument, extra: { onProgress?: (p: ExecutionProgress) => void; callerSignal?: AbortSignal }): Coordination {
    // Told before the run starts: its first step may be dispatched before the constructor returns.
    this.deps.observer?.started(record);
    const run = new Coordination({ deps: this.deps, document, record, revision, env: this.allowedEnv(), ...extra });
    this.active.set(record.execution_id, run);
    void run.settled.then(
      (final) => {
        this.active.delete(record.execution_id);
        if (isTerminal(final.status)) this.deps.observer?.finished(final, final.status);
      },
      () => this.active.delete(record.execution_id),
    );
    return run;
  }

  /**
   * Takes an execution over: reads its record, claims the lease by compare-and-swap (the next
   * epoch, the handover noted), tells the old holder, and resumes it here. Resolves false when
   * another node holds it (alive, or it won the claim) or it has ended.
   */
  private async takeOver(executionId: string, reason: string, from?: string): Promise<boolean> {
    if (this.active.has(executionId)) return true;
    if (this.state !== 'RUNNING') return false;
    const stored = await this.deps.store.get(executionId);
    if (!stored || isTerminal(stored.record.status)) return false;
    const holder = stored.record.coordinator;
    const holderLive = this.deps.peers.list().some((p) => p.name === holder && p.state === 'RUNNING');
    if (holder === this.deps.self.name ? this.startedAt <= Date.parse(stored.record.updated_at) : holderLive && holder !== from) return false;
    const loaded = await this.resumable(stored.record);
    if (!loaded) return false;
    const next = claimed(stored.record, this.deps.self.name, reason);
    const revision = await this.deps.store.writeHeader({ ...next, steps: [] }, stored.revision);
    if (revision === undefined || this.active.has(executionId)) return false; // another node won the claim
    const notice: LeaseNotice = { type: 'wfmesh.lease.v1', execution_id: executionId, coordinator: this.deps.self.name, epoch: next.epoch ?? 0 };
    this.deps.nc.publish(subjects.lease(executionId), encodeJson(notice));
    this.deps.log.warn({ execution: executionId, from: holder, epoch: next.epoch, done: `${next.steps_done ?? 0}/${next.steps_total ?? 0}`, reason }, 'took an execution over');
    this.coordinate(next, revision, loaded, {});
    return true;
  }

  /** The document to resume `r` with; a record that cannot be resumed is ended with the reason. */
  private async resumable(r: ExecutionRecord): Promise<WorkflowDocument | undefined> {
    const source = await this.deps.store.source(r.execution_id);
    const validation = source && validateWorkflowText(source.yaml, { allowedEnv: this.deps.settings.allowedEnv, workflow: r.workflow });
    if (validation?.valid && validation.document && Object.hasOwn(validation.document.workflows, r.workflow)) return validation.document;
    const why = !source ? 'its workflow text is not in the store (a record from an older version)' : `its workflow does not load on node ${this.deps.self.name}`;
    const ended = endOrphan(r, `coordinator node ${r.coordinator} left the mesh and the execution cannot be resumed: ${why}`);
    await this.deps.store.update(r.execution_id, (cur) => (isTerminal(cur.status) || cur.coordinator !== r.coordinator ? undefined : ended)).catch(() => undefined);
    this.broadcastCancel(r.execution_id, 'its coordinator left and it cannot be resumed');
    return undefined;
  }

  private async load(req: StartExecutionRequest): Promise<{ text: string; document: WorkflowDocument }> {
    if ((req.yaml === undefined) === (req.workflow_name === undefined)) {
      throw new MeshError('USAGE', 'give exactly one of yaml (the workflow text) or workflow_name (a workflow saved with save_workflow)');
    }
    let text: string;
    if (req.yaml !== undefined) {
      this.checkSize('yaml', req.yaml);
      text = req.yaml;
    } else {
      const saved = await this.deps.workflows.get(req.workflow_name!);
      if (!saved) throw new MeshError('WORKFLOW_NOT_FOUND', `no saved workflow named "${req.workflow_name}" (list_workflows shows them)`);
      text = saved.yaml;
    }
    // Problems only in sibling workflows this run never reaches do not block it.
    const validation = validateWorkflowText(text, { allowedEnv: this.deps.settings.allowedEnv, ...(req.workflow !== undefined && { workflow: req.workflow }) });
    if (!validation.valid || !validation.document) {
      throw new MeshError('WORKFLOW_INVALID', `invalid workflow:\n${validation.errors.map(formatIssue).join('\n')}`, validation.errors);
    }
    return { text, document: validation.document };
  }

  private checkSize(field: string, value: unknown): void {
    if (value === undefined) return;
    const bytes = Buffer.byteLength(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));
    const limit = this.deps.settings.maxInputBytes;
    if (bytes > limit) {
      throw new MeshError('INPUT_TOO_LARGE', `${field} is ${bytes} bytes; this node takes at most ${limit} bytes (limits.max_input_bytes)`);
    }
  }

  private allowedEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of this.deps.settings.allowedEnv) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    return env;
  }

  private broadcastCancel(executionId: string, reason: string): void {
    if (this.deps.nc.isClosed()) return;
    this.deps.nc.publish(subjects.cancel(executionId), encodeJson({ type: 'wfmesh.cancel.v1', execution_id: executionId, reason } satisfies CancelMessage));
  }

  private onCancelMessage(msg: Msg): void {
    const parsed = CancelMessageSchema.safeParse(decodeJson(msg.data));
    // Messages with a `key` cancel one dispatched step: the step servers' business, not ours.
    if (!parsed.success || parsed.data.key !== undefined) return;
    const run = this.active.get(parsed.data.execution_id);
    if (!run) return; // not ours: only the coordinator answers
    void run.cancel(parsed.data.reason ?? 'cancelled on request').then((status) => {
      if (!msg.reply) return;
      const reply: CancelReply = { type: 'wfmesh.cancel.reply.v1', execution_id: parsed.data.execution_id, status, node: this.deps.self.name };
      msg.respond(encodeJson(reply));
    });
  }

  private onLeaseNotice(msg: Msg): void {
    const parsed = LeaseNoticeSchema.safeParse(decodeJson(msg.data));
    if (!parsed.success || parsed.data.coordinator === this.deps.self.name) return;
    this.active.get(parsed.data.execution_id)?.superseded(parsed.data.epoch, parsed.data.coordinator);
  }

  private onHandoverRequest(msg: Msg): void {
    const parsed = HandoverRequestSchema.safeParse(decodeJson(msg.data));
    if (!parsed.success) return;
    const { execution_ids, reason, from } = parsed.data;
    void this.track(
      (async () => {
        const taken: string[] = [];
        for (const id of execution_ids) {
          if (await this.takeOver(id, reason, from).catch(() => false)) taken.push(id);
        }
        const reply: HandoverReply = { type: 'wfmesh.handover.reply.v1', taken, node: this.deps.self.name };
        if (msg.reply) msg.respond(encodeJson(reply));
      })(),
    );
  }

  /** Nodes seen leaving since the last recovery pass: a mass expiry is one scan, not one per node. */
  private leftSince = new Map<string, 'dead' | 'stopped'>();

  private onPeerEvent(e: PeerEvent): void {
    if (e.kind !== 'left' || this.state !== 'RUNNING') return;
    if (this.leftSince.size === 0) setImmediate(() => this.recoverLeft());
    this.leftSince.set(e.name, e.reason);
  }

  private recoverLeft(): void {
    const left = this.leftSince;
    this.leftSince = new Map();
    if (this.state !== 'RUNNING') return;
    const peers = this.deps.peers.list();
    // A quick restart under the same name is alive again: it resumes its old records itself.
    const live = new Set(peers.map((p) => p.name));
    const gone = [...left.keys()].filter((name) => !live.has(name));
    // A scan reads every header in the bucket: one node does it, not every node; the periodic
    // sweep catches what a scanner that died at the same moment missed.
    if (!gone.length || !isSweeper(this.deps.self.id, peers)) return;
    const how = (name: string) => (left.get(name) === 'stopped' ? 'stopped' : 'stopped answering');
    const reason = gone.length === 1 ? `coordinator node ${gone[0]} left the mesh (${how(gone[0]!)})` : `coordinator nodes ${gone.slice(0, 5).join(', ')}${gone.length > 5 ? ` and ${gone.length - 5} more` : ''} left the mesh`;
    void this.track(this.recover({ left: new Set(gone) }, reason));
  }

  private async sweep(): Promise<void> {
    if (this.state !== 'RUNNING') return;
    // Our own records from a previous process first (any node may run this), then, on the
    // sweeper, everything whose coordinator is gone. Records a previous process left all exist
    // at start-up: once a pass has read the store, only the sweeper scans it again.
    const sweeper = isSweeper(this.deps.self.id, this.deps.peers.list());
    if (!sweeper && this.ownRecordsSwept) return;
    if (await this.track(this.recover(sweeper ? 'all' : 'own', 'its coordinator is no longer in the mesh'))) this.ownRecordsSwept = true;
  }

  /** Resolves false when the store could not be read (the next sweep tries again). */
  private async recover(scope: 'all' | 'own' | { left: ReadonlySet<string> }, reason: string): Promise<boolean> {
    try {
      const orphans = await findOrphans(this.recovery, {
        quietMs: this.deps.settings.deadAfterMs,
        startedAt: this.startedAt,
        active: (id) => this.active.has(id),
        scope,
      });
      const own = orphans.filter((r) => r.coordinator === this.deps.self.name).map((r) => r.execution_id);
      const others = orphans.filter((r) => r.coordinator !== this.deps.self.name).map((r) => r.execution_id);
      for (const id of own) await this.takeOver(id, `coordinator node ${this.deps.self.name} restarted`);
      if (others.length) await distribute(this.recovery, others, reason);
      return true;
    } catch (err) {
      this.deps.log.debug({ err: (err as Error).message }, 'orphan sweep skipped');
      return false;
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.background.add(work);
    void work.finally(() => this.background.delete(work)).catch(() => undefined);
    return work;
  }
}


import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { hasSideEffects } from '../executor/builtin.js';
import { NEVER_ABORTED } from '../executor/failures.js';
import type { StepExecutor, StepScope } from '../executor/types.js';
import { ToolCallCollector } from '../executor/agent-tools/collector.js';
import { agentStepOf } from '../executor/agent-tools/call-id.js';
import type { StallWatch } from '../mesh/stall-watch.js';
import { SendBatch } from '../nats/send-batch.js';
import { ReadCount } from '../nats/read-count.js';
import { writeNow } from '../nats/write-now.js';
import { ShortLivedTable } from '../util/short-lived.js';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { StepFailure } from '../protocol/errors.js';
import { CancelMessageSchema, type StepReply, type StepRequest, type ToolCallNote } from '../protocol/step.js';
import { parseStepRequest } from '../protocol/step-request.js';
import { readStepBatch, repliesToSend, type TokenedData } from '../protocol/step-batch.js';
import { subjects } from '../protocol/subjects.js';

export interface StepServerOptions {
  nc: NatsConnection;
  nodeId: string;
  nodeName: string;
  maxConcurrency: number;
  executor: StepExecutor;
  /** Runs `child_process` isolation requests (made on first use); absent means this node refuses them. */
  isolatedExecutor?: () => StepExecutor;
  /** Whether the node takes new steps (false while draining). */
  accepting: () => boolean;
  /** Called when in-flight changes (the node announces its load). */
  onLoadChange: (inflight: number) => void;
  /** Called when a step ends here (metrics, audit). */
  onStepEnd?: (req: StepRequest, reply: StepReply, seconds: number) => void;
  /** Completed results by idempotency key (steps with side effects): never run a completed key twice. */
  results?: ResultLookup;
  /**
   * Stalls of this process (frozen, starved): one longer than `fenceAfterMs` means the mesh
   * declared this node lost and gave its steps to other nodes, so the steps running here stop.
   * The watch is started while steps run here and stopped when none does.
   */
  stalls?: { watch: StallWatch; fenceAfterMs: number };
  log: Logger;
}

/** Where completed results of steps with side effects are kept (store/result-store.ts). */
export interface ResultLookup {
  get(idempotencyKey: string): Promise<StepReply | undefined>;
  put(idempotencyKey: string, reply: StepReply): Promise<void>;
}

/**
 * Where a step's reply goes: a request's reply subject, or, for a request that came in a batch,
 * the batch's inbox and the request's token (its reply may leave joined with others to that inbox).
 */
type ReplyTo = string | { inbox: string; token: string } | undefined;

/** Executions whose newest lease epoch this node remembers (older requests are refused). */
const EPOCHS_REMEMBERED = 10_000;

/**
 * The receiving side of dispatch: the node's `step` endpoint. It admits a step or says busy at
 * max concurrency, runs it with its deadline and a cancel signal, and replies once.
 */
export class StepServer {
  inflight = 0;
  /** Step requests admitted since start (busy refusals not counted). */
  admitted = 0;
  /** Steps running here by key (a ShortLivedTable: one is added and deleted per step; see util/short-lived.ts). */
  private readonly running = new ShortLivedTable<{ executionId: string; stepId: string; controller: AbortController }>();
  /** Attempts running here by idempotency key: a redelivery of one joins it instead of running it again. */
  private readonly byIdempotencyKey = new ShortLivedTable<Promise<StepReply>>();
  private readonly epochs = new Map<string, number>();
  private stepSub: Subscription | undefined;
  private cancelSub: Subscription | undefined;
  private offStall: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  /** Replies leave together, one socket write per turn of the event loop (see SendBatch). */
  private readonly replies = new SendBatch();
  /** Step messages per read of the socket. */
  private readonly reads = new ReadCount();
  /** Handling the requests of a batch: their replies wait for the end of the turn, to leave together. */
  private inBatch = false;
  /** Replies to requests of batches made in this turn, by inbox: each inbox's leave joined at the end of the turn. */
  private joined: { inbox: string; items: TokenedData[] }[] = [];
  /** onStepEnd callbacks, run together at the end of the turn (SendBatch keeps the order). */
  private readonly ended = new SendBatch();

  constructor(private readonly opts: StepServerOptions) {}

  start(): void {
    const { nodeId, nodeName, nc, log, stalls } = this.opts;
    this.offStall = stalls?.watch.onStall((lasted) => {
      if (lasted < stalls.fenceAfterMs || this.running.size === 0) return;
      log.warn({ stalled_ms: lasted, steps: this.running.size }, 'this node stood still past the dead timeout: its steps went to other nodes, stopping them here');
      for (const [, r] of this.running.snapshot()) {
        r.controller.abort(new StepFailure('node_lost', `node ${this.opts.nodeName} stood still for ${lasted} ms (frozen or starved) and was declared lost; the step goes to another node`));
      }
    });
    // A plain subscription, not a micro service endpoint: the subject names this node alone, so
    // the endpoint's queue group (one more step in every server's routing) and its per-request
    // stats wrapper only cost CPU; the node's /metrics count its steps.
    this.stepSub = nc.subscribe(subjects.step(nodeName, nodeId), {
      callback: (err, msg) => {
        if (err) return;
        this.handle(msg);
      },
    });
    this.cancelSub = nc.subscribe(subjects.cancelAll(), {
      callback: (err, msg) => {
        if (err) return;
        const parsed = CancelMessageSchema.safeParse(decodeJson(msg.data));
        if (!parsed.success) {
          log.warn({ subject: msg.subject }, 'ignored a malformed cancel message');
          return;
        }
        this.cancel(parsed.data.execution_id, parsed.data.key, parsed.data.reason);
      },
    });
  }

  /** Aborts the steps of an execution running here (or just the one with `key`). */
  cancel(executionId: string, key?: string, reason = 'execution cancelled'): number {
    let n = 0;
    for (const [k, r] of this.running.snapshot()) {
      if (r.executionId === executionId && (key === undefined || key === k)) {
        r.controller.abort(new StepFailure('cancelled', reason));
        n++;
      }
    }
    return n;
  }

  /** Sends `reply` to `to`; with no reply subject, there is nobody to tell. */
  private reply(to: ReplyTo, reply: StepReply): void {
    if (!to) return;
    let data = encodeJson(reply);
    const max = this.maxPayload();
    if (data.length > max && reply.ok) {
      data = encodeJson({
        ...reply,
        ok: false,
        output: undefined,
        failure: new StepFailure('tool_error', `step output is ${data.length} bytes, over the NATS max payload of ${max} bytes`, false).toWire(),
      });
    }
    // The only step here, and not one of a batch: nothing to join its reply with, so it leaves at once.
    const alone = this.inflight === 0 && !this.inBatch;
    if (typeof to === 'string' || alone) {
      const subject = typeof to === 'string' ? to : to.inbox + to.token;
      // Sent now, and the first of its read (or of none): written now too, not after the rest of
      // the read's handling (write-now.ts). Later ones of a read leave together at its end.
      if (this.replies.send(() => this.publish(subject, data), alone) && this.reads.inRead <= 1) writeNow(this.opts.nc);
      return;
    }
    let group = this.joined.find((g) => g.inbox === to.inbox);
    if (!group) {
      if (this.joined.length === 0) this.replies.add(this.sendJoined);
      this.joined.push((group = { inbox: to.inbox, items: [] }));
    }
    group.items.push({ token: to.token, data });
  }

  private maxPayload(): number {
    return this.opts.nc.info?.max_payload ?? 1 << 20;
  }

  private publish(subject: string, data: Uint8Array): void {
    try {
      this.opts.nc.publish(subject, data);
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'could not send a step reply');
    }
  }

  /**
   * The replies of this turn to requests of batches: one message per inbox (protocol/step-batch.ts),
   * or several where one would pass the max payload; a reply alone goes as it is.
   */
  private readonly sendJoined = (): void => {
    const groups = this.joined;
    this.joined = [];
    for (const { inbox, items } of groups) for (const { token, data } of repliesToSend(items, this.maxPayload())) this.publish(inbox + token, data);
  };

  /** The reply of a step (or request, keyed '') that failed or was refused here. */
  private failedReply(key: string, failure: StepFailure): StepReply {
    return { type: 'wfmesh.step.reply.v1', key, ok: false, node: this.opts.nodeName, failure: failure.toWire() };
  }

  /** A message off the wire: one step request, or a batch of them (protocol/step-batch.ts). */
  private handle(msg: Msg): void {
    this.reads.note();
    const value = decodeJson(msg.data);
    const batch = readStepBatch(value);
    if (!batch) return this.handleOne(value, msg.reply);
    const inbox = msg.reply?.slice(0, msg.reply.lastIndexOf('.') + 1);
    if (!batch.ok || !inbox) {
      this.opts.log.warn({ error: batch.ok ? 'no reply inbox' : batch.error }, 'refused a malformed step batch');
      this.reply(msg.reply, this.failedReply('', new StepFailure('invalid_args', `malformed step batch: ${batch.ok ? 'it has no reply inbox' : batch.error}`, false)));
      return;
    }
    // Each request as if it came alone, answered under the batch's inbox with its own token; the
    // replies of this turn leave together.
    this.inBatch = true;
    try {
      for (const { token, request } of batch.items) this.handleOne(request, { inbox, token });
    } finally {
      this.inBatch = false;
    }
  }

  /** One step request: an instant step is answered in this turn, without a promise. */
  private handleOne(value: unknown, replyTo: ReplyTo): void {
    const { log } = this.opts;
    const parsed = parseStepRequest(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      log.warn({ issue: issue?.message, path: issue?.path.join('.') }, 'refused a malformed step request');
      this.reply(replyTo, this.failedReply('', new StepFailure('invalid_args', `malformed step request at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, false)));
      return;
    }
    const req = parsed.data;
    const instant = this.instantReply(req);
    if (instant) return this.reply(replyTo, instant);
    void this.admitAndRun(req).then(
      (reply) => this.reply(replyTo, reply),
      // Only the result store can throw here (a step's own failure is its reply): the step is not
      // lost, its coordinator reads why and may try again.
      (err: unknown) => this.reply(replyTo, this.failedReply(req.key, StepFailure.from(err))),
    );
  }

  /**
   * Admits and runs one step (or refuses it: busy, draining, unsupported): an instant one at once,
   * any other through admitAndRun. A coordinator on this same node calls it directly, skipping the
   * wire; the NATS subscription takes the same two ways after parsing.
   */
  async serve(req: StepRequest): Promise<StepReply> {
    return this.instantReply(req) ?? this.admitAndRun(req);
  }

  /** serve's way for any step: the checks, then the step run with a slot, a signal and its deadline. */
  private async admitAndRun(req: StepRequest): Promise<StepReply> {
    const { nodeName } = this.opts;
    const refuse = (failure: StepFailure): StepReply => this.failedReply(req.key, failure);
    if (this.staleEpoch(req)) {
      return refuse(new StepFailure('superseded', `execution ${req.execution_id} has a newer coordinator than epoch ${req.epoch}: the request of an older one is refused`));
    }
    const idem = req.idempotency_key;
    // The same attempt still running here (the coordinator changed meanwhile): wait for it, even while draining.
    const joined = idem === undefined ? undefined : this.byIdempotencyKey.get(idem);
    if (joined) return { ...(await joined), key: req.key };
    const effects = idem !== undefined && this.opts.results !== undefined && hasSideEffects(req.task);
    if (effects) {
      const stored = await this.opts.results!.get(idem);
      if (stored?.ok) return { ...stored, key: req.key };
    }
    if (!this.opts.accepting()) return refuse(new StepFailure('busy', `node ${nodeName} is draining`));
    if (this.inflight >= this.opts.maxConcurrency && !this.awaitedByAgentHere(req)) {
      return refuse(new StepFailure('busy', `node ${nodeName} is at max concurrency (${this.opts.maxConcurrency})`));
    }
    if (idem === undefined) return this.run(req, false);
    const running = this.run(req, effects);
    this.byIdempotencyKey.set(idem, running);
    try {
      return await running;
    } finally {
      this.byIdempotencyKey.delete(idem);
    }
  }

  /**
   * Whether `req` is a tool call of an agent step running on this node: that agent holds a slot
   * while it waits for the call, so refusing the call as busy could only deadlock a full node
   * (an edge box with two slots and one tool only it may run).
   */
  private awaitedByAgentHere(req: StepRequest): boolean {
    const agent = agentStepOf(req.step_id);
    if (agent === undefined) return false;
    for (const [, r] of this.running.snapshot()) if (r.executionId === req.execution_id && r.stepId === agent) return true;
    return false;
  }

  /** Remembers the newest epoch per execution; true when `req` comes from an older coordinator. */
  private staleEpoch(req: StepRequest): boolean {
    if (req.epoch === undefined) return false;
    const known = this.epochs.get(req.execution_id);
    if (known !== undefined && req.epoch < known) return true;
    if (known !== req.epoch) {
      this.epochs.delete(req.execution_id);
      this.epochs.set(req.execution_id, req.epoch);
      if (this.epochs.size > EPOCHS_REMEMBERED) this.epochs.delete(this.epochs.keys().next().value as string);
    }
    return false;
  }

  private async run(req: StepRequest, storeResult: boolean): Promise<StepReply> {
    const { nodeName } = this.opts;
    const refuse = (failure: StepFailure): StepReply => this.failedReply(req.key, failure);
    const executor = req.isolation === 'child_process' ? this.opts.isolatedExecutor?.() : this.opts.executor;
    if (!executor) return refuse(new StepFailure('unsupported', `node ${nodeName} does not run isolated steps`));

    // An instant tool (echo, transform) finishes in this turn and has no effect to stop: it needs
    // no AbortController (several µs each in Node) and no deadline timer.
    const instant = req.isolation !== 'child_process' && executor.isInstant?.(req.task) === true;
    const controller = instant ? undefined : new AbortController();
    const timer = controller && setTimeout(() => controller.abort(new StepFailure('timeout', `step ${req.step_id} ran past its deadline`)), Math.max(0, req.deadline - Date.now()));
    if (controller) {
      if (this.running.size === 0) this.opts.stalls?.watch.start();
      this.running.set(req.key, { executionId: req.execution_id, stepId: req.step_id, controller });
    }
    this.admitted++;
    this.inflight++;
    this.opts.onLoadChange(this.inflight);
    const startedAt = Date.now();
    const calls = req.task.kind === 'agent' ? new ToolCallCollector() : undefined;
    let reply: StepReply;
    try {
      const output = await executor.execute(req.task, controller?.signal ?? NEVER_ABORTED, calls && this.scopeOf(req, calls));
      reply = { type: 'wfmesh.step.reply.v1', key: req.key, ok: true, node: nodeName, output };
    } catch (err) {
      const failure = controller?.signal.aborted && controller.signal.reason instanceof StepFailure ? controller.signal.reason : StepFailure.from(err);
      reply = this.failedReply(req.key, failure);
    } finally {
      clearTimeout(timer);
      if (controller) {
        this.running.delete(req.key);
        if (this.running.size === 0) this.opts.stalls?.watch.stop();
      }
      this.inflight--;
      this.opts.onLoadChange(this.inflight);
      if (this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
    if (calls?.size) reply.tool_calls = calls.list();
    // Stored before the reply leaves: a coordinator that dies after reading it finds it on redelivery.
    if (storeResult && reply.ok && req.idempotency_key !== undefined) await this.opts.results!.put(req.idempotency_key, reply);
    this.stepEnded(req, reply, startedAt);
    return reply;
  }

  /**
   * A step of an instant tool (echo, transform: pure and synchronous) run here and now: its reply,
   * made without a promise, a slot or a timer, which cost more than the tool itself. Undefined
   * when the step takes the usual way (admitAndRun): it is not instant, or there is something to
   * refuse or to check (draining, at max concurrency, an attempt with its key already running
   * here). A stale epoch is refused there too: it finds what this check recorded.
   */
  private instantReply(req: StepRequest): StepReply | undefined {
    const { executor, nodeName } = this.opts;
    if (req.isolation === 'child_process' || !executor.runNow || executor.isInstant?.(req.task) !== true) return undefined;
    if (!this.opts.accepting() || this.inflight >= this.opts.maxConcurrency) return undefined;
    if (req.idempotency_key !== undefined && this.byIdempotencyKey.has(req.idempotency_key)) return undefined;
    if (this.staleEpoch(req)) return undefined;
    this.admitted++;
    const startedAt = Date.now();
    let reply: StepReply;
    try {
      reply = { type: 'wfmesh.step.reply.v1', key: req.key, ok: true, node: nodeName, output: executor.runNow(req.task) };
    } catch (err) {
      reply = this.failedReply(req.key, StepFailure.from(err));
    }
    this.stepEnded(req, reply, startedAt);
    return reply;
  }

  /**
   * Metrics and the audit line of a step that ended: they wait for the end of this turn of the
   * event loop, off the reply's path; this turn's steps go together (one hop for the lot).
   */
  private stepEnded(req: StepRequest, reply: StepReply, startedAt: number): void {
    const onStepEnd = this.opts.onStepEnd;
    if (!onStepEnd) return;
    const seconds = (Date.now() - startedAt) / 1000;
    this.ended.add(() => onStepEnd(req, reply, seconds));
  }

  /**
   * The step an executor runs for: an agent's tool calls are keyed and bounded by it, and each
   * one is announced to the coordinator as it starts and ends (the reply carries the final list).
   */
  private scopeOf(req: StepRequest, calls: ToolCallCollector): StepScope | undefined {
    if (req.task.kind !== 'agent' || !req.task.agent.tools?.length) return undefined;
    const { nc, nodeName } = this.opts;
    return {
      execution_id: req.execution_id,
      step_id: req.step_id,
      attempt: req.attempt,
      deadline: req.deadline,
      ...(req.idempotency_key !== undefined && { idempotency_key: req.idempotency_key }),
      placement: 'mesh',
      onToolCall: (call) => {
        calls.add(call);
        if (nc.isClosed()) return;
        const note: ToolCallNote = { type: 'wfmesh.toolcall.v1', execution_id: req.execution_id, key: req.key, node: nodeName, call };
        nc.publish(subjects.toolCalls(req.execution_id), encodeJson(note));
      },
    };
  }

  /**
   * Runs the onStepEnd callbacks still waiting for the end of this turn: an execution that ends
   * here has the audit lines of its steps written before its own.
   */
  flushStepEnds(): void {
    this.ended.flush();
  }

  /** Waits (bounded) for in-flight steps to finish, then stops taking steps and cancels. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        this.idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await this.replies.settled();
    await this.ended.settled();
    this.stepSub?.unsubscribe();
    this.cancelSub?.unsubscribe();
    this.offStall?.();
  }
}

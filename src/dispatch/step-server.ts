import type { NatsConnection, ServiceMsg, Subscription } from 'nats';
import type { Logger } from 'pino';
import type { StepExecutor } from '../executor/types.js';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { StepFailure } from '../protocol/errors.js';
import { CancelMessageSchema, StepRequestSchema, type StepReply, type StepRequest } from '../protocol/step.js';
import { subjects } from '../protocol/subjects.js';
import type { Service } from 'nats';

export interface StepServerOptions {
  nc: NatsConnection;
  service: Service;
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
  log: Logger;
}

/**
 * The receiving side of dispatch: the node's `step` endpoint. It admits a step or says busy at
 * max concurrency, runs it with its deadline and a cancel signal, and replies once.
 */
export class StepServer {
  inflight = 0;
  /** Step requests admitted since start (busy refusals not counted). */
  admitted = 0;
  private readonly running = new Map<string, { executionId: string; controller: AbortController }>();
  private cancelSub: Subscription | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: StepServerOptions) {}

  start(): void {
    const { service, nodeId, nodeName, nc, log } = this.opts;
    service.addEndpoint('step', {
      subject: subjects.step(nodeName, nodeId),
      handler: (err, msg) => {
        if (err) return;
        void this.handle(msg);
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
    for (const [k, r] of this.running) {
      if (r.executionId === executionId && (key === undefined || key === k)) {
        r.controller.abort(new StepFailure('cancelled', reason));
        n++;
      }
    }
    return n;
  }

  private reply(msg: ServiceMsg, reply: StepReply): void {
    let data = encodeJson(reply);
    const max = this.opts.nc.info?.max_payload ?? 1 << 20;
    if (data.length > max && reply.ok) {
      data = encodeJson({
        ...reply,
        ok: false,
        output: undefined,
        failure: new StepFailure('tool_error', `step output is ${data.length} bytes, over the NATS max payload of ${max} bytes`, false).toWire(),
      });
    }
    try {
      msg.respond(data);
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'could not send a step reply');
    }
  }

  private async handle(msg: ServiceMsg): Promise<void> {
    const { nodeName, log } = this.opts;
    const parsed = StepRequestSchema.safeParse(decodeJson(msg.data));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      log.warn({ issue: issue?.message, path: issue?.path.join('.') }, 'refused a malformed step request');
      this.reply(msg, {
        type: 'wfmesh.step.reply.v1',
        key: '',
        ok: false,
        node: nodeName,
        failure: new StepFailure('invalid_args', `malformed step request at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, false).toWire(),
      });
      return;
    }
    const reply = await this.serve(parsed.data);
    this.reply(msg, reply);
  }

  /**
   * Admits and runs one step (or refuses it: busy, draining, unsupported). The NATS endpoint
   * calls it after parsing; a coordinator on this same node calls it directly, skipping the wire.
   */
  async serve(req: StepRequest): Promise<StepReply> {
    const { nodeName } = this.opts;
    const refuse = (failure: StepFailure): StepReply => ({ type: 'wfmesh.step.reply.v1', key: req.key, ok: false, node: nodeName, failure: failure.toWire() });
    if (!this.opts.accepting()) return refuse(new StepFailure('busy', `node ${nodeName} is draining`));
    if (this.inflight >= this.opts.maxConcurrency) {
      return refuse(new StepFailure('busy', `node ${nodeName} is at max concurrency (${this.opts.maxConcurrency})`));
    }
    const executor = req.isolation === 'child_process' ? this.opts.isolatedExecutor?.() : this.opts.executor;
    if (!executor) return refuse(new StepFailure('unsupported', `node ${nodeName} does not run isolated steps`));

    const controller = new AbortController();
    const remaining = req.deadline - Date.now();
    const timer = setTimeout(
      () => controller.abort(new StepFailure('timeout', `step ${req.step_id} ran past its deadline`)),
      Math.max(0, remaining),
    );
    this.running.set(req.key, { executionId: req.execution_id, controller });
    this.admitted++;
    this.inflight++;
    this.opts.onLoadChange(this.inflight);
    const startedAt = new Date();
    let reply: StepReply;
    try {
      const output = await executor.execute(req.task, controller.signal);
      reply = { type: 'wfmesh.step.reply.v1', key: req.key, ok: true, node: nodeName, output, started_at: startedAt.toISOString(), ended_at: new Date().toISOString() };
    } catch (err) {
      const failure = controller.signal.aborted && controller.signal.reason instanceof StepFailure ? controller.signal.reason : StepFailure.from(err);
      reply = { type: 'wfmesh.step.reply.v1', key: req.key, ok: false, node: nodeName, failure: failure.toWire(), started_at: startedAt.toISOString(), ended_at: new Date().toISOString() };
    } finally {
      clearTimeout(timer);
      this.running.delete(req.key);
      this.inflight--;
      this.opts.onLoadChange(this.inflight);
      if (this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
    const seconds = (Date.now() - startedAt.getTime()) / 1000;
    // Metrics and the audit line come after the reply is on its way, not in front of it.
    const onStepEnd = this.opts.onStepEnd;
    if (onStepEnd) setImmediate(() => onStepEnd(req, reply, seconds));
    return reply;
  }

  /** Waits (bounded) for in-flight steps to finish, then stops listening for cancels. */
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
    this.cancelSub?.unsubscribe();
  }
}

import { ErrorCode, type Msg, type NatsConnection, type NatsError } from 'nats';
import type { Logger } from 'pino';
import type { DispatchEvent, StepCall, StepResult, StepRunner } from '../engine/types.js';
import { EligibilityCache, placementOrder, type PlacementNeed } from '../mesh/placement.js';
import type { PeerRegistry } from '../mesh/registry.js';
import type { Advertisement } from '../protocol/advert.js';
import { Requester, type Coalescer } from '../nats/requester.js';
import { CallbackList, type Registration } from '../util/short-lived.js';
import { AbortWatch } from './abort-watch.js';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { StepFailure } from '../protocol/errors.js';
import { ToolCallNoteSchema, type StepReply, type StepRequest, type ToolCallRecord } from '../protocol/step.js';
import { parseStepReply, type StepReplyParse } from '../protocol/step-reply.js';
import { joinStepRequests, splitStepReplies } from '../protocol/step-batch.js';
import { subjects } from '../protocol/subjects.js';

export interface MeshRunnerOptions {
  nc: NatsConnection;
  registry: PeerRegistry;
  /** Name of this (the coordinating) node, for the `origin` of requests. */
  origin: string;
  log: Logger;
  /** How long a step whose every eligible node died waits for one to come back. */
  waitForEligibleMs?: number;
  /** This node's own step server: steps placed here skip the network (same admission rules). */
  local?: { id: string; serve(req: StepRequest): Promise<StepReply>; cancel(executionId: string, key?: string, reason?: string): number };
}

/** How step requests to one peer are joined (Requester's coalescing). */
const STEP_BATCHES: Coalescer = { join: joinStepRequests, split: splitStepReplies };

/** What placement needs to know about a call. */
export function placementNeed(call: StepCall): PlacementNeed {
  const need: PlacementNeed = {};
  if (call.requires) need.requires = call.requires;
  if (call.task.kind === 'tool') need.tool_type = call.task.tool_type;
  else need.model = call.task.agent.model;
  return need;
}

/** A dispatch waiting for a peer's reply, told what happens to that peer meanwhile. */
interface WaitingDispatch {
  /** The peer left the mesh (dead or stopped): the step goes elsewhere. */
  left(reason: string): void;
  /** The peer came back from a reconnect: the request or its reply may be lost, send it again. */
  rejoined(): void;
}

type Outcome =
  | { kind: 'done'; output: unknown; node: string; tool_calls?: ToolCallRecord[] }
  | { kind: 'failed'; failure: StepFailure }
  | { kind: 'next'; why: string };

/** Told a dispatch's outcome as it is settled (the attempt's history entry). */
type OutcomeHook = (outcome: Outcome) => void;

/**
 * Distributed step dispatch: places each step on the best eligible peer and sends it by NATS
 * request-reply. Busy, no-responders and dead peers fall through to the next candidate at once;
 * a step that no live node can run fails at once as `infeasible`, naming the unmet constraint.
 */
export class MeshStepRunner implements StepRunner {
  /**
   * Steps this coordinator has in flight per peer id: fresher than the peers' heartbeats. A peer's
   * count stays at 0 rather than being deleted (a Map that churns costs minor GCs: util/short-lived.ts);
   * it goes when the peer leaves, and the steps still out there are not counted down again.
   */
  private readonly inflightByPeer = new Map<string, number>();
  private dispatchSeq = 0;
  private readonly eligibility: EligibilityCache;
  /** Dispatches and back-offs waiting on an execution's signal. */
  private readonly aborts = new AbortWatch();
  /** Dispatches waiting for a reply, by the peer they wait on: told when it leaves the mesh or comes back from a reconnect. */
  private readonly waitingOn = new Map<string, CallbackList<WaitingDispatch>>();

  constructor(private readonly opts: MeshRunnerOptions) {
    this.eligibility = new EligibilityCache(opts.local?.id);
    // One listener for all dispatches (one per dispatch cost more than the rest of its bookkeeping).
    opts.registry.onChange((e) => {
      if (e.kind === 'rejoined') return this.resendTo(e.name, e.id);
      if (e.kind !== 'left') return;
      const waiting = this.waitingOn.get(e.id);
      this.waitingOn.delete(e.id);
      this.inflightByPeer.delete(e.id);
      if (waiting) for (const dispatch of waiting.drain()) dispatch.left(e.reason);
    });
  }

  async run(call: StepCall, signal: AbortSignal): Promise<StepResult> {
    const need = placementNeed(call);
    const deadline = Date.now() + call.timeout_ms;
    const { registry } = this.opts;
    let cached = this.eligibility.get(registry.list(), registry.version, need);
    if (cached.result.unmet !== undefined) throw new StepFailure('infeasible', `step ${call.step_id}: ${cached.result.unmet}`, false);

    let backoffMs = 2;
    let again = false;
    let lostAt: number | undefined;
    const tried: string[] = [];
    for (;;) {
      if (signal.aborted) throw StepFailure.from(signal.reason ?? new StepFailure('cancelled', 'cancelled'), 'cancelled');
      if (Date.now() >= deadline) throw new StepFailure('timeout', `step ${call.step_id} found no free node before its deadline (tried: ${tried.slice(-5).join('; ')})`);
      // The first look is the one above; later ones see the mesh as it is then.
      if (again) cached = this.eligibility.get(registry.list(), registry.version, need);
      again = true;
      const now = cached.result;
      if (now.unmet !== undefined) {
        // Every eligible node is gone: wait, bounded, for one to come back; never relax a constraint.
        lostAt ??= Date.now();
        if (Date.now() - lostAt > (this.opts.waitForEligibleMs ?? 5_000)) {
          throw new StepFailure('infeasible', `step ${call.step_id}: ${now.unmet}; waited ${this.opts.waitForEligibleMs ?? 5_000} ms for an eligible node to return`, false);
        }
        await this.sleep(100, signal);
        continue;
      }
      lostAt = undefined;
      // Power of two choices over the eligible peers, this node compared too; busy ones fall through.
      const order = placementOrder(now.eligible, need, this.inflightByPeer, { self: cached.self, preferred: cached.preferred });
      const preferred = call.prefer_node && !tried.length ? registry.list().find((p) => p.name === call.prefer_node) : undefined;
      for (const peer of preferred ? withPreferred(order, preferred) : order) {
        const outcome = await this.sendTo(peer, call, deadline, signal);
        if (outcome.kind === 'done') {
          registry.heardFrom(peer.id, Date.now());
          return { output: outcome.output, node: outcome.node, ...(outcome.tool_calls && { tool_calls: outcome.tool_calls }) };
        }
        if (outcome.kind === 'failed') throw outcome.failure;
        tried.push(`${peer.name}: ${outcome.why}`);
        if (tried.length > 50) tried.splice(0, tried.length - 5); // only the last few are reported
      }
      // Every candidate was busy or gone: back off a little and look again.
      await this.sleep(backoffMs + Math.random() * backoffMs, signal);
      backoffMs = Math.min(backoffMs * 2, 50);
    }
  }

  /**
   * A peer came back from a reconnect (a higher incarnation): a step request to it, or its reply,
   * that was on the wire through the server it lost is gone, and nothing else would tell before
   * the step's deadline. This runner's requests still waiting on it go out again under the same
   * keys; the step server joins an attempt still running, and answers one with side effects that
   * finished from its stored result. (The Requester does the same after this node's own reconnects.)
   */
  private resendTo(name: string, id: string): void {
    const waiting = this.waitingOn.get(id)?.values() ?? [];
    for (const dispatch of waiting) dispatch.rejoined();
    if (waiting.length > 0) this.opts.log.info({ peer: name, requests: waiting.length }, 'a node came back after a reconnect: sent it the step requests still waiting on it again');
  }

  /** Waits `ms`, or less if the execution is aborted meanwhile. */
  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.aborts.unwatch(signal, watching);
        resolve();
      };
      const t = setTimeout(done, ms);
      const watching = this.aborts.watch(signal, done);
    });
  }

  /** Sends the step to `peer` and settles with what happened there (its history entry recorded). */
  private sendTo(peer: Advertisement, call: StepCall, deadline: number, signal: AbortSignal): Promise<Outcome> {
    const key = `${call.execution_id}:${call.step_id}:${call.attempt}:${++this.dispatchSeq}`;
    // Optional fields are added, not spread in: a spread of a small object costs more than the rest.
    const request: StepRequest = {
      type: 'wfmesh.step.request.v1',
      key,
      idempotency_key: call.idempotency_key ?? `${call.execution_id}:${call.step_id}:${call.attempt}`,
      execution_id: call.execution_id,
      step_id: call.step_id,
      attempt: call.attempt,
      origin: this.opts.origin,
      deadline,
      isolation: call.isolation,
      task: call.task,
    };
    if (call.epoch !== undefined) request.epoch = call.epoch;
    if (call.redelivery) request.redelivery = true;
    this.inflightByPeer.set(peer.id, (this.inflightByPeer.get(peer.id) ?? 0) + 1);
    const track = call.track;
    track?.({ kind: 'sent', node: peer.name });
    // The history entry is written where the outcome is settled, not in a promise reaction of its
    // own: each reaction between a reply and the next step's request is time the chain waits.
    const ended = track && ((outcome: Outcome) => track(historyOf(outcome, peer.name)));
    const durable = call.awaitDurable?.();
    return durable
      ? durable.catch(() => undefined).then(() => this.deliverFollowing(peer, call, request, key, signal, ended))
      : this.deliverFollowing(peer, call, request, key, signal, ended);
  }

  /** Delivers the request; an agent step's live tool calls are followed meanwhile. */
  private deliverFollowing(peer: Advertisement, call: StepCall, request: StepRequest, key: string, signal: AbortSignal, ended: OutcomeHook | undefined): Promise<Outcome> {
    const offNotes = this.followToolCalls(call, key);
    const delivered = this.deliver(peer, call, request, key, signal, ended);
    return offNotes ? delivered.finally(offNotes) : delivered;
  }

  /** Live tool calls of an agent step sent under `key` go to the record as they happen. */
  private followToolCalls(call: StepCall, key: string): (() => void) | undefined {
    const { nc } = this.opts;
    const track = call.track;
    if (!track || call.task.kind !== 'agent' || !call.task.agent.tools?.length || nc.isClosed()) return undefined;
    const sub = nc.subscribe(subjects.toolCalls(call.execution_id), {
      callback: (err, msg) => {
        if (err) return;
        const note = ToolCallNoteSchema.safeParse(decodeJson(msg.data));
        if (note.success && note.data.key === key) track({ kind: 'tool_call', node: note.data.node, call: note.data.call });
      },
    });
    return () => sub.unsubscribe();
  }

  /** Sends the request and settles with its outcome; `ended` is told that outcome first. */
  private deliver(peer: Advertisement, call: StepCall, request: StepRequest, key: string, signal: AbortSignal, ended: OutcomeHook | undefined): Promise<Outcome> {
    const { nc } = this.opts;
    const local = this.opts.local;
    if (local && peer.id === local.id) return this.deliverHere(local, call, request, key, signal, ended);
    // Every outcome frees the peer's slot and is told to `ended` before it is handed on.
    const conclude = (outcome: Outcome): Outcome => {
      this.release(peer.id);
      ended?.(outcome);
      return outcome;
    };
    // Over the server's limit the publish can never succeed on any node: fail now, naming it,
    // instead of trying every node until the deadline.
    let data: Uint8Array;
    try {
      data = encodeJson(request);
    } catch (err) {
      this.release(peer.id);
      return Promise.reject(err as Error);
    }
    const maxPayload = nc.info?.max_payload;
    if (maxPayload !== undefined && data.length > maxPayload) {
      const failure = new StepFailure('invalid_args', `step ${call.step_id}: its request is ${data.length} bytes, over the NATS payload limit of ${maxPayload} bytes (the server's max_payload); pass large data by reference (a file or a URL)`, false);
      return Promise.resolve(conclude({ kind: 'failed', failure }));
    }
    // One promise settled by whichever comes first: the reply, the peer leaving the mesh, or the
    // execution's abort (a race of three promises cost more than the rest of the dispatch). What
    // follows an outcome is done where it is settled, before the promise resolves: a promise
    // reaction per step of the way costs the chain of steps its wait for each.
    let waiting: CallbackList<WaitingDispatch> | undefined;
    let leaving: Registration<WaitingDispatch> | undefined;
    let resend: (() => void) | undefined;
    let aborting: Registration<() => void> | undefined;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const settle = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        waiting!.remove(leaving!); // the list stays while the peer does: steps follow steps
        if (aborting) this.aborts.unwatch(signal, aborting);
        if (outcome.kind === 'next' && outcome.why.startsWith('left the mesh')) {
          // Fence the lost node first: if it is only frozen, it aborts the step when it thaws.
          this.cancelDispatch(call, key, `node ${peer.name} was declared lost; the step went to another node`);
          this.opts.log.warn({ step: call.step_id, execution: call.execution_id, peer: peer.name }, 'node lost while running a step: dispatching it again');
        }
        resolve(conclude(outcome));
      };
      // Replies carry the request's key: one that does not is a stray for a reused reply token.
      let parsed: StepReplyParse | undefined;
      const match = (msg: Msg): boolean => {
        parsed = parseStepReply(decodeJson(msg.data));
        return !parsed.success || parsed.data.key === key;
      };
      Requester.for(nc)
        .request(subjects.step(peer.name, peer.id), data, {
          timeout: Math.max(1, request.deadline - Date.now()),
          match,
          resender: (r) => (resend = r),
          // Steps to this peer made in this same turn leave as one message (protocol/step-batch.ts).
          coalesce: peer.takes_step_batches ? STEP_BATCHES : undefined,
        })
        .then(
          () => {
            if (!parsed?.success) settle({ kind: 'failed', failure: new StepFailure('internal', `node ${peer.name} sent a malformed step reply`) });
            else settle(outcomeOf(parsed.data, signal));
          },
          (err: NatsError) => {
            if (err.code === ErrorCode.NoResponders) settle({ kind: 'next', why: 'no responders' });
            else if (err.code === ErrorCode.Timeout) settle({ kind: 'failed', failure: new StepFailure('timeout', `step ${call.step_id} timed out on node ${peer.name}`) });
            else settle({ kind: 'next', why: err.message });
          },
        );
      // The peer may die or freeze while it holds the step: its heartbeats stop and the registry
      // drops it; then the step goes to another node and any late reply is ignored.
      waiting = this.waitingOn.get(peer.id);
      if (!waiting) this.waitingOn.set(peer.id, (waiting = new CallbackList()));
      leaving = waiting.add({
        left: (reason) => settle({ kind: 'next', why: `left the mesh (${reason}) while running the step` }),
        rejoined: () => resend?.(),
      });
      const onAbort = () => {
        // A coordinator handing the execution on leaves the step running: its successor collects it.
        if (!superseded(signal)) this.cancelDispatch(call, key, 'cancelled by its coordinator');
        settle({ kind: 'failed', failure: StepFailure.from(signal.reason ?? new StepFailure('cancelled', 'cancelled'), 'cancelled') });
      };
      if (signal.aborted) onAbort();
      else aborting = this.aborts.watch(signal, onAbort);
    });
  }

  /** A step placed on this node: its own step server runs it, without the wire (same admission rules). */
  private async deliverHere(local: NonNullable<MeshRunnerOptions['local']>, call: StepCall, request: StepRequest, key: string, signal: AbortSignal, ended: OutcomeHook | undefined): Promise<Outcome> {
    const onLocalAbort = () => {
      if (!superseded(signal)) local.cancel(call.execution_id, key, 'cancelled by its coordinator');
    };
    const aborting = this.aborts.watch(signal, onLocalAbort);
    let outcome: Outcome;
    try {
      outcome = outcomeOf(await local.serve(request), signal);
    } finally {
      this.aborts.unwatch(signal, aborting);
      this.release(local.id);
    }
    ended?.(outcome);
    return outcome;
  }

  private cancelDispatch(call: StepCall, key: string, reason: string): void {
    const { nc } = this.opts;
    if (nc.isClosed()) return;
    nc.publish(subjects.cancel(call.execution_id), encodeJson({ type: 'wfmesh.cancel.v1', execution_id: call.execution_id, key, reason }));
  }

  private release(peerId: string): void {
    const n = this.inflightByPeer.get(peerId);
    if (n !== undefined) this.inflightByPeer.set(peerId, Math.max(0, n - 1)); // gone: the peer left meanwhile
  }
}

/**
 * The node a redelivery goes to first, then the ranking. The attempt may still run there (a
 * draining node finishes its steps and answers a redelivery of one of them, busy or not).
 */
function* withPreferred(ranked: Iterable<Advertisement>, preferred: Advertisement | undefined): Generator<Advertisement> {
  if (preferred) yield preferred;
  for (const p of ranked) if (p.id !== preferred?.id) yield p;
}

function superseded(signal: AbortSignal): boolean {
  return signal.reason instanceof StepFailure && signal.reason.type === 'superseded';
}

/** A dispatch's outcome as an entry of the record's attempt history. */
function historyOf(outcome: Outcome, node: string): DispatchEvent {
  if (outcome.kind === 'done') return { kind: 'ended', node, status: 'completed' };
  if (outcome.kind === 'failed') {
    const status = outcome.failure.type === 'superseded' ? 'handed_over' : outcome.failure.type === 'cancelled' ? 'cancelled' : 'failed';
    return { kind: 'ended', node, status, error: outcome.failure.message };
  }
  if (outcome.why.startsWith('left the mesh')) return { kind: 'ended', node, status: 'lost', error: outcome.why };
  return { kind: 'ended', node, status: 'refused' };
}

/** A node's reply as what the dispatcher does next: done, failed, or try the next node (busy). */
function outcomeOf(r: StepReply, signal: AbortSignal): Outcome {
  if (r.ok) return { kind: 'done', output: r.output, node: r.node, ...(r.tool_calls && { tool_calls: r.tool_calls }) };
  const failed = (failure: StepFailure): Outcome => ({ kind: 'failed', failure: r.tool_calls ? Object.assign(failure, { tool_calls: r.tool_calls }) : failure });
  // Busy, or the node stood still and no longer vouches for the step: another node takes it.
  if (r.failure.type === 'busy' || r.failure.type === 'node_lost') return { kind: 'next', why: r.failure.message };
  if (r.failure.type === 'cancelled' && signal.aborted) return failed(StepFailure.from(signal.reason ?? StepFailure.fromWire(r.failure), 'cancelled'));
  return failed(StepFailure.fromWire(r.failure));
}

/**
 * Runs one list of steps (a workflow, one loop iteration, an invoked workflow) over its step
 * graph. A step starts when every forward edge into it is decided and at least one is live; a
 * step whose edges are all dead is skipped and passes the skip on (dead-path elimination), so
 * fan-in waits for every branch and untaken branches never run. Back edges re-run their target,
 * up to the cycle's `max_visits`.
 */
import { setMaxListeners } from 'node:events';
import { StepFailure } from '../protocol/errors.js';
import {
  ConditionError,
  cycleBounds,
  descendantsOf,
  evaluateCondition,
  evaluateExpression,
  resolveTemplate,
  stepGraph,
  USER_TARGET,
  VariableError,
  type AgentStep,
  type Edge,
  type Step,
  type StepGraph,
  type StepView,
  type ToolStep,
  type VariableScope,
} from '../workflow/index.js';
import { NEVER_ABORTED } from '../executor/failures.js';
import { buildTask, cancelled, runAttempts } from './attempts.js';
import { linkedController, StepError, toStepError, type ExecutionContext } from './context.js';
import { runLoop } from './loop.js';

/** Where a step list runs: its row prefix, input, visible outer steps and variables. */
export interface Frame {
  readonly prefix: string;
  readonly input: unknown;
  readonly aliases: Readonly<Record<string, string>>;
  readonly locals: Readonly<Record<string, unknown>>;
  /** Outer steps visible here (a loop body sees the steps before its loop). */
  readonly parent?: (id: string) => StepView | undefined;
  /** Outputs of those outer steps, by id (`${context.step_outputs}` as a whole). */
  readonly parentOutputs?: () => Record<string, unknown>;
  /** invoke_workflow nesting depth. */
  readonly depth: number;
}

type Status = 'waiting' | 'running' | 'completed' | 'failed' | 'skipped';
interface State {
  status: Status;
  /** Activations so far (the cycle bound counts these). */
  runs: number;
  /** Rows used so far: the pre-added row first, then `ID#2`, `ID#3`... for re-runs. */
  rows: number;
  output?: unknown;
  toUser: boolean;
  row?: string;
}
/** A step's outcome: skipped, or what it gave (the attempts' own result, for an agent or tool step that runs plainly). */
type Outcome = { skipped: true } | { skipped?: false; output: unknown; node?: string; failure?: StepFailure };
const SKIPPED: Outcome = { skipped: true };

/** Steps whose routes are all plain `to`: what they choose never changes (a step belongs to one list). */
const plainTargets = new WeakMap<Step, ReadonlySet<string>>();

const MAX_INVOKE_DEPTH = 16;
const DEFAULT_CYCLE_BOUND = 1000;

export class GraphRun {
  readonly scope: VariableScope;
  private readonly g: StepGraph;
  private readonly states = new Map<string, State>();
  /** Forward edges decided so far: taken (true) or dead (false), by the graph's own edge objects. */
  private readonly edges = new Map<Edge, boolean>();
  private readonly bounds: ReadonlyMap<string, number>;
  /**
   * The signal of steps that run beside others here: stop() aborts it, so that a failing step
   * stops its siblings. Made on first need: a step that runs alone gets the outer signal (see
   * launch), and an AbortController costs more than the engine's other work for a step.
   */
  private ctl: AbortController | undefined;
  /** Steps activated in this turn of the graph, started together by launch(). */
  private starting: { step: Step; row: string }[] = [];
  private inflight = 0;
  private settled = false;
  /** Stopped by a failure or by the outer signal (not by finishing). */
  private stopped = false;
  private resolve: (output: unknown) => void = () => undefined;
  private reject: (err: StepError) => void = () => undefined;

  constructor(
    private readonly ctx: ExecutionContext,
    steps: readonly Step[],
    private readonly frame: Frame,
    private readonly signal: AbortSignal,
  ) {
    this.g = stepGraph(steps);
    this.bounds = cycleBounds(this.g, DEFAULT_CYCLE_BOUND);
    for (const id of this.g.order) this.states.set(id, { status: 'waiting', runs: 0, rows: 0, toUser: false });
    this.scope = {
      input: frame.input,
      step: (id) => this.view(id) ?? frame.parent?.(id),
      outputs: () => this.outputs(),
      aliases: frame.aliases,
      env: ctx.env,
      locals: frame.locals,
    };
  }

  /** Resolves with the list's output, or rejects with the StepError that stopped it. */
  run(): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      if (this.signal.aborted) return this.abort(cancelled(this.signal));
      // One listener on the outer signal stops both the steps and their rows (a signal that can
      // never fire needs none).
      if (this.signal !== NEVER_ABORTED) this.signal.addEventListener('abort', this.onOuterAbort, { once: true });
      // Held as at a step's end (see finished): the first requests leave before the rows are
      // added and marked dispatched, and before what the record's observers do about them.
      const { keeper } = this.ctx;
      keeper.hold();
      try {
        keeper.addAll(this.frame.prefix ? this.g.order.map((id) => this.frame.prefix + id) : this.g.order);
        for (const id of this.g.roots) this.activate(id);
        this.launch();
        this.checkDone();
      } finally {
        keeper.release();
      }
    });
  }

  private readonly onOuterAbort = (): void => this.abort(cancelled(this.signal));

  /** Every output in scope by step id: the outer steps', then this list's (which win). */
  private outputs(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.frame.parentOutputs?.() };
    for (const [id, st] of this.states) if (st.status === 'completed' || st.status === 'failed') out[id] = st.output;
    return out;
  }

  private view(id: string): StepView | undefined {
    const st = this.states.get(id);
    if (!st) return undefined;
    if (st.status === 'completed' || st.status === 'failed') return { status: st.status, output: st.output };
    return { status: st.status === 'waiting' ? 'pending' : st.status };
  }

  private activate(id: string): void {
    const st = this.states.get(id) as State;
    const step = this.g.steps.get(id) as Step;
    st.runs++;
    st.status = 'running';
    st.toUser = false;
    st.rows++;
    const row = this.frame.prefix + id + (st.rows > 1 ? `#${st.rows}` : '');
    st.row = row;
    this.inflight++;
    this.starting.push({ step, row });
  }

  /**
   * Starts the steps activated in this turn (by run, or by a step that finished). A step that
   * starts alone, with nothing else in flight here, runs with the outer signal: no sibling can
   * start while it runs (steps start only when one ends), so there is nothing for its failure to
   * stop. Steps that run beside others share the list's own signal. Steps activated after the
   * list stopped are not started (their rows ended cancelled with the rest).
   */
  private launch(): void {
    const batch = this.starting;
    if (batch.length === 0) return;
    this.starting = [];
    if (this.settled) {
      this.inflight -= batch.length;
      return;
    }
    const signal = batch.length === 1 && this.inflight === 1 ? this.signal : this.sharedSignal();
    for (const { step, row } of batch) this.start(step, row, signal);
  }

  private sharedSignal(): AbortSignal {
    if (!this.ctl) {
      this.ctl = new AbortController();
      // Every in-flight step listens here: wide fan-outs are normal, not a leak.
      setMaxListeners(0, this.ctl.signal);
    }
    return this.ctl.signal;
  }

  private start(step: Step, row: string, signal: AbortSignal): void {
    this.execute(step, row, signal).then(
      (outcome) => {
        this.inflight--;
        if (!this.settled) this.finished(step, row, outcome);
      },
      (err: unknown) => {
        this.inflight--;
        if (this.settled) return;
        const e = toStepError(err, row);
        this.ctx.keeper.failed(row, e.failure, (e.failure as { node?: string }).node);
        this.fail(e);
      },
    );
  }

  /**
   * Runs one activation of a step. An agent or tool step with nothing to catch (no fault, no
   * continue_on_error) settles with its attempts' own promise: each async layer between a step's
   * reply and the next step's request is a promise and a turn the chain waits for.
   */
  private execute(step: Step, row: string, signal: AbortSignal): Promise<Outcome> {
    if (step.condition !== undefined) {
      let met: boolean;
      try {
        met = this.check(() => evaluateCondition(step.condition as string, this.noting(row)));
      } catch (err) {
        return Promise.reject(err as Error);
      }
      if (!met) {
        this.ctx.keeper.ended(row, 'skipped');
        return Promise.resolve(SKIPPED);
      }
    }
    if ((step.kind === 'agent' || step.kind === 'tool') && step.fault === undefined && !step.continue_on_error) return this.attempts(step, row, signal);
    return this.executeCaught(step, row, signal);
  }

  /** execute's way for a step with a fault to report, failures to continue past, or a kind the engine runs itself. */
  private async executeCaught(step: Step, row: string, signal: AbortSignal): Promise<Outcome> {
    try {
      // Validation warned: LangSwarm loads such a step and fails when it is reached; so do we.
      if (step.fault !== undefined) throw new StepFailure('invalid_args', `step "${step.id}" cannot run: ${step.fault}`, false);
      const { output, node } = await this.runKind(step, row, signal);
      return { output, node };
    } catch (err) {
      const e = toStepError(err, row);
      if (!step.continue_on_error || this.stopped) throw e;
      const node = (e.failure as { node?: string }).node;
      this.ctx.keeper.failed(row, e.failure, node);
      return { output: { error: { type: e.failure.type, message: e.failure.message } }, failure: e.failure };
    }
  }

  /** The attempts of an agent or tool step. */
  private attempts(step: AgentStep | ToolStep, row: string, signal: AbortSignal): Promise<{ output: unknown; node: string }> {
    const { ctx } = this;
    const build = (key: string) => this.check(() => buildTask(ctx.document, step, this.scope, ctx.env, key));
    return runAttempts(ctx, row, build, step.retry, step.timeout_ms ?? ctx.defaultTimeoutMs, signal);
  }

  private async runKind(step: Step, row: string, signal: AbortSignal): Promise<{ output: unknown; node?: string }> {
    const { ctx } = this;
    switch (step.kind) {
      case 'agent':
      case 'tool':
        // Awaited, not returned: an async function that returns a promise settles two microtask
        // turns after it, and every turn between a step's reply and the next request is waited for.
        return await this.attempts(step, row, signal);
      case 'invoke_workflow': {
        ctx.keeper.running(row, 1, ctx.coordinator);
        const input = step.input === undefined ? this.frame.input : this.check(() => resolveTemplate(step.input, this.scope));
        const output = await this.withTimeout(step.timeout_ms, row, signal, (s) => this.invoke(step.workflow, input, `${row}/`, s));
        return { output, node: ctx.coordinator };
      }
      case 'loop': {
        ctx.keeper.running(row, 1, ctx.coordinator);
        const output = await this.withTimeout(step.timeout_ms, row, signal, (s) =>
          runLoop({ ctx, frame: this.frame, scope: this.scope, step, row, signal: s, check: (f) => this.check(f), invoke: (wf, input, prefix, s2) => this.invoke(wf, input, prefix, s2) }),
        );
        return { output, node: ctx.coordinator };
      }
    }
  }

  /** Runs another workflow of the document with its own scope (only its input is shared). */
  private invoke(workflow: string, input: unknown, prefix: string, signal: AbortSignal): Promise<unknown> {
    const wf = this.ctx.document.workflows[workflow];
    if (!wf || !Object.hasOwn(this.ctx.document.workflows, workflow)) {
      throw new StepFailure('invalid_args', `no workflow "${workflow}" in this document`, false);
    }
    if (this.frame.depth >= MAX_INVOKE_DEPTH) throw new StepFailure('invalid_args', `workflows nest deeper than ${MAX_INVOKE_DEPTH} invocations`, false);
    const frame: Frame = { prefix, input, aliases: wf.aliases, locals: {}, depth: this.frame.depth + 1 };
    return new GraphRun(this.ctx, wf.steps, frame, signal).run();
  }

  private async withTimeout<T>(ms: number | undefined, row: string, signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (ms === undefined) return work(signal);
    const { ctl, dispose } = linkedController(signal);
    const timer = setTimeout(() => ctl.abort(new StepFailure('timeout', `step ${row} ran past its timeout of ${ms} ms`)), ms);
    try {
      return await work(ctl.signal);
    } catch (err) {
      if (ctl.signal.aborted && !signal.aborted) throw new StepError(row, cancelled(ctl.signal));
      throw err;
    } finally {
      clearTimeout(timer);
      dispose();
    }
  }

  /** Variable and condition errors are the step's own failure (invalid_args, not retried). */
  private check<T>(f: () => T): T {
    try {
      return f();
    } catch (err) {
      if (err instanceof VariableError || err instanceof ConditionError) throw new StepFailure('invalid_args', err.message, false);
      throw err;
    }
  }

  /**
   * A step ended: record it and start what follows. The record is held meanwhile: the next step's
   * request is written (the mesh runner sends in this same turn) before the ended row, the new
   * dispatch and their observers' work, which a chain of steps would otherwise wait for each time.
   */
  private finished(step: Step, row: string, outcome: Outcome): void {
    const { keeper } = this.ctx;
    keeper.hold();
    try {
      this.advance(step, row, outcome);
    } finally {
      keeper.release();
    }
  }

  private advance(step: Step, row: string, outcome: Outcome): void {
    const st = this.states.get(step.id) as State;
    if (outcome.skipped) {
      this.skip(step.id);
      this.launch();
      this.checkDone();
      return;
    }
    st.status = outcome.failure ? 'failed' : 'completed';
    st.output = outcome.output;
    let chosen: ReadonlySet<string>;
    try {
      chosen = this.check(() => this.route(step, row));
    } catch (err) {
      const e = toStepError(err, row);
      this.ctx.keeper.failed(row, e.failure, outcome.node);
      this.fail(e);
      return;
    }
    if (!outcome.failure) this.ctx.keeper.completed(row, outcome.output, outcome.node);
    st.toUser = chosen.has(USER_TARGET);
    const revisit: string[] = [];
    const out = this.g.out.get(step.id) ?? [];
    for (const e of out) {
      const taken = e.always || chosen.has(e.to);
      if (e.back) {
        if (taken) revisit.push(e.to);
      } else this.edges.set(e, taken);
    }
    for (const e of out) if (!e.back) this.tryStart(e.to);
    for (const id of revisit) if (!this.settled) this.revisit(step.id, id);
    this.launch();
    this.checkDone();
  }

  /** The targets a finished step's routes choose (every target, for a plain `to`). */
  private route(step: Step, row: string): ReadonlySet<string> {
    const fixed = plainTargets.get(step);
    if (fixed) return fixed;
    const chosen = new Set<string>();
    let scope: VariableScope | undefined; // made only for a step that has a condition
    for (const r of step.routes) {
      let targets: readonly string[];
      if (r.kind === 'goto') targets = r.targets;
      else if (r.kind === 'if') targets = evaluateCondition(r.if, (scope ??= this.noting(row))) ? r.then : r.else;
      else {
        const v = evaluateExpression(r.switch, (scope ??= this.noting(row)));
        if (v !== null && typeof v === 'object') throw new ConditionError(`switch "${r.switch}" gave a list or object, not a value`, r.switch);
        const key = String(v);
        if (Object.hasOwn(r.cases, key)) targets = r.cases[key] as string[];
        else if (r.default) targets = r.default;
        else throw new ConditionError(`switch "${r.switch}" gave "${key}", which matches no case (${Object.keys(r.cases).join(', ')}) and there is no default`, r.switch);
      }
      targets.forEach((t) => chosen.add(t));
    }
    for (const t of chosen) {
      if (t !== USER_TARGET && !this.g.steps.has(t)) throw new StepFailure('invalid_args', `step "${step.id}" routes to "${t}", which is no step of this ${this.frame.prefix ? 'step list' : 'workflow'}`, false);
    }
    if (step.routes.every((r) => r.kind === 'goto')) plainTargets.set(step, chosen);
    return chosen;
  }

  /**
   * The scope for a condition of `row` (LangSwarm's meaning): a quoted variable that cannot
   * resolve compares as the text written, any other makes the condition false (so the else
   * branch, or the step is skipped), and the row says which field was missing.
   */
  private noting(row: string): VariableScope {
    return {
      ...this.scope,
      onMissing: (variable, why, effect) =>
        this.ctx.keeper.warn(row, `condition: ${variable} did not resolve (${why}); ${effect === 'as_text' ? 'it was compared as the text written' : 'the condition was taken as false'}`),
    };
  }

  private tryStart(id: string): void {
    const st = this.states.get(id);
    if (!st || st.status !== 'waiting' || this.settled) return;
    const ins = this.g.in.get(id) ?? [];
    let live = false;
    for (const e of ins) {
      const v = this.edges.get(e);
      if (v === undefined) return;
      live ||= v;
    }
    if (live) this.activate(id);
    else {
      this.skip(id);
    }
  }

  /** Not taken: the step ends skipped and every edge out of it is dead. */
  private skip(id: string): void {
    const st = this.states.get(id) as State;
    st.status = 'skipped';
    // The pre-added row records the first skip; a skip in a later cycle round adds no row.
    if (st.rows === 0) {
      st.rows = 1;
      this.ctx.keeper.ended(this.frame.prefix + id, 'skipped');
    }
    const out = (this.g.out.get(id) ?? []).filter((e) => !e.back);
    for (const e of out) this.edges.set(e, false);
    for (const e of out) this.tryStart(e.to);
  }

  /** A back edge fired: the target and what follows it run again, within the cycle's bound. */
  private revisit(from: string, target: string): void {
    const st = this.states.get(target) as State;
    const bound = this.bounds.get(`${from}\u0000${target}`) ?? DEFAULT_CYCLE_BOUND;
    if (st.runs >= bound) {
      const row = this.states.get(from)?.row ?? this.frame.prefix + from;
      this.fail(new StepError(row, new StepFailure('invalid_args', `the cycle back to step "${target}" reached its bound: max_visits ${bound}`, false)));
      return;
    }
    if (st.status === 'running') return;
    const region = descendantsOf(this.g, target);
    region.add(target);
    for (const id of region) {
      const s = this.states.get(id) as State;
      if (s.status !== 'running') {
        s.status = 'waiting';
        s.toUser = false;
      }
      for (const e of this.g.out.get(id) ?? []) if (region.has(e.to)) this.edges.delete(e);
    }
    this.activate(target);
  }

  private checkDone(): void {
    if (this.settled || this.inflight > 0) return;
    this.settled = true;
    if (this.signal !== NEVER_ABORTED) this.signal.removeEventListener('abort', this.onOuterAbort);
    for (const [id, st] of this.states) {
      if (st.status === 'waiting' && st.rows === 0) this.ctx.keeper.ended(this.frame.prefix + id, 'skipped');
    }
    this.resolve(this.output());
  }

  /** The list's output: the step routed to `user` (several: an object by step id), else the last step that ran. */
  private output(): unknown {
    // One pass in step order (it runs once per list, at its end, right before the caller hears).
    let toUser: string[] | undefined;
    let last: State | undefined;
    for (const id of this.g.order) {
      const st = this.states.get(id) as State;
      if (st.status !== 'completed' && st.status !== 'failed') continue;
      last = st;
      if (st.toUser) (toUser ??= []).push(id);
    }
    if (toUser?.length === 1) return this.states.get(toUser[0] as string)?.output;
    if (toUser) return Object.fromEntries(toUser.map((id) => [id, this.states.get(id)?.output]));
    return last === undefined ? null : last.output;
  }

  /** A step failed: stop everything still running here and report the failure. */
  private fail(e: StepError): void {
    if (this.settled) return;
    this.stop(new StepFailure('cancelled', `stopped because step ${e.rowId} failed`, false), 'skipped');
    this.reject(e);
  }

  /** Cancelled from outside (or timed out): running rows end cancelled. */
  private abort(failure: StepFailure): void {
    if (this.settled) return;
    this.stop(failure, 'cancelled');
    this.reject(new StepError('', failure));
  }

  private stop(reason: StepFailure, pending: 'skipped' | 'cancelled'): void {
    this.settled = true;
    this.stopped = true;
    if (this.signal !== NEVER_ABORTED) this.signal.removeEventListener('abort', this.onOuterAbort);
    this.ctl?.abort(reason);
    for (const [id, st] of this.states) {
      if (st.status === 'running' && st.row) this.ctx.keeper.ended(st.row, 'cancelled');
      else if (st.rows === 0 && st.status === 'waiting') this.ctx.keeper.ended(this.frame.prefix + id, pending);
    }
  }
}

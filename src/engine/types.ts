import type { AttemptStatus, ExecutionMode, ExecutionRecord } from '../protocol/execution.js';
import type { Isolation, Requires, StepTask, ToolCallRecord } from '../protocol/step.js';
import type { WorkflowDocument } from '../workflow/index.js';

/** One attempt of one step, with every variable resolved: what a runner is asked to do. */
export interface StepCall {
  readonly execution_id: string;
  /** The step's row id in the execution record (`summarize`, `map[2].score`, `sub/fetch`). */
  readonly step_id: string;
  /** 1-based. */
  readonly attempt: number;
  readonly task: StepTask;
  /** Placement constraints: the step's, over its agent's. */
  readonly requires?: Requires;
  /** Deadline of this attempt, from the step's `timeout`. */
  readonly timeout_ms: number;
  readonly isolation: Isolation;
  /** execution:row:attempt — the same for every dispatch of this attempt, across takeovers. */
  readonly idempotency_key?: string;
  /** The coordinator's lease epoch. */
  readonly epoch?: number;
  /** The attempt may already have run (it was in flight when the previous coordinator went). */
  readonly redelivery?: boolean;
  /** Where the attempt was last sent: a redelivery tries that node first while it is live. */
  readonly prefer_node?: string;
  /** Told of every dispatch to a node and how it ended (the record's attempt history). */
  readonly track?: (event: DispatchEvent) => void;
  /**
   * Awaited after a dispatch was tracked and before its request leaves: the coordinator makes
   * "sent to node X" durable for steps with side effects, so that a successor redelivers the
   * attempt to X (where it joins the run in flight) instead of running it a second time elsewhere.
   */
  readonly awaitDurable?: () => Promise<void> | undefined;
}

/** One dispatch of an attempt, as the runner reports it. */
export type DispatchEvent =
  | { kind: 'sent'; node: string }
  | { kind: 'ended'; node: string; status: Exclude<AttemptStatus, 'running'> | 'refused'; error?: string }
  /** An agent step's tool call started or ended (live, from the node running the agent). */
  | { kind: 'tool_call'; node: string; call: ToolCallRecord };

/** What a runner resolves with: the output, where it came from, and an agent's tool calls. */
export interface StepResult {
  output: unknown;
  node: string;
  tool_calls?: ToolCallRecord[];
}

/**
 * The seam between the engine and where steps run. Sync mode runs them in process
 * (LocalStepRunner); distributed mode sends them to a peer. A runner resolves with the output
 * and the name of the node that produced it, or rejects with a StepFailure (its `retryable`
 * decides whether the engine retries; a string `node` property on the rejection is recorded, and
 * so is a `tool_calls` list). Aborting `signal` must settle the call promptly.
 */
export interface StepRunner {
  run(call: StepCall, signal: AbortSignal): Promise<StepResult>;
}

export interface RunExecutionOptions {
  readonly document: WorkflowDocument;
  /** Workflow id (default: the document's first workflow). */
  readonly workflow?: string;
  /** The user input: `${user_input}`. */
  readonly input: unknown;
  readonly runner: StepRunner;
  readonly mode: ExecutionMode;
  readonly execution_id?: string;
  /** Name of the node coordinating this execution. */
  readonly coordinator: string;
  readonly requested_by?: string;
  /** Aborting it cancels the execution; in-flight steps are aborted too. */
  readonly signal?: AbortSignal;
  /** A record to resume (takeover): its rows are the journal, its id, input and epoch carry on. */
  readonly resume?: ExecutionRecord;
  /** Lease epoch of this coordinator (default 0, or the resumed record's). */
  readonly epoch?: number;
  /**
   * Awaited by the runner before an attempt's request leaves (as `StepCall.awaitDurable`): the
   * coordinator makes the record durable first, so that a successor never re-runs a step whose
   * result a dispatched step already consumed, and knows where the attempt went. The record may be
   * held at that moment (its changes made after the request is written: RecordKeeper.hold): a hook
   * that waits for a durable write calls `recordNow` first, so that the write includes them.
   */
  readonly beforeDispatch?: (call: StepCall, recordNow: () => void) => Promise<void> | undefined;
  /** The live record and the index of the row that changed, on every change (O(1); read at once). */
  readonly onChange?: (record: ExecutionRecord, row: number | undefined) => void;
  /**
   * Called on every step state change with a snapshot of the record. The engine never changes a
   * snapshot after handing it out (rows are replaced, not edited; outputs are shared, not
   * cloned), so it can be kept or serialised later; treat it as read-only. Exceptions thrown
   * here are ignored.
   */
  readonly onUpdate?: (record: ExecutionRecord) => void;
  /** Isolation of every step (default: child_process in `isolated` mode, else in_process). */
  readonly isolation?: Isolation;
  /** Values of the environment variables `${env.NAME}` may read (only allowed names). */
  readonly env?: Readonly<Record<string, string>>;
  /** Deadline of an agent or tool step without `timeout` (default 300 s). */
  readonly defaultTimeoutMs?: number;
  /** Random source for retry jitter, in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

import type { z } from 'zod';
import type { Requires, StepTask, ToolCallRecord } from '../protocol/step.js';

/** What a node lets its tools touch (config `allow`). Empty lists deny everything. */
export interface AllowPolicy {
  /**
   * Absolute path; the `filesystem` tool never leaves it, and `shell` commands run in it.
   * Absent: the `filesystem` tool is off (never defaults to the working directory).
   */
  readonly filesystem_root?: string;
  /** Host names (optionally host:port) the `http` tool may reach. */
  readonly http_hosts: readonly string[];
  /** Command names the `shell` tool may run; empty means the tool is off. */
  readonly shell_commands: readonly string[];
  /** Environment variable names `${env.NAME}` may read. */
  readonly env_vars: readonly string[];
}

/** How agent steps reach an OpenAI-compatible chat-completions endpoint. */
export interface LlmSettings {
  readonly base_url?: string;
  readonly api_key?: string;
  readonly models: readonly string[];
  readonly timeout_ms: number;
}

export interface ExecutorEnvironment {
  readonly node_name: string;
  readonly allow: AllowPolicy;
  readonly llm: LlmSettings;
  /** Largest JSON-encoded step output, in bytes. */
  readonly max_output_bytes: number;
}

export interface StepRunContext {
  readonly signal: AbortSignal;
  readonly env: ExecutorEnvironment;
  /** For an agent step with tools: how its tool calls reach the mesh. */
  readonly agentTools?: AgentToolContext;
}

/** What a tool-calling agent needs besides the model: schemas, a way to place calls, its step. */
export interface AgentToolContext {
  /** The methods (with argument schemas) of a built-in tool type, whether or not this node offers it. */
  readonly methodsOf: (type: string) => Readonly<Record<string, ToolMethodSchema>> | undefined;
  /** Absent where calls cannot be placed (an isolated step process). */
  readonly dispatcher: ToolCallDispatcher | undefined;
  readonly scope: StepScope;
}

/** The step an agent runs in: its tool calls are named, keyed and bounded after it. */
export interface StepScope {
  readonly execution_id: string;
  readonly step_id: string;
  readonly attempt: number;
  /** Epoch ms: no tool call outlives the step. */
  readonly deadline: number;
  readonly idempotency_key?: string;
  /** `here`: sync mode, every tool call runs on this node (still under its constraints). */
  readonly placement: 'mesh' | 'here';
  /** Told of every tool call as it starts and as it ends (the same round and index). */
  readonly onToolCall?: (call: ToolCallRecord) => void;
}

/** One tool call of an agent, placed on the mesh like a step. */
export interface ToolCallDispatch {
  readonly scope: StepScope;
  /** Unique in the execution: `<step>/tool/<round>.<index>`. */
  readonly call_id: string;
  readonly task: Extract<StepTask, { kind: 'tool' }>;
  readonly requires?: Requires;
  readonly timeout_ms: number;
  /** Told where the call was sent (again if it moves to another node). */
  readonly onSent?: (node: string) => void;
}

/** Places one tool call (the node's composition root provides it); rejects with StepFailure. */
export interface ToolCallDispatcher {
  dispatch(call: ToolCallDispatch, signal: AbortSignal): Promise<{ output: unknown; node: string }>;
}

/** A method's arguments as the model sees them (JSON Schema, derived) and as they are checked. */
export interface ToolMethodSchema {
  readonly description: string;
  readonly args: z.ZodType;
}

/** A built-in tool type (`filesystem`, `http`, ...): declares its name so a node can advertise it. */
export interface ToolHandler {
  readonly type: string;
  readonly methods: readonly string[];
  /** The methods a model may call, with their argument schemas (the same ones `run` checks with). */
  readonly schemas?: Readonly<Record<string, ToolMethodSchema>>;
  /** Runs one call; throws StepFailure on failure. */
  run(call: ToolCall, ctx: StepRunContext): Promise<unknown>;
  /**
   * Only for an instant tool, one that is pure and synchronous (echo, transform: no side effect,
   * nothing an abort could interrupt): `run`, done at once, returning the output or throwing as
   * `run` would settle. The step server runs such a tool through it, without a cancel signal, a
   * deadline timer or a promise of its own. Having it is what makes a tool instant.
   */
  runNow?(call: ToolCall): unknown;
}

/** The `run` of an instant tool: its `runNow`, as a settled promise. */
export function runLater(runNow: (call: ToolCall) => unknown): ToolHandler['run'] {
  return (call) => {
    try {
      return Promise.resolve(runNow(call));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  };
}

export interface ToolCall {
  readonly method: string | undefined;
  readonly args: unknown;
  readonly settings: Readonly<Record<string, unknown>>;
  /** The attempt's idempotency key (the same across re-dispatch and takeover). */
  readonly idempotency_key?: string;
}

/** Runs resolved step tasks on this node. */
export interface StepExecutor {
  /** Tool types this node offers (for its advertisement). */
  readonly tools: readonly string[];
  /**
   * Runs one task; resolves with its output or throws StepFailure. `scope` names the step it
   * runs for (an agent's tool calls need it).
   */
  execute(task: StepTask, signal: AbortSignal, scope?: StepScope): Promise<unknown>;
  /** Whether `task` runs an instant tool (one with ToolHandler.runNow): it may be given NEVER_ABORTED. */
  isInstant?(task: StepTask): boolean;
  /**
   * Runs an instant task (isInstant is true) at once, without a promise: returns its output or
   * throws StepFailure, exactly as `execute` would resolve or reject.
   */
  runNow?(task: StepTask): unknown;
}

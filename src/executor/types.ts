import type { StepTask } from '../protocol/step.js';

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
}

/** A built-in tool type (`filesystem`, `http`, ...): declares its name so a node can advertise it. */
export interface ToolHandler {
  readonly type: string;
  readonly methods: readonly string[];
  /**
   * Pure and synchronous (echo, transform): no side effect and nothing an abort could interrupt,
   * so the step server runs it without a cancel signal or a deadline timer of its own.
   */
  readonly instant?: boolean;
  /** Runs one call; throws StepFailure on failure. */
  run(call: ToolCall, ctx: StepRunContext): Promise<unknown>;
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
  /** Runs one task; resolves with its output or throws StepFailure. */
  execute(task: StepTask, signal: AbortSignal): Promise<unknown>;
  /** Whether `task` runs an instant tool (see ToolHandler.instant): it may be given NEVER_ABORTED. */
  isInstant?(task: StepTask): boolean;
}

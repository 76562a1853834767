import { z } from 'zod';

/** Codes of errors that stay on the node that raised them. */
export type MeshErrorCode =
  | 'CONFIG_INVALID'
  | 'NATS_CONNECT'
  | 'NATS_AUTH'
  | 'NATS_SERVER_MISSING'
  | 'WORKFLOW_INVALID'
  | 'WORKFLOW_NOT_FOUND'
  | 'EXECUTION_NOT_FOUND'
  | 'INPUT_TOO_LARGE'
  | 'USAGE'
  | 'GENERATION_FAILED'
  | 'STORE_UNAVAILABLE'
  | 'CONFLICT'
  | 'INTERNAL';

/** A local error: never crosses the wire as such; has a string code for callers and the CLI. */
export class MeshError extends Error {
  override readonly name = 'MeshError';
  constructor(
    readonly code: MeshErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const StepFailureTypeSchema = z.enum([
  'timeout', // the step ran past its deadline
  'cancelled', // the execution was cancelled
  'infeasible', // no live node meets a hard constraint
  'busy', // the chosen node is at max concurrency
  'no_responders', // nobody listens on the node's subject
  'node_lost', // the node running the step stopped heart-beating
  'tool_error', // the tool ran and failed
  'agent_error', // the LLM call failed
  'invalid_args', // the step's arguments are wrong for its tool
  'denied', // an allow-list refused it (filesystem root, http host, shell command)
  'crashed', // an isolated step's process died
  'unsupported', // the node does not offer the tool or model
  'superseded', // the coordinator handed the execution on (drain) or lost its lease: its steps go on elsewhere
  'internal',
]);
export type StepFailureType = z.infer<typeof StepFailureTypeSchema>;

export const StepFailureWireSchema = z.object({
  type: StepFailureTypeSchema,
  message: z.string(),
  retryable: z.boolean(),
});
export type StepFailureWire = z.infer<typeof StepFailureWireSchema>;

const RETRYABLE_BY_DEFAULT: Record<StepFailureType, boolean> = {
  timeout: true,
  cancelled: false,
  infeasible: false,
  busy: true,
  no_responders: true,
  node_lost: true,
  tool_error: true,
  agent_error: true,
  invalid_args: false,
  denied: false,
  crashed: true,
  unsupported: false,
  superseded: false,
  internal: true,
};

/** A step's failure: travels between nodes; retry policies read only `type` and `retryable`. */
export class StepFailure extends Error {
  override readonly name = 'StepFailure';
  readonly retryable: boolean;
  constructor(
    readonly type: StepFailureType,
    message: string,
    retryable?: boolean,
  ) {
    super(message);
    this.retryable = retryable ?? RETRYABLE_BY_DEFAULT[type];
  }

  toWire(): StepFailureWire {
    return { type: this.type, message: this.message, retryable: this.retryable };
  }

  static fromWire(w: StepFailureWire): StepFailure {
    return new StepFailure(w.type, w.message, w.retryable);
  }

  /** Any thrown value as a StepFailure (unknown errors become `internal`, retryable). */
  static from(err: unknown, fallback: StepFailureType = 'internal'): StepFailure {
    if (err instanceof StepFailure) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new StepFailure(fallback, message);
  }
}

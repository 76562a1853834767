/**
 * A tiny in-test StepExecutor with `echo` / `sleep` semantics plus `flaky` and `fail`, so the
 * engine's control flow can be tested without I/O. Integration tests use the real executors.
 */
import { StepFailure } from '../../../src/protocol/errors.js';
import type { ExecutionRecord } from '../../../src/protocol/execution.js';
import type { StepTask } from '../../../src/protocol/step.js';
import type { StepExecutor } from '../../../src/executor/types.js';
import { LocalStepRunner, runExecution, type RunExecutionOptions } from '../../../src/engine/index.js';
import { BUILTIN_TOOL_TYPES, loadWorkflowDocument } from '../../../src/workflow/index.js';

export const TEST_TOOLS = [...BUILTIN_TOOL_TYPES, 'flaky', 'fail'];

/** Three echo steps in a row, a → b → c → user. */
export const CHAIN = `
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {n: 1}, output: {to: b}}
      - {id: b, tool: echo, args: {n: 2}, output: {to: c}}
      - {id: c, tool: echo, args: {n: 3}, output: {to: user}}
`;

export class TestExecutor implements StepExecutor {
  readonly tools = TEST_TOOLS;
  /** "start ID" / "end ID" / "abort ID" in the order they happened (ID from args.tag). */
  readonly events: string[] = [];
  private readonly failures = new Map<string, number>();

  async execute(task: StepTask, signal: AbortSignal): Promise<unknown> {
    if (task.kind === 'agent') return `${task.agent.id}: ${String(task.input)}`;
    const args = (task.args ?? {}) as Record<string, unknown>;
    const tag = String(args.tag ?? task.tool_id);
    this.events.push(`start ${tag}`);
    try {
      switch (task.tool_type) {
        case 'echo':
          return task.args;
        case 'sleep': {
          const ms = Number(args.ms ?? 0);
          await new Promise<void>((resolve, reject) => {
            const onAbort = (): void => {
              clearTimeout(t);
              this.events.push(`abort ${tag}`);
              reject(new StepFailure('cancelled', 'aborted'));
            };
            const t = setTimeout(() => {
              signal.removeEventListener('abort', onAbort);
              resolve();
            }, ms);
            signal.addEventListener('abort', onAbort, { once: true });
          });
          return { slept_ms: ms };
        }
        case 'flaky': {
          // Fails `times` times (retryable unless retryable: false), then echoes.
          const n = this.failures.get(tag) ?? 0;
          if (n < Number(args.times ?? 1)) {
            this.failures.set(tag, n + 1);
            throw new StepFailure('tool_error', `flaky failure ${n + 1}`, args.retryable !== false);
          }
          return { ok: true, after: n };
        }
        case 'fail':
          throw new StepFailure('tool_error', String(args.message ?? 'failed on purpose'), false);
        default:
          throw new StepFailure('unsupported', `no tool type ${task.tool_type}`);
      }
    } finally {
      this.events.push(`end ${tag}`);
    }
  }
}

export interface Run {
  record: ExecutionRecord;
  executor: TestExecutor;
  updates: ExecutionRecord[];
}

/** Validates `yaml` and runs it with the test executor through LocalStepRunner. */
export async function run(yaml: string, input: unknown = 'in', opts: Partial<RunExecutionOptions> & { allowedEnv?: string[] } = {}): Promise<Run> {
  const document = loadWorkflowDocument(yaml, { knownToolTypes: TEST_TOOLS, allowedEnv: opts.allowedEnv ?? [] });
  const executor = new TestExecutor();
  const updates: ExecutionRecord[] = [];
  const record = await runExecution({
    document,
    input,
    runner: new LocalStepRunner(executor, 'test-node'),
    mode: 'sync',
    coordinator: 'test-node',
    onUpdate: (r) => updates.push(r),
    random: () => 0.5,
    ...opts,
  });
  return { record, executor, updates };
}

/** id → status of every row. */
export function statuses(record: ExecutionRecord): Record<string, string> {
  return Object.fromEntries(record.steps.map((s) => [s.id, s.status]));
}

export function row(record: ExecutionRecord, id: string): ExecutionRecord['steps'][number] {
  const r = record.steps.find((s) => s.id === id);
  if (!r) throw new Error(`no row ${id} in ${record.steps.map((s) => s.id).join(', ')}`);
  return r;
}

/**
 * Runs `f` counting the AbortControllers made meanwhile (one costs more than the engine's other
 * work for a step): what it resolved with, and the count.
 */
export async function countingAbortControllers<T>(f: () => Promise<T>): Promise<{ value: T; made: number }> {
  const Original = globalThis.AbortController;
  let made = 0;
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      made++;
    }
  };
  try {
    const value = await f();
    return { value, made };
  } finally {
    globalThis.AbortController = Original;
  }
}

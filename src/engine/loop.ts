/**
 * `loop` steps: the body runs once per item of `for_each` (or `max` times), up to `concurrency`
 * iterations at a time. Each iteration is its own step list with its own rows
 * (`LOOP[i].STEP`); the loop's output is the list of iteration outputs, in item order.
 */
import { StepFailure } from '../protocol/errors.js';
import { evaluateCondition, fromJsonText, resolveTemplate, type LoopStep, type VariableScope } from '../workflow/index.js';
import { linkedController, StepError, toStepError, type ExecutionContext } from './context.js';
import { GraphRun, type Frame } from './graph-run.js';

export interface LoopRun {
  readonly ctx: ExecutionContext;
  readonly frame: Frame;
  readonly scope: VariableScope;
  readonly step: LoopStep;
  readonly row: string;
  readonly signal: AbortSignal;
  /** Turns variable and condition errors into the step's failure. */
  readonly check: <T>(f: () => T) => T;
  readonly invoke: (workflow: string, input: unknown, prefix: string, signal: AbortSignal) => Promise<unknown>;
}

export async function runLoop(run: LoopRun): Promise<unknown[]> {
  const { step, row, check } = run;
  const spec = step.loop;
  let items: unknown[] | undefined;
  if (spec.for_each !== undefined) {
    const resolved = check(() => resolveTemplate(spec.for_each, run.scope));
    // A list written as JSON text (an agent's plain reply) is read as the list.
    const parsed = fromJsonText(resolved);
    const value = Array.isArray(parsed) ? parsed : resolved;
    if (!Array.isArray(value)) {
      throw new StepFailure('invalid_args', `loop ${row}: for_each gave ${value === null ? 'null' : typeof value === 'string' ? `the text "${value.slice(0, 40)}"` : typeof value}, not a list`, false);
    }
    if (spec.max !== undefined && value.length > spec.max && !spec.truncate_to_max) {
      throw new StepFailure('invalid_args', `loop ${row}: for_each gave ${value.length} items, more than its max of ${spec.max}`, false);
    }
    items = spec.max !== undefined ? value.slice(0, spec.max) : value;
  }
  const count = items ? items.length : (spec.max ?? 0);
  const outputs: unknown[] = [];
  const { ctl, dispose } = linkedController(run.signal);
  let next = 0;
  let stopAt = count;
  let failure: StepError | undefined;

  const iteration = async (i: number): Promise<void> => {
    const item = items ? items[i] : i;
    const locals = { ...run.frame.locals, [spec.var]: item, loop: { index: i, item } };
    const prefix = `${row}[${i}]`;
    let output: unknown;
    let scope: VariableScope | undefined;
    if ('workflow' in spec.body) {
      output = await run.invoke(spec.body.workflow, item, `${prefix}/`, ctl.signal);
    } else {
      const frame: Frame = { ...run.frame, prefix: `${prefix}.`, locals, parent: run.scope.step, parentOutputs: run.scope.outputs };
      const graph = new GraphRun(run.ctx, spec.body.steps, frame, ctl.signal);
      output = await graph.run();
      scope = graph.scope;
    }
    outputs[i] = output;
    if (spec.until !== undefined) {
      const untilScope: VariableScope = { ...(scope ?? run.scope), locals: { ...locals, loop: { index: i, item, output } } };
      if (check(() => evaluateCondition(spec.until as string, untilScope))) stopAt = Math.min(stopAt, i + 1);
    }
  };

  const worker = async (): Promise<void> => {
    while (!failure && next < stopAt) {
      const i = next++;
      try {
        await iteration(i);
      } catch (err) {
        if (!failure) {
          failure = toStepError(err, `${row}[${i}]`);
          ctl.abort(new StepFailure('cancelled', `stopped because iteration ${i} of loop ${row} failed`, false));
        }
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(spec.concurrency, count) }, worker));
  } finally {
    dispose();
  }
  if (failure) throw failure;
  return outputs.slice(0, stopAt);
}

import { StepFailure } from '../../protocol/errors.js';
import type { ToolCall } from '../types.js';

/** The call's method, checked against the tool's list; `fallback` serves one-method tools. */
export function methodOf<M extends string>(call: ToolCall, type: string, methods: readonly M[], fallback?: M): M {
  const method = call.method ?? fallback;
  if (method === undefined) {
    throw new StepFailure('invalid_args', `${type} needs a method: one of ${methods.join(', ')}`);
  }
  if (!(methods as readonly string[]).includes(method)) {
    throw new StepFailure('invalid_args', `${type} has no method "${method}": use one of ${methods.join(', ')}`);
  }
  return method as M;
}

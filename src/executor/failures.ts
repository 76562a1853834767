import type { z } from 'zod';
import { StepFailure } from '../protocol/errors.js';

/**
 * The failure an aborted step reports. The engine may abort with a StepFailure as the reason (it
 * knows best); `AbortSignal.timeout()` aborts with a TimeoutError; anything else is a cancel.
 */
export function failureFromAbort(signal: AbortSignal): StepFailure {
  const reason: unknown = signal.reason;
  if (reason instanceof StepFailure) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return new StepFailure('timeout', 'step timed out');
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : '';
  return new StepFailure('cancelled', why && why !== 'This operation was aborted' ? `step cancelled: ${why}` : 'step cancelled');
}

/** A signal that never fires: what instant tools run with (nothing could interrupt them). */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/** Throws the abort failure when the signal has already fired. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw failureFromAbort(signal);
}

/** Resolves after `ms`, or rejects with the abort failure as soon as the signal fires. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(failureFromAbort(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Validates a tool call's `args` with its schema; a mismatch is `invalid_args` naming every field
 * that is wrong, e.g. `echo.x: args.path: expected string`.
 */
export function parseArgs<S extends z.ZodType>(schema: S, args: unknown, where: string): z.infer<S> {
  const parsed = schema.safeParse(args ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const path = ['args', ...i.path.map(String)].join('.');
    // zod words a missing field as "expected nonoptional, received undefined"
    return `${path}: ${/received undefined$/.test(i.message) ? 'is required' : i.message}`;
  });
  throw new StepFailure('invalid_args', `${where}: ${problems.join('; ')}`);
}

/** The size of an output as it will cross the wire (JSON, UTF-8). */
export function encodedSize(output: unknown): number {
  const text = JSON.stringify(output ?? null);
  return Buffer.byteLength(text, 'utf8');
}

/** Refuses outputs that would not fit the node's limit (they would clog NATS and the store). */
export function checkOutputSize(output: unknown, maxBytes: number): void {
  let size: number;
  try {
    size = encodedSize(output);
  } catch (err) {
    throw new StepFailure('tool_error', `step output is not JSON-serialisable: ${(err as Error).message}`, false);
  }
  if (size > maxBytes) {
    throw new StepFailure(
      'tool_error',
      `step output is ${size} bytes, over the node's max_output_bytes limit of ${maxBytes} bytes`,
      false,
    );
  }
}

/** A short, single-line description of an error's cause chain (`fetch failed: ECONNREFUSED`). */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 4; depth += 1) {
    if (cur instanceof Error) {
      const code = (cur as NodeJS.ErrnoException).code;
      const text = code && !cur.message.includes(code) ? `${cur.message} (${code})` : cur.message;
      if (text && !parts.includes(text)) parts.push(text);
      cur = cur.cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': ') || 'unknown error';
}

import { setMaxListeners } from 'node:events';
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

/**
 * A signal that never fires: what instant tools run with (nothing could interrupt them), and an
 * execution started without a signal. Shared by every step that has it, so any number may listen.
 */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;
setMaxListeners(0, NEVER_ABORTED);

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
    // The reply encodes the output anyway: encoding it here too cost more than the echo it checked.
    if (sizeBound(output, maxBytes, 0) <= maxBytes) return;
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

/** How deep sizeBound follows objects and lists before it leaves the answer to JSON.stringify. */
const BOUND_DEPTH = 16;

/**
 * At least the encoded size of `v` (JSON, UTF-8), worked out without encoding it: a character
 * takes at most 6 bytes (an escape), a number 24. Infinity when the bound passes `budget` or `v`
 * is not plain data that JSON.stringify writes as it is (a Date or other class, a function such
 * as a toJSON method, a BigInt, a structure deeper than BOUND_DEPTH, a cycle): then the caller
 * encodes it.
 */
function sizeBound(v: unknown, budget: number, depth: number): number {
  switch (typeof v) {
    case 'string':
      return 2 + 6 * v.length;
    case 'number':
      return 24;
    case 'boolean':
      return 5;
    case 'undefined':
      return 4; // null in a list or at the top; left out of an object
    case 'object': {
      if (v === null) return 4;
      if (depth >= BOUND_DEPTH) return Infinity;
      let n = 2;
      if (Array.isArray(v)) {
        for (const item of v as unknown[]) {
          n += 1 + sizeBound(item, budget - n, depth + 1);
          if (n > budget) return Infinity;
        }
        return n;
      }
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return Infinity;
      for (const key in v) {
        n += 4 + 6 * key.length + sizeBound((v as Record<string, unknown>)[key], budget - n, depth + 1);
        if (n > budget) return Infinity;
      }
      return n;
    }
    default:
      return Infinity;
  }
}

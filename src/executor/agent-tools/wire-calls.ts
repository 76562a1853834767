/**
 * The function calls of an assistant message, as the loop runs them and sends them back. Local
 * OpenAI-compatible servers bend the wire format: a call without `type`, without an `id` (or the
 * same id twice), `arguments` as an object instead of JSON text, or none at all. Taken as sent,
 * the first drops the call silently (the step then fails with "an empty reply"), the next two
 * give the model results it cannot tell apart (or a request strict endpoints refuse), and the
 * last two reach the model as a JavaScript error.
 */
import type OpenAI from 'openai';

export type FunctionCall = OpenAI.Chat.ChatCompletionMessageFunctionToolCall;

/**
 * The message's function calls with a string `arguments` and an id unique in the conversation
 * (`used` holds the ids given so far; a missing or repeated one becomes `call_ROUND_INDEX`).
 * Calls of other kinds (`custom`) are left out.
 */
export function functionCalls(toolCalls: readonly unknown[] | null | undefined, round: number, used: Set<string>): FunctionCall[] {
  const out: FunctionCall[] = [];
  for (const raw of toolCalls ?? []) {
    const call = raw as { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } } | null;
    if (!call || (call.type !== undefined && call.type !== 'function') || typeof call.function !== 'object' || call.function === null) continue;
    const index = out.length;
    out.push({
      id: uniqueId(call.id, round, index, used),
      type: 'function',
      function: { name: typeof call.function.name === 'string' ? call.function.name : '', arguments: argumentsText(call.function.arguments) },
    });
  }
  return out;
}

function uniqueId(id: unknown, round: number, index: number, used: Set<string>): string {
  let given = typeof id === 'string' && id && !used.has(id) ? id : `call_${round}_${index}`;
  for (let n = 2; used.has(given); n++) given = `call_${round}_${index}_${n}`;
  used.add(given);
  return given;
}

/** JSON text of the arguments: an object is encoded, none is the empty text (no arguments). */
function argumentsText(args: unknown): string {
  if (typeof args === 'string') return args;
  if (args === undefined || args === null) return '';
  return JSON.stringify(args);
}

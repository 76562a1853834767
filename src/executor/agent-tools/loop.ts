/**
 * The tool-calling loop of an agent step: ask the model with the tools it may call; run every
 * call it makes (a turn's calls at once), each placed on the mesh like a step; give it the results
 * (or errors it can act on); ask again, until it answers or runs out of rounds.
 */
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type OpenAI from 'openai';
import { StepFailure } from '../../protocol/errors.js';
import { DEFAULT_MAX_TOOL_ROUNDS, type AgentSpec, type AgentToolSpec } from '../../protocol/step.js';
import { throwIfAborted } from '../failures.js';
import type { AgentToolContext, StepRunContext } from '../types.js';
import { catalogFailure, ToolCatalog, type CatalogEntry, type RemoteTool } from './catalog.js';
import { ToolCallLog } from './call-log.js';
import { toolCallId } from './call-id.js';
import { functionCalls, type FunctionCall } from './wire-calls.js';

type Message = OpenAI.Chat.ChatCompletionMessageParam;
type Choice = OpenAI.Chat.ChatCompletion.Choice;

/** One chat-completions request (the agent module maps its errors). */
export type Complete = (messages: Message[], tools: ReturnType<ToolCatalog['functions']>) => Promise<OpenAI.Chat.ChatCompletion>;

/** Characters of one tool result the model is given; the rest is cut with a note (context windows are small). */
export const MODEL_RESULT_CHARS = 32_000;

/** Failures that end the loop instead of going back to the model: the step itself is over. */
const STEP_ENDING: ReadonlySet<string> = new Set(['cancelled', 'superseded', 'node_lost']);

/**
 * Runs the loop; resolves with the model's final choice (no tool calls). `messages` grows with
 * the conversation. Throws StepFailure when the step must fail (rounds exhausted, cancelled).
 */
export async function runToolLoop(agent: AgentSpec, messages: Message[], complete: Complete, ctx: StepRunContext, who: string): Promise<Choice> {
  const tc = ctx.agentTools;
  if (!tc?.dispatcher) {
    throw new StepFailure('unsupported', `${who} has tools, and this step cannot place tool calls here (an isolated step process cannot reach the mesh): run it in distributed or sync mode`, false);
  }
  const catalog = await buildCatalog(agent, tc, ctx.signal);
  const log = new ToolCallLog(tc.scope.onToolCall);
  const maxRounds = agent.max_tool_rounds ?? DEFAULT_MAX_TOOL_ROUNDS;
  const callIds = new Set<string>();
  for (let round = 1; ; round++) {
    const completion = await complete(messages, catalog.functions());
    const choice = completion.choices[0];
    const calls = functionCalls(choice?.message.tool_calls, round, callIds);
    if (!choice || calls.length === 0) return choice as Choice;
    if (round > maxRounds) {
      const asked = calls.map((c) => c.function.name).join(', ');
      throw new StepFailure('agent_error', `${who} was still calling tools after max_tool_rounds (${maxRounds}) rounds (it asked for ${asked} in round ${round}): raise max_tool_rounds or tell the model to answer sooner`, false);
    }
    messages.push({ role: 'assistant', content: choice.message.content ?? null, tool_calls: calls });
    const replies = await runTurn(calls, round, catalog, tc, log, ctx.signal);
    throwIfAborted(ctx.signal);
    calls.forEach((call, i) => messages.push({ role: 'tool', tool_call_id: call.id, content: replies[i] as string }));
  }
}

/** Runs one turn's calls at once; the first that ends the step stops the others. */
async function runTurn(calls: FunctionCall[], round: number, catalog: ToolCatalog, tc: AgentToolContext, log: ToolCallLog, stepSignal: AbortSignal): Promise<string[]> {
  const turn = new AbortController();
  // Every call of the turn (a model may make dozens at once) listens to it: not a leak to warn of.
  setMaxListeners(calls.length + 10, turn.signal);
  const onAbort = (): void => turn.abort(stepSignal.reason);
  if (stepSignal.aborted) onAbort();
  else stepSignal.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.all(
      calls.map((call, index) =>
        runCall(call, round, index, catalog, tc, log, turn.signal).catch((err: unknown) => {
          turn.abort(err);
          throw err;
        }),
      ),
    );
  } finally {
    stepSignal.removeEventListener('abort', onAbort);
  }
}

/** The functions the model may call; an `mcpremote` tool is asked for its list, on the mesh. */
async function buildCatalog(agent: AgentSpec, tc: AgentToolContext, signal: AbortSignal): Promise<ToolCatalog> {
  const catalog = new ToolCatalog();
  const remote = (agent.tools ?? []).filter((t) => t.type === 'mcpremote');
  const listed = await Promise.all(remote.map((spec) => listRemote(spec, tc, signal)));
  for (const spec of agent.tools ?? []) {
    if (spec.type === 'mcpremote') {
      const tools = listed[remote.indexOf(spec)] ?? [];
      const missing = (spec.methods ?? []).filter((m) => !tools.some((t) => t.name === m));
      if (missing.length) throw catalogFailure(agent.id, `tool "${spec.id}" names ${missing.map((m) => `"${m}"`).join(', ')}, which its MCP server does not list (it lists ${listedNames(tools)})`);
      catalog.addRemote(spec, tools);
      continue;
    }
    const schemas = tc.methodsOf(spec.type);
    if (!schemas) throw catalogFailure(agent.id, `tool "${spec.id}" has type "${spec.type}", which has no methods a model can call`);
    catalog.addBuiltin(spec, schemas);
  }
  if (catalog.size === 0) throw catalogFailure(agent.id, 'its tools offer the model no function to call (check the method filters)');
  return catalog;
}

function listedNames(tools: readonly RemoteTool[]): string {
  if (tools.length === 0) return 'none';
  const names = tools.slice(0, 20).map((t) => t.name).join(', ');
  return tools.length > 20 ? `${names}, ... ${tools.length} in all` : names;
}

async function listRemote(spec: AgentToolSpec, tc: AgentToolContext, signal: AbortSignal): Promise<RemoteTool[]> {
  const { output } = await tc.dispatcher!.dispatch(
    {
      scope: tc.scope,
      call_id: toolCallId(tc.scope.step_id, `${spec.id}.list`),
      task: { kind: 'tool', tool_id: spec.id, tool_type: 'mcpremote', method: 'list_tools', args: {}, ...(spec.settings && { settings: spec.settings }) },
      ...(spec.requires && { requires: spec.requires }),
      timeout_ms: remaining(tc),
    },
    signal,
  ).catch((err: unknown) => {
    const f = StepFailure.from(err);
    throw new StepFailure(f.type, `listing the tools of "${spec.id}" failed: ${f.message}`, f.retryable);
  });
  if (!Array.isArray(output)) throw new StepFailure('tool_error', `the MCP server of "${spec.id}" listed no tools`);
  return output as RemoteTool[];
}

/**
 * Runs one call and returns the text the model gets back. Bad arguments, a refused or failed
 * tool: the error, worded so that the model can correct itself. A cancelled step: thrown.
 */
async function runCall(call: FunctionCall, round: number, index: number, catalog: ToolCatalog, tc: AgentToolContext, log: ToolCallLog, signal: AbortSignal): Promise<string> {
  const entry = catalog.get(call.function.name);
  const rawArgs = call.function.arguments;
  let record = log.started(round, index, call.function.name, entry?.spec.id ?? call.function.name, entry?.remoteTool ?? entry?.method, rawArgs);
  const refuse = (message: string): string => {
    log.ended(record, { error: message });
    return `error: ${message}`;
  };
  if (!entry) return refuse(`there is no tool "${call.function.name}"; the tools are: ${catalog.names.join(', ')}`);
  let args: unknown;
  try {
    args = rawArgs.trim() === '' ? {} : (JSON.parse(rawArgs) as unknown);
    args = entry.check(args);
  } catch (err) {
    const why = err instanceof StepFailure ? err.message : `the arguments are not JSON: ${(err as Error).message}`;
    return refuse(`invalid arguments, the call was not run: ${why}`);
  }
  const idem = idempotencyKey(tc, round, index, call.function.name, args);
  try {
    const { output, node } = await tc.dispatcher!.dispatch(
      {
        scope: tc.scope,
        call_id: toolCallId(tc.scope.step_id, `${round}.${index}`),
        task: {
          kind: 'tool',
          tool_id: entry.spec.id,
          tool_type: entry.spec.type,
          method: entry.method,
          args: entry.remoteTool === undefined ? args : { tool: entry.remoteTool, arguments: args },
          ...(entry.spec.settings && { settings: entry.spec.settings }),
          idempotency_key: idem,
        },
        ...(entry.spec.requires && { requires: entry.spec.requires }),
        timeout_ms: remaining(tc),
        onSent: (node) => {
          record = log.placed(record, node);
        },
      },
      signal,
    );
    log.ended(record, { node, result: output });
    return forModel(output);
  } catch (err) {
    const f = StepFailure.from(err);
    const node = (err as { node?: unknown } | null)?.node;
    log.ended(record, { error: `${f.type}: ${f.message}`, ...(typeof node === 'string' && { node }) });
    if (signal.aborted || STEP_ENDING.has(f.type)) throw signal.aborted ? StepFailure.from(signal.reason ?? f, 'cancelled') : f;
    return `error (${f.type}${f.retryable ? ', may succeed if tried again' : ''}): ${f.message}`;
  }
}

/** Stable for the same call in the same place of the conversation: a re-run step is answered from stored results. */
function idempotencyKey(tc: AgentToolContext, round: number, index: number, name: string, args: unknown): string {
  const s = tc.scope;
  const base = s.idempotency_key ?? `${s.execution_id}:${s.step_id}:${s.attempt}`;
  const digest = createHash('sha256').update(`${name}\n${JSON.stringify(args ?? null)}`).digest('hex').slice(0, 12);
  return `${base}:tool:${round}.${index}:${digest}`;
}

function remaining(tc: AgentToolContext): number {
  return Math.max(1, tc.scope.deadline - Date.now());
}

/** A tool's output as the `tool` message's text, cut to MODEL_RESULT_CHARS. */
function forModel(output: unknown): string {
  const text = typeof output === 'string' ? output : (JSON.stringify(output ?? null) ?? 'null');
  if (text.length <= MODEL_RESULT_CHARS) return text;
  return `${text.slice(0, MODEL_RESULT_CHARS)}\n[cut: ${text.length - MODEL_RESULT_CHARS} more characters not shown]`;
}


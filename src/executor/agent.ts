import OpenAI from 'openai';
import { StepFailure } from '../protocol/errors.js';
import type { AgentSpec } from '../protocol/step.js';
import type { ExecutorEnvironment, StepRunContext } from './types.js';
import { describeError, failureFromAbort } from './failures.js';
import { checkOutboundUrl } from './tools/hosts.js';
import { runToolLoop, type Complete } from './agent-tools/loop.js';

/** Where an agent step goes: the agent's own base_url beats the node's llm.base_url. */
export interface LlmEndpoint {
  readonly baseURL: string;
  readonly apiKey: string;
}

/** Local servers (Ollama, vLLM, llama.cpp) take any key; the SDK refuses to start without one. */
const NO_KEY = 'not-needed';

/** Compares endpoints as URLs, so `http://h:80/v1/` and `http://h/v1` are the same endpoint. */
function sameEndpoint(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    const path = (u: URL) => u.pathname.replace(/\/+$/, '');
    return x.protocol === y.protocol && x.host === y.host && path(x) === path(y);
  } catch {
    return false;
  }
}

/**
 * Resolves the endpoint. `OPENAI_BASE_URL` / `OPENAI_API_KEY` are read here as a last resort,
 * because the SDK would read them anyway and a node whose config left them out should still
 * behave as its operator expects.
 *
 * The node's key goes only to the node's own endpoint. A workflow (any MCP caller) may name
 * another endpoint in `base_url`; that host must be in `allow.http_hosts`, like any outbound
 * request, and it is called without the node's key: otherwise `base_url: http://attacker/v1`
 * would collect the key and every prompt.
 */
export function resolveEndpoint(agent: AgentSpec, env: ExecutorEnvironment): LlmEndpoint {
  const nodeURL = env.llm.base_url ?? process.env.OPENAI_BASE_URL;
  const nodeKey = env.llm.api_key ?? process.env.OPENAI_API_KEY ?? NO_KEY;
  if (agent.base_url !== undefined && !(nodeURL && sameEndpoint(agent.base_url, nodeURL))) {
    checkOutboundUrl(agent.base_url, env.allow.http_hosts, `agent "${agent.id}" base_url`);
    return { baseURL: agent.base_url, apiKey: NO_KEY };
  }
  if (!nodeURL) throw new StepFailure('unsupported', 'no LLM endpoint configured: set OPENAI_BASE_URL or llm.base_url');
  return { baseURL: nodeURL, apiKey: nodeKey };
}

const clients = new Map<string, OpenAI>();

/** One client per endpoint, so that connections are kept alive between steps. */
function clientFor(endpoint: LlmEndpoint, timeoutMs: number): OpenAI {
  const key = `${endpoint.baseURL}\n${endpoint.apiKey}\n${timeoutMs}`;
  let client = clients.get(key);
  if (!client) {
    if (clients.size >= 32) clients.clear();
    // Retries belong to the step's retry policy, where they are visible and bounded.
    client = new OpenAI({ baseURL: endpoint.baseURL, apiKey: endpoint.apiKey, timeout: timeoutMs, maxRetries: 0 });
    clients.set(key, client);
  }
  return client;
}

/**
 * Runs one agent step: system prompt + the input as the user message; output is the reply. An
 * agent with tools runs the tool-calling loop first (agent-tools/loop.ts); its final answer is
 * read the same way, JSON included.
 */
export async function runAgentStep(agent: AgentSpec, input: unknown, ctx: StepRunContext): Promise<unknown> {
  const endpoint = resolveEndpoint(agent, ctx.env);
  const model = agent.model || ctx.env.llm.models[0];
  if (!model) throw new StepFailure('invalid_args', `agent "${agent.id}" names no model and the node has no default model`);
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [];
  if (agent.system_prompt) messages.push({ role: 'system', content: agent.system_prompt });
  messages.push({ role: 'user', content: typeof input === 'string' ? input : JSON.stringify(input ?? null, null, 2) });
  const json = agent.response_format === 'json';
  const timeoutMs = ctx.env.llm.timeout_ms;
  const who = `agent "${agent.id}" (model ${model})`;

  const complete: Complete = async (msgs, tools) => {
    try {
      return await clientFor(endpoint, timeoutMs).chat.completions.create(
        {
          model,
          messages: msgs,
          ...(agent.temperature !== undefined ? { temperature: agent.temperature } : {}),
          ...(agent.max_tokens !== undefined ? { max_tokens: agent.max_tokens } : {}),
          ...(json ? { response_format: { type: 'json_object' as const } } : {}),
          ...(tools.length ? { tools } : {}),
        },
        { signal: ctx.signal },
      );
    } catch (err) {
      throw agentFailure(err, endpoint.baseURL, timeoutMs, ctx.signal);
    }
  };

  const choice = agent.tools?.length ? await runToolLoop(agent, messages, complete, ctx, who) : (await complete(messages, [])).choices[0];
  if (choice?.message.refusal) throw new StepFailure('agent_error', `${who}: the model refused: ${choice.message.refusal}`, false);
  const content = choice?.message.content;
  if (!content || !content.trim()) {
    throw new StepFailure('agent_error', `${who}: the model returned an empty reply (finish_reason: ${choice?.finish_reason ?? 'none'})`);
  }
  return json ? parseJsonReply(content, who) : content;
}

/** Parses a JSON reply; local models often wrap it in a ```json fence, which is tolerated. */
function parseJsonReply(content: string, who: string): unknown {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(content);
  try {
    return JSON.parse(fenced?.[1] ?? content) as unknown;
  } catch (err) {
    const head = content.length > 200 ? `${content.slice(0, 200)}...` : content;
    throw new StepFailure('agent_error', `${who}: the reply is not valid JSON (response_format: json): ${(err as Error).message}; reply: ${head}`);
  }
}

function agentFailure(err: unknown, baseURL: string, timeoutMs: number, signal: AbortSignal): StepFailure {
  if (signal.aborted || err instanceof OpenAI.APIUserAbortError) return failureFromAbort(signal);
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new StepFailure('agent_error', `LLM endpoint ${baseURL} timed out after ${timeoutMs} ms`);
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return new StepFailure('agent_error', `cannot reach LLM endpoint ${baseURL}: ${describeError(err.cause ?? err)}`);
  }
  if (err instanceof OpenAI.APIError && err.status !== undefined) {
    const detail = (err.error as { message?: unknown } | undefined)?.message;
    const text = typeof detail === 'string' && detail ? detail : err.message;
    const retryable = err.status >= 500 || err.status === 429 || err.status === 408;
    return new StepFailure('agent_error', `LLM endpoint ${baseURL} answered HTTP ${err.status}: ${text}`, retryable);
  }
  return StepFailure.from(err, 'agent_error');
}

/**
 * A small OpenAI-compatible HTTP server for tests: no LLM is reachable from these machines, so this
 * is the one allowed stand-in. It speaks the real chat-completions wire format, so the code under
 * test still goes through the real `openai` SDK.
 *
 *   const llm = await startOpenAiServer((req) => ({ content: `echo: ${req.messages.at(-1)?.content}` }));
 *   // OPENAI_BASE_URL=llm.url  (ends in /v1)
 *   await llm.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A function call in an assistant message, as the wire carries it. */
export interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** The parsed body of POST /v1/chat/completions. */
export interface ChatRequest {
  model: string;
  /** `content` is null in an assistant message that only calls tools. */
  messages: { role: string; content: string; tool_calls?: WireToolCall[]; tool_call_id?: string }[];
  response_format?: unknown;
  /** The functions offered (`[{type: 'function', function: {name, description, parameters}}]`). */
  tools?: { type: string; function: { name: string; description?: string; parameters?: Record<string, unknown> } }[];
  [k: string]: unknown;
}

/** A tool call the test model makes: arguments as an object (sent as JSON) or as raw text. */
export interface ScriptedToolCall {
  name: string;
  arguments: Record<string, unknown> | string;
  id?: string;
}

/**
 * What the handler answers:
 * - `{content}`: a normal assistant reply;
 * - `{status, body}`: an HTTP error (or any raw JSON body) with that status;
 * - `{delay_ms, content}`: the reply after a delay (for timeouts; the delay ends early if the
 *   client goes away);
 * - `{refusal}`: an assistant message with `content: null` and that refusal;
 * - `{tool_calls}`: an assistant message calling those functions (finish_reason `tool_calls`).
 */
export type OpenAiReply =
  | { content: string }
  | { tool_calls: ScriptedToolCall[]; content?: string }
  | { status: number; body: unknown }
  | { delay_ms: number; content: string }
  | { refusal: string };

export type OpenAiHandler = (req: ChatRequest) => OpenAiReply | Promise<OpenAiReply>;

export interface OpenAiTestServer {
  /** Base URL ending in /v1, e.g. http://127.0.0.1:41234/v1 (what OPENAI_BASE_URL takes). */
  url: string;
  /** Every chat-completions request body received, in order. */
  requests: ChatRequest[];
  /** The `Authorization` header of each of those requests (what an endpoint learns of the caller's key). */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

/** The default handler: replies with the last user message, prefixed by "echo: ". */
const echoHandler: OpenAiHandler = (req) => {
  const last = [...req.messages].reverse().find((m) => m.role === 'user');
  return { content: `echo: ${last?.content ?? ''}` };
};

/** Starts the server on 127.0.0.1, port 0. */
export async function startOpenAiServer(handler: OpenAiHandler = echoHandler): Promise<OpenAiTestServer> {
  const requests: ChatRequest[] = [];
  const authorizations: (string | undefined)[] = [];
  let counter = 0;
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(err), type: 'server_error' } });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, {
        object: 'list',
        data: [{ id: 'test-model', object: 'model', created: 0, owned_by: 'wfmesh-test' }],
      });
      return;
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      sendJson(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error' } });
      return;
    }
    let body: ChatRequest;
    try {
      body = JSON.parse(await readBody(req)) as ChatRequest;
    } catch {
      sendJson(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error' } });
      return;
    }
    requests.push(body);
    authorizations.push(req.headers.authorization);
    const reply = await handler(body);
    if ('status' in reply) {
      sendJson(res, reply.status, reply.body);
      return;
    }
    if ('delay_ms' in reply) {
      const gone = await waitOrClientGone(res, reply.delay_ms);
      if (gone) return;
    }
    const refusal = 'refusal' in reply ? reply.refusal : null;
    const content = 'content' in reply ? (reply.content ?? null) : null;
    counter += 1;
    const calls = 'tool_calls' in reply ? reply.tool_calls : undefined;
    const message = {
      role: 'assistant',
      content,
      refusal,
      ...(calls && {
        tool_calls: calls.map((c, i): WireToolCall => ({
          id: c.id ?? `call_${counter}_${i}`,
          type: 'function',
          function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
        })),
      }),
    };
    sendJson(res, 200, {
      id: `chatcmpl-test-${counter}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message, finish_reason: calls ? 'tool_calls' : 'stop', logprobs: null }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Waits `ms`; resolves true early when the client disconnects (so close() never hangs). */
function waitOrClientGone(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(false);
    }, ms);
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    res.once('close', onClose);
  });
}

/**
 * A handler that answers request n (0-based, counted per conversation key) with `script[n]`, and
 * with the last entry after that. The key defaults to the first user message, so concurrent
 * agents in one test each follow their own script.
 */
export function scripted(script: (OpenAiReply | ((req: ChatRequest) => OpenAiReply | Promise<OpenAiReply>))[], keyOf: (req: ChatRequest) => string = firstUserMessage): OpenAiHandler {
  const seen = new Map<string, number>();
  return (req) => {
    const key = keyOf(req);
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    const step = script[Math.min(n, script.length - 1)];
    if (step === undefined) return { status: 500, body: { error: { message: 'empty script', type: 'server_error' } } };
    return typeof step === 'function' ? step(req) : step;
  };
}

/** The text of the first user message of a request. */
export function firstUserMessage(req: ChatRequest): string {
  return req.messages.find((m) => m.role === 'user')?.content ?? '';
}

/** The `tool` messages of a request (the results the agent sent back), by tool_call_id. */
export function toolResults(req: ChatRequest): Map<string, string> {
  return new Map(req.messages.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id ?? '', m.content]));
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { ShortLivedTable } from '../util/short-lived.js';

/** A plain request being answered in JSON: its own transport, and the HTTP response it answers on. */
interface PlainExchange {
  transport: StreamableHTTPServerTransport;
  res: ServerResponse;
}

/**
 * The transport of one MCP session over Streamable HTTP, choosing per request how to answer it.
 *
 * The specification lets the server answer a POSTed request either with an SSE stream or with one
 * JSON body. A stream is only needed when something goes out before the result: wfmesh sends
 * progress notifications (and the ping after them) only to a request that carries
 * `_meta.progressToken`. So a single request without one, a "plain" request, is answered in JSON
 * (one body, no stream to set up and parse on either side: ~1.5 ms less per call, measured on
 * `execute_workflow`), and everything else (progress, batches, GET, DELETE) goes through the
 * session's SSE transport as before. The SDK's own switch for JSON answers holds for a whole
 * session, so each plain request gets a stateless SDK transport of its own, in JSON mode; the
 * session's transport has already checked what a session needs (it is initialized and the id is
 * its own), and the per-request one checks the rest (Accept, Content-Type, protocol version, the
 * JSON-RPC shape) exactly as the session's would.
 */
export class SessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  /** By request id (`keyOf`); a ShortLivedTable, as one is added and deleted per call (see util/short-lived.ts). */
  private readonly plain = new ShortLivedTable<PlainExchange>();

  constructor(readonly streaming: StreamableHTTPServerTransport) {}

  get sessionId(): string | undefined {
    return this.streaming.sessionId;
  }

  async start(): Promise<void> {
    this.streaming.onmessage = (message, extra) => {
      this.onmessage?.(message, extra);
      // The SDK sends nothing for a cancelled request, so its exchange would stay open (and hold
      // a connection) for the rest of the session: end it once the server has seen the cancel.
      const cancelled = cancelledRequest(message);
      if (cancelled !== undefined) setImmediate(() => this.endCancelled(cancelled));
    };
    this.streaming.onclose = () => this.onclose?.();
    this.streaming.onerror = (err) => this.onerror?.(err);
    await this.streaming.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const id = options?.relatedRequestId ?? responseId(message);
    const plain = id === undefined ? undefined : this.plain.get(keyOf(id));
    // A plain request's notifications (there are none by the rule above) would be dropped in JSON mode.
    return plain ? plain.transport.send(message, options) : this.streaming.send(message, options);
  }

  async close(): Promise<void> {
    for (const [key] of this.plain.snapshot()) this.endPlain(key);
    await this.streaming.close();
  }

  /** Serves one HTTP exchange of this session; `body` is the parsed body of a POST. */
  async handleRequest(req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<void> {
    const id = req.method === 'POST' ? plainRequestId(body) : undefined;
    const key = id === undefined ? undefined : keyOf(id);
    if (key === undefined || this.plain.has(key)) {
      await this.streaming.handleRequest(req, res, body);
      return;
    }
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    transport.onmessage = (message, extra) => this.onmessage?.(message, extra);
    transport.onerror = (err) => this.onerror?.(err);
    this.plain.set(key, { transport, res });
    try {
      await transport.start();
      await transport.handleRequest(req, res, body);
    } finally {
      if (this.plain.get(key)?.transport === transport) this.plain.delete(key);
    }
  }

  private endCancelled(id: RequestId): void {
    if (this.plain.has(keyOf(id))) this.endPlain(keyOf(id));
    else this.streaming.closeSSEStream(id);
  }

  /**
   * Ends a plain exchange that will get no result (cancelled, or the session closing) the way the
   * session transport ends such a stream: an SSE stream with nothing in it, closed. The SDK client
   * reads that as "no answer" without an error; its call has already ended on its side.
   */
  private endPlain(key: string): void {
    const exchange = this.plain.get(key);
    if (!exchange) return;
    this.plain.delete(key);
    const { res, transport } = exchange;
    if (!res.headersSent && !res.writableEnded) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.end();
    }
    void transport.close().catch(() => undefined);
  }
}

/** The id of a single JSON-RPC request that can be answered in JSON; undefined for anything else. */
function plainRequestId(body: unknown): RequestId | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { id, method, params } = body as { id?: unknown; method?: unknown; params?: { _meta?: { progressToken?: unknown } } };
  if (typeof method !== 'string' || method === 'initialize') return undefined;
  if (typeof id !== 'string' && typeof id !== 'number') return undefined;
  if (params?._meta?.progressToken !== undefined) return undefined;
  return id;
}

/** A request id as a table key: 7 and "7" are different ids. */
function keyOf(id: RequestId): string {
  return typeof id === 'number' ? `#${id}` : `'${id}`;
}

/** The id a response answers (undefined for requests and notifications). */
function responseId(message: JSONRPCMessage): RequestId | undefined {
  return 'id' in message && !('method' in message) ? message.id : undefined;
}

/** A client cancelled one of its requests (or gave up waiting, which the SDK sends the same way). */
function cancelledRequest(message: JSONRPCMessage): RequestId | undefined {
  if (!('method' in message) || message.method !== 'notifications/cancelled' || 'id' in message) return undefined;
  const id = (message.params as { requestId?: unknown } | undefined)?.requestId;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

import { z } from 'zod';
import { StepFailure } from '../../protocol/errors.js';
import type { ToolHandler } from '../types.js';
import { describeError, failureFromAbort, parseArgs } from '../failures.js';
import { checkOutboundUrl } from './hosts.js';
import { methodOf } from './method.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;

const RequestArgs = z.object({
  url: z.string().min(1),
  method: z
    .string()
    .regex(/^[A-Za-z]+$/, 'an HTTP method such as GET or POST')
    .transform((m) => m.toUpperCase())
    .default('GET'),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.unknown().optional(),
  timeout_ms: z.number().int().positive().max(600_000).optional(),
});
const Settings = z
  .object({ base_url: z.string().optional(), headers: z.record(z.string(), z.string()).optional() })
  .loose();

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** JSON-parsed when the response says it is JSON, else text. */
  body: unknown;
}

/**
 * `http.request`: one HTTP call to a host on the node's allow-list. Redirects are followed by
 * hand so that every hop is checked against the allow-list too. Any status is a result (branch on
 * `status`); only transport problems fail the step.
 */
export const httpTool: ToolHandler = {
  type: 'http',
  methods: ['request'],
  schemas: { request: { description: 'One HTTP request to an allowed host; returns {status, headers, body} (JSON bodies parsed)', args: RequestArgs } },
  async run(call, ctx) {
    methodOf(call, 'http', ['request'], 'request');
    const args = parseArgs(RequestArgs, call.args, 'http.request');
    const settings = parseArgs(Settings, call.settings, 'http settings');
    const allow = ctx.env.allow.http_hosts;
    let url = checkOutboundUrl(settings.base_url ? new URL(args.url, settings.base_url).href : args.url, allow, 'http');
    const timeoutMs = args.timeout_ms ?? DEFAULT_TIMEOUT_MS;
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
    const headers: Record<string, string> = { ...settings.headers, ...args.headers };
    // The receiving API can deduplicate a retried or re-dispatched call (the same key every time).
    if (call.idempotency_key && !Object.keys(headers).some((h) => h.toLowerCase() === 'idempotency-key')) headers['Idempotency-Key'] = call.idempotency_key;
    let method = args.method;
    let body = encodeBody(args.body, headers);

    for (let hop = 0; ; hop += 1) {
      let res: Response;
      try {
        res = await fetch(url, { method, headers, body, redirect: 'manual', signal });
      } catch (err) {
        if (ctx.signal.aborted) throw failureFromAbort(ctx.signal);
        if (signal.aborted) throw new StepFailure('timeout', `http: request to ${url.host} timed out after ${timeoutMs} ms`);
        throw new StepFailure('tool_error', `http: cannot reach ${url.origin}: ${describeError(err)}`);
      }
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        if (hop >= MAX_REDIRECTS) throw new StepFailure('tool_error', `http: more than ${MAX_REDIRECTS} redirects from ${args.url}`, false);
        url = checkOutboundUrl(new URL(location, url).href, allow, 'http (redirect)');
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          delete headers['content-type'];
        }
        continue;
      }
      try {
        return await readResult(res, ctx.env.max_output_bytes);
      } catch (err) {
        if (ctx.signal.aborted) throw failureFromAbort(ctx.signal);
        if (signal.aborted) throw new StepFailure('timeout', `http: response from ${url.host} timed out after ${timeoutMs} ms`);
        throw err;
      }
    }
  },
};

/** Objects go as JSON (with a content-type unless one is given); strings as they are. */
function encodeBody(body: unknown, headers: Record<string, string>): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  return JSON.stringify(body);
}

async function readResult(res: Response, maxBytes: number): Promise<HttpResult> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw new StepFailure('tool_error', `http: response body is over the node's max_output_bytes limit of ${maxBytes} bytes`, false);
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const type = res.headers.get('content-type') ?? '';
  let body: unknown = text;
  if (/\bjson\b|\+json/i.test(type) && text.length > 0) {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = text; // a server that mislabels its body: hand over what it sent
    }
  }
  return { status: res.status, headers: Object.fromEntries(res.headers), body };
}

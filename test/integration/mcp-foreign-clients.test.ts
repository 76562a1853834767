/**
 * MCP over HTTP as clients nobody here wrote see it (issue 14): the SDK's 1.x client and the split
 * 2.x client package, plain and negotiating. Schemas pass strict checks (ajv in strict mode, every
 * value typed); a bad argument is an `isError` result naming the field (2025-11-25, SEP-1303); a
 * cancelled or timed-out call's exchange ends; a call is answered in JSON unless it asked for
 * progress (then on an SSE stream); a step longer than the client's timeout completes
 * on progress heartbeats; progress always grows; a malformed initialize is named.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client as Client2, StreamableHTTPClientTransport as StreamableHTTPClientTransport2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { Ajv } from 'ajv';
import type { MeshNode } from '../../src/node/index.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { call, connectHttp, ECHO10, mcpUrl, sleepWorkflow, structured, text, until, type ExecutionView } from './mcp-helpers.js';

/** A fetch for the SDK client that counts tool-call response streams the server has not ended yet. */
function countingFetch(): { fetch: typeof fetch; open: () => number } {
  let open = 0;
  const counted: typeof fetch = async (input, init) => {
    if (init?.method !== 'POST') return fetch(input, init);
    // Open from the request on: a plain call is answered in JSON, so nothing arrives until its end.
    open++;
    let ended = false;
    const end = () => {
      if (!ended) (ended = true), open--;
    };
    let res: Response;
    try {
      res = await fetch(input, init);
    } catch (err) {
      end();
      throw err;
    }
    if (!res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      end();
      return res;
    }
    // flush runs when the server ends the stream (not when the client merely stops reading).
    const body = res.body.pipeThrough(new TransformStream({ flush: end }));
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { fetch: counted, open: () => open };
}

/** A subschema is typed: one `type` string, or a reference or combination of typed ones. */
function untypedPaths(schema: unknown, path = '#'): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const s = schema as Record<string, unknown>;
  const out: string[] = [];
  if (Array.isArray(s.type)) out.push(`${path}: type is a list (${JSON.stringify(s.type)})`);
  const typed = typeof s.type === 'string' || ['$ref', 'anyOf', 'oneOf', 'allOf', 'enum', 'const'].some((k) => k in s);
  if (!typed && path !== '#') out.push(`${path}: no type`);
  const sub = (v: unknown, p: string) => out.push(...untypedPaths(v, p));
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) sub(v, `${path}/properties/${k}`);
  for (const [k, v] of Object.entries((s.definitions ?? s.$defs ?? {}) as Record<string, unknown>)) sub(v, `${path}/definitions/${k}`);
  if (s.items !== undefined) sub(s.items, `${path}/items`);
  if (typeof s.additionalProperties === 'object') sub(s.additionalProperties, `${path}/additionalProperties`);
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) if (Array.isArray(s[k])) (s[k] as unknown[]).forEach((v, i) => sub(v, `${path}/${k}/${i}`));
  return out;
}

describe('MCP as foreign clients see it', () => {
  let nats: TestNats;
  let node: MeshNode;
  let peer: MeshNode;
  let client: Client;

  before(async () => {
    nats = await startTestNats();
    // A heartbeat every 400 ms: well inside the 2 s client timeout of the long-step test below.
    node = await startTestNode(nats.url, { name: 'foreign-a' }, { WFMESH_MCP_PROGRESS_MS: '400' });
    peer = await startTestNode(nats.url, { name: 'foreign-b' });
    await until('the nodes see each other', async () => node.registry.size === 2);
    client = await connectHttp(mcpUrl(node));
  });
  after(async () => {
    await client?.close().catch(() => undefined);
    await stopAll([node, peer].filter(Boolean));
    await nats?.stop();
  });

  test('every tool schema passes strict checks: ajv strict mode, every value typed, results validate', async () => {
    const { tools } = await client.listTools();
    assert.equal(tools.length, 10);
    const ajv = new Ajv({ strict: true, allErrors: true });
    const problems: string[] = [];
    const validators = new Map<string, (v: unknown) => boolean>();
    for (const tool of tools as Tool[]) {
      for (const [kind, schema] of [['input', tool.inputSchema], ['output', tool.outputSchema]] as const) {
        try {
          const validate = ajv.compile(schema as object);
          if (kind === 'output') validators.set(tool.name, validate);
        } catch (err) {
          problems.push(`${tool.name} ${kind}: ${(err as Error).message}`);
        }
        problems.push(...untypedPaths(schema).map((p) => `${tool.name} ${kind}: ${p}`));
      }
    }
    assert.deepEqual(problems, []);
    // The structured results a client receives match the advertised output schemas.
    const run = structured<ExecutionView>(await call(client, 'execute_workflow', { yaml: ECHO10, input: { nested: [1, 'two', null] }, mode: 'sync' }));
    const results: [string, CallToolResult][] = [
      ['execute_workflow', await call(client, 'execute_workflow', { yaml: ECHO10, mode: 'sync' })],
      ['get_execution', await call(client, 'get_execution', { execution_id: run.execution_id })],
      ['mesh_status', await call(client, 'mesh_status')],
      ['list_executions', await call(client, 'list_executions', { limit: 3 })],
      ['validate_workflow', await call(client, 'validate_workflow', { yaml: ECHO10 })],
    ];
    for (const [name, res] of results) assert.ok(validators.get(name)!(res.structuredContent), `${name}: ${JSON.stringify(ajv.errors)}`);
  });

  test('a bad argument is an isError result naming the field; an unknown tool is a protocol error', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ yaml: 42 }, /yaml/],
      [{ yaml: ECHO10, mode: 'warp' }, /mode/],
      [{ yaml: ECHO10, timeout_s: -1 }, /timeout_s/],
      [{ yaml: ECHO10, surprise: true }, /surprise/],
      [{ input: 'x' }, /exactly one of yaml .* or workflow_name/],
    ];
    for (const [args, field] of cases) {
      const res = await call(client, 'execute_workflow', args);
      assert.equal(res.isError, true, JSON.stringify(args));
      assert.match(text(res), field);
      assert.match(text(res), /Input validation error: (invalid arguments for tool|Invalid arguments for tool) execute_workflow/i);
    }
    const missing = await call(client, 'get_execution', {});
    assert.equal(missing.isError, true);
    assert.match(text(missing), /execution_id/);
    await assert.rejects(call(client, 'no_such_tool'), (e: Error & { code?: number }) => e.code === -32602 && /unknown tool "no_such_tool".*execute_workflow/.test(e.message));
  });

  for (const negotiation of ['plain', 'auto'] as const) {
    test(`the 2.x client package (${negotiation}): tools, a run, an isError for a bad argument`, async () => {
      const c2 = new Client2({ name: `wfmesh-v2-${negotiation}`, version: '1.0.0' }, negotiation === 'auto' ? { versionNegotiation: { mode: 'auto' } } : {});
      await c2.connect(new StreamableHTTPClientTransport2(new URL(mcpUrl(node))));
      try {
        assert.equal((await c2.listTools()).tools.length, 10);
        const run = await c2.callTool({ name: 'execute_workflow', arguments: { yaml: ECHO10, input: 'v2', mode: 'sync' } });
        assert.equal((run.structuredContent as { status: string }).status, 'completed');
        const bad = await c2.callTool({ name: 'validate_workflow', arguments: { yml: 'typo' } });
        assert.equal(bad.isError, true);
        assert.match(JSON.stringify(bad.content), /yaml|yml/);
      } finally {
        await c2.close();
      }
    });
  }

  test('a cancelled or timed-out call ends its exchange (no connection held until the session ends)', async () => {
    const counter = countingFetch();
    const c = new Client({ name: 'wfmesh-cancel', version: '1.0.0' });
    await c.connect(new StreamableHTTPClientTransport(new URL(mcpUrl(node)), { fetch: counter.fetch }));
    try {
      const long = { yaml: sleepWorkflow(60_000), mode: 'sync' };
      // Without a progress token the call is answered in JSON; with one, on an SSE stream: both end.
      for (const onprogress of [undefined, undefined, () => undefined]) {
        const controller = new AbortController();
        const pending = call(c, 'execute_workflow', long, { signal: controller.signal, ...(onprogress && { onprogress }) });
        await until('its exchange is open', async () => counter.open() === 1);
        controller.abort();
        await assert.rejects(pending);
      }
      await assert.rejects(call(c, 'execute_workflow', long, { timeout: 500 }), /timed out/i);
      await until('every cancelled exchange is ended by the server', async () => counter.open() === 0, 10_000);
      await until('no execution left running', async () => {
        const list = structured<{ executions: ExecutionView[] }>(await call(c, 'list_executions', { status: 'running' }));
        return list.executions.length === 0;
      });
      // The session still works.
      assert.equal(structured<{ valid: boolean }>(await call(c, 'validate_workflow', { yaml: ECHO10 })).valid, true);
    } finally {
      await c.close();
    }
  });

  test('a 5 s step completes under a 2 s client timeout, on progress heartbeats that always grow', async () => {
    const notes: { progress: number; total?: number; message?: string }[] = [];
    const res = await call(client, 'execute_workflow', { yaml: sleepWorkflow(5_000), input: 'slow', mode: 'sync' }, {
      timeout: 2_000,
      resetTimeoutOnProgress: true,
      onprogress: (p) => notes.push(p),
    });
    assert.equal(structured<ExecutionView>(res).status, 'completed', text(res));
    for (let i = 1; i < notes.length; i++) assert.ok(notes[i]!.progress > notes[i - 1]!.progress, `progress grows: ${notes.map((n) => n.progress).join(', ')}`);
    const isBeat = (n: { message?: string }) => /still working/.test(n.message ?? '');
    const beats = notes.filter(isBeat);
    assert.ok(beats.length >= 3, `heartbeats while the step ran: ${JSON.stringify(notes.map((n) => n.message))}`);
    assert.ok(beats.some((b) => /nap running .*\(still working, \d+ s\)/.test(b.message ?? '')), 'a heartbeat says which step runs');
    // Each heartbeat stays below the next real value: the real ones are still the steps done.
    notes.forEach((n, i) => {
      const next = notes.slice(i + 1).find((m) => !isBeat(m));
      if (isBeat(n) && next) assert.ok(n.progress < next.progress && next.progress - Math.floor(next.progress * 2) / 2 === 0, JSON.stringify([n, next]));
    });
    assert.equal(notes.at(-1)?.progress, 3);
    assert.equal(notes.at(-1)?.total, 3);
  });

  test('execute_generated_workflow progress always grows (generating counts as the first step)', async () => {
    const notes: { progress: number; total?: number; message?: string }[] = [];
    const res = await call(client, 'execute_generated_workflow', { description: 'echo the input back', input: 'hi', mode: 'sync' }, { onprogress: (p) => notes.push(p) });
    assert.equal(structured<ExecutionView>(res).status, 'completed', text(res));
    const values = notes.map((n) => n.progress);
    for (let i = 1; i < values.length; i++) assert.ok(values[i]! > values[i - 1]!, `strictly increasing: ${values.join(', ')}`);
    assert.equal(values[0], 0);
    assert.equal(notes.at(-1)?.progress, notes.at(-1)?.total, 'ends at its total');
  });

  test('a call without a progress token is answered in one JSON body; one with a token, on an SSE stream with its progress first', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
    const post = (body: unknown, session?: string) => fetch(mcpUrl(node), { method: 'POST', headers: { ...headers, ...(session && { 'mcp-session-id': session }) }, body: JSON.stringify(body) });
    const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-http', version: '1' } } });
    const session = init.headers.get('mcp-session-id')!;
    await init.body?.cancel();
    assert.equal((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status, 202);

    const plain = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'execute_workflow', arguments: { yaml: ECHO10, input: 'hi', mode: 'sync' } } }, session);
    assert.equal(plain.status, 200);
    assert.match(plain.headers.get('content-type') ?? '', /^application\/json/);
    const answer = (await plain.json()) as { id: number; result: { structuredContent: ExecutionView } };
    assert.equal(answer.id, 2);
    assert.equal(answer.result.structuredContent.status, 'completed');

    const args = { name: 'execute_workflow', arguments: { yaml: ECHO10, input: 'hi', mode: 'sync' }, _meta: { progressToken: 'p-1' } };
    const streamed = await post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: args }, session);
    assert.match(streamed.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = (await streamed.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as { id?: number; method?: string; params?: { progressToken?: string } });
    const progress = events.filter((e) => e.method === 'notifications/progress');
    assert.ok(progress.length >= 10, `progress notifications: ${progress.length}`);
    assert.ok(progress.every((e) => e.params?.progressToken === 'p-1'));
    // The result comes last; the ping before it (the client's cue to handle the progress first) is
    // a request from the server, unanswered here, so the result waits out its timeout.
    assert.equal(events.at(-1)?.id, 3);
  });

  test('an initialize without protocolVersion is told what is missing, not "Server not initialized"', async () => {
    const res = await fetch(mcpUrl(node), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { capabilities: {}, clientInfo: { name: 'curl', version: '1' } } }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { id: number; error: { code: number; message: string } };
    assert.equal(body.id, 1);
    assert.equal(body.error.code, -32602);
    assert.match(body.error.message, /params\.protocolVersion/);
    const notJson = await fetch(mcpUrl(node), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":' });
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { error: { code: number } }).error.code, -32700);
  });
});

/**
 * Tool-calling agents run in sync mode (in this process, no mesh) against the OpenAI-compatible
 * test server: what local servers send that the OpenAI wire format does not quite allow.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSync } from '../../src/cli/commands/run.js';
import type { ExecutionRecord } from '../../src/protocol/execution.js';
import { formatIssue, validateWorkflowText } from '../../src/workflow/index.js';
import { startMcpTestServer } from '../harness/mcp-server.js';
import { scripted, startOpenAiServer, toolResults, type OpenAiReply, type OpenAiTestServer } from '../harness/openai-server.js';

const saved = { base: process.env.OPENAI_BASE_URL, key: process.env.OPENAI_API_KEY, model: process.env.WFMESH_MODEL, cwd: process.cwd() };
let dir: string;

before(() => {
  // The filesystem tool's root in sync mode is the working directory.
  dir = mkdtempSync(join(tmpdir(), 'wfmesh-agent-sync-'));
  writeFileSync(join(dir, 'notes.txt'), 'hello notes\n');
  process.chdir(dir);
  process.env.OPENAI_API_KEY = 'test';
  process.env.WFMESH_MODEL = 'test-model';
});

after(() => {
  process.chdir(saved.cwd);
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of [['OPENAI_BASE_URL', saved.base], ['OPENAI_API_KEY', saved.key], ['WFMESH_MODEL', saved.model]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const WORKFLOW = (agentExtra = ''): string => `
agents:
  - id: reader
    system_prompt: read notes
    tools: [filesystem, sleep]
${agentExtra}
workflows:
  main:
    - id: w
      steps:
        - {id: ask, agent: reader, input: "\${context.user_input}", output: {to: user}}
`;

/** Runs WORKFLOW with the model answering `script`; returns the record and the server. */
async function run(script: (OpenAiReply | (() => OpenAiReply))[], agentExtra = '', signal = new AbortController().signal): Promise<{ record: ExecutionRecord; llm: OpenAiTestServer }> {
  const llm = await startOpenAiServer(scripted(script));
  process.env.OPENAI_BASE_URL = llm.url;
  try {
    const v = validateWorkflowText(WORKFLOW(agentExtra));
    assert.deepEqual(v.errors.map(formatIssue), []);
    const record = await runSync(v.document!, undefined, 'go', [], signal);
    return { record, llm };
  } finally {
    await llm.close();
  }
}

/** A chat completion whose one message calls `toolCalls`, exactly as given (no harness defaults). */
const rawCalls = (toolCalls: unknown[]): OpenAiReply => ({
  status: 200,
  body: {
    id: 'chatcmpl-raw',
    object: 'chat.completion',
    created: 0,
    model: 'test-model',
    choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: toolCalls }, finish_reason: 'tool_calls' }],
  },
});

const callsOf = (r: ExecutionRecord) => r.steps.find((s) => s.id === 'ask')?.tool_calls ?? [];

describe('tool calls as local servers send them', () => {
  test('a call without "type" is run, not dropped', async () => {
    const { record } = await run([rawCalls([{ id: 'a', function: { name: 'filesystem__read_file', arguments: '{"path":"notes.txt"}' } }]), { content: 'done' }]);
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    assert.deepEqual(callsOf(record).map((c) => [c.name, c.status, c.result]), [['filesystem__read_file', 'ok', 'hello notes']]);
  });

  test('arguments as an object, or none, are arguments (not a JavaScript error for the model)', async () => {
    const { record, llm } = await run([
      rawCalls([
        { id: 'a', type: 'function', function: { name: 'filesystem__read_file', arguments: { path: 'notes.txt' } } },
        { id: 'b', type: 'function', function: { name: 'filesystem__list_dir' } },
      ]),
      { content: 'done' },
    ]);
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    assert.deepEqual(callsOf(record).map((c) => c.status), ['ok', 'ok'], JSON.stringify(callsOf(record)));
    const sent = llm.requests[1]!.messages.find((m) => m.role === 'assistant')!.tool_calls!;
    assert.deepEqual(sent.map((c) => c.function.arguments), ['{"path":"notes.txt"}', ''], 'sent back as JSON text, as the wire wants');
  });

  test('missing and repeated call ids get ids of their own, so that each result answers one call', async () => {
    const { record, llm } = await run([
      rawCalls([
        { type: 'function', function: { name: 'filesystem__read_file', arguments: '{"path":"notes.txt"}' } },
        { id: 'x', type: 'function', function: { name: 'filesystem__read_file', arguments: '{"path":"notes.txt"}' } },
        { id: 'x', type: 'function', function: { name: 'filesystem__read_file', arguments: '{"path":"missing.txt"}' } },
      ]),
      rawCalls([{ id: 'x', type: 'function', function: { name: 'filesystem__list_dir', arguments: '{}' } }]),
      { content: 'done' },
    ]);
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    const last = llm.requests[2]!;
    const ids = last.messages.filter((m) => m.role === 'assistant').flatMap((m) => m.tool_calls!.map((c) => c.id));
    assert.equal(ids.length, 4);
    assert.equal(new Set(ids).size, 4, `ids: ${ids.join(', ')}`);
    assert.ok(ids.every((id) => typeof id === 'string' && id), 'every call has an id');
    const results = toolResults(last);
    assert.equal(results.size, 4);
    assert.equal(results.get(ids[1]!), 'hello notes\n');
    assert.match(results.get(ids[2]!)!, /no such file/);
  });
});

describe('many calls in one turn', () => {
  test('a turn of 30 calls runs them all without a listener-leak warning on stderr', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(`${w.name}: ${w.message}`);
    };
    process.on('warning', onWarning);
    try {
      const { record } = await run([{ tool_calls: Array.from({ length: 30 }, () => ({ name: 'filesystem__read_file', arguments: { path: 'notes.txt' } })) }, { content: 'done' }]);
      assert.equal(record.status, 'completed', JSON.stringify(record.error));
      assert.equal(callsOf(record).filter((c) => c.status === 'ok').length, 30);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.filter((w) => /MaxListeners/.test(w)), []);
  });
});

describe('where calls ran', () => {
  test('a call that failed where it ran names that node; a call never run (bad arguments) names none', async () => {
    const { record } = await run([
      { tool_calls: [{ name: 'filesystem__read_file', arguments: { path: 'missing.txt' } }, { name: 'filesystem__read_file', arguments: { path: 7 } }, { name: 'filesystem__read_file', arguments: { path: 'notes.txt' } }] },
      { content: 'done' },
    ]);
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    const [missing, invalid, read] = callsOf(record);
    assert.equal(read!.status, 'ok');
    assert.ok(read!.node, 'a call that ran names its node');
    assert.equal(missing!.status, 'error');
    assert.match(missing!.error ?? '', /no such file/);
    assert.equal(missing!.node, read!.node, JSON.stringify(missing));
    assert.equal(invalid!.status, 'error');
    assert.equal(invalid!.node, undefined, JSON.stringify(invalid));
  });
});

describe('a tool-calling step that ends while a call runs', () => {
  test('cancelled: the call in flight is recorded as ended by the cancellation, not running for ever', async () => {
    const cancel = new AbortController();
    const { record } = await run([
      () => {
        // Cancelled once the call has started (it sleeps far longer).
        setTimeout(() => cancel.abort(new Error('stopped by the user')), 300);
        return { tool_calls: [{ name: 'sleep__sleep', arguments: { ms: 30_000 } }] };
      },
      { content: 'never asked' },
    ], '', cancel.signal);
    assert.equal(record.status, 'cancelled');
    const calls = callsOf(record);
    assert.equal(calls.length, 1, JSON.stringify(record.steps));
    assert.equal(calls[0]!.status, 'error', JSON.stringify(calls[0]));
    assert.match(calls[0]!.error ?? '', /cancelled/);
    assert.ok(calls[0]!.duration_ms !== undefined);
  });
});

describe('a method filter on an mcpremote tool', () => {
  test('a name its server does not list fails the step, naming it and what the server lists (a second, valid name does not hide it)', async () => {
    const mcp = await startMcpTestServer();
    const llm = await startOpenAiServer(scripted([{ content: 'never asked' }]));
    process.env.OPENAI_BASE_URL = llm.url;
    const hosts = process.env.WFMESH_HTTP_HOSTS;
    process.env.WFMESH_HTTP_HOSTS = '127.0.0.1';
    try {
      const v = validateWorkflowText(`
tools:
  - {id: calc, type: mcpremote, settings: {mcp_url: "${mcp.url}"}}
agents:
  - {id: reader, system_prompt: add, tools: [calc.add, calc.ad]}
workflows:
  main: [{id: w, steps: [{id: ask, agent: reader, input: go, output: {to: user}}]}]
`);
      assert.deepEqual(v.errors.map(formatIssue), []);
      const record = await runSync(v.document!, undefined, 'go', [], new AbortController().signal);
      assert.equal(record.status, 'failed');
      assert.match(record.error?.message ?? '', /tool "calc" names "ad", which its MCP server does not list \(it lists [^)]*\badd\b/);
      assert.equal(llm.requests.length, 0, 'the model is not asked with a tool missing');
    } finally {
      if (hosts === undefined) delete process.env.WFMESH_HTTP_HOSTS;
      else process.env.WFMESH_HTTP_HOSTS = hosts;
      await llm.close();
      await mcp.close();
    }
  });
});

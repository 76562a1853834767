/**
 * MCP over Streamable HTTP on two real nodes sharing one JetStream: every tool through the SDK's
 * own Client, each execution mode, progress, cancellation (by request abort and by
 * cancel_execution through the other node), and reads through a node that did not start the run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { MeshNode } from '../../src/node/index.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { call, connectHttp, ECHO10, FAILING, mcpUrl, pinStep, sleepWorkflow, structured, text, until, type ExecutionView } from './mcp-helpers.js';

const TOOLS = [
  'cancel_execution',
  'execute_generated_workflow',
  'execute_workflow',
  'generate_workflow',
  'get_execution',
  'list_executions',
  'list_workflows',
  'mesh_status',
  'save_workflow',
  'validate_workflow',
];

describe('MCP over Streamable HTTP, two nodes', () => {
  let nats: TestNats;
  let a: MeshNode;
  let b: MeshNode;
  let ca: Client;
  let cb: Client;

  before(async () => {
    nats = await startTestNats();
    a = await startTestNode(nats.url, { name: 'mcp-a' });
    b = await startTestNode(nats.url, { name: 'mcp-b' });
    await until('a and b see each other', async () => a.registry.size === 2 && b.registry.size === 2);
    ca = await connectHttp(mcpUrl(a));
    cb = await connectHttp(mcpUrl(b));
  });
  after(async () => {
    await Promise.allSettled([ca?.close(), cb?.close()]);
    await stopAll([a, b].filter(Boolean));
    await nats?.stop();
  });

  test('lists every tool, each with input and output schemas', async () => {
    const { tools } = await ca.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
    for (const t of tools) {
      assert.equal(t.inputSchema.type, 'object', t.name);
      assert.equal(t.outputSchema?.type, 'object', t.name);
      assert.ok(t.description && t.description.length > 20, t.name);
    }
  });

  test('validate_workflow: valid, and invalid with path and line', async () => {
    const ok = structured<{ valid: boolean; errors: unknown[] }>(await call(ca, 'validate_workflow', { yaml: ECHO10 }));
    assert.equal(ok.valid, true);
    const bad = structured<{ valid: boolean; errors: { path: string; line?: number; message: string }[] }>(
      await call(ca, 'validate_workflow', { yaml: 'workflows:\n  main:\n    - {id: a, tool: nope}\n' }),
    );
    assert.equal(bad.valid, false);
    assert.equal(bad.errors[0]?.path, 'workflows.main.steps[0].tool');
    assert.equal(typeof bad.errors[0]?.line, 'number');
  });

  for (const mode of ['sync', 'distributed', 'isolated'] as const) {
    test(`execute_workflow in ${mode} mode: a 10-step chain, its record readable through the other node`, async () => {
      // Off the entry node, a step runs where it must: e5 is pinned to node B (sync keeps every step on A).
      const yaml = mode === 'sync' ? ECHO10 : pinStep(ECHO10, 'e5', 'mcp-b');
      const res = await call(ca, 'execute_workflow', { yaml, input: 'hello', mode });
      assert.equal(res.isError, undefined, text(res));
      const r = structured<ExecutionView>(res);
      assert.equal(r.status, 'completed');
      assert.deepEqual(r.output, { n: 10, prev: 9 });
      assert.equal(r.steps.length, 10);
      assert.ok(r.steps.every((s) => s.status === 'completed' && s.attempts === 1 && s.node));
      if (mode === 'sync') assert.ok(r.steps.every((s) => s.node === 'mcp-a'), 'sync runs on the entry node');
      else assert.equal(r.steps.find((s) => s.id === 'e5')?.node, 'mcp-b', `placement: ${r.steps.map((s) => `${s.id}@${s.node}`).join(' ')}`);
      assert.equal(r.requested_by, 'mcp:http 127.0.0.1 (wfmesh-test)');
      assert.equal(r.coordinator, 'mcp-a');
      assert.deepEqual(JSON.parse(text(res)), r, 'the text content is a JSON copy');

      const seen = structured<ExecutionView & { input: unknown }>(await call(cb, 'get_execution', { execution_id: r.execution_id }));
      assert.equal(seen.status, 'completed');
      assert.equal(seen.input, 'hello');
      assert.deepEqual(seen.output, r.output);
      assert.equal(seen.steps.length, 10);
    });
  }

  test('async mode returns the id at once; the execution completes and any node reads it', async () => {
    const r = structured<ExecutionView>(await call(ca, 'execute_workflow', { yaml: sleepWorkflow(300), input: 'later', mode: 'async' }));
    assert.equal(r.status, 'running');
    const done = await until('async execution completes', async () => {
      const seen = structured<ExecutionView>(await call(cb, 'get_execution', { execution_id: r.execution_id }));
      return seen.status === 'completed' && seen;
    });
    assert.deepEqual(done.output, { done: true });
  });

  test('progress notifications: steps done / total with the current step', async () => {
    const notes: { progress: number; total?: number; message?: string }[] = [];
    const res = await call(ca, 'execute_workflow', { yaml: ECHO10, input: 'p', mode: 'sync' }, { onprogress: (p) => notes.push(p) });
    assert.equal(structured<ExecutionView>(res).status, 'completed');
    assert.ok(notes.length >= 3, `got ${notes.length} notifications`);
    for (let i = 1; i < notes.length; i++) assert.ok(notes[i]!.progress > notes[i - 1]!.progress, 'progress only grows');
    const last = notes[notes.length - 1]!;
    assert.equal(last.progress, 10);
    assert.equal(last.total, 10);
    assert.ok(notes.some((n) => /\d+\/10 steps done; e\d+ (running|completed)/.test(n.message ?? '')), JSON.stringify(notes.slice(0, 3)));
  });

  test('a failing workflow is an isError result naming the step and why, with its record', async () => {
    const res = await call(ca, 'execute_workflow', { yaml: FAILING, mode: 'sync' });
    assert.equal(res.isError, true);
    assert.match(text(res), /step "boom" failed \(invalid_args\): .*not JSON/);
    const r = structured<ExecutionView>(res);
    assert.equal(r.status, 'failed');
    assert.equal(r.error?.step, 'boom');
  });

  test('cancel_execution through node B stops a long execution coordinated by node A, steps included', async () => {
    const started = structured<ExecutionView>(await call(ca, 'execute_workflow', { yaml: sleepWorkflow(60_000), mode: 'async' }));
    const id = started.execution_id;
    const running = await until('the sleep step runs', async () => {
      const r = structured<ExecutionView>(await call(cb, 'get_execution', { execution_id: id }));
      return r.steps.find((s) => s.id === 'nap' && s.status === 'running') && r;
    });
    const napNode = running.steps.find((s) => s.id === 'nap')!.node;
    const cancelled = structured<{ execution_id: string; status: string }>(await call(cb, 'cancel_execution', { execution_id: id }));
    assert.deepEqual(cancelled, { execution_id: id, status: 'cancelled' });
    const r = structured<ExecutionView>(await call(cb, 'get_execution', { execution_id: id }));
    assert.equal(r.status, 'cancelled');
    assert.equal(r.steps.find((s) => s.id === 'nap')?.status, 'cancelled');
    assert.equal(r.steps.find((s) => s.id === 'last')?.status, 'cancelled');
    // The step itself stopped on the node that ran it: nothing in flight there any more.
    const runner = napNode === 'mcp-a' ? a : b;
    await until('the step stopped where it ran', async () => runner.stepServer?.inflight === 0);
    const again = structured<{ status: string }>(await call(ca, 'cancel_execution', { execution_id: id }));
    assert.equal(again.status, 'cancelled', 'cancelling twice is harmless');
  });

  test('aborting a waiting execute_workflow request cancels the execution', async () => {
    const controller = new AbortController();
    const pending = call(ca, 'execute_workflow', { yaml: sleepWorkflow(60_000), mode: 'sync' }, { signal: controller.signal });
    const rows = await until('an execution is running', async () => {
      const list = structured<{ executions: ExecutionView[] }>(await call(cb, 'list_executions', { status: 'running' }));
      return list.executions.length > 0 && list.executions;
    });
    controller.abort();
    await assert.rejects(pending);
    const id = rows[0]!.execution_id;
    const r = await until('the execution is cancelled', async () => {
      const seen = structured<ExecutionView>(await call(cb, 'get_execution', { execution_id: id }));
      return seen.status === 'cancelled' && seen;
    });
    assert.equal(r.steps.find((s) => s.id === 'nap')?.status, 'cancelled');
    await until('no step in flight on A', async () => a.stepServer?.inflight === 0 && a.inflight === 0);
  });

  test('timeout_s fails the execution as a timeout', async () => {
    const res = await call(ca, 'execute_workflow', { yaml: sleepWorkflow(60_000), mode: 'sync', timeout_s: 0.3 });
    assert.equal(res.isError, true);
    const r = structured<ExecutionView>(res);
    assert.equal(r.status, 'failed');
    assert.equal(r.error?.type, 'timeout');
  });

  test('save_workflow through A, run by name through B, listed by both', async () => {
    const saved = structured<{ name: string; workflows: string[] }>(await call(ca, 'save_workflow', { name: 'chain10', yaml: ECHO10, description: 'ten echoes' }));
    assert.deepEqual(saved.workflows, ['main']);
    const list = structured<{ workflows: { name: string; description?: string; node: string }[] }>(await call(cb, 'list_workflows'));
    assert.deepEqual(list.workflows.find((w) => w.name === 'chain10'), { ...list.workflows.find((w) => w.name === 'chain10'), description: 'ten echoes', node: 'mcp-a' });
    const run = structured<ExecutionView>(await call(cb, 'execute_workflow', { workflow_name: 'chain10', input: 'x', mode: 'sync' }));
    assert.equal(run.status, 'completed');
    assert.equal(run.coordinator, 'mcp-b');
    const missing = await call(cb, 'execute_workflow', { workflow_name: 'nope', mode: 'sync' });
    assert.equal(missing.isError, true);
    assert.match(text(missing), /no saved workflow named "nope"/);
    const invalid = await call(ca, 'save_workflow', { name: 'broken', yaml: 'workflows: {main: [{id: a, tool: nope}]}' });
    assert.equal(invalid.isError, true);
    assert.match(text(invalid), /not saved.*unknown tool/s);
  });

  test('list_executions pages newest first across nodes, with a status filter', async () => {
    for (let i = 0; i < 3; i++) await call(i % 2 ? cb : ca, 'execute_workflow', { yaml: ECHO10, mode: 'sync' });
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = structured<{ executions: (ExecutionView & { created_at: string; steps_total: number })[]; next_cursor?: string }>(
        await call(cb, 'list_executions', { limit: 2, ...(cursor && { cursor }) }),
      );
      assert.ok(page.executions.length <= 2);
      ids.push(...page.executions.map((e) => e.execution_id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.equal(new Set(ids).size, ids.length, 'no execution twice');
    assert.ok(ids.length >= 10);
    const failed = structured<{ executions: ExecutionView[] }>(await call(ca, 'list_executions', { status: 'failed' }));
    assert.ok(failed.executions.length >= 1 && failed.executions.every((e) => e.status === 'failed'));
  });

  test('mesh_status shows both nodes and the NATS server', async () => {
    const s = structured<{ node: string; nodes: { name: string; mcp_url: string }[]; nats: { servers: string[]; jetstream: boolean } }>(await call(cb, 'mesh_status'));
    assert.equal(s.node, 'mcp-b');
    assert.deepEqual(s.nodes.map((n) => n.name), ['mcp-a', 'mcp-b']);
    assert.equal(s.nodes[0]?.mcp_url, mcpUrl(a));
    assert.equal(s.nats.jetstream, true);
    assert.ok(s.nats.servers.includes(nats.url));
  });

  test('generate_workflow and execute_generated_workflow (template generator: no LLM configured)', async () => {
    const g = structured<{ name: string; yaml: string; validation: { valid: boolean }; generator: string }>(
      await call(ca, 'generate_workflow', { description: 'echo the input back', complexity: 'simple' }),
    );
    assert.equal(g.generator, 'template');
    assert.equal(g.validation.valid, true);
    const v = structured<{ valid: boolean }>(await call(ca, 'validate_workflow', { yaml: g.yaml }));
    assert.equal(v.valid, true);
    const res = await call(cb, 'execute_generated_workflow', { description: 'echo the input back', input: 'hi', mode: 'sync' });
    const r = structured<ExecutionView & { yaml: string; generator: string }>(res);
    assert.equal(r.generator, 'template');
    assert.equal(r.status, 'completed', text(res));
  });

  test('bad arguments are isError results naming the field (SEP-1303); an unknown tool is an MCP error', async () => {
    for (const [tool, args, field] of [
      ['execute_workflow', { yaml: 42 }, /at yaml/],
      ['execute_workflow', { input: 'x' }, /exactly one of yaml .* or workflow_name/],
      ['get_execution', {}, /at execution_id/],
      ['get_execution', { execution_id: 'x', extra: 1 }, /Unrecognized key: "extra"/],
    ] as const) {
      const res = await call(ca, tool, args);
      assert.equal(res.isError, true, `${tool} ${JSON.stringify(args)}`);
      assert.match(text(res), field);
    }
    await assert.rejects(call(ca, 'no_such_tool'), (e: Error & { code?: number }) => e.code === -32602 && /unknown tool/.test(e.message));
    const missing = await call(ca, 'get_execution', { execution_id: 'never-existed' });
    assert.equal(missing.isError, true);
    assert.match(text(missing), /no execution never-existed/);
  });
});

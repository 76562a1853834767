/**
 * Agents that call tools, on a real mesh: real nats-server, real nodes, the real openai SDK against
 * the OpenAI-compatible test server (which answers with scripted tool_calls), a real MCP server.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MeshNode } from '../../src/node/index.js';
import type { ExecutionRecord, StepRecord } from '../../src/protocol/execution.js';
import { startMcpTestServer, type McpTestServer } from '../harness/mcp-server.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { firstUserMessage, startOpenAiServer, toolResults, type ChatRequest, type OpenAiHandler, type OpenAiTestServer } from '../harness/openai-server.js';
import { eventually } from '../harness/processes.js';

/** Answers each conversation (keyed by its first user message) with its own script. */
const conversations = new Map<string, OpenAiHandler>();

/** An HTTP API that answers a request only once a second one for the same token is in flight. */
interface Barrier {
  url: string;
  close(): Promise<void>;
}

async function startBarrier(): Promise<Barrier> {
  const waiting = new Map<string, (() => void)[]>();
  const server: Server = createServer((req, res) => {
    const token = (req.url ?? '').split('/').pop() ?? '';
    const answer = (together: boolean) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ together, token }));
    const queue = waiting.get(token) ?? [];
    if (queue.length >= 1) {
      waiting.delete(token);
      for (const release of queue) release();
      answer(true);
      return;
    }
    // Alone: wait for the partner; a sequential caller never gets one (bounded, so nothing hangs).
    const timer = setTimeout(() => {
      waiting.delete(token);
      answer(false);
    }, 20_000);
    queue.push(() => {
      clearTimeout(timer);
      answer(true);
    });
    waiting.set(token, queue);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const workflowYaml = (mcpUrl: string) => `
tools:
  - id: files
    type: filesystem
    description: the project notes
  - id: eu_api
    type: http
    requires: {region: eu-west}
  - id: us_api
    type: http
    requires: {region: us-east}
  - id: site_probe
    type: echo
    requires: {labels: {site: edge}}
  - id: calc
    type: mcpremote
    settings: {mcp_url: "${mcpUrl}"}
agents:
  - id: reader
    model: test-model
    system_prompt: Read the notes, then answer.
    tools: [files.read_file]
  - id: researcher
    model: test-model
    tools: [eu_api, us_api]
  - id: mathematician
    model: test-model
    tools: [calc]
  - id: stubborn
    model: test-model
    max_tool_rounds: 3
    tools: [echo]
  - id: sleeper
    model: test-model
    tools: [sleep]
  - id: eu_agent
    model: test-model
    requires: {region: eu-west}
    tools: [echo]
  - id: edge_agent
    model: edge-model
    tools: [site_probe]
  - id: structured
    model: test-model
    response_format: json
    tools: [files]
workflows:
  read:
    steps: [{id: research, agent: reader, input: "\${user_input}", output: {to: user}}]
  parallel:
    steps: [{id: research, agent: researcher, input: "\${user_input}", output: {to: user}}]
  remote:
    steps: [{id: compute, agent: mathematician, input: "\${user_input}", output: {to: user}}]
  forever:
    steps: [{id: repeat, agent: stubborn, input: "\${user_input}", output: {to: user}}]
  slow:
    steps: [{id: wait, agent: sleeper, input: "\${user_input}", output: {to: user}}]
  eu_bound:
    steps: [{id: think, agent: eu_agent, input: "\${user_input}", output: {to: user}}]
  edge:
    steps: [{id: probe, agent: edge_agent, input: "\${user_input}", timeout: 20s, output: {to: user}}]
  json:
    steps: [{id: answer, agent: structured, input: "\${user_input}", output: {to: user}}]
`;

const calls = (r: ExecutionRecord, id: string) => (r.steps.find((s) => s.id === id) as StepRecord).tool_calls ?? [];
const offered = (req: ChatRequest) => (req.tools ?? []).map((t) => t.function.name).sort();

describe('agents that call tools over the mesh', () => {
  let nats: TestNats;
  let llm: OpenAiTestServer;
  let mcp: McpTestServer;
  let barrier: Barrier;
  let yaml: string;
  const nodes: MeshNode[] = [];
  const byName = (name: string) => nodes.find((n) => n.name === name) as MeshNode;
  const run = (workflow: string, input: string): Promise<ExecutionRecord> =>
    nodes[0]!.executions!.start({ yaml, workflow, input, mode: 'distributed', wait: true });
  const requestsOf = (input: string) => llm.requests.filter((r) => firstUserMessage(r) === input);

  before(async () => {
    nats = await startTestNats();
    llm = await startOpenAiServer((req) => {
      const script = conversations.get(firstUserMessage(req));
      return script ? script(req) : { content: `no script for ${firstUserMessage(req)}` };
    });
    mcp = await startMcpTestServer();
    barrier = await startBarrier();
    yaml = workflowYaml(mcp.url);
    const root = mkdtempSync(join(tmpdir(), 'wfmesh-agent-tools-'));
    writeFileSync(join(root, 'notes.txt'), 'The launch is on Tuesday.');
    const env = { WFMESH_MODEL: 'test-model', OPENAI_BASE_URL: llm.url, WFMESH_HTTP_HOSTS: '127.0.0.1' };
    // Only files-us offers the filesystem; http runs on the EU nodes and on us-api.
    nodes.push(await startTestNode(nats.url, { name: 'files-us', region: 'us-east', tools: 'filesystem,echo,sleep', filesystemRoot: root }, { ...env, WFMESH_HTTP_HOSTS: '' }));
    nodes.push(await startTestNode(nats.url, { name: 'eu-1', region: 'eu-west', tools: 'http,echo,sleep,mcpremote' }, env));
    nodes.push(await startTestNode(nats.url, { name: 'eu-2', region: 'eu-west', tools: 'http,echo,sleep,mcpremote' }, env));
    nodes.push(await startTestNode(nats.url, { name: 'us-api', region: 'us-east', tools: 'http,echo,sleep,mcpremote' }, env));
    // One slot, the only node serving edge-model and the only one at the site.
    nodes.push(await startTestNode(nats.url, { name: 'edge-1', region: 'us-east', labels: ['site=edge'], tools: 'echo', maxConcurrency: 1 }, { ...env, WFMESH_MODEL: 'edge-model' }));
    await eventually(() => nodes.every((n) => n.registry.size === nodes.length), 'every node sees the others');
  });

  after(async () => {
    await stopAll(nodes);
    await Promise.all([nats.stop(), llm.close(), mcp.close(), barrier.close()]);
  });

  test('filesystem.read_file runs on the node that offers it; its result reaches the model; the record lists the call', async () => {
    const input = 'When is the launch?';
    conversations.set(input, (req) => {
      const results = [...toolResults(req).values()];
      if (results.length === 0) return { tool_calls: [{ name: 'files__read_file', arguments: { path: 'notes.txt' } }] };
      return { content: `The notes say: ${results[0]}` };
    });
    const admitted = byName('files-us').stepServer!.admitted;
    const r = await run('read', input);
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    assert.equal(r.output, 'The notes say: The launch is on Tuesday.');

    const [first, second] = requestsOf(input);
    assert.deepEqual(offered(first!), ['files__read_file'], 'the method filter keeps read_file only');
    const fn = first!.tools![0]!.function;
    assert.deepEqual((fn.parameters as { required?: string[] }).required, ['path'], 'the JSON Schema comes from the zod schema');
    assert.match(fn.description ?? '', /the project notes/);
    const toolMessage = second!.messages.find((m) => m.role === 'tool');
    assert.equal(toolMessage?.content, 'The launch is on Tuesday.');
    assert.equal(second!.messages.find((m) => m.role === 'assistant')?.tool_calls?.[0]?.function.name, 'files__read_file');

    const [call] = calls(r, 'research');
    assert.equal(calls(r, 'research').length, 1);
    assert.equal(call!.tool, 'files');
    assert.equal(call!.method, 'read_file');
    assert.equal(call!.node, 'files-us', 'the call ran where the tool is offered');
    assert.equal(call!.status, 'ok');
    assert.equal(call!.result, 'The launch is on Tuesday.');
    assert.match(call!.args, /notes\.txt/);
    assert.ok(typeof call!.duration_ms === 'number');
    assert.ok(byName('files-us').stepServer!.admitted > admitted, 'files-us ran a step for the call');
    // The stored record (any node reads it) has the call too.
    const stored = await byName('eu-2').executions!.get(r.execution_id);
    assert.equal(calls(stored!, 'research')[0]?.node, 'files-us');
  });

  test('two calls in one turn run at once, each where its requires puts it; EU calls never leave the EU', async () => {
    const inputs = Array.from({ length: 4 }, (_, i) => `compare prices ${i}`);
    for (const [i, input] of inputs.entries()) {
      conversations.set(input, (req) => {
        const results = [...toolResults(req).values()];
        if (results.length === 0) {
          return {
            tool_calls: [
              { name: 'eu_api__request', arguments: { url: `${barrier.url}/together/eu-us-${i}` } },
              { name: 'us_api__request', arguments: { url: `${barrier.url}/together/eu-us-${i}` } },
            ],
          };
        }
        return { content: results.map((t) => (JSON.parse(t) as { body: { together: boolean } }).body.together).join(',') };
      });
    }
    const records = await Promise.all(inputs.map((input) => run('parallel', input)));
    for (const r of records) {
      assert.equal(r.status, 'completed', JSON.stringify(r.error));
      // Each call was answered only because the other was in flight at the same time.
      assert.equal(r.output, 'true,true');
      const made = calls(r, 'research');
      assert.equal(made.length, 2);
      const eu = made.find((c) => c.tool === 'eu_api');
      const us = made.find((c) => c.tool === 'us_api');
      assert.ok(eu?.node === 'eu-1' || eu?.node === 'eu-2', `an EU-only call ran on ${eu?.node}`);
      assert.equal(us?.node, 'us-api');
      assert.deepEqual(made.map((c) => [c.round, c.index]), [[1, 0], [1, 1]]);
    }
  });

  test("an agent bound to the EU keeps its calls there, even of a tool with no requires of its own", async () => {
    const input = 'Echo four times, in the EU.';
    conversations.set(input, (req) => {
      if (toolResults(req).size === 0) return { tool_calls: [0, 1, 2, 3].map((i) => ({ name: 'echo__echo', arguments: { i } })) };
      return { content: 'done' };
    });
    const r = await run('eu_bound', input);
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    assert.ok(['eu-1', 'eu-2'].includes(r.steps[0]!.node ?? ''), `the agent ran on ${r.steps[0]!.node}`);
    const made = calls(r, 'think');
    assert.equal(made.length, 4);
    for (const c of made) assert.ok(c.node === 'eu-1' || c.node === 'eu-2', `an EU agent's call ran on ${c.node}`);
  });

  test("a call the chosen node's allow-list refuses goes back to the model as the error", async () => {
    const input = 'Fetch from a host nobody allows.';
    conversations.set(input, (req) => {
      const results = [...toolResults(req).values()];
      if (results.length === 0) return { tool_calls: [{ name: 'us_api__request', arguments: { url: 'http://blocked.example/data' } }] };
      return { content: results[0]! };
    });
    const r = await run('parallel', input);
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    assert.match(String(r.output), /^error \(denied\): http: host "blocked\.example" is not in this node.s allow-list/);
    const [call] = calls(r, 'research');
    assert.equal(call!.node, 'us-api');
    assert.equal(call!.status, 'error');
  });

  test('sync mode: the calls run on the entry node, and one it cannot run goes back to the model as infeasible', async () => {
    for (const [entry, expected] of [['files-us', /^read: The launch is on Tuesday\.$/], ['eu-1', /^read: error \(infeasible\): .*sync mode runs every step on eu-1, and .*offers tool "filesystem"/]] as const) {
      const input = `Read the notes here (${entry}).`;
      conversations.set(input, (req) => {
        const results = [...toolResults(req).values()];
        if (results.length === 0) return { tool_calls: [{ name: 'files__read_file', arguments: { path: 'notes.txt' } }] };
        return { content: `read: ${results[0]}` };
      });
      const r = await byName(entry).executions!.start({ yaml, workflow: 'read', input, mode: 'sync', wait: true });
      assert.equal(r.status, 'completed', JSON.stringify(r.error));
      assert.match(String(r.output), expected);
      assert.equal(r.steps[0]!.node, entry);
      if (entry === 'files-us') assert.equal(calls(r, 'research')[0]!.node, 'files-us');
    }
  });

  test('isolated mode refuses an agent with tools, saying why (a step process cannot reach the mesh)', async () => {
    const input = 'Read the notes in a child process.';
    conversations.set(input, () => ({ tool_calls: [{ name: 'files__read_file', arguments: { path: 'notes.txt' } }] }));
    const r = await nodes[0]!.executions!.start({ yaml, workflow: 'read', input, mode: 'isolated', wait: true });
    assert.equal(r.status, 'failed');
    assert.equal(r.error?.type, 'unsupported');
    assert.match(r.error?.message ?? '', /agent "reader" \(model test-model\) has tools, and this step cannot place tool calls here .*run it in distributed or sync mode/);
    assert.equal(requestsOf(input).length, 0, 'refused before the model was asked');
  });

  test('a full node still runs the calls of the agent it runs (the agent holds its only slot while it waits)', async () => {
    const input = 'Probe the site twice.';
    conversations.set(input, (req) => {
      if (toolResults(req).size === 0) return { tool_calls: [{ name: 'site_probe__echo', arguments: { n: 1 } }, { name: 'site_probe__echo', arguments: { n: 2 } }] };
      return { content: [...toolResults(req).values()].join(' ') };
    });
    const r = await run('edge', input);
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    assert.equal(r.output, '{"n":1} {"n":2}');
    assert.equal(r.steps[0]!.node, 'edge-1');
    assert.deepEqual(calls(r, 'probe').map((c) => c.node), ['edge-1', 'edge-1']);
  });

  test('a remote MCP server: its tools are listed, namespaced, called, and the result used', async () => {
    const input = 'What is 2 + 3?';
    conversations.set(input, (req) => {
      const results = [...toolResults(req).values()];
      if (results.length === 0) return { tool_calls: [{ name: 'calc__add', arguments: { a: 2, b: 3 } }] };
      return { content: `The sum is ${(JSON.parse(results[0]!) as { sum: number }).sum}` };
    });
    const before = mcp.calls.length;
    const r = await run('remote', input);
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    assert.equal(r.output, 'The sum is 5');
    const first = requestsOf(input)[0]!;
    assert.deepEqual(offered(first), ['calc__add', 'calc__fail', 'calc__slow', 'calc__upper']);
    const add = first.tools!.find((t) => t.function.name === 'calc__add')!.function;
    assert.deepEqual((add.parameters as { required?: string[] }).required?.sort(), ['a', 'b']);
    assert.match(add.description ?? '', /Adds two numbers/);
    assert.deepEqual(mcp.calls.slice(before), ['add']);
    const [call] = calls(r, 'compute');
    assert.equal(call!.tool, 'calc');
    assert.equal(call!.method, 'add');
    assert.ok(['eu-1', 'eu-2', 'us-api'].includes(call!.node ?? ''), `ran on ${call!.node}, a node that offers mcpremote`);
  });

  test('bad arguments go back to the model as the validation error, are not run, and the model recovers', async () => {
    const input = 'Read the notes, carelessly.';
    conversations.set(input, (req) => {
      const results = [...toolResults(req).values()];
      if (results.length === 0) return { tool_calls: [{ name: 'files__read_file', arguments: { file: 'notes.txt' } }] };
      if (results.length === 1) return { tool_calls: [{ name: 'files__read_file', arguments: { path: 'notes.txt' } }] };
      return { content: `after "${results[0]}" I read: ${results[1]}` };
    });
    const admitted = byName('files-us').stepServer!.admitted;
    const r = await run('read', input);
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    assert.match(String(r.output), /^after "error: invalid arguments, the call was not run: files\.read_file: args\.path: is required" I read: The launch is on Tuesday\.$/);
    const [bad, good] = calls(r, 'research');
    assert.equal(bad!.status, 'error');
    assert.equal(bad!.node, undefined, 'the bad call never left the agent');
    assert.match(bad!.error ?? '', /args\.path: is required/);
    assert.equal(good!.status, 'ok');
    assert.equal(good!.round, 2);
    const agentHere = r.steps.find((s) => s.id === 'research')!.node === 'files-us' ? 1 : 0;
    assert.equal(byName('files-us').stepServer!.admitted - admitted - agentHere, 1, 'only the good call reached files-us');
  });

  test('a model that never stops calling tools fails at max_tool_rounds with a clear message', async () => {
    const input = 'Echo forever.';
    conversations.set(input, () => ({ tool_calls: [{ name: 'echo__echo', arguments: { again: true } }] }));
    const r = await run('forever', input);
    assert.equal(r.status, 'failed');
    assert.match(r.error?.message ?? '', /agent "stubborn" \(model test-model\) was still calling tools after max_tool_rounds \(3\) rounds \(it asked for echo__echo in round 4\)/);
    assert.equal(r.error?.type, 'agent_error');
    assert.equal(requestsOf(input).length, 4, 'three rounds of calls, then the fourth request');
    const row = r.steps.find((s) => s.id === 'repeat')!;
    assert.equal(row.attempts, 1, 'not retried: a model that loops will loop again');
    assert.equal(calls(r, 'repeat').length, 3);
    assert.ok(calls(r, 'repeat').every((c) => c.status === 'ok' && c.node !== undefined));
  });

  test('structured output still works with tools: the final answer is parsed as JSON', async () => {
    const input = 'Give me the launch day as JSON.';
    conversations.set(input, (req) => {
      if (toolResults(req).size === 0) return { tool_calls: [{ name: 'files__list_dir', arguments: {} }, { name: 'files__read_file', arguments: { path: 'notes.txt' } }] };
      return { content: '```json\n{"day": "Tuesday"}\n```' };
    });
    const r = await run('json', input);
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    assert.deepEqual(r.output, { day: 'Tuesday' });
    const reqs = requestsOf(input);
    assert.ok(reqs.every((q) => (q.response_format as { type?: string } | undefined)?.type === 'json_object'));
    assert.deepEqual(offered(reqs[0]!), ['files__list_dir', 'files__read_file', 'files__write_file']);
    assert.deepEqual(calls(r, 'answer').map((c) => c.method), ['list_dir', 'read_file']);
  });

  test('a cancel mid-loop stops the loop and its in-flight tool call; progress told of the call', async () => {
    const input = 'Wait a long time.';
    conversations.set(input, () => ({ tool_calls: [{ name: 'sleep__sleep', arguments: { ms: 12_000 } }] }));
    const progress: string[] = [];
    const coordinator = nodes[0]!;
    const pending = coordinator.executions!.start({ yaml, workflow: 'slow', input, mode: 'distributed', wait: true, onProgress: (p) => progress.push(p.message) });
    let id = '';
    await eventually(async () => {
      const page = await coordinator.executions!.list({ limit: 20 });
      const mine = page.executions.find((e) => e.workflow === 'slow' && e.status === 'running');
      if (!mine) return false;
      id = mine.execution_id;
      const live = await coordinator.executions!.get(id);
      return calls(live!, 'wait').some((c) => c.status === 'running' && c.node !== undefined);
    }, 'the sleep call is in flight and the live record shows it');
    assert.ok(nodes.some((n) => n.stepServer!.inflight > 0));
    await coordinator.executions!.cancel(id, 'the test cancelled it');
    const r = await pending;
    assert.equal(r.status, 'cancelled');
    await eventually(() => nodes.every((n) => n.stepServer!.inflight === 0), 'no node still runs the agent or its sleep');
    assert.equal(requestsOf(input).length, 1, 'the model was not asked again');
    assert.ok(progress.some((m) => /tool sleep\.sleep on \S+ running/.test(m)), `progress: ${progress.join(' | ')}`);
  });
});

/**
 * A node with WFMESH_MCP_TOKEN: requests without the token are refused; then 200 malformed tool
 * calls (wrong types, missing and unknown fields, huge strings, invalid YAML, unknown tools), each
 * answered with an error that names the field or the problem, and the node still serves afterwards.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { MeshNode } from '../../src/node/index.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { call, connectHttp, ECHO10, mcpUrl, structured, text } from './mcp-helpers.js';

const TOKEN = 'test-token-0123456789';
const LIMIT = 1 << 20; // limits.max_input_bytes default

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A wrong call, and what its error must name: the field, or the problem. */
interface Malformed {
  name: string;
  args: unknown;
  names: RegExp;
}

/** Calls that are wrong in every way we can think of (58 kinds). */
function malformedBase(): Malformed[] {
  const huge = 'x'.repeat(LIMIT + 10);
  const base: Malformed[] = [
    { name: 'execute_workflow', args: { yaml: 42 }, names: /at yaml/ },
    { name: 'execute_workflow', args: { yaml: null }, names: /at yaml/ },
    { name: 'execute_workflow', args: { yaml: ['a'] }, names: /at yaml/ },
    { name: 'execute_workflow', args: {}, names: /exactly one of yaml .* or workflow_name/ },
    { name: 'execute_workflow', args: { yaml: ECHO10, workflow_name: 'both' }, names: /exactly one of yaml .* or workflow_name/ },
    { name: 'execute_workflow', args: { yaml: ECHO10, mode: 'turbo' }, names: /at mode/ },
    { name: 'execute_workflow', args: { yaml: ECHO10, timeout_s: -1 }, names: /at timeout_s/ },
    { name: 'execute_workflow', args: { yaml: ECHO10, timeout_s: 'soon' }, names: /at timeout_s/ },
    { name: 'execute_workflow', args: { yaml: ECHO10, wait: 'yes' }, names: /at wait/ },
    { name: 'execute_workflow', args: { yaml: ECHO10, workflow: 'no such workflow!' }, names: /at workflow$/ },
    { name: 'execute_workflow', args: { yaml: ECHO10, workflow: 'absent', mode: 'sync' }, names: /no workflow "absent" in the document/ },
    { name: 'execute_workflow', args: { yaml: huge }, names: /at most 1048576 bytes.* at yaml/ },
    { name: 'execute_workflow', args: { yaml: ECHO10, input: huge, mode: 'sync' }, names: /input is \d+ bytes; this node takes at most 1048576/ },
    { name: 'execute_workflow', args: { yaml: ECHO10, input: { nested: huge }, mode: 'sync' }, names: /input is \d+ bytes; this node takes at most 1048576/ },
    { name: 'execute_workflow', args: { yaml: ': : :\n\t- [', mode: 'sync' }, names: /invalid workflow:\n.*line 1: YAML/ },
    { name: 'execute_workflow', args: { yaml: 'workflows: {main: [{id: a, tool: nope}]}', mode: 'sync' }, names: /unknown tool "nope"/ },
    { name: 'execute_workflow', args: { yaml: '', mode: 'sync' }, names: /the document is empty/ },
    { name: 'execute_workflow', args: { yaml: 'just a string', mode: 'sync' }, names: /the document must be a mapping/ },
    { name: 'execute_workflow', args: { workflow_name: '../etc/passwd' }, names: /at workflow_name/ },
    { name: 'execute_workflow', args: { workflow_name: 'never-saved', mode: 'sync' }, names: /no saved workflow named "never-saved"/ },
    { name: 'execute_workflow', args: { yaml: ECHO10, unknown_field: true }, names: /Unrecognized key: "unknown_field"/ },
    { name: 'validate_workflow', args: {}, names: /give yaml or files/ },
    { name: 'validate_workflow', args: { yaml: 7 }, names: /at yaml/ },
    { name: 'validate_workflow', args: { yaml: huge }, names: /at most 1048576 bytes.* at yaml/ },
    { name: 'validate_workflow', args: { yml: ECHO10 }, names: /Unrecognized key: "yml"/ },
    { name: 'get_execution', args: {}, names: /at execution_id/ },
    { name: 'get_execution', args: { execution_id: 5 }, names: /at execution_id/ },
    { name: 'get_execution', args: { execution_id: 'has spaces' }, names: /at execution_id/ },
    { name: 'get_execution', args: { execution_id: 'x'.repeat(500) }, names: /at execution_id/ },
    { name: 'get_execution', args: { execution_id: 'wfmesh.>' }, names: /at execution_id/ },
    { name: 'get_execution', args: { execution_id: 'missing-but-valid' }, names: /no execution missing-but-valid/ },
    { name: 'cancel_execution', args: { execution_id: '*' }, names: /at execution_id/ },
    { name: 'cancel_execution', args: { execution_id: 'missing-but-valid' }, names: /no execution missing-but-valid/ },
    { name: 'cancel_execution', args: {}, names: /at execution_id/ },
    { name: 'list_executions', args: { limit: 0 }, names: />=1 at limit/ },
    { name: 'list_executions', args: { limit: 100_000 }, names: /<=500 at limit/ },
    { name: 'list_executions', args: { limit: 2.5 }, names: /expected int.* at limit/ },
    { name: 'list_executions', args: { status: 'exploded' }, names: /at status/ },
    { name: 'list_executions', args: { cursor: 'not-a-cursor' }, names: /cursor "not-a-cursor" is not one this node handed out/ },
    { name: 'list_executions', args: { cursor: huge }, names: /at cursor/ },
    { name: 'save_workflow', args: { name: 'ok-name' }, names: /give yaml or files/ },
    { name: 'save_workflow', args: { name: 'bad name', yaml: ECHO10 }, names: /at name/ },
    { name: 'save_workflow', args: { name: 'x'.repeat(100), yaml: ECHO10 }, names: /at name/ },
    { name: 'save_workflow', args: { name: 'broken', yaml: 'workflows: 5' }, names: /not saved: the workflow is invalid/ },
    { name: 'save_workflow', args: { name: 'big', yaml: huge }, names: /at most 1048576 bytes.* at yaml/ },
    { name: 'generate_workflow', args: {}, names: /at description/ },
    { name: 'generate_workflow', args: { description: '' }, names: /describe the job in a few words at description/ },
    { name: 'generate_workflow', args: { description: '   ' }, names: /describe the job in a few words at description/ },
    { name: 'generate_workflow', args: { description: 'x'.repeat(20_000) }, names: /at most 10000 characters at description/ },
    { name: 'generate_workflow', args: { description: 'ok', complexity: 'extreme' }, names: /at complexity/ },
    { name: 'generate_workflow', args: { description: 'ok', tools: 'echo' }, names: /at tools/ },
    { name: 'execute_generated_workflow', args: { input: 'x' }, names: /at description/ },
    { name: 'execute_generated_workflow', args: { description: 'ok', mode: 'fast' }, names: /at mode/ },
    { name: 'mesh_status', args: { verbose: true }, names: /Unrecognized key: "verbose"/ },
    { name: 'list_workflows', args: { page: 2 }, names: /Unrecognized key: "page"/ },
    { name: 'delete_everything', args: {}, names: /unknown tool "delete_everything"/ },
    { name: '', args: {}, names: /unknown tool ""/ },
    { name: 'x'.repeat(10_000), args: {}, names: /unknown tool "x{100}"/ },
  ];
  return base;
}
/** Two hundred of them, each kind more than once. */
function malformedCalls(): Malformed[] {
  const base = malformedBase();
  const out: Malformed[] = [];
  for (let i = 0; out.length < 200; i++) out.push(base[i % base.length]!);
  return out;
}

describe('MCP auth and malformed calls', () => {
  let nats: TestNats;
  let node: MeshNode;
  let client: Client;

  before(async () => {
    nats = await startTestNats();
    node = await startTestNode(nats.url, { name: 'guarded' }, { WFMESH_MCP_TOKEN: TOKEN });
    client = await connectHttp(mcpUrl(node), TOKEN);
  });
  after(async () => {
    await client?.close().catch(() => undefined);
    await stopAll([node].filter(Boolean));
    await nats?.stop();
  });

  test('requests without the right bearer token get 401 with a JSON body', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]) {
      const res = await post(mcpUrl(node), initialize, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.match(JSON.parse(res.body).error.message, /Bearer/);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="wfmesh"');
    }
    await assert.rejects(connectHttp(mcpUrl(node)), /401|Unauthorized/);
    const ok = await post(mcpUrl(node), initialize, { authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200);
    assert.equal((await fetch(`${node.http.url}/healthz`)).status, 200, 'health stays open for probes');
  });

  test('a Host header that is not a loopback name is refused (DNS rebinding)', async () => {
    const res = await post(mcpUrl(node), initialize, { authorization: `Bearer ${TOKEN}`, host: 'attacker.example:80' });
    assert.equal(res.status, 403);
  });

  test('an unknown session id is 404 (the client must initialize again)', async () => {
    const res = await post(mcpUrl(node), JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), { authorization: `Bearer ${TOKEN}`, 'mcp-session-id': 'gone' });
    assert.equal(res.status, 404);
  });

  test('a request body over the limit is refused with 413, naming the limit', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'validate_workflow', arguments: { yaml: 'x'.repeat(4 * LIMIT) } } });
    const init = await post(mcpUrl(node), initialize, { authorization: `Bearer ${TOKEN}` });
    const session = String(init.headers['mcp-session-id']);
    const res = await post(mcpUrl(node), body, { authorization: `Bearer ${TOKEN}`, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' });
    assert.equal(res.status, 413);
    assert.match(res.body, /must not exceed \d+ bytes/);
    // Without a Content-Length (chunked), the limit is found while reading: still a 413, not a reset.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(mcpUrl(node), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${TOKEN}`, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } }, (r) => {
        let data = '';
        r.setEncoding('utf8').on('data', (c: string) => (data += c)).on('end', () => resolve({ status: r.statusCode ?? 0, body: data }));
      });
      req.on('error', reject);
      for (let i = 0; i < 4; i++) req.write(body.slice((i * body.length) / 4, ((i + 1) * body.length) / 4));
      req.end();
    });
    assert.equal(chunked.status, 413);
    assert.match(chunked.body, /must not exceed \d+ bytes/);
  });

  test('200 malformed tool calls each get an error naming the field or the problem; the node stays up', async () => {
    const kinds = { protocol: 0, tool: 0 };
    const unnamed: string[] = [];
    for (const c of malformedCalls()) {
      const what = `${c.name.slice(0, 40)} ${JSON.stringify(c.args).slice(0, 100)}`;
      let message: string;
      try {
        const res = await client.callTool({ name: c.name, arguments: c.args as Record<string, unknown> });
        // Bad arguments and failed runs are results the model can read and correct (SEP-1303).
        assert.equal(res.isError, true, `${what} should fail`);
        message = text(res as never);
        kinds.tool++;
      } catch (err) {
        // Only an unknown tool is a protocol error.
        const e = err as Error & { code?: number };
        assert.equal(e.code, -32602, `${what}: ${e.message}`);
        assert.match(e.message, /unknown tool/);
        message = e.message;
        kinds.protocol++;
      }
      if (!c.names.test(message)) unnamed.push(`${what}: ${c.names} not in "${message.slice(0, 300)}"`);
    }
    assert.deepEqual(unnamed, []);
    assert.ok(kinds.protocol >= 9 && kinds.tool >= 180, JSON.stringify(kinds));
    const invalid = await call(client, 'execute_workflow', { yaml: 'workflows: {main: [{id: a, tool: nope}]}', mode: 'sync' });
    assert.match(text(invalid), /invalid workflow:\n.*unknown tool "nope"/);
    // Still serving, still healthy.
    const ok = structured<{ status: string }>(await call(client, 'execute_workflow', { yaml: ECHO10, mode: 'sync' }));
    assert.equal(ok.status, 'completed');
    assert.equal((await fetch(`${node.http.url}/healthz`)).status, 200);
  });
});

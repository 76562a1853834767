/**
 * A node with WFMESH_MCP_TOKEN: requests without the token are refused; then 200 malformed tool
 * calls (wrong types, missing and unknown fields, huge strings, invalid YAML, unknown tools), each
 * answered with a clear error, and the node still serves afterwards.
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

/** Two hundred calls that are wrong in every way we can think of. */
function malformedCalls(): { name: string; args: unknown }[] {
  const huge = 'x'.repeat(LIMIT + 10);
  const base: { name: string; args: unknown }[] = [
    { name: 'execute_workflow', args: { yaml: 42 } },
    { name: 'execute_workflow', args: { yaml: null } },
    { name: 'execute_workflow', args: { yaml: ['a'] } },
    { name: 'execute_workflow', args: {} },
    { name: 'execute_workflow', args: { yaml: ECHO10, workflow_name: 'both' } },
    { name: 'execute_workflow', args: { yaml: ECHO10, mode: 'turbo' } },
    { name: 'execute_workflow', args: { yaml: ECHO10, timeout_s: -1 } },
    { name: 'execute_workflow', args: { yaml: ECHO10, timeout_s: 'soon' } },
    { name: 'execute_workflow', args: { yaml: ECHO10, wait: 'yes' } },
    { name: 'execute_workflow', args: { yaml: ECHO10, workflow: 'no such workflow!' } },
    { name: 'execute_workflow', args: { yaml: ECHO10, workflow: 'absent', mode: 'sync' } },
    { name: 'execute_workflow', args: { yaml: huge } },
    { name: 'execute_workflow', args: { yaml: ECHO10, input: huge, mode: 'sync' } },
    { name: 'execute_workflow', args: { yaml: ECHO10, input: { nested: huge }, mode: 'sync' } },
    { name: 'execute_workflow', args: { yaml: ': : :\n\t- [', mode: 'sync' } },
    { name: 'execute_workflow', args: { yaml: 'workflows: {main: [{id: a, tool: nope}]}', mode: 'sync' } },
    { name: 'execute_workflow', args: { yaml: '', mode: 'sync' } },
    { name: 'execute_workflow', args: { yaml: 'just a string', mode: 'sync' } },
    { name: 'execute_workflow', args: { workflow_name: '../etc/passwd' } },
    { name: 'execute_workflow', args: { workflow_name: 'never-saved', mode: 'sync' } },
    { name: 'execute_workflow', args: { yaml: ECHO10, unknown_field: true } },
    { name: 'validate_workflow', args: {} },
    { name: 'validate_workflow', args: { yaml: 7 } },
    { name: 'validate_workflow', args: { yaml: huge } },
    { name: 'validate_workflow', args: { yml: ECHO10 } },
    { name: 'get_execution', args: {} },
    { name: 'get_execution', args: { execution_id: 5 } },
    { name: 'get_execution', args: { execution_id: 'has spaces' } },
    { name: 'get_execution', args: { execution_id: 'x'.repeat(500) } },
    { name: 'get_execution', args: { execution_id: 'wfmesh.>' } },
    { name: 'get_execution', args: { execution_id: 'missing-but-valid' } },
    { name: 'cancel_execution', args: { execution_id: '*' } },
    { name: 'cancel_execution', args: { execution_id: 'missing-but-valid' } },
    { name: 'cancel_execution', args: {} },
    { name: 'list_executions', args: { limit: 0 } },
    { name: 'list_executions', args: { limit: 100_000 } },
    { name: 'list_executions', args: { limit: 2.5 } },
    { name: 'list_executions', args: { status: 'exploded' } },
    { name: 'list_executions', args: { cursor: 'not-a-cursor' } },
    { name: 'list_executions', args: { cursor: huge } },
    { name: 'save_workflow', args: { name: 'ok-name' } },
    { name: 'save_workflow', args: { name: 'bad name', yaml: ECHO10 } },
    { name: 'save_workflow', args: { name: 'x'.repeat(100), yaml: ECHO10 } },
    { name: 'save_workflow', args: { name: 'broken', yaml: 'workflows: 5' } },
    { name: 'save_workflow', args: { name: 'big', yaml: huge } },
    { name: 'generate_workflow', args: {} },
    { name: 'generate_workflow', args: { description: '' } },
    { name: 'generate_workflow', args: { description: '   ' } },
    { name: 'generate_workflow', args: { description: 'x'.repeat(20_000) } },
    { name: 'generate_workflow', args: { description: 'ok', complexity: 'extreme' } },
    { name: 'generate_workflow', args: { description: 'ok', tools: 'echo' } },
    { name: 'execute_generated_workflow', args: { input: 'x' } },
    { name: 'execute_generated_workflow', args: { description: 'ok', mode: 'fast' } },
    { name: 'mesh_status', args: { verbose: true } },
    { name: 'list_workflows', args: { page: 2 } },
    { name: 'delete_everything', args: {} },
    { name: '', args: {} },
    { name: 'x'.repeat(10_000), args: {} },
  ];
  const out: { name: string; args: unknown }[] = [];
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
  });

  test('200 malformed tool calls each get a clear error; the node stays up', async () => {
    const kinds = { protocol: 0, tool: 0 };
    for (const c of malformedCalls()) {
      try {
        const res = await client.callTool({ name: c.name, arguments: c.args as Record<string, unknown> });
        assert.equal(res.isError, true, `${c.name} ${JSON.stringify(c.args).slice(0, 120)} should fail`);
        assert.ok(text(res as never).length > 10);
        kinds.tool++;
      } catch (err) {
        const e = err as Error & { code?: number };
        assert.equal(e.code, -32602, `${c.name}: ${e.message}`);
        assert.ok(e.message.length > 20, e.message);
        kinds.protocol++;
      }
    }
    assert.ok(kinds.protocol > 100 && kinds.tool > 20, JSON.stringify(kinds));
    // Sizes are named, so the caller knows what to change.
    await assert.rejects(call(client, 'execute_workflow', { yaml: ECHO10, input: 'x'.repeat(LIMIT + 1), mode: 'sync' }), /input is \d+ bytes; this node takes at most 1048576 bytes \(limits.max_input_bytes\)/);
    await assert.rejects(call(client, 'validate_workflow', { yaml: 'x'.repeat(LIMIT + 1) }), /at most 1048576 bytes/);
    const invalid = await call(client, 'execute_workflow', { yaml: 'workflows: {main: [{id: a, tool: nope}]}', mode: 'sync' });
    assert.match(text(invalid), /invalid workflow:\n.*unknown tool "nope"/);
    // Still serving, still healthy.
    const ok = structured<{ status: string }>(await call(client, 'execute_workflow', { yaml: ECHO10, mode: 'sync' }));
    assert.equal(ok.status, 'completed');
    assert.equal((await fetch(`${node.http.url}/healthz`)).status, 200);
  });
});

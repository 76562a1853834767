import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStepExecutor, type StepExecutor } from '../../src/executor/index.js';
import { startMcpTestServer, type McpTestServer } from '../harness/mcp-server.js';
import { never, rejectsWith, testEnv, toolTask } from '../unit/executor/helpers.js';

let mcp: McpTestServer;
let secured: McpTestServer;
let ex: StepExecutor;
const call = (args: unknown, settings: Record<string, unknown> = { mcp_url: mcp.url }, signal = never()): Promise<unknown> =>
  ex.execute(toolTask('mcpremote', 'call', args, settings), signal);

before(async () => {
  mcp = await startMcpTestServer();
  secured = await startMcpTestServer({ token: 's3cret' });
  ex = createStepExecutor(testEnv({ allow: { http_hosts: [new URL(mcp.url).host, new URL(secured.url).host] } }));
});
after(async () => {
  await mcp.close();
  await secured.close();
});

describe('mcpremote', () => {
  test('calls a tool with the SDK client: structured content, then text', async () => {
    assert.deepEqual(await call({ tool: 'add', arguments: { a: 2, b: 3 } }), { sum: 5 });
    assert.equal(await call({ tool: 'upper', arguments: { text: 'mesh' } }), 'MESH');
    assert.equal(await call({ tool: 'upper', arguments: { text: 'args url' }, mcp_url: mcp.url }, {}), 'ARGS URL');
    assert.deepEqual(mcp.calls.slice(-3), ['add', 'upper', 'upper']);
  });

  test('a bearer token from settings', async () => {
    assert.equal(await call({ tool: 'upper', arguments: { text: 'ok' } }, { mcp_url: secured.url, token: 's3cret' }), 'OK');
    await rejectsWith(call({ tool: 'upper', arguments: { text: 'x' } }, { mcp_url: secured.url, token: 'wrong' }), 'tool_error', /refused the credentials \(HTTP 401\)/);
  });

  test('an isError result, a bad tool and bad arguments fail clearly', async () => {
    await rejectsWith(call({ tool: 'fail', arguments: { message: 'kaputt' } }), 'tool_error', /tool "fail" at 127\.0\.0\.1:\d+ failed: kaputt/);
    await rejectsWith(call({ tool: 'nope', arguments: {} }), 'tool_error', /Tool nope not found/);
    await rejectsWith(call({ tool: 'add', arguments: { a: 'x' } }), 'tool_error', /Invalid arguments for tool add/);
    await rejectsWith(call({ arguments: {} }), 'invalid_args', /args\.tool: is required/);
    await rejectsWith(call({ tool: 'add' }, {}), 'invalid_args', /no MCP server/);
  });

  test('the MCP server host must be allow-listed; timeout and cancel', async () => {
    const closed = createStepExecutor(testEnv({ allow: { http_hosts: ['example.com'] } }));
    await rejectsWith(closed.execute(toolTask('mcpremote', 'call', { tool: 'add' }, { mcp_url: mcp.url }), never()), 'denied', /mcpremote: host "127\.0\.0\.1:\d+" is not in this node's allow-list/);
    await rejectsWith(call({ tool: 'slow', arguments: { ms: 5_000 } }, { mcp_url: mcp.url, timeout_ms: 100 }), 'timeout', /timed out after 100 ms/);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await rejectsWith(call({ tool: 'slow', arguments: { ms: 5_000 } }, undefined, ac.signal), 'cancelled');
  });

  test('an unreachable server fails as a tool error', async () => {
    const gone = await startMcpTestServer();
    const url = gone.url;
    await gone.close();
    const ex2 = createStepExecutor(testEnv({ allow: { http_hosts: ['127.0.0.1'] } }));
    await rejectsWith(ex2.execute(toolTask('mcpremote', 'call', { tool: 'add' }, { mcp_url: url }), never()), 'tool_error', /failed: .*(ECONNREFUSED|fetch failed)/);
  });
});

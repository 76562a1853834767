/**
 * Who may open MCP sessions, and which session makes room: the Origin rule of the Streamable HTTP
 * transport (loopback origins on a loopback node, an allow-list beyond, no Origin at all for
 * non-browser clients), and eviction that takes the least recently used idle session, with a
 * per-client cap so that one client flooding the node only ever evicts its own sessions. Clients
 * are told apart by address: raw sessions come from 127.0.0.2, 127.0.0.3, ... (all loopback).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { attachMcpHttp, type McpHttpEndpoint } from '../../src/mcp/index.js';
import type { MeshNode } from '../../src/node/index.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { call, connectHttp, ECHO10, mcpUrl, structured } from './mcp-helpers.js';

const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
const LIST = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });

function post(url: string, body: string, headers: Record<string, string> = {}, localAddress?: string): Promise<{ status: number; body: string; session?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ...(localAddress && { localAddress }),
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', ...headers },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, ...(typeof res.headers['mcp-session-id'] === 'string' && { session: res.headers['mcp-session-id'] }) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('MCP sessions: Origin and eviction', () => {
  let nats: TestNats;
  let open: MeshNode; // MCP as every node serves it (loopback, no allow-list)
  let listed: MeshNode; // with an allow-list
  let capped: MeshNode; // MCP attached here with small caps
  let endpoint: McpHttpEndpoint;
  let live: Client;

  before(async () => {
    nats = await startTestNats();
    open = await startTestNode(nats.url, { name: 'origin-open' });
    listed = await startTestNode(nats.url, { name: 'origin-listed' }, { WFMESH_MCP_ORIGINS: 'https://app.example.com, http://tools.example:8080' });
    capped = await startTestNode(nats.url, { name: 'capped', noMcp: true });
    endpoint = attachMcpHttp(capped, capped.executions!, { maxSessions: 9, maxSessionsPerClient: 3 });
  });
  after(async () => {
    await live?.close().catch(() => undefined);
    await stopAll([open, listed, capped].filter(Boolean));
    await nats?.stop();
  });

  test('Origin: none passes; loopback origins pass on a loopback node; others are 403 unless listed', async () => {
    assert.equal((await post(mcpUrl(open), INIT)).status, 200, 'no Origin: curl, SDKs outside a browser');
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:6274', 'http://[::1]:3000']) {
      assert.equal((await post(mcpUrl(open), INIT, { origin })).status, 200, origin);
    }
    for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'null', 'file://']) {
      const res = await post(mcpUrl(open), INIT, { origin });
      assert.equal(res.status, 403, origin);
      assert.match(JSON.parse(res.body).error.message, /Origin .* is not allowed.*mcp\.origins/);
    }
    assert.equal((await post(mcpUrl(listed), INIT, { origin: 'https://app.example.com' })).status, 200);
    assert.equal((await post(mcpUrl(listed), INIT, { origin: 'http://tools.example:8080' })).status, 200);
    assert.equal((await post(mcpUrl(listed), INIT, { origin: 'http://tools.example:8081' })).status, 403, 'the port is part of the origin');
    assert.equal((await post(mcpUrl(listed), INIT, { origin: 'http://localhost:5173' })).status, 200, 'loopback origins still pass');
  });

  test('a client over its cap loses its own least recently used idle session; the global cap takes the least recently used idle one', async () => {
    // A real client, whose standalone SSE stream keeps its session in use: never evicted.
    live = await connectHttp(mcpUrl(capped));
    const from = async (address: string): Promise<string> => {
      const res = await post(mcpUrl(capped), INIT, {}, address);
      assert.equal(res.status, 200, res.body);
      return res.session!;
    };
    const alive = async (session: string): Promise<boolean> => {
      const res = await post(mcpUrl(capped), LIST, { 'mcp-session-id': session }, '127.0.0.9');
      assert.ok(res.status === 200 || res.status === 404, res.body);
      return res.status === 200;
    };

    const s1 = await from('127.0.0.2');
    const s2 = await from('127.0.0.2');
    const s3 = await from('127.0.0.2');
    assert.equal(await alive(s1), true); // s2 is now that client's least recently used
    const s4 = await from('127.0.0.2'); // over its cap of 3
    assert.deepEqual([await alive(s1), await alive(s2), await alive(s3), await alive(s4)], [true, false, true, true]);

    // A flood from one address evicts only its own sessions.
    const others = [await from('127.0.0.3'), await from('127.0.0.3')];
    for (let i = 0; i < 10; i++) await from('127.0.0.4');
    assert.deepEqual(await Promise.all(others.map(alive)), [true, true], 'the flood took none of 127.0.0.3');
    assert.equal(await alive(s1), true, 'nor of 127.0.0.2');

    // Now 9 sessions (the live client, 3 + 2 + the flood's 3 left): the cap. Use all but s3, then open one more.
    assert.equal(endpoint.sessions, 9);
    for (const s of [s1, s4, ...others]) assert.equal(await alive(s), true);
    await from('127.0.0.5');
    assert.equal(await alive(s3), false, 'the least recently used idle session made room');
    assert.equal(endpoint.sessions, 9);
    const ok = structured<{ status: string }>(await call(live, 'execute_workflow', { yaml: ECHO10, mode: 'sync' }));
    assert.equal(ok.status, 'completed', 'the live session was never the one to go');
  });
});

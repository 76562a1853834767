/**
 * `wfmesh mcp --stdio` at the protocol's edges, as desktop clients run it (the built CLI): a line that is not
 * JSON, a batch and a non-message each get a JSON-RPC error instead of silence; an initialize
 * without protocolVersion is told what is missing; `--http-port` places the health port; the
 * split 2.x client package (`@modelcontextprotocol/client`) works over stdio as the 1.x one does;
 * and the process ends promptly once stdin closes (the SDK client sends SIGTERM after 2 s).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client as Client2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioClientTransport2 } from '@modelcontextprotocol/client/stdio';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { repoRoot, waitFor } from '../harness/processes.js';
import { ECHO10 } from './mcp-helpers.js';

// The built CLI, as clients start it: the exit bound is the real process's (a tsx loader thread alone adds ~0.4 s at exit).
const CLI = ['bin/wfmesh.js', 'mcp', '--stdio'];

interface Stdio {
  child: ChildProcessWithoutNullStreams;
  lines: unknown[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** The next reply whose id is `id` (or any new line when id is undefined). */
  reply(id: string | number | null): Promise<Record<string, unknown>>;
  send(line: string): void;
}

function startStdio(args: string[]): Stdio {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: repoRoot,
    env: { ...process.env, WFMESH_LOG_LEVEL: 'info' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: unknown[] = [];
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      lines.push(JSON.parse(out.slice(0, nl))); // anything but JSON on stdout fails the test here
      out = out.slice(nl + 1);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    send: (line) => child.stdin.write(`${line}\n`),
    reply: (id) =>
      waitFor(`a reply with id ${String(id)}`, () => lines.find((l) => (l as { id?: unknown }).id === id && ('result' in (l as object) || 'error' in (l as object))) as Record<string, unknown> | undefined, 30_000),
  };
}

const initialize = (id: number, protocolVersion?: string) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { ...(protocolVersion && { protocolVersion }), capabilities: {}, clientInfo: { name: 'raw-stdio', version: '1' } } });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('wfmesh mcp --stdio at the edges of the protocol', () => {
  let nats: TestNats;
  const started: Stdio[] = [];

  before(async () => {
    // Builds dist/ when the sources are newer (a no-op after `npm test`'s pretest).
    const built = spawnSync(process.execPath, ['scripts/setup.mjs', '--quiet', '--no-nats'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
    assert.equal(built.status, 0, 'npm run build failed');
    nats = await startTestNats();
  });
  after(async () => {
    for (const s of started) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    await nats?.stop();
  });

  test('bad lines get JSON-RPC errors, not silence; a missing protocolVersion is named; --http-port is honoured; stdin closing ends the process at once', async (t) => {
    const port = await freePort();
    const s = startStdio(['--nats', nats.url, '--name', 'stdio-edges', '--http-port', String(port)]);
    started.push(s);

    s.send(initialize(1)); // no protocolVersion
    const noVersion = await s.reply(1);
    assert.equal((noVersion.error as { code: number }).code, -32602, JSON.stringify(noVersion));
    assert.match((noVersion.error as { message: string }).message, /protocolVersion/);

    s.send(initialize(2, '2025-11-25'));
    const init = await s.reply(2);
    assert.equal((init.result as { protocolVersion: string }).protocolVersion, '2025-11-25');
    s.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));

    s.send('{"jsonrpc": "2.0", "id": 3, "method": "tools/list",'); // cut short: not JSON, but its id is readable
    const cut = await s.reply(3);
    assert.equal((cut.error as { code: number }).code, -32700);
    assert.match((cut.error as { message: string }).message, /Parse error/);

    s.send('this is not json at all');
    const garbage = await s.reply(null);
    assert.equal((garbage.error as { code: number }).code, -32700);

    s.send(JSON.stringify([{ jsonrpc: '2.0', id: 4, method: 'tools/list' }, { jsonrpc: '2.0', id: 5, method: 'ping' }]));
    for (const id of [4, 5]) {
      const r = await s.reply(id);
      assert.equal((r.error as { code: number }).code, -32600);
      assert.match((r.error as { message: string }).message, /batches are not supported/);
    }

    s.send(JSON.stringify({ jsonrpc: '1.0', id: 6, method: 'tools/list' }));
    const wrongVersion = await s.reply(6);
    assert.equal((wrongVersion.error as { code: number }).code, -32600);
    assert.match((wrongVersion.error as { message: string }).message, /jsonrpc/);

    // Still serving after all that.
    s.send(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'validate_workflow', arguments: { yaml: ECHO10 } } }));
    const ok = await s.reply(7);
    assert.equal((ok.result as { structuredContent: { valid: boolean } }).structuredContent.valid, true);

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200, '--http-port puts /healthz there');

    const closedAt = Date.now();
    s.child.stdin.end();
    const exit = await s.exited;
    const ms = exit.at - closedAt;
    // The bound (300 ms from stdin closing) is a speed figure: reported here, not asserted.
    t.diagnostic(`stdio exit after stdin closed: ${ms} ms`);
    assert.equal(exit.code, 0, s.stderr().slice(-2000));
    assert.equal(exit.signal, null, 'the process ends by itself, not by a signal');
  });

  test('the 2.x client package over stdio: tools, an isError result for a bad argument, and a clean close', async () => {
    const transport = new StdioClientTransport2({
      command: process.execPath,
      args: [...CLI, '--nats', nats.url, '--name', 'stdio-v2'],
      cwd: repoRoot,
      env: { ...(process.env as Record<string, string>), WFMESH_LOG_LEVEL: 'warn' },
      stderr: 'ignore',
    });
    const client = new Client2({ name: 'wfmesh-test-v2', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      assert.equal(tools.length, 10);
      const run = await client.callTool({ name: 'execute_workflow', arguments: { yaml: ECHO10, input: 'v2', mode: 'sync' } });
      assert.equal((run.structuredContent as { status: string }).status, 'completed');
      const bad = await client.callTool({ name: 'execute_workflow', arguments: { yaml: ECHO10, mode: 'warp' } });
      assert.equal(bad.isError, true);
      assert.match(JSON.stringify(bad.content), /mode/);
    } finally {
      await client.close();
    }
  });
});

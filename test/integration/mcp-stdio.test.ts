/**
 * `wfmesh mcp --stdio` as a desktop client runs it: the built CLI (`node bin/wfmesh.js`) spawned
 * by the SDK's StdioClientTransport. stdout must carry only the protocol (any stray line would
 * surface as a transport error). Executions it starts are read through another node over HTTP.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { MeshNode } from '../../src/node/index.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode } from '../harness/nodes.js';
import { call, connectHttp, ECHO10, mcpUrl, pinStep, sleepWorkflow, structured, text, until, type ExecutionView } from './mcp-helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('MCP over stdio (wfmesh mcp --stdio)', () => {
  let nats: TestNats;
  let peer: MeshNode;
  let client: Client;
  let viaPeer: Client;
  const transportErrors: Error[] = [];
  let stderr = '';

  before(async () => {
    // The CLI runs from dist/: build it when the sources are newer (a no-op after `npm test`'s pretest).
    const built = spawnSync(process.execPath, ['scripts/setup.mjs', '--quiet', '--no-nats'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    assert.equal(built.status, 0, 'npm run build failed');
    nats = await startTestNats();
    peer = await startTestNode(nats.url, { name: 'stdio-peer' });
    viaPeer = await connectHttp(mcpUrl(peer));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['bin/wfmesh.js', 'mcp', '--stdio', '--nats', nats.url, '--name', 'stdio-entry'],
      cwd: ROOT,
      env: { ...(process.env as Record<string, string>), WFMESH_LOG_LEVEL: 'info' },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    client = new Client({ name: 'wfmesh-stdio-test', version: '1.0.0' });
    client.onerror = (err) => transportErrors.push(err);
    await client.connect(transport);
    await until('the peer sees the stdio node', async () => peer.registry.list().some((p) => p.name === 'stdio-entry'), 20_000);
  });
  after(async () => {
    await client?.close().catch(() => undefined);
    await viaPeer?.close().catch(() => undefined);
    await peer?.stop();
    await nats?.stop();
  });

  test('lists the tools and validates', async () => {
    const { tools } = await client.listTools();
    assert.equal(tools.length, 10);
    const v = structured<{ valid: boolean }>(await call(client, 'validate_workflow', { yaml: ECHO10 }));
    assert.equal(v.valid, true);
  });

  for (const mode of ['sync', 'distributed', 'isolated'] as const) {
    test(`execute_workflow in ${mode} mode; the record is read through the HTTP node`, async () => {
      const notes: number[] = [];
      // Off the entry node, a step runs where it must: e5 is pinned to the HTTP peer (sync keeps all on the entry).
      const yaml = mode === 'sync' ? ECHO10 : pinStep(ECHO10, 'e5', 'stdio-peer');
      const res = await call(client, 'execute_workflow', { yaml, input: 'in', mode }, { onprogress: (p) => notes.push(p.progress) });
      const r = structured<ExecutionView>(res);
      assert.equal(r.status, 'completed', text(res));
      assert.equal(r.coordinator, 'stdio-entry');
      const placed = r.steps.map((s) => `${s.id}@${s.node}`).join(' ');
      if (mode === 'sync') assert.ok(r.steps.every((s) => s.node === 'stdio-entry'), placed);
      else assert.equal(r.steps.find((s) => s.id === 'e5')?.node, 'stdio-peer', placed);
      assert.ok(notes.length >= 2 && notes[notes.length - 1] === 10, `progress: ${notes.join(',')}`);
      const seen = structured<ExecutionView>(await call(viaPeer, 'get_execution', { execution_id: r.execution_id }));
      assert.equal(seen.status, 'completed');
      assert.deepEqual(seen.output, { n: 10, prev: 9 });
    });
  }

  test('async: the id at once, the result later from either node', async () => {
    const r = structured<ExecutionView>(await call(client, 'execute_workflow', { yaml: sleepWorkflow(200), mode: 'async' }));
    assert.equal(r.status, 'running');
    await until('completed, seen from the peer', async () => structured<ExecutionView>(await call(viaPeer, 'get_execution', { execution_id: r.execution_id })).status === 'completed');
  });

  test('cancel_execution stops a long execution and its steps', async () => {
    const r = structured<ExecutionView>(await call(client, 'execute_workflow', { yaml: sleepWorkflow(60_000), mode: 'sync', wait: false }));
    await until('the sleep runs', async () => structured<ExecutionView>(await call(viaPeer, 'get_execution', { execution_id: r.execution_id })).steps.some((s) => s.id === 'nap' && s.status === 'running'));
    const c = structured<{ status: string }>(await call(client, 'cancel_execution', { execution_id: r.execution_id }));
    assert.equal(c.status, 'cancelled');
    const seen = structured<ExecutionView>(await call(viaPeer, 'get_execution', { execution_id: r.execution_id }));
    assert.equal(seen.status, 'cancelled');
    const nap = seen.steps.find((s) => s.id === 'nap');
    assert.equal(nap?.status, 'cancelled');
    assert.ok(nap?.ended_at, 'the step ended');
  });

  test('stdout carried only the protocol; logs went to stderr', () => {
    assert.deepEqual(transportErrors.map((e) => e.message), []);
    assert.match(stderr, /MCP over stdio/);
  });

  test('closing the client stops the node: it leaves the mesh', async () => {
    await client.close();
    await until('the stdio node left', async () => !peer.registry.list().some((p) => p.name === 'stdio-entry'), 15_000);
  });
});

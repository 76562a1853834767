/**
 * Honest state when a coordinator dies: an async execution started through node A (a real
 * process, killed with SIGKILL) is readable from node B and marked failed with the reason within
 * seconds; with no node alive when its coordinator dies, the next node to start marks it; and the
 * records outlive every node that wrote them (they live in JetStream).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { MeshNode } from '../../src/node/index.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode } from '../harness/nodes.js';
import { spawnCli, type CliProcess } from '../harness/processes.js';
import { call, connectHttp, mcpUrl, sleepWorkflow, structured, until, type ExecutionView } from './mcp-helpers.js';

// Fast heartbeats: a dead node is dropped after 2.5 of them.
const ENV = { WFMESH_HEARTBEAT_MS: '300' };

let nats: TestNats;
const procs: CliProcess[] = [];
const nodes: MeshNode[] = [];
const clients: Client[] = [];

before(async () => {
  nats = await startTestNats();
});
after(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  for (const p of procs) p.kill('SIGKILL');
  await Promise.allSettled(nodes.map((n) => n.stop()));
  await nats?.stop();
});

/** `wfmesh node` in its own process; resolves once it says it joined, with its MCP URL. */
async function spawnNode(name: string): Promise<{ proc: CliProcess; url: string }> {
  const proc = spawnCli(['node', '--nats', nats.url, '--name', name, '--mcp-port', '0'], { env: { ...ENV, WFMESH_LOG_LEVEL: 'info' } });
  procs.push(proc);
  await proc.waitFor('MCP over Streamable HTTP', 30_000);
  const url = /"url":"(http:\/\/127\.0\.0\.1:\d+\/mcp)"/.exec(proc.stderr())?.[1];
  assert.ok(url, `MCP URL in the log:\n${proc.stderr()}`);
  return { proc, url };
}

async function startAsync(client: Client): Promise<string> {
  const r = structured<ExecutionView>(await call(client, 'execute_workflow', { yaml: sleepWorkflow(120_000), input: 'x', mode: 'async' }));
  assert.equal(r.status, 'running');
  await until('its long step runs', async () => {
    const seen = structured<ExecutionView>(await call(client, 'get_execution', { execution_id: r.execution_id }));
    return seen.steps.some((s) => s.id === 'nap' && s.status === 'running');
  });
  return r.execution_id;
}

test('a killed coordinator: another node marks its execution failed, with the reason', async () => {
  const b = await startTestNode(nats.url, { name: 'loss-b' }, ENV);
  nodes.push(b);
  const a = await spawnNode('loss-a');
  const ca = await connectHttp(a.url);
  clients.push(ca);
  const cb = await connectHttp(mcpUrl(b));
  clients.push(cb);
  await until('b sees a', async () => b.registry.list().some((p) => p.name === 'loss-a'));

  const id = await startAsync(ca);
  a.proc.kill('SIGKILL');
  await a.proc.exited;

  const r = await until('the record says what happened', async () => {
    const seen = structured<ExecutionView>(await call(cb, 'get_execution', { execution_id: id }));
    return seen.status !== 'running' && seen;
  });
  assert.equal(r.status, 'failed');
  assert.equal(r.coordinator, 'loss-a');
  assert.match(r.error?.message ?? '', /coordinator node loss-a left the mesh/);
  assert.equal(r.steps.find((s) => s.id === 'nap')?.status, 'failed');
  assert.equal(r.steps.find((s) => s.id === 'last')?.status, 'cancelled');
  // A step it had dispatched to B stops too.
  await until('no orphaned step left on b', async () => (b.stepServer?.inflight ?? 0) === 0);
  await b.stop();
});

test('no node alive when the coordinator dies: the next node to start marks the record; records outlive every node', async () => {
  const a = await spawnNode('loss-a'); // the same name again: it ends what its previous life left behind
  const ca = await connectHttp(a.url);
  clients.push(ca);
  const earlier = structured<{ executions: ExecutionView[] }>(await call(ca, 'list_executions', {})).executions;
  assert.ok(earlier.length >= 1 && earlier.every((e) => e.status !== 'running'), 'the first test left a finished record');

  const id = await startAsync(ca);
  a.proc.kill('SIGKILL');
  await a.proc.exited;

  const c = await startTestNode(nats.url, { name: 'loss-c' }, ENV);
  nodes.push(c);
  const cc = await connectHttp(mcpUrl(c));
  clients.push(cc);
  const r = await until('the new node marks the orphan', async () => {
    const seen = structured<ExecutionView>(await call(cc, 'get_execution', { execution_id: id }));
    return seen.status !== 'running' && seen;
  });
  assert.equal(r.status, 'failed');
  assert.match(r.error?.message ?? '', /coordinator node loss-a is no longer in the mesh/);
  const all = structured<{ executions: ExecutionView[] }>(await call(cc, 'list_executions', {})).executions;
  assert.ok(all.length >= 2, 'both records survived the nodes that wrote them');
  assert.ok(all.every((e) => e.status !== 'running'));
});

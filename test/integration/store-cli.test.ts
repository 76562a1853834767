/** `wfmesh executions` and `wfmesh cancel` against a real mesh: they read and write the shared store. */
import type { ExecutionService } from '../../src/executions/index.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MeshNode } from '../../src/node/index.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode } from '../harness/nodes.js';
import { spawnCli } from '../harness/processes.js';
import { ECHO10, sleepWorkflow, until } from './mcp-helpers.js';

async function cli(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = spawnCli(args, { env: { WFMESH_LOG_LEVEL: 'silent' } });
  const { code, signal } = await p.exited;
  return { code: code ?? signal ?? -1, stdout: p.stdout(), stderr: p.stderr() };
}

describe('wfmesh executions / cancel', () => {
  let nats: TestNats;
  let node: MeshNode;
  let service: ExecutionService;

  before(async () => {
    nats = await startTestNats();
    node = await startTestNode(nats.url, { name: 'cli-node' });
    service = node.executions!;
  });
  after(async () => {
    await node?.stop();
    await nats?.stop();
  });

  test('list and show, as a table and as JSON', async () => {
    const done = await service.start({ yaml: ECHO10, input: 'cli', mode: 'sync', requested_by: 'test' });
    assert.equal(done.status, 'completed');
    const list = await cli(['executions', '--nats', nats.url, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const page = JSON.parse(list.stdout) as { executions: { execution_id: string; status: string }[] };
    assert.equal(page.executions[0]?.execution_id, done.execution_id);
    const table = await cli(['executions', '--nats', nats.url]);
    assert.match(table.stdout, new RegExp(`${done.execution_id}\\s+completed\\s+main\\s+sync\\s+10/10\\s+cli-node`));
    const show = await cli(['executions', done.execution_id, '--nats', nats.url]);
    assert.match(show.stdout, /status\s+completed/);
    assert.match(show.stdout, /e10\s+completed\s+cli-node\s+1/);
    const missing = await cli(['executions', 'nope', '--nats', nats.url]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no execution nope/);
  });

  test('cancel stops a running execution through its coordinator', async () => {
    const running = await service.start({ yaml: sleepWorkflow(60_000), mode: 'sync', wait: false });
    await until('the sleep runs', async () => (await service.get(running.execution_id))?.steps.some((s) => s.id === 'nap' && s.status === 'running'));
    const out = await cli(['cancel', running.execution_id, '--nats', nats.url]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), `${running.execution_id} cancelled`);
    assert.equal((await service.get(running.execution_id))?.status, 'cancelled');
    const again = await cli(['cancel', running.execution_id, '--nats', nats.url, '--json']);
    assert.deepEqual(JSON.parse(again.stdout), { execution_id: running.execution_id, status: 'cancelled' });
  });
});

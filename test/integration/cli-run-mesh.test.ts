import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MeshNode } from '../../src/node/index.js';
import type { ExecutionRecord } from '../../src/protocol/execution.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { eventually, spawnCli } from '../harness/processes.js';

const WORKFLOW = `
workflows:
  placed:
    steps:
      - id: anywhere
        tool: echo
        args: {text: "\${user_input}"}
      - id: in_eu
        tool: transform
        method: length
        args: {value: "\${anywhere.output.text}"}
        requires: {region: eu-west}
      - id: done
        tool: echo
        args: {length: "\${in_eu.output}"}
        output: {to: user}
`;

describe('wfmesh run against a running mesh', () => {
  let nats: TestNats;
  const nodes: MeshNode[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'wfmesh-run-'));
  const file = join(dir, 'placed.yaml');
  const infeasible = join(dir, 'infeasible.yaml');

  before(async () => {
    writeFileSync(file, WORKFLOW);
    writeFileSync(infeasible, WORKFLOW.replace('region: eu-west', 'region: ap-south'));
    nats = await startTestNats();
    nodes.push(await startTestNode(nats.url, { name: 'eu-node', region: 'eu-west' }));
    nodes.push(await startTestNode(nats.url, { name: 'us-node', region: 'us-east' }));
    await eventually(() => nodes.every((n) => n.registry.size === 2), 'both nodes see each other');
  });

  after(async () => {
    await stopAll(nodes);
    await nats.stop();
  });

  test('runs distributed, prints the output, and names the node of every step', async () => {
    const cli = spawnCli(['run', file, '--input', 'hello', '--nats', nats.url]);
    assert.equal((await cli.exited).code, 0, cli.stderr());
    assert.deepEqual(JSON.parse(cli.stdout()), { length: 5 });
    assert.match(cli.stderr(), /in_eu\s+completed\s+eu-node/);
    assert.match(cli.stderr(), /STEP\s+STATUS\s+NODE/);
  });

  test('--json prints the record: the EU step ran in the EU', async () => {
    const cli = spawnCli(['run', file, '--input', 'hello', '--nats', nats.url, '--json']);
    assert.equal((await cli.exited).code, 0, cli.stderr());
    const record = JSON.parse(cli.stdout()) as ExecutionRecord;
    assert.equal(record.status, 'completed');
    assert.equal(record.mode, 'distributed');
    assert.equal(record.steps.find((s) => s.id === 'in_eu')?.node, 'eu-node');
  });

  test('a step nobody can place fails the run, naming the constraint', async () => {
    const cli = spawnCli(['run', infeasible, '--input', 'x', '--nats', nats.url]);
    assert.equal((await cli.exited).code, 1);
    assert.match(cli.stderr(), /in_eu.*infeasible.*requires\.region = ap-south/s);
  });

  test('async prints the execution id at once; the record is readable from the store', async () => {
    const cli = spawnCli(['run', file, '--input', 'later', '--mode', 'async', '--nats', nats.url]);
    assert.equal((await cli.exited).code, 0, cli.stderr());
    const id = cli.stdout().trim();
    assert.match(id, /^[A-Za-z0-9_-]+$/);
    await eventually(async () => {
      const show = spawnCli(['executions', id, '--json', '--nats', nats.url]);
      if ((await show.exited).code !== 0) return false;
      return (JSON.parse(show.stdout()) as ExecutionRecord).status === 'completed';
    }, 'the async execution completes', 20_000);
  });

  test('without a mesh, a clear error', async () => {
    const cli = spawnCli(['run', file, '--nats', 'nats://127.0.0.1:1']);
    assert.equal((await cli.exited).code, 1);
    assert.match(cli.stderr(), /no NATS server answers|cannot connect/);
  });
});

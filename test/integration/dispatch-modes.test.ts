import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MeshNode } from '../../src/node/index.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { eventually } from '../harness/processes.js';

const EU_STEP = `
workflows:
  eu:
    steps:
      - id: in_eu
        tool: echo
        args: {text: "\${user_input}"}
        requires: {region: eu-west}
        output: {to: user}
`;

describe('execution modes keep hard constraints', () => {
  let nats: TestNats;
  let eu: MeshNode;
  let us: MeshNode;

  before(async () => {
    nats = await startTestNats();
    eu = await startTestNode(nats.url, { name: 'eu-node', region: 'eu-west' });
    us = await startTestNode(nats.url, { name: 'us-node', region: 'us-east' });
    await eventually(() => us.registry.size === 2 && eu.registry.size === 2, 'both nodes see each other');
  });

  after(async () => {
    await stopAll([eu, us]);
    await nats.stop();
  });

  test('sync mode on a US entry node refuses an EU-only step instead of running it there', async () => {
    const record = await us.executions!.start({ yaml: EU_STEP, input: 'x', mode: 'sync', wait: true });
    assert.equal(record.status, 'failed');
    assert.equal(record.error?.type, 'infeasible');
    assert.match(record.error?.message ?? '', /sync mode runs every step on us-node.*requires\.region = eu-west/);
  });

  test('sync mode on the EU entry node runs it there', async () => {
    const record = await eu.executions!.start({ yaml: EU_STEP, input: 'x', mode: 'sync', wait: true });
    assert.equal(record.status, 'completed');
    assert.equal(record.steps[0]?.node, 'eu-node');
  });

  test('isolated mode places each step like distributed mode and runs it in a child process on that node', async () => {
    const record = await us.executions!.start({ yaml: EU_STEP, input: 'iso', mode: 'isolated', wait: true });
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    assert.equal(record.steps[0]?.node, 'eu-node');
    assert.deepEqual(record.output, { text: 'iso' });
  });
});

/**
 * A fresh execution starts while its record is being created: what may run before the record
 * lands, and what happens when it never does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MeshNode } from '../../src/node/index.js';
import type { ExecutionStore } from '../../src/store/index.js';
import { startEffectServer, type EffectServer } from '../harness/effect-server.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { waitFor } from '../harness/processes.js';

/** The node's record store, to hold or fail its creates. */
const storeOf = (node: MeshNode): ExecutionStore => (node.executions as unknown as { deps: { store: ExecutionStore } }).deps.store;

describe('an execution whose record is still being created', () => {
  let nats: TestNats;
  let effect: EffectServer;
  const nodes: MeshNode[] = [];
  before(async () => {
    nats = await startTestNats();
    effect = await startEffectServer();
    nodes.push(await startTestNode(nats.url, { name: 'create-a' }, { WFMESH_HTTP_HOSTS: effect.host }));
  });
  after(async () => {
    await stopAll(nodes);
    await effect?.close();
    await nats?.stop();
  });

  test('a step with side effects is dispatched only once the record has landed; steps without run meanwhile', async () => {
    const node = nodes[0]!;
    const store = storeOf(node);
    const create = store.create.bind(store);
    let landedAt = 0;
    let firstStepEndedAt = 0;
    store.create = async (record, source) => {
      await new Promise((r) => setTimeout(r, 600));
      const revision = await create(record, source);
      landedAt = Date.now();
      return revision;
    };
    try {
      const yaml = `workflows:
  main:
    - {id: quick, tool: echo, args: {message: hi}}
    - id: effect
      tool: http
      method: request
      args: {url: "${effect.url}/effect", method: POST, body: {n: 1}}
`;
      const started = node.executions!.start({
        yaml,
        onProgress: (p) => {
          if (p.progress >= 1) firstStepEndedAt ||= Date.now(); // the echo step is done
        },
      });
      const key = await effect.arrived(':effect:1', 10_000);
      const arrivedAt = Date.now();
      const record = await started;
      assert.equal(record.status, 'completed', JSON.stringify(record.error));
      assert.ok(firstStepEndedAt > 0 && firstStepEndedAt < landedAt, 'the echo step ran while the record was being created');
      assert.ok(landedAt > 0 && arrivedAt >= landedAt, `the effect (${key}) came after the record landed`);
      assert.equal((await store.get(record.execution_id))?.record.status, 'completed');
    } finally {
      store.create = create;
    }
  });

  test('a create that fails at once fails the request with its error, and the node goes on', async () => {
    const node = nodes[0]!;
    const store = storeOf(node);
    const create = store.create.bind(store);
    store.create = () => Promise.reject(new Error('the execution store is not ready'));
    try {
      await assert.rejects(node.executions!.start({ yaml: 'workflows:\n  main:\n    - {id: a, tool: echo, args: {x: 1}}\n' }), /the execution store is not ready/);
    } finally {
      store.create = create;
    }
    const after = await node.executions!.start({ yaml: 'workflows:\n  main:\n    - {id: a, tool: echo, args: {x: 1}}\n' });
    assert.equal(after.status, 'completed');
  });

  test('a create that fails cancels the run: start rejects with its error and no step is left running', async () => {
    const node = nodes[0]!;
    const store = storeOf(node);
    const create = store.create.bind(store);
    store.create = async () => {
      await new Promise((r) => setTimeout(r, 500));
      throw new Error('JetStream is not answering');
    };
    try {
      const yaml = `workflows:
  main:
    - {id: long, tool: sleep, args: {ms: 30000}}
`;
      const started = node.executions!.start({ yaml });
      await waitFor('the sleep step to run', async () => (node.stepServer!.inflight > 0 ? true : undefined), 10_000);
      await assert.rejects(started, /JetStream is not answering/);
      await waitFor('the sleep step to be cancelled', async () => (node.stepServer!.inflight === 0 ? true : undefined), 10_000);
    } finally {
      store.create = create;
    }
  });
});

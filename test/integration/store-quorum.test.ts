/**
 * Execution records when JetStream loses its quorum for a while: the lease holder's final write
 * is not given up (nobody else would ever write it while that node lives), and a read asked of a
 * cluster that lost a server still answers.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { silentLogger } from '../../src/log/index.js';
import { findNatsServerBinary } from '../../src/nats/index.js';
import type { ExecutionRecord } from '../../src/protocol/execution.js';
import { ExecutionStore, RecordWriter } from '../../src/store/index.js';
import { startTestCluster, type TestNats } from '../harness/nats.js';
import { waitFor } from '../harness/processes.js';

function record(id: string): ExecutionRecord {
  const at = new Date().toISOString();
  return { type: 'wfmesh.execution.v1', execution_id: id, workflow: 'main', mode: 'async', status: 'running', steps: [], coordinator: 'node-a', epoch: 1, created_at: at, updated_at: at };
}

describe('a JetStream cluster that loses its quorum while an execution ends', () => {
  let nats: TestNats | undefined;
  let nc: NatsConnection | undefined;
  const restarted: ChildProcess[] = [];
  after(async () => {
    await nc?.close();
    for (const p of restarted) p.kill('SIGKILL');
    await nats?.stop();
  });

  test('the final record is written once the cluster is back, however long it was gone', async () => {
    nats = await startTestCluster();
    const [survivor, ...lost] = nats.servers;
    nc = await connect({ servers: survivor!.url });
    const store = new ExecutionStore(nc, { log: silentLogger() });
    const ids = ['quorum-1', 'quorum-2'];
    const writers = await Promise.all(ids.map(async (id) => new RecordWriter(store, record(id), await store.create(record(id)), silentLogger())));

    // Two of three servers die: no stream leader can be elected, every write fails.
    for (const s of lost) s.kill('SIGKILL');
    await Promise.all(lost.map((s) => s.exited));
    const finals = writers.map((w, n) => w.finish({ ...record(ids[n]!), status: 'completed', output: `done ${n}`, steps_total: 0, steps_done: 0 }));
    // Longer than any fixed number of retries used to wait (the writer gave up after about 4 s).
    await new Promise((r) => setTimeout(r, 8_000));

    // The same servers come back (same config: ports, routes, JetStream folders).
    for (const s of lost) restarted.push(spawn(findNatsServerBinary(), ['-c', s.configFile], { stdio: 'ignore' }));
    const ended = await Promise.all(finals);
    assert.deepEqual(ended.map((r) => r.status), ['completed', 'completed']);
    const stored = await waitFor('the records to read back', async () => Promise.all(ids.map(async (id) => (await store.get(id))!.record)), 60_000);
    assert.deepEqual(stored.map((r) => [r.status, r.output]), [['completed', 'done 0'], ['completed', 'done 1']]);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { silentLogger } from '../../src/log/index.js';
import { freePort, startNatsServer } from '../../src/nats/index.js';
import type { ExecutionRecord } from '../../src/protocol/execution.js';
import { ExecutionStore, RecordWriter, ROUND_INTERVAL_MS, WorkflowStore, EXECUTIONS_BUCKET, OPEN_STATUSES } from '../../src/store/index.js';
import { claimed } from '../../src/executions/index.js';
import { OpenExecutions } from '../../src/executions/open-executions.js';
import { startTestNats, type TestNats } from '../harness/nats.js';

function record(id: string, over: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const at = over.created_at ?? new Date().toISOString();
  return {
    type: 'wfmesh.execution.v1',
    execution_id: id,
    workflow: 'main',
    mode: 'sync',
    status: 'running',
    steps: [],
    coordinator: 'node-a',
    created_at: at,
    updated_at: at,
    ...over,
  };
}

describe('execution and workflow stores on a real JetStream', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let store: ExecutionStore;

  before(async () => {
    nats = await startTestNats();
    nc = await connect({ servers: nats.url });
    store = new ExecutionStore(nc, { log: silentLogger(), ttlMs: 3_600_000 });
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  test('the bucket is created idempotently, with file storage, history 1 and the TTL', async () => {
    const other = new ExecutionStore(nc, { ttlMs: 3_600_000 });
    await Promise.all([store.open(), other.open(), new ExecutionStore(nc, { ttlMs: 3_600_000 }).open()]);
    const info = await (await nc.jetstreamManager()).streams.info(`KV_${EXECUTIONS_BUCKET}`);
    assert.equal(info.config.storage, 'file');
    assert.equal(info.config.max_msgs_per_subject, 1);
    assert.equal(info.config.max_age, 3_600_000 * 1_000_000);
  });

  test('create, get, compare-and-swap update and conflicts', async () => {
    const rev = await store.create(record('cas-1'));
    await assert.rejects(store.create(record('cas-1')), /already exists/);
    const got = await store.get('cas-1');
    assert.equal(got?.revision, rev);
    assert.equal(await store.replace({ ...got!.record, status: 'completed' }, rev + 1000), undefined, 'stale revision is refused');
    const written = await store.replace({ ...got!.record, status: 'completed' }, rev);
    assert.ok(written && written > rev);
    assert.equal((await store.get('cas-1'))?.record.status, 'completed');
    assert.equal(await store.get('no-such-execution'), undefined);
    assert.equal(await store.get('bad id with spaces'), undefined);
  });

  test('concurrent takeovers: exactly one claim of a lease wins, and the rows stay as they were', async () => {
    await store.create(record('orphan-1', { coordinator: 'gone', epoch: 1, steps: [{ id: 's1', status: 'completed', attempts: 1 }, { id: 's2', status: 'running', attempts: 1 }] }));
    const seen = (await store.get('orphan-1'))!;
    const claims = await Promise.all(['n1', 'n2', 'n3'].map((n) => store.writeHeader({ ...claimed(seen.record, n, 'gone left the mesh'), steps: [] }, seen.revision)));
    assert.equal(claims.filter((rev) => rev !== undefined).length, 1, 'one compare-and-swap wins');
    const r = (await store.get('orphan-1'))!.record;
    assert.equal(r.epoch, 2);
    assert.equal(r.handovers?.length, 1);
    assert.equal(r.handovers?.[0]?.from, 'gone');
    assert.deepEqual(r.steps.map((s) => s.status), ['completed', 'running']);
  });

  test('list: newest first, status filter, cursor pages without gaps or repeats, corrupt values skipped', async () => {
    const base = Date.parse('2030-01-01T00:00:00Z');
    for (let i = 0; i < 7; i++) {
      await store.put(record(`page-${i}`, { created_at: new Date(base + i * 1000).toISOString(), status: i % 2 ? 'completed' : 'failed', workflow: 'paged' }));
    }
    const kv = await nc.jetstream().views.kv(EXECUTIONS_BUCKET);
    await kv.put('corrupt-1', new TextEncoder().encode('{"type":"nope"}'));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.executions.filter((e) => e.workflow === 'paged').map((e) => e.execution_id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, ['page-6', 'page-5', 'page-4', 'page-3', 'page-2', 'page-1', 'page-0']);
    const completed = await store.list({ status: 'completed' });
    assert.ok(completed.executions.every((e) => e.status === 'completed'));
    assert.deepEqual(completed.executions.filter((e) => e.workflow === 'paged').map((e) => e.execution_id), ['page-5', 'page-3', 'page-1']);
    await assert.rejects(store.list({ cursor: 'garbage' }), /cursor/);
  });

  test('a scan for open executions skips finished headers unchecked; a full scan checks every one', async () => {
    const warned: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        const line = JSON.parse(chunk.toString()) as { msg: string; key?: string };
        // Only this test's keys: other tests leave corrupt values of their own in the bucket.
        if (line.msg === 'skipped a corrupt execution record' && line.key?.startsWith('scan-bad')) warned.push(line.key);
        done();
      },
    });
    const scanning = new ExecutionStore(nc, { log: pino({ level: 'warn' }, sink), ttlMs: 3_600_000 });
    await scanning.put(record('scan-open', { workflow: 'scanned' }));
    await scanning.put(record('scan-done', { workflow: 'scanned', status: 'completed' }));
    const kv = await nc.jetstream().views.kv(EXECUTIONS_BUCKET);
    const bad = (status: string) => new TextEncoder().encode(JSON.stringify({ type: 'wfmesh.execution.v1', execution_id: `scan-bad-${status}`, status }));
    await kv.put('scan-bad-completed', bad('completed'));
    await kv.put('scan-bad-running', bad('running'));

    const open = await scanning.scan((r) => r.workflow === 'scanned', OPEN_STATUSES);
    assert.deepEqual(open.map((s) => s.record.execution_id), ['scan-open']);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warned, ['scan-bad-running'], 'only the open corrupt header was checked');

    warned.length = 0;
    const all = await scanning.scan((r) => r.workflow === 'scanned');
    assert.deepEqual(all.map((s) => s.record.execution_id).sort(), ['scan-done', 'scan-open']);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warned.sort(), ['scan-bad-completed', 'scan-bad-running']);
    await kv.delete('scan-bad-completed');
    await kv.delete('scan-bad-running');
  });

  test('the record writer coalesces step updates, writes only changed rows, and its final state lands', async () => {
    const initial = record('writer-1');
    const revision = await store.create(initial);
    const writer = new RecordWriter(store, initial, revision, silentLogger());
    const live: ExecutionRecord = { ...initial, steps: [] };
    for (let i = 0; i < 30; i++) {
      live.steps.push({ id: `s${i}`, status: 'completed', attempts: 1 });
      writer.changed(live, i);
    }
    const final = await writer.finish({ ...live, status: 'completed', output: 'done', steps_total: 30, steps_done: 30 });
    assert.equal(final.status, 'completed');
    const stored = (await store.get('writer-1'))!;
    assert.equal(stored.record.output, 'done');
    assert.deepEqual(stored.record.steps.map((s) => s.id), live.steps.map((s) => s.id), 'every row is stored, in order');
    assert.ok(stored.revision - revision < 30, `coalesced: ${stored.revision - revision} header writes for 31 states`);
  });

  test('the record writer starts a round nobody waits for at most every ROUND_INTERVAL_MS; a flush does not wait', async () => {
    const initial = record('writer-paced');
    const revision = await store.create(initial);
    let headers = 0;
    const counted = Object.create(store) as ExecutionStore;
    counted.writeHeader = (r, rev) => {
      headers++;
      return store.writeHeader(r, rev);
    };
    const writer = new RecordWriter(counted, initial, revision, silentLogger());
    const live: ExecutionRecord = { ...initial, steps: [] };
    const started = Date.now();
    for (let i = 0; i < 12; i++) {
      live.steps.push({ id: `s${i}`, status: 'completed', attempts: 1 });
      live.steps_total = live.steps_done = i + 1;
      writer.changed(live, i);
      await new Promise((r) => setTimeout(r, 2));
    }
    // A step with side effects would wait here: the flush is written now, not after the interval.
    await writer.flushed();
    const elapsed = Date.now() - started;
    assert.ok(headers <= 2 + Math.ceil(elapsed / ROUND_INTERVAL_MS), `${headers} header writes in ${elapsed} ms for 12 changes`);
    assert.equal((await store.get('writer-paced'))!.record.steps.length, 12, 'every row is stored once flushed');
    await writer.finish({ ...live, status: 'completed' });
    assert.equal((await store.get('writer-paced'))!.record.status, 'completed');
  });

  test('a small final record is written whole in one header write; a large one writes its rows; both read back whole', async () => {
    const counted = (rowsWritten: number[]) => {
      const c = Object.create(store) as ExecutionStore;
      c.writeRows = (id, rows) => {
        const list = [...rows];
        rowsWritten.push(list.length);
        return store.writeRows(id, list);
      };
      return c;
    };
    for (const [id, output, inline] of [['final-small', 'ok', true], ['final-large', 'y'.repeat(2_000), false]] as const) {
      const initial = record(id);
      const revision = await store.create(initial);
      const rowsWritten: number[] = [];
      const writer = new RecordWriter(counted(rowsWritten), initial, revision, silentLogger());
      const steps = Array.from({ length: 5 }, (_, i) => ({ id: `s${i}`, status: 'completed' as const, attempts: 1, output }));
      steps.forEach((_, i) => writer.changed({ ...initial, steps: steps.slice(0, i + 1) }, i));
      const final = await writer.finish({ ...initial, status: 'completed', steps, output: 'done', steps_total: 5, steps_done: 5 });
      assert.equal(final.status, 'completed');
      const header = (await store.getHeader(id))!;
      assert.equal(header.record.steps.length, inline ? 5 : 0, `${id}: rows ${inline ? 'inline' : 'under keys of their own'}`);
      assert.deepEqual(rowsWritten, inline ? [] : [5], `${id}: ${inline ? 'one write, no rows after it' : 'the header, then its five rows'}`);
      const back = (await store.get(id))!.record;
      assert.deepEqual(back.steps.map((s) => [s.id, s.output]), steps.map((s) => [s.id, output]), `${id}: every row reads back`);
      assert.equal(back.steps_done, 5);
      // A later change (a cancel's verdict, an operator's repair) rewrites it the usual way.
      await store.update(id, (r) => ({ ...r, error: { type: 'internal', message: 'noted' } }));
      assert.deepEqual((await store.get(id))!.record.steps.map((s) => s.id), steps.map((s) => s.id));
      const listed = (await store.list({ limit: 500 })).executions.find((r) => r.execution_id === id)!;
      assert.deepEqual(listed.steps, [], 'a listed record is its header, without rows');
      assert.equal(listed.steps_total, 5);
    }
  });

  test('the record writer yields to a verdict another node wrote', async () => {
    const initial = record('writer-2');
    const revision = await store.create(initial);
    let told: ExecutionRecord | undefined;
    const writer = new RecordWriter(store, initial, revision, silentLogger(), (r) => (told = r));
    await store.update('writer-2', (r) => ({ ...r, status: 'cancelled' }));
    const final = await writer.finish({ ...initial, status: 'completed' });
    assert.equal(final.status, 'cancelled');
    assert.equal(told?.status, 'cancelled');
    assert.equal((await store.get('writer-2'))!.record.status, 'cancelled');
  });

  test('a writer whose lease was taken (a higher epoch) stops writing and is told', async () => {
    const initial = { ...record('writer-3'), coordinator: 'old', epoch: 1 };
    const revision = await store.create(initial);
    let told: ExecutionRecord | undefined;
    const writer = new RecordWriter(store, initial, revision, silentLogger(), (r) => (told = r));
    const current = (await store.get('writer-3'))!;
    await store.writeHeader({ ...current.record, coordinator: 'new', epoch: 2 }, current.revision);
    writer.changed({ ...initial, steps: [{ id: 'late', status: 'completed', attempts: 1 }] }, 0);
    await writer.flushed();
    assert.equal(told?.coordinator, 'new');
    assert.equal(writer.fenced, true);
    const stored = (await store.get('writer-3'))!.record;
    assert.equal(stored.coordinator, 'new');
    assert.deepEqual(stored.steps, [], 'the fenced writer wrote no row');
  });

  test('a record of 3,000 rows and 3 MB of outputs is stored whole and read back whole', async () => {
    const big = 'x'.repeat(1_000);
    const steps = Array.from({ length: 3_000 }, (_, i) => ({ id: `loop[${i}].s`, status: 'completed' as const, attempts: 1, output: `${i}:${big}` }));
    const output = steps.map((s) => s.output);
    const r: ExecutionRecord = { ...record('big-1'), status: 'completed', steps, output, steps_total: steps.length, steps_done: steps.length };
    await store.put(r);
    const back = (await store.get('big-1'))!.record;
    assert.equal(back.steps.length, 3_000);
    assert.equal(back.steps[2_999]?.output, `2999:${big}`);
    assert.deepEqual(back.output, output);
    const header = (await store.getHeader('big-1'))!.record;
    assert.deepEqual(header.steps, [], 'the header carries counts, not rows');
    assert.equal(header.steps_total, 3_000);
  });

  test('open executions: the first look reads every header, later looks only what was written since', async () => {
    await store.create(record('oe-1'));
    await store.create(record('oe-2', { status: 'completed' }));
    await store.create(record('oe-3', { status: 'pending', coordinator: 'node-b' }));
    let told = 0;
    const counted = Object.create(store) as ExecutionStore;
    counted.headerChangesSince = (revision, onChange) => store.headerChangesSince(revision, (c) => (told++, onChange(c)));
    const open = new OpenExecutions(counted);
    const mine = async () => (await open.now()).filter((r) => r.execution_id.startsWith('oe-')).sort((a, b) => a.execution_id.localeCompare(b.execution_id));
    const first = await mine();
    assert.deepEqual(first.map((r) => [r.execution_id, r.coordinator]), [['oe-1', 'node-a'], ['oe-3', 'node-b']], 'the open ones, not the finished one');
    assert.ok(told >= 3, 'the first look reads every header');

    told = 0;
    assert.deepEqual((await mine()).map((r) => r.execution_id), ['oe-1', 'oe-3']);
    assert.equal(told, 0, 'nothing written since the last look: nothing read');

    await store.update('oe-1', (r) => ({ ...r, status: 'completed' }));
    await store.create(record('oe-4'));
    await (await nc.jetstream().views.kv(EXECUTIONS_BUCKET)).delete('oe-3');
    told = 0;
    assert.deepEqual((await mine()).map((r) => r.execution_id), ['oe-4'], 'finished and deleted ones leave, a new one comes');
    assert.equal(told, 3, 'only the three headers written since');
  });

  test('saved workflows: save, get, list (without YAML), invalid names refused', async () => {
    const workflows = new WorkflowStore(nc, { log: silentLogger() });
    await workflows.save({ name: 'hello', yaml: 'workflows: {}', workflows: ['main'], node: 'node-a', description: 'greets' });
    await workflows.save({ name: 'another', yaml: 'x: 1', workflows: ['a'], node: 'node-b' });
    assert.equal((await workflows.get('hello'))?.yaml, 'workflows: {}');
    assert.equal(await workflows.get('missing'), undefined);
    const list = await workflows.list();
    assert.deepEqual(list.map((w) => w.name), ['another', 'hello']);
    assert.equal('yaml' in list[0]!, false);
    await assert.rejects(workflows.save({ name: 'bad name!', yaml: '', workflows: [], node: 'n' }), /letters, digits/);
  });
});

describe('without JetStream', () => {
  test('the store says why it cannot work, and does not throw at construction', async () => {
    const nats = await startTestNats({ jetstream: false, useEnv: false });
    const nc = await connect({ servers: nats.url });
    try {
      const store = new ExecutionStore(nc);
      await assert.rejects(store.get('x'), (err: Error & { code?: string }) => err.code === 'STORE_UNAVAILABLE' && /start nats-server with -js/.test(err.message));
    } finally {
      await nc.close();
      await nats.stop();
    }
  });
});

describe('records on disk', () => {
  test('a record survives a restart of the NATS server (file storage)', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'wfmesh-store-restart-'));
    const port = await freePort();
    const opts = { workDir, port, jetstreamDir: join(workDir, 'js') };
    let server = await startNatsServer(opts);
    try {
      let nc = await connect({ servers: server.url });
      await new ExecutionStore(nc).create(record('durable-1', { status: 'completed', output: { kept: true } }));
      await nc.close();
      await server.stop();
      server = await startNatsServer(opts);
      nc = await connect({ servers: server.url });
      const back = await new ExecutionStore(nc).get('durable-1');
      await nc.close();
      assert.deepEqual(back?.record.output, { kept: true });
    } finally {
      await server.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  });
});

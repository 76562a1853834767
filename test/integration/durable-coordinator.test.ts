/**
 * Executions outlive their coordinator: real `wfmesh node` processes on one nats-server, an HTTP
 * API whose side effect is counted, and the records read from JetStream KV. A killed coordinator
 * (kill -9), a frozen worker (SIGSTOP), a rolling restart (SIGTERM) and the death of every node:
 * every execution completes, and each effect happens once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEffectServer, type EffectServer } from '../harness/effect-server.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { assertEffectsOnce, effectAttempts, effectWorkflow, startMany, TestMesh } from './durable-helpers.js';

let nats: TestNats;
let effect: EffectServer;
let mesh: TestMesh | undefined;

before(async () => {
  nats = await startTestNats();
});
after(async () => {
  await mesh?.close();
  await effect?.close();
  await nats?.stop();
});

async function freshMesh(): Promise<TestMesh> {
  await mesh?.close();
  await effect?.close();
  effect = await startEffectServer();
  mesh = new TestMesh(nats.url, effect);
  return mesh;
}

test('kill -9 of the coordinator of 20 running executions: another node finishes all 20, each effect once', async () => {
  const m = await freshMesh();
  // The coordinator offers only echo: every step runs on the two workers.
  await Promise.all([m.start('co-a', ['--tools', 'echo'], { mcp: true }), m.start('co-b'), m.start('co-c')]);
  const client = await m.client('co-a');
  const ids = await startMany(client, effectWorkflow(effect.url, 8_000), 20);
  await Promise.all(ids.map((id) => effect.arrived(`${id}:effect:1`, 60_000))); // every effect is under way, held open
  m.nodes.get('co-a')!.proc.kill('SIGKILL');

  const records = await m.allEnded(ids);
  assertEffectsOnce(records, effect);
  for (const key of effect.requests.keys()) assert.equal(effect.requests.get(key), 1, `${key}: the API was called once (the successor joined or reused the attempt)`);
  for (const r of records) {
    assert.notEqual(r.coordinator, 'co-a');
    assert.equal(r.handovers?.[0]?.from, 'co-a');
    assert.equal(r.epoch, 2, 'one takeover, one new epoch');
    // Every attempt that really ran is listed, on a worker.
    const attempts = effectAttempts(r);
    assert.ok(attempts.length >= 1 && attempts.every((a) => a.node === 'co-b' || a.node === 'co-c'), JSON.stringify(attempts));
    assert.equal(attempts.filter((a) => a.status === 'completed').length, 1);
  }
});

test('a worker frozen in the middle of its step (SIGSTOP): the step moves on, the thawed worker is fenced, the effect is applied once', async () => {
  const m = await freshMesh();
  await Promise.all([m.start('fz-a', ['--tools', 'echo'], { mcp: true }), m.start('fz-b', ['--label', 'role=first']), m.start('fz-c')]);
  const client = await m.client('fz-a');
  // The effect goes to fz-b first (requires.labels... prefer), and is held there long enough to freeze it.
  const yaml = effectWorkflow(effect.url, 4_000).replace('method: request', 'method: request\n      requires: {prefer: {labels: {role: first}}}');
  const [id] = await startMany(client, yaml, 1);
  const key = await effect.arrived(`${id}:effect`);
  const frozen = m.nodes.get('fz-b')!.proc;
  frozen.kill('SIGSTOP');
  const [r] = await m.allEnded([id!], 60_000);
  frozen.kill('SIGCONT');
  assertEffectsOnce([r!], effect);
  assert.equal(key, `${id}:effect:1`);
  const attempts = effectAttempts(r!);
  assert.deepEqual(
    attempts.map((a) => `${a.node}:${a.status}`),
    ['fz-b:lost', 'fz-c:completed'],
    'the frozen node lost the attempt, the other completed it: the record shows both',
  );
  // The thawed node, told its dispatch was cancelled, finishes nothing more: no third call.
  await new Promise((res) => setTimeout(res, 1_500));
  assert.ok((effect.requests.get(key) ?? 0) <= 2, `calls for ${key}: ${effect.requests.get(key)}`);
});

test('a rolling restart of all three nodes while 30 executions run: all complete, each effect once', async () => {
  const m = await freshMesh();
  await Promise.all([m.start('rr-a', [], { mcp: true }), m.start('rr-b'), m.start('rr-c')]);
  const client = await m.client('rr-a');
  const ids = await startMany(client, effectWorkflow(effect.url, 400), 30);
  for (const name of ['rr-a', 'rr-b', 'rr-c']) {
    const node = m.nodes.get(name)!;
    node.proc.kill('SIGTERM');
    const exit = await node.proc.exited;
    assert.equal(exit.code, 0, `${name} stopped cleanly:\n${node.proc.stderr().slice(-2_000)}`);
    await m.start(name);
  }
  const records = await m.allEnded(ids);
  assertEffectsOnce(records, effect);
  const handed = records.filter((r) => r.handovers?.length);
  assert.ok(handed.length > 0, 'the stopping coordinator handed its executions on');
  for (const r of handed) assert.match(r.handovers![0]!.reason, /stopping/);
});

test('every node killed, then started again: the executions that were running resume and complete', async () => {
  const m = await freshMesh();
  await Promise.all([m.start('all-a', ['--tools', 'echo'], { mcp: true }), m.start('all-b'), m.start('all-c')]);
  const client = await m.client('all-a');
  const ids = await startMany(client, effectWorkflow(effect.url, 2_000), 5);
  await effect.arrived(':effect:1');
  for (const n of m.nodes.values()) n.proc.kill('SIGKILL');
  await Promise.all([...m.nodes.values()].map((n) => n.proc.exited));
  const before = await m.records(ids);
  assert.ok(before.every((r) => r.status === 'running'), 'nobody ended them while no node was alive');

  await Promise.all([m.start('all-a', ['--tools', 'echo']), m.start('all-b'), m.start('all-c')]);
  const records = await m.allEnded(ids);
  assertEffectsOnce(records, effect);
  for (const r of records) {
    assert.ok((r.epoch ?? 0) >= 2, 'taken over after the restart');
    assert.equal(r.steps.find((s) => s.id === 'warm')?.attempts, 1, 'a completed step is not run again');
  }
});

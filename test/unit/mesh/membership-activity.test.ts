import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../src/log/index.js';
import { Membership } from '../../../src/mesh/membership.js';
import { subjects } from '../../../src/protocol/subjects.js';
import { testCapabilities } from '../../harness/capabilities.js';
import { natsForTests } from '../../harness/nats.js';
import { eventually } from '../../harness/processes.js';

const shared = natsForTests();

async function member(name: string, busy: () => boolean = () => false): Promise<Membership> {
  const { id: _id, ...capabilities } = testCapabilities(name, { name });
  return Membership.create({
    nc: shared.nc,
    capabilities,
    version: '0.1.0',
    heartbeatMs: 200,
    deadAfterMs: 500,
    idleProbeMs: 400,
    busy,
    liveLoad: () => ({ state: 'RUNNING', load: { inflight: 0, max_concurrency: 8, cpu_pct: 0 }, memory_free_mib: 512 }),
    log: silentLogger(),
  });
}

const until = (what: string, ok: () => boolean): Promise<void> => eventually(ok, what, 3_000);

test('a node with work tells the mesh once; a suspicion makes the mesh busy too', async () => {
  let working = false;
  const a = await member('ma-a', () => working);
  const b = await member('ma-b');
  try {
    await until('they know each other', () => a.registry.size === 2 && b.registry.size === 2);
    assert.equal(b.activity.busy(), false);
    // Told per step: one announcement for many calls.
    const told: unknown[] = [];
    const sub = shared.nc.subscribe(subjects.members('ma-a', a.id), { callback: (_e, m) => told.push(JSON.parse(new TextDecoder().decode(m.data))) });
    await shared.nc.flush();
    for (let i = 0; i < 50; i++) a.noteBusy();
    await until('b hears that the mesh is busy', () => b.activity.busy());
    await shared.nc.flush();
    sub.unsubscribe();
    assert.equal(told.filter((m) => (m as { busy?: boolean }).busy === true).length, 1);

    // A suspicion (here of a node nobody knows, from a third sender) is news of trouble: busy.
    const c = await member('ma-c');
    try {
      assert.equal(c.activity.busy(), false, 'c joined after the announcement');
      shared.nc.publish(subjects.members('ma-x', 'ma-x'), new TextEncoder().encode(JSON.stringify({ type: 'wfmesh.member.v1', kind: 'suspect', id: 'ghost', name: 'n-ghost', incarnation: 0, from: 'ma-x' })));
      await until('c probes at the busy rate after a suspicion', () => c.activity.busy());
    } finally {
      await c.stop();
    }
    // A node whose work lasts says so again from its prober, each time nobody has for half the
    // linger (2.4 s: six idle periods): about every 1.2 s here.
    assert.equal(a.activity.lingerMs, 2_400);
    const again: unknown[] = [];
    const sub2 = shared.nc.subscribe(subjects.members('ma-a', a.id), { callback: (_e, m) => again.push(JSON.parse(new TextDecoder().decode(m.data))) });
    await shared.nc.flush();
    working = true;
    await new Promise((r) => setTimeout(r, 3_000));
    working = false;
    sub2.unsubscribe();
    const retold = again.filter((m) => (m as { busy?: boolean }).busy === true).length;
    assert.ok(retold >= 1 && retold <= 3, `told again ${retold} times in 3 s`);
    assert.equal(b.activity.busy(), true, 'b still counts the mesh busy');
    await until('idle again once the work is over and the linger has passed', () => !b.activity.busy());
  } finally {
    await a.stop();
    await b.stop();
  }
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CallbackList, ShortLivedTable } from '../../../src/util/short-lived.js';

describe('ShortLivedTable', () => {
  test('keeps what was set until it is deleted, and counts it', () => {
    const t = new ShortLivedTable<number>();
    t.set('a', 1);
    t.set('b', 2);
    t.set('a', 3); // replaced, not added
    assert.equal(t.size, 2);
    assert.equal(t.get('a'), 3);
    assert.equal(t.has('b'), true);
    assert.equal(t.delete('b'), true);
    assert.equal(t.delete('b'), false);
    assert.equal(t.has('b'), false);
    assert.equal(t.get('b'), undefined);
    assert.equal(t.size, 1);
  });

  test('keys that look like numbers or name Object members are plain keys', () => {
    const t = new ShortLivedTable<string>();
    for (const k of ['1', '0', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) t.set(k, `v${k}`);
    assert.equal(t.size, 6);
    assert.equal(t.get('__proto__'), 'v__proto__');
    assert.equal(t.get('toString'), 'vtoString');
    assert.equal(t.has('valueOf'), false);
    assert.deepEqual(t.snapshot().map(([k]) => k).sort(), ['0', '1', '__proto__', 'constructor', 'hasOwnProperty', 'toString']);
  });

  test('a snapshot lists the entries and stays as it was while the table changes', () => {
    const t = new ShortLivedTable<number>();
    for (let i = 0; i < 5; i++) t.set(`k${i}`, i);
    const snap = t.snapshot();
    for (const [k] of snap) t.delete(k);
    assert.deepEqual(snap, [['k0', 0], ['k1', 1], ['k2', 2], ['k3', 3], ['k4', 4]]);
    assert.equal(t.size, 0);
    t.set('x', 9);
    t.clear();
    assert.equal(t.size, 0);
    assert.equal(t.get('x'), undefined);
  });

  test('100k entries added and deleted one by one: the long-lived ones stay, in order, through every fresh copy', () => {
    const t = new ShortLivedTable<{ n: number }>();
    for (let i = 0; i < 3; i++) t.set(`keep-${i}`, { n: -i });
    for (let i = 0; i < 100_000; i++) {
      t.set(`req-${i}`, { n: i });
      if (i >= 64) assert.equal(t.delete(`req-${i - 64}`), true);
    }
    assert.equal(t.size, 67);
    assert.equal(t.get('req-99999')?.n, 99_999);
    assert.equal(t.get('req-0'), undefined);
    assert.deepEqual(t.snapshot().slice(0, 4).map(([k]) => k), ['keep-0', 'keep-1', 'keep-2', 'req-99936']);
  });
});

describe('CallbackList', () => {
  test('keeps registrations in order; a removed one is gone, once', () => {
    const list = new CallbackList<string>();
    const a = list.add('a');
    const b = list.add('b');
    const c = list.add('c');
    assert.equal(list.size, 3);
    assert.equal(list.remove(b), true);
    assert.equal(list.remove(b), false);
    assert.equal(list.size, 2);
    const d = list.add('d');
    assert.equal(list.remove(a), true);
    assert.equal(list.remove(d), true);
    assert.deepEqual(list.drain(), ['c']);
    assert.equal(list.remove(c), false, 'drained registrations are no longer in the list');
    assert.equal(list.size, 0);
  });

  test('values() lists what is registered, in order, and leaves it registered', () => {
    const list = new CallbackList<string>();
    const regs = ['a', 'b', 'c'].map((v) => list.add(v));
    list.remove(regs[1]!);
    const seen = list.values();
    assert.deepEqual(seen, ['a', 'c']);
    list.remove(regs[0]!); // a copy: changing the list afterwards does not change what was handed out
    assert.deepEqual(seen, ['a', 'c']);
    assert.deepEqual(list.values(), ['c']);
    assert.equal(list.size, 1);
  });

  test('a registration of another list is not removed from this one', () => {
    const one = new CallbackList<number>();
    const two = new CallbackList<number>();
    const r = one.add(1);
    two.add(2);
    assert.equal(two.remove(r), false);
    assert.equal(two.size, 1);
    assert.equal(one.remove(r), true);
  });

  test('removed and drained nodes hold no neighbours (no chain of dead registrations)', () => {
    const list = new CallbackList<number>();
    const regs = [1, 2, 3, 4].map((n) => list.add(n));
    list.remove(regs[1]!);
    list.drain();
    for (const r of regs) {
      const node = r as unknown as { prev?: unknown; next?: unknown; list?: unknown };
      assert.equal(node.prev, undefined);
      assert.equal(node.next, undefined);
      assert.equal(node.list, undefined);
    }
  });

  test('head and tail stay right through removals at both ends', () => {
    const list = new CallbackList<number>();
    const regs = [1, 2, 3].map((n) => list.add(n));
    list.remove(regs[0]!);
    list.remove(regs[2]!);
    list.add(4);
    assert.deepEqual(list.drain(), [2, 4]);
    list.add(5);
    assert.deepEqual(list.drain(), [5]);
  });
});

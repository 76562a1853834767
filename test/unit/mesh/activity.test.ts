import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MeshActivity } from '../../../src/mesh/activity.js';

test('the mesh is busy for the linger after the last news of work; a node with work says so again only past half of it', () => {
  const a = new MeshActivity(30_000);
  assert.equal(a.busy(0), false, 'nothing heard: idle');
  assert.equal(a.dueToTell(0), true);
  assert.equal(a.extend(1_000), true, 'it was idle until then');
  assert.equal(a.busy(30_999), true);
  assert.equal(a.busy(31_000), false, 'the linger ran out');
  assert.equal(a.dueToTell(15_999), false, 'told 15 s ago: nobody says it again yet');
  assert.equal(a.dueToTell(16_001), true, 'past half the linger');
  assert.equal(a.extend(10_000), false, 'news while busy');
  assert.equal(a.busy(39_999), true, 'the linger counts from the latest news');
  a.extend(5_000);
  assert.equal(a.busy(39_999), true, 'older news never shortens it');
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { executionGraph } from '../../../src/dashboard/index.js';
import type { ExecutionRecord, StepRecord } from '../../../src/protocol/execution.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
const row = (id: string, start: number, end: number, node = 'n1'): StepRecord => ({ id, status: 'completed', node, attempts: 1, started_at: at(start), ended_at: at(end) });

function mapReduceRecord(): ExecutionRecord {
  return {
    type: 'wfmesh.execution.v1',
    execution_id: 'ex1',
    workflow: 'map_reduce',
    mode: 'distributed',
    status: 'completed',
    coordinator: 'n1',
    created_at: at(0),
    updated_at: at(100),
    steps: [
      row('split', 0, 10),
      row('map', 11, 60),
      row('stats', 12, 20),
      row('reduce', 61, 70),
      row('report', 71, 80),
      row('map[0].measure', 13, 20),
      row('map[0].label', 21, 30),
      row('map[1].measure', 13, 25),
      row('map[1].label', 26, 40),
    ],
  };
}

const sorted = (edges: { from: string; to: string }[]) => edges.map((e) => `${e.from} -> ${e.to}`).sort();

test('with the workflow at hand, the graph has its edges, the loop body repeated per iteration', () => {
  const yaml = readFileSync(`${root}/config/workflows/map-reduce.yaml`, 'utf8');
  const g = executionGraph(mapReduceRecord(), yaml);
  assert.equal(g.source, 'workflow');
  assert.deepEqual(sorted(g.edges), [
    'map -> map[0].measure',
    'map -> map[1].measure',
    'map -> reduce',
    'map[0].measure -> map[0].label',
    'map[1].measure -> map[1].label',
    'reduce -> report',
    'split -> map',
    'split -> stats',
    'stats -> reduce',
  ]);
});

test('without it, edges follow the order the steps took, and loop rows hang under their loop', () => {
  const g = executionGraph(mapReduceRecord());
  assert.equal(g.source, 'observed');
  assert.deepEqual(sorted(g.edges), [
    'map -> map[0].measure',
    'map -> map[1].measure',
    'map -> reduce',
    'map[0].measure -> map[0].label',
    'map[1].measure -> map[1].label',
    'reduce -> report',
    'split -> map',
    'split -> stats',
    'stats -> reduce',
  ]);
});

test('steps that never ran have no edges, and edges only link rows that exist', () => {
  const r = mapReduceRecord();
  r.steps = [row('a', 0, 5), { id: 'b', status: 'skipped', attempts: 0 }, row('c', 6, 9)];
  assert.deepEqual(sorted(executionGraph(r).edges), ['a -> c']);
  assert.deepEqual(executionGraph(r, 'not: [valid').edges.length, 1, 'an unreadable workflow falls back to the observed order');
});

test('the embedded dashboard assets match the page sources', () => {
  const res = spawnSync(process.execPath, ['scripts/build-dashboard.mjs', '--check'], { cwd: root, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
});

/** Audit lines: one pino JSON line per execution and per step event, with a fixed shape. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { auditLog } from '../../src/node/audit.js';

function capture(): { log: pino.Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('an execution and a step each leave one audit line with who, where and the outcome', () => {
  const { log, lines } = capture();
  auditLog(log.child({ node: 'eu-1' }), {
    event: 'execution',
    execution_id: 'ex-1',
    requested_by: 'mcp:http 10.0.0.7',
    node: 'eu-1',
    outcome: 'started',
    workflow: 'summarise',
    mode: 'distributed',
  });
  auditLog(log, {
    event: 'step',
    execution_id: 'ex-1',
    step_id: 'fetch',
    requested_by: 'eu-1',
    node: 'gpu-1',
    outcome: 'failed',
    task: 'tool:http.request',
    attempt: 2,
    duration_ms: 41,
    error: { type: 'denied', message: 'host not allowed' },
  });
  const [execution, step] = lines();
  assert.equal(lines().length, 2);
  assert.deepEqual(
    { audit: execution?.audit, event: execution?.event, execution_id: execution?.execution_id, requested_by: execution?.requested_by, node: execution?.node, outcome: execution?.outcome },
    { audit: true, event: 'execution', execution_id: 'ex-1', requested_by: 'mcp:http 10.0.0.7', node: 'eu-1', outcome: 'started' },
  );
  assert.equal(execution?.level, 30);
  assert.equal(execution?.msg, 'audit: execution ex-1 started');
  assert.equal(step?.step_id, 'fetch');
  assert.equal(step?.node, 'gpu-1');
  assert.deepEqual(step?.error, { type: 'denied', message: 'host not allowed' });
  assert.equal(step?.msg, 'audit: step ex-1/fetch failed');
});

test('audit lines follow the log level: silent loggers write none', () => {
  const chunks: string[] = [];
  const log = pino({ level: 'warn' }, new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c.toString()), done()) }));
  auditLog(log, { event: 'execution', execution_id: 'ex-2', requested_by: 'cli', node: 'n', outcome: 'completed' });
  assert.equal(chunks.length, 0);
});

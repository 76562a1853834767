/** Audit lines: one pino JSON line per execution and per step event, with a fixed shape. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { auditLog } from '../../src/node/audit.js';
import { compileNodeOptions, startNode } from '../../src/node/index.js';
import { startTestNats } from '../harness/nats.js';

function capture(): { log: pino.Logger; raw: () => string; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), raw: () => chunks.join(''), lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
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

test('an audit line names each key once and stays one JSON line whatever the ids hold', () => {
  const { log, raw, lines } = capture();
  const bound = log.child({ node: 'eu-1' });
  auditLog(bound, { event: 'step', execution_id: 'ex "3"', step_id: 'a\nb\\c\u2028', requested_by: 'eu-2', node: 'eu-1', outcome: 'completed', attempt: 1, duration_ms: Number.NaN });
  auditLog(bound, { event: 'step', execution_id: 'ex-4', step_id: 's', requested_by: 'eu-2', node: 'gpu-1', outcome: 'completed' });
  const [first, second] = lines();
  assert.equal(lines().length, 2);
  assert.equal(first?.execution_id, 'ex "3"');
  assert.equal(first?.step_id, 'a\nb\\c\u2028');
  assert.equal(first?.duration_ms, null);
  assert.equal(first?.msg, 'audit: step ex "3"/a\nb\\c\u2028 completed');
  assert.equal(second?.node, 'gpu-1'); // the event's node wins over the binding
  assert.equal(raw().split('\n')[0]?.match(/"node":/g)?.length, 1); // bound already: not written again
});

test('audit lines quote every id right when ids repeat, change, or hold emoji and lone surrogates', () => {
  const { log, lines } = capture();
  const ids = ['ex-5', 'ex-5', 'ex \u{1F600}', 'ex-\ud800', 'ex-\ud800', 'ex-"6"', 'ex-5'];
  for (const [i, id] of ids.entries()) {
    auditLog(log, { event: 'step', execution_id: id, step_id: i % 2 ? `s\udfff${i}` : `s${i}`, requested_by: i < 3 ? 'eu-2' : 'eu "3"', node: 'eu-1', outcome: 'completed', task: i % 3 ? 'tool:echo' : 'tool:"x"' });
  }
  const read = lines();
  assert.equal(read.length, ids.length);
  for (const [i, line] of read.entries()) {
    const step = i % 2 ? `s\udfff${i}` : `s${i}`;
    assert.equal(line.execution_id, ids[i]);
    assert.equal(line.step_id, step);
    assert.equal(line.requested_by, i < 3 ? 'eu-2' : 'eu "3"');
    assert.equal(line.task, i % 3 ? 'tool:echo' : 'tool:"x"');
    assert.equal(line.msg, `audit: step ${ids[i]}/${step} completed`);
  }
});

test('audit lines follow the log level: silent loggers write none', () => {
  const chunks: string[] = [];
  const log = pino({ level: 'warn' }, new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c.toString()), done()) }));
  auditLog(log, { event: 'execution', execution_id: 'ex-2', requested_by: 'cli', node: 'n', outcome: 'completed' });
  assert.equal(chunks.length, 0);
});

test('a real node writes the audit lines of an execution and of every step it runs', async () => {
  const nats = await startTestNats({ useEnv: false });
  const { log, lines } = capture();
  const node = await startNode(compileNodeOptions({ nats: nats.url, name: 'audit-1', noMcp: true }, {}), log);
  try {
    const executions = node.executions!;
    assert.ok(executions);
    const record = await executions.start({
      yaml: 'workflows:\n  main:\n    - {id: one, tool: echo, args: {x: 1}}\n    - {id: two, tool: echo, args: {y: "${one.output.x}"}}\n',
      input: 'hi',
      mode: 'distributed',
      requested_by: 'test:audit',
    });
    assert.equal(record.status, 'completed');
    const audit = lines().filter((l) => l.audit === true && l.execution_id === record.execution_id);
    const executionLines = audit.filter((l) => l.event === 'execution').map((l) => [l.outcome, l.requested_by, l.node]);
    assert.deepEqual(executionLines, [
      ['started', 'test:audit', 'audit-1'],
      ['completed', 'test:audit', 'audit-1'],
    ]);
    const stepLines = audit.filter((l) => l.event === 'step').map((l) => [l.step_id, l.outcome, l.node, l.requested_by, l.task]);
    assert.deepEqual(stepLines, [
      ['one', 'completed', 'audit-1', 'audit-1', 'tool:echo'],
      ['two', 'completed', 'audit-1', 'audit-1', 'tool:echo'],
    ]);
    // In order: the steps' lines come before the line of the execution they ended.
    assert.deepEqual(audit.map((l) => l.step_id ?? l.outcome), ['started', 'one', 'two', 'completed']);
  } finally {
    await node.stop();
    await nats.stop();
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino, { type LoggerOptions } from 'pino';
import { infoLineWriter } from '../../../src/log/index.js';
import { auditLog, type AuditEvent } from '../../../src/node/audit.js';

/** A pino logger writing into an array, with the time pinned so that two lines can be compared byte for byte. */
function capturing(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const log = pino({ level: 'info', base: { pid: 42, node: 'n-1' }, timestamp: () => ',"time":1700000000000', ...options }, { write: (s: string) => lines.push(s) });
  return { log, lines };
}

const FIELDS: Record<string, unknown>[] = [
  { event: 'step', execution_id: 'ex-1', step_id: 's1', attempt: 2, duration_ms: 0, outcome: 'completed' },
  { event: 'step', error: { type: 'tool_error', message: 'quote " backslash \\ newline \n tab \t' }, note: 'ünïcödé ✓ \u2028', ratio: 0.25 },
  { skipped: undefined, kept: null, flag: false, big: Number.NaN, list: [1, 'two', { three: 3 }] },
  {},
];

test('an info line written from JSON text is byte for byte the line pino writes for the same fields', () => {
  const { log, lines } = capturing();
  const child = log.child({ audit: true });
  const write = infoLineWriter(child);
  assert.ok(write, 'a plain pino logger gets a writer');
  for (const fields of FIELDS) {
    const msg = `audit: "${String(fields.event)}"\nsecond line`;
    child.info(fields, msg);
    write(JSON.stringify(fields), msg);
    const [byPino, byWriter] = lines.splice(0);
    assert.equal(byWriter, byPino);
    assert.deepEqual(JSON.parse(byWriter!), JSON.parse(byPino!), 'and it parses');
  }
});

test('the writer follows the logger level as it changes, and writes nothing below info', () => {
  const { log, lines } = capturing();
  const write = infoLineWriter(log)!;
  log.level = 'warn';
  write('{"a":1}', 'hidden');
  assert.equal(lines.length, 0);
  log.level = 'debug';
  write('{"a":1}', 'shown');
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]!).msg, 'shown');
});

test('a logger with something pino must apply itself gets no writer (the caller uses log.info)', () => {
  const cases: [string, LoggerOptions][] = [
    ['a mixin', { mixin: () => ({ extra: 1 }) }],
    ['a message prefix', { msgPrefix: '[x] ' }],
    ['a log formatter', { formatters: { log: (o) => ({ ...o, wrapped: true }) } }],
    ['a level formatter', { formatters: { level: (label) => ({ level: label }) } }],
    ['a serializer', { serializers: { event: () => 'redacted' } }],
    ['another message key', { messageKey: 'message' }],
    ['a nested key', { nestedKey: 'payload' }],
    ['a logMethod hook', { hooks: { logMethod: (args, method) => method.apply(undefined as never, args) } }],
  ];
  for (const [what, options] of cases) assert.equal(infoLineWriter(capturing(options).log), undefined, what);
  assert.equal(infoLineWriter(pino({ level: 'info' }, pino.multistream([{ stream: { write: () => undefined } }]))), undefined, 'a multistream destination');
});

test('audit lines go through the writer and keep every field, in order with the logger’s other lines', () => {
  const { log, lines } = capturing();
  const event: AuditEvent = { event: 'step', execution_id: 'ex-9', step_id: 'fetch', requested_by: 'mcp:http 127.0.0.1', node: 'n-1', outcome: 'failed', task: 'tool:http.get', attempt: 3, duration_ms: 12, error: { type: 'timeout', message: 'step "fetch" ran past its deadline' } };
  // The audit child's own info() is not the way the line goes: the writer is.
  const child = log.child.bind(log);
  log.child = ((bindings: pino.Bindings) => Object.assign(child(bindings), { info: () => assert.fail('the audit line went through pino.info') })) as unknown as typeof log.child;
  log.info('before');
  auditLog(log, event);
  log.info('after');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).msg),
    ['before', 'audit: step ex-9/fetch failed', 'after'],
  );
  assert.deepEqual(JSON.parse(lines[1]!), { level: 30, time: 1700000000000, pid: 42, audit: true, ...event, msg: 'audit: step ex-9/fetch failed' });
  const expected: string[] = [];
  pino({ level: 'info', base: { pid: 42, node: 'n-1' }, timestamp: () => ',"time":1700000000000' }, { write: (s: string) => expected.push(s) })
    .child({ audit: true })
    .info(event, 'audit: step ex-9/fetch failed');
  assert.equal(lines[1], expected[0], 'the same bytes as pino itself would write');
});

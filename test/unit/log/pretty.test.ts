import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLogLine } from '../../../src/log/pretty.js';

test('a pino line reads as time, level, node, message and the other fields', () => {
  const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 3, 4), pid: 1, node: 'node-1', msg: 'lost the NATS server', server: 'nats://x:4222' });
  assert.equal(formatLogLine(line, false), '12:03:04 WARN  node-1  lost the NATS server  server=nats://x:4222');
  assert.match(formatLogLine(line, true), /\x1b\[33mWARN /);
});

test('a line that is not JSON passes through', () => {
  assert.equal(formatLogLine('plain text', false), 'plain text');
});

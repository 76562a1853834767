import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { initializeProblem, normalizeOrigin, originCheck } from '../../../src/mcp/http-guards.js';
import { ProgressStream, type ProgressNote } from '../../../src/mcp/progress.js';
import { screenLine } from '../../../src/mcp/stdio.js';

const req = (origin?: string) => ({ headers: origin === undefined ? {} : { origin } }) as IncomingMessage;

test('Origin: absent passes; loopback origins only on a loopback bind; the allow-list everywhere; * allows any', () => {
  const loop = originCheck('127.0.0.1', []);
  assert.equal(loop(req()), true);
  for (const o of ['http://localhost:1', 'https://127.0.0.1', 'http://[::1]:8080', 'http://127.1.2.3:9']) assert.equal(loop(req(o)), true, o);
  for (const o of ['http://evil.example', 'null', 'file://', 'not a url', 'ftp://localhost', 'http://localhost.evil.example']) assert.equal(loop(req(o)), false, o);

  const wide = originCheck('0.0.0.0', ['https://App.Example.com:443/', 'http://tools.example:8080']);
  assert.equal(wide(req()), true, 'no Origin: not a browser');
  assert.equal(wide(req('http://localhost:5173')), false, 'bound to every interface, loopback origins are not trusted by default');
  assert.equal(wide(req('https://app.example.com')), true, 'normalised: case, default port, path');
  assert.equal(wide(req('http://tools.example:8080')), true);
  assert.equal(wide(req('http://tools.example')), false);
  assert.equal(originCheck('0.0.0.0', ['*'])(req('https://anything.example')), true);
  assert.equal(normalizeOrigin('HTTPS://X.example:443/path?q'), 'https://x.example');
  assert.equal(normalizeOrigin('null'), undefined);
});

test('initialize: what is missing is named; anything else is not its business', () => {
  const p = initializeProblem({ jsonrpc: '2.0', id: 7, method: 'initialize', params: { capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
  assert.equal(p?.id, 7);
  assert.match(p?.message ?? '', /params\.protocolVersion/);
  assert.match(initializeProblem({ jsonrpc: '2.0', id: 'a', method: 'initialize', params: { protocolVersion: '2025-11-25' } })?.message ?? '', /clientInfo/);
  assert.equal(initializeProblem({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }), undefined);
  assert.equal(initializeProblem({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), undefined);
  assert.equal(initializeProblem([1]), undefined);
});

test('stdio lines: JSON-RPC messages pass; the rest get an error with the id when it can be read', () => {
  assert.deepEqual(screenLine('{"jsonrpc":"2.0","id":1,"method":"ping"}'), { pass: true });
  assert.deepEqual(screenLine('   '), { pass: false, replies: [] });
  const cut = screenLine('{"jsonrpc":"2.0","id":"abc","method":"tools/list",');
  assert.equal(cut.pass, false);
  assert.deepEqual(cut.pass ? undefined : cut.replies.map((r) => [r.id, r.error.code]), [['abc', -32700]]);
  const batch = screenLine('[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"ping"}]');
  assert.deepEqual(batch.pass ? undefined : batch.replies.map((r) => [r.id, r.error.code]), [[1, -32600], [2, -32600]]);
  const wrong = screenLine('{"jsonrpc":"1.0","id":3,"method":"ping"}');
  assert.match(wrong.pass ? '' : wrong.replies[0]!.error.message, /"jsonrpc" must be "2.0"/);
  const params = screenLine('{"jsonrpc":"2.0","id":4,"method":"ping","params":[1]}');
  assert.match(params.pass ? '' : params.replies[0]!.error.message, /"params" must be an object/);
  const init = screenLine('{"jsonrpc":"2.0","id":5,"method":"initialize","params":{"capabilities":{},"clientInfo":{"name":"x","version":"1"}}}');
  assert.deepEqual(init.pass ? undefined : [init.replies[0]!.id, init.replies[0]!.error.code], [5, -32602]);
});

test('progress: real reports that would not grow are nudged up; heartbeats grow but stay below the next half step', async () => {
  const sent: ProgressNote[] = [];
  const controller = new AbortController();
  const stream = new ProgressStream({ send: (n) => sent.push(n), heartbeatMs: 5, signal: controller.signal });
  stream.report({ progress: 0, message: 'generating' });
  stream.report({ progress: 0, total: 2, message: '0/2 steps done' }); // a second phase that starts at 0 too
  stream.report({ progress: 0.5, total: 2, message: '0/2 steps done; a running' });
  stream.start();
  const beating = () => sent.filter((n) => /still working/.test(n.message ?? '')).length;
  for (const until = Date.now() + 10_000; beating() < 3 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
  stream.report({ progress: 1, total: 2, message: '1/2 steps done' });
  stream.stop();
  const values = sent.map((n) => n.progress);
  for (let i = 1; i < values.length; i++) assert.ok(values[i]! > values[i - 1]!, `strictly increasing: ${values.join(', ')}`);
  const beats = sent.filter((n) => /still working/.test(n.message ?? ''));
  assert.ok(beats.length >= 3, `heartbeats: ${beats.length}`);
  assert.ok(beats.every((b) => b.progress > 0.5 && b.progress < 0.75 && b.total === 2 && /a running \(still working/.test(b.message ?? '')));
  assert.equal(values.at(-1), 1);
  // Once the call is cancelled, nothing more is sent.
  const count = sent.length;
  stream.start();
  controller.abort();
  stream.report({ progress: 2 });
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(sent.length, count);
});

test('progress: a heartbeat after 200000 beats (five weeks at 15 s) still grows', () => {
  const sent: ProgressNote[] = [];
  const stream = new ProgressStream({ send: (n) => sent.push(n), heartbeatMs: 1_000_000, signal: new AbortController().signal });
  stream.report({ progress: 7, total: 9 });
  const beat = (stream as unknown as { beat(): void }).beat.bind(stream);
  for (let i = 0; i < 200_000; i++) beat();
  const last = sent.slice(-3).map((n) => n.progress);
  assert.ok(last[0]! < last[1]! && last[1]! < last[2]! && last[2]! < 7.25, last.join(', '));
});

import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { dashboardGate, sameOriginJson } from '../../../src/dashboard/auth.js';

// Only the headers are read: a plain object stands in for the request.
const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

test('with a token, the data endpoints need exactly that bearer token', () => {
  const gate = dashboardGate('127.0.0.1', 's3cret');
  assert.deepEqual(gate(req({ host: '127.0.0.1:4020', authorization: 'Bearer s3cret' })), { ok: true });
  for (const authorization of ['', 'Bearer wrong', 's3cret', 'Bearer s3cret ']) {
    const v = gate(req({ host: '127.0.0.1:4020', authorization }));
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.status, 401);
  }
});

test('bound to loopback, a Host that is not a loopback name is refused (DNS rebinding)', () => {
  const gate = dashboardGate('127.0.0.1', undefined);
  assert.equal(gate(req({ host: 'localhost:4020' })).ok, true);
  assert.equal(gate(req({ host: '[::1]:4020' })).ok, true);
  const v = gate(req({ host: 'evil.example:4020' }));
  assert.equal(!v.ok && v.status, 403);
  assert.equal(dashboardGate('0.0.0.0', undefined)(req({ host: 'mesh.example:4020' })).ok, true, 'bound to all interfaces, any Host');
});

test('cancel takes only same-origin JSON', () => {
  assert.equal(sameOriginJson(req({ host: 'localhost:4020', 'content-type': 'application/json' })), true);
  assert.equal(sameOriginJson(req({ host: 'localhost:4020', 'content-type': 'application/json', origin: 'http://localhost:4020' })), true);
  assert.equal(sameOriginJson(req({ host: 'localhost:4020', 'content-type': 'application/json', origin: 'http://evil.example' })), false);
  assert.equal(sameOriginJson(req({ host: 'localhost:4020', 'content-type': 'application/x-www-form-urlencoded' })), false);
});

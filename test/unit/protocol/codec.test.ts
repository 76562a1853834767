import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJson, encodeJson } from '../../../src/protocol/codec.js';

test('decodeJson reads what encodeJson wrote, from a view into a larger buffer too', () => {
  const value = { type: 'wfmesh.step.request.v1', text: 'é 😀 \u2028 "q" \\', n: 1.5, list: [null, true] };
  const bytes = encodeJson(value);
  assert.deepEqual(decodeJson(bytes), value);
  const framed = Buffer.concat([Buffer.from('before'), bytes, Buffer.from('after')]);
  assert.deepEqual(decodeJson(framed.subarray(6, 6 + bytes.length)), value);
});

test('decodeJson: empty, malformed, byte-order-marked and invalid UTF-8 input', () => {
  assert.equal(decodeJson(new Uint8Array()), undefined);
  assert.equal(decodeJson(Buffer.from('{"a":')), undefined);
  // A byte-order mark is kept, as Buffer#toString keeps it, and JSON does not allow one.
  assert.equal(decodeJson(Buffer.from('\ufeff{"a":1}')), undefined);
  // Bytes that are not UTF-8 read as U+FFFD inside a string, as Buffer#toString reads them.
  assert.deepEqual(decodeJson(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])), { a: '\ufffd' });
});

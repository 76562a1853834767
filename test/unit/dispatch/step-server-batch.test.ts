import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JOIN_ITEM_OVERHEAD, JOIN_OVERHEAD } from '../../../src/nats/requester.js';
import { decodeJson, encodeJson } from '../../../src/protocol/codec.js';
import { joinStepReplies, joinStepRequests, readStepBatch, repliesToSend, splitStepReplies, STEP_BATCH_TYPE } from '../../../src/protocol/step-batch.js';
import type { StepReply, StepRequest } from '../../../src/protocol/step.js';
import { natsForTests } from '../../harness/nats.js';
import { startStepServer, stepRequest } from './step-requests.js';

const shared = natsForTests();

let n = 0;
const echo = (): StepRequest => stepRequest(++n, { kind: 'tool', tool_id: 'echo', tool_type: 'echo', args: { n } });
const sleep = (): StepRequest => stepRequest(++n, { kind: 'tool', tool_id: 's', tool_type: 'sleep', args: { ms: 5 } });

/** Two slots: a batch can fill them. */
const server = () => startStepServer(shared.nc, 'b', 2);

/**
 * Publishes `data` to `subject` with a reply inbox of its own, and gathers what comes back under
 * that inbox by token (joined replies split), with the number of messages they came in.
 */
async function sendTo(subject: string, data: Uint8Array, firstToken: string, expect: number): Promise<Map<string, StepReply[]> & { messages?: number }> {
  const inbox = `_INBOX.batch${++n}`;
  const got: Map<string, StepReply[]> & { messages?: number } = new Map();
  got.messages = 0;
  let count = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  const sub = shared.nc.subscribe(`${inbox}.*`, {
    callback: (_e, m) => {
      got.messages!++;
      const parts = splitStepReplies(m.data) ?? [{ token: m.subject.slice(inbox.length + 1), data: m.data }];
      for (const { token, data: reply } of parts) {
        got.set(token, [...(got.get(token) ?? []), decodeJson(reply) as StepReply]);
        if (++count === expect) done();
      }
    },
  });
  await shared.nc.flush();
  shared.nc.publish(subject, data, { reply: `${inbox}.${firstToken}` });
  await Promise.race([all, new Promise((r) => setTimeout(r, 3_000))]);
  await new Promise((r) => setTimeout(r, 50)); // and nothing more comes
  sub.unsubscribe();
  return got;
}

test('a batch of step requests is answered request by request, each under its own token, and each step runs once', async () => {
  const { server: s, ended, subject } = server();
  const reqs = [echo(), sleep(), echo(), { ...echo(), attempt: 0 }, sleep(), sleep(), echo()];
  const tokens = reqs.map((_, i) => `t${i}`);
  const data = joinStepRequests(reqs.map((r, i) => ({ token: tokens[i]!, data: encodeJson(r) })));
  const got = await sendTo(subject, data, tokens[0]!, reqs.length);
  assert.deepEqual([...got.keys()].sort(), [...tokens].sort(), 'one reply per token');
  // The replies made in the batch's own turn (all but the two sleeps') left joined, in one message.
  assert.equal(got.messages, 3, `${reqs.length} replies in ${got.messages} messages`);
  for (const [i, req] of reqs.entries()) {
    const replies = got.get(tokens[i]!)!;
    assert.equal(replies.length, 1, `token ${tokens[i]}: one reply`);
    const reply = replies[0]!;
    if (i === 3) {
      // The malformed one is refused alone, naming its field; the others are not held up by it.
      assert.equal(reply.ok, false);
      assert.match(!reply.ok ? reply.failure.message : '', /malformed step request at attempt/);
      continue;
    }
    if (i >= 5) {
      // Two slots: what came after two sleeps took them is refused as busy (its coordinator tries elsewhere).
      assert.equal(!reply.ok && reply.failure.type, 'busy');
      continue;
    }
    assert.equal(reply.key, req.key);
    assert.equal(reply.ok, true, JSON.stringify(reply));
  }
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(ended.map((r) => r.key).sort(), reqs.filter((_, i) => i !== 3 && i < 5).map((r) => r.key).sort(), 'each admitted step ended (and was audited) once');
  assert.equal(s.admitted, 4);
});

test('a malformed batch is refused with the field named, on its reply subject, and the node serves on', async () => {
  const { subject } = server();
  const req = echo();
  const bad = Buffer.from(JSON.stringify({ type: STEP_BATCH_TYPE, reply_tokens: ['a', 'b.c'], requests: [req, req] }));
  const got = await sendTo(subject, bad, 'a', 1);
  const reply = got.get('a')?.[0];
  assert.equal(reply?.ok, false);
  assert.match(reply && !reply.ok ? reply.failure.message : '', /malformed step batch: reply_tokens\.1: not a reply token/);
  assert.equal(got.get('b.c'), undefined, 'nothing went to a subject named by the batch');
  const good = await sendTo(subject, encodeJson(echo()), 'x', 1);
  assert.equal(good.get('x')?.[0]?.ok, true);
});

test('readStepBatch names what is wrong, and leaves a lone request alone', () => {
  assert.equal(readStepBatch(echo()), undefined);
  assert.equal(readStepBatch(undefined), undefined);
  const read = (v: object) => readStepBatch({ type: STEP_BATCH_TYPE, ...v });
  assert.deepEqual(read({ reply_tokens: ['a'] }), { ok: false, error: 'requests: expected a list of step requests' });
  assert.deepEqual(read({ requests: [] }), { ok: false, error: 'reply_tokens: expected a list of reply tokens' });
  assert.deepEqual(read({ reply_tokens: ['a'], requests: [1, 2] }), { ok: false, error: 'reply_tokens: 1 tokens for 2 requests' });
  assert.deepEqual(read({ reply_tokens: ['a', '*'], requests: [1, 2] }), { ok: false, error: 'reply_tokens.1: not a reply token (1 to 64 of A-Z, a-z, 0-9, _ and -)' });
  // Joined from the bytes of encoded requests, it reads back as they were.
  const reqs = [echo(), echo()];
  const joined = joinStepRequests(reqs.map((r, i) => ({ token: `k${i}`, data: encodeJson(r) })));
  assert.deepEqual(readStepBatch(decodeJson(joined)), { ok: true, items: reqs.map((request, i) => ({ token: `k${i}`, request })) });
  // Within what the requester allows for when it keeps a batch under the max payload.
  const items = reqs.map((r, i) => ({ token: `k${i}`, data: encodeJson(r) }));
  assert.ok(joined.length <= JOIN_OVERHEAD + items.reduce((n, i) => n + i.data.length + i.token.length + JOIN_ITEM_OVERHEAD, 0));
});

test('joined replies split back into the replies as encoded, a line break inside a value included', () => {
  const replies = [{ key: 'a', text: 'two\nlines' }, { key: 'b', text: 'ünïcødé 🙂' }, { key: 'c', text: '' }].map((r) => ({ token: r.key, data: encodeJson(r) }));
  const split = splitStepReplies(joinStepReplies(replies));
  assert.deepEqual(split?.map((r) => ({ token: r.token, value: decodeJson(r.data) })), replies.map((r) => ({ token: r.token, value: decodeJson(r.data) })));
  assert.equal(splitStepReplies(encodeJson({ type: 'wfmesh.step.reply.v1' })), undefined, 'a reply that came alone is not split');
});

test("joined replies stay under the max payload: runs of them in order, each under its first token, one that fills a message alone", () => {
  const reply = (token: string, bytes: number) => ({ token, data: Buffer.from(JSON.stringify({ key: token, pad: 'z'.repeat(bytes) })) });
  const replies = [reply('a', 100), reply('b', 100), reply('c', 900), reply('d', 100), reply('e', 100), reply('f', 100)];
  const max = 400;
  const messages = repliesToSend(replies, max);
  assert.deepEqual(messages.map((m) => m.token), ['a', 'c', 'd'], 'a and b joined, c alone (over the max by itself: the node checked it against the max already), d to f joined');
  for (const m of messages) if (m.token !== 'c') assert.ok(m.data.length <= max, `${m.token}: ${m.data.length} bytes`);
  const back = messages.flatMap((m) => splitStepReplies(m.data) ?? [{ token: m.token, data: m.data }]);
  assert.deepEqual(back.map((r) => [r.token, Buffer.from(r.data).toString()]), replies.map((r) => [r.token, Buffer.from(r.data).toString()]), 'every reply once, in order, as encoded');
  const one = reply('x', 10);
  assert.deepEqual(repliesToSend([one], max), [one], 'one reply goes as it is');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, ErrorCode, type NatsConnection, type NatsError } from 'nats';
import { Requester, type Coalescer } from '../../../src/nats/requester.js';
import { natsForTests } from '../../harness/nats.js';

const shared = natsForTests();

const te = new TextEncoder();
const td = new TextDecoder();

test('a request gets its own reply, many at once each get theirs', async () => {
  const sub = shared.nc.subscribe('req.echo', { callback: (_e, m) => m.respond(te.encode(`re:${td.decode(m.data)}`)) });
  await shared.nc.flush();
  const r = Requester.for(shared.nc);
  assert.equal(Requester.for(shared.nc), r, 'one requester per connection');
  const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => r.request('req.echo', te.encode(String(i)), { timeout: 5_000 })));
  replies.forEach((m, i) => assert.equal(td.decode(m.data), `re:${i}`));
  sub.unsubscribe();
});

test('nobody listening is NoResponders and silence is Timeout, as with shared.nc.request()', async () => {
  const r = Requester.for(shared.nc);
  await assert.rejects(r.request('req.nobody', te.encode('x'), { timeout: 5_000 }), (e: NatsError) => e.code === ErrorCode.NoResponders);
  const sub = shared.nc.subscribe('req.silent', { callback: () => {} });
  await shared.nc.flush();
  await assert.rejects(r.request('req.silent', te.encode('x'), { timeout: 100 }), (e: NatsError) => e.code === ErrorCode.Timeout);
  sub.unsubscribe();
});

test('requests waiting when the connection closes end as timeouts', async () => {
  const own = await connect({ servers: shared.nats.url });
  own.subscribe('req.hold', { callback: () => {} });
  await own.flush();
  const pending = Requester.for(own).request('req.hold', te.encode('x'), { timeout: 60_000 });
  await own.close();
  await assert.rejects(pending, (e: NatsError) => e.code === ErrorCode.Timeout);
});

test('reply subjects are reused once answered, never after a timeout: a late reply cannot reach a later request', async () => {
  const own = await connect({ servers: shared.nats.url, noAsyncTraces: true });
  const replyTo: string[] = [];
  let held: { respond(data: Uint8Array): boolean } | undefined;
  const sub = own.subscribe('req.slow-once', {
    callback: (_e, m) => {
      replyTo.push(m.reply!);
      if (td.decode(m.data) === 'hold') held = m; // answered only after the requester gave up
      else m.respond(m.data);
    },
  });
  await own.flush();
  const r = Requester.for(own);
  for (let i = 0; i < 3; i++) await r.request('req.slow-once', te.encode(`n${i}`), { timeout: 5_000 });
  assert.equal(new Set(replyTo).size, 1, `one reply subject for three requests in turn (${replyTo.join(', ')})`);
  await assert.rejects(r.request('req.slow-once', te.encode('hold'), { timeout: 100 }), (e: NatsError) => e.code === ErrorCode.Timeout);
  const next = r.request('req.slow-once', te.encode('after'), { timeout: 5_000 });
  held!.respond(te.encode('late'));
  assert.equal(td.decode((await next).data), 'after', 'the late reply did not reach the next request');
  assert.notEqual(replyTo.at(-1), replyTo.at(-2), 'the timed-out request’s reply subject was retired');
  sub.unsubscribe();
  await own.close();
});

test('a reply that `match` refuses is dropped and the request waits for its own', async () => {
  const sub = shared.nc.subscribe('req.stray', {
    callback: (_e, m) => {
      m.respond(te.encode('stray'));
      m.respond(te.encode(`own:${td.decode(m.data)}`));
    },
  });
  await shared.nc.flush();
  const msg = await Requester.for(shared.nc).request('req.stray', te.encode('k1'), { timeout: 5_000, match: (m) => td.decode(m.data).startsWith('own:') });
  assert.equal(td.decode(msg.data), 'own:k1');
  sub.unsubscribe();
});

test('one timer serves every deadline: a short request times out while a long one waits on, which still gets its reply', async () => {
  const own = await connect({ servers: shared.nats.url });
  const held: { respond(data: Uint8Array): boolean }[] = [];
  own.subscribe('req.deadlines', { callback: (_e, m) => held.push(m) });
  await own.flush();
  const r = Requester.for(own);
  const long = r.request('req.deadlines', te.encode('long'), { timeout: 60_000 });
  const shortOne = r.request('req.deadlines', te.encode('short'), { timeout: 100 });
  await assert.rejects(shortOne, (e: NatsError) => e.code === ErrorCode.Timeout);
  // The short deadline came second and was earlier: the timer moved to it. Now the long one is
  // the only one pending, still waiting; a third, shorter again, expires on its own deadline.
  await assert.rejects(r.request('req.deadlines', te.encode('short2'), { timeout: 50 }), (e: NatsError) => e.code === ErrorCode.Timeout);
  held[0]!.respond(te.encode('long-answer'));
  assert.equal(td.decode((await long).data), 'long-answer');
  await own.close();
});

test('a requester with nothing pending holds the process open with no timer, and a chain of requests arms its timer once', async () => {
  const own = await connect({ servers: shared.nats.url });
  own.subscribe('req.quick', { callback: (_e, m) => m.respond(te.encode('ok')) });
  own.subscribe('req.silent', { callback: () => undefined });
  await own.flush();
  const timers = () => process.getActiveResourcesInfo().filter((k) => k === 'Timeout').length;
  const before = timers();
  const r = Requester.for(own);
  const realSetTimeout = globalThis.setTimeout;
  let armed = 0;
  globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...rest: unknown[]) => {
    if (fn.name === 'expireDue') armed++;
    return realSetTimeout(fn, ms, ...rest);
  }) as typeof setTimeout;
  try {
    for (let i = 0; i < 20; i++) await r.request('req.quick', te.encode(String(i)), { timeout: 30_000 });
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  assert.equal(armed, 1, 'twenty requests one after the other: the timer was armed for the first and left armed');
  await Promise.all(Array.from({ length: 20 }, (_, i) => r.request('req.quick', te.encode(String(i)), { timeout: 10_000 + i })));
  assert.equal(timers(), before, 'answered requests leave no timer that keeps the process alive');
  // The timer left armed fires with nothing due; a later request arms it again and still times out.
  await r.request('req.quick', te.encode('short'), { timeout: 20 });
  await new Promise((resolve) => realSetTimeout(resolve, 60));
  await assert.rejects(r.request('req.silent', te.encode('x'), { timeout: 50 }), (e: NatsError) => e.code === ErrorCode.Timeout);
  await own.close();
});

test("replies come back under the connection's own inbox prefix, on an inbox of its own per connection", async () => {
  const seen: string[] = [];
  const sub = shared.nc.subscribe('req.where', {
    callback: (_e, m) => {
      seen.push(m.reply!);
      m.respond(m.data);
    },
  });
  await shared.nc.flush();
  // Two connections with one prefix (a user's, as NATS permissions give it; `_INBOX` by default).
  const [a, b] = await Promise.all([1, 2].map(() => connect({ servers: shared.nats.url, inboxPrefix: '_INBOX_edge-1', noAsyncTraces: true })));
  const plain = await connect({ servers: shared.nats.url, noAsyncTraces: true });
  for (const nc of [a!, b!, plain]) await Requester.for(nc).request('req.where', te.encode('x'), { timeout: 5_000 });
  const [ra, rb, rp] = seen.map((s) => s.split('.'));
  assert.equal(ra![0], '_INBOX_edge-1');
  assert.equal(rb![0], '_INBOX_edge-1');
  assert.equal(rp![0], '_INBOX', 'the default prefix without one');
  for (const r of [ra!, rb!, rp!]) {
    assert.equal(r.length, 3, `prefix, connection, token: ${r.join('.')}`);
    assert.match(r[1]!, /^[A-Za-z0-9_-]{7}$/, 'a short per-connection part (40 random bits), not a 22-character NUID');
  }
  assert.notEqual(ra![1], rb![1], 'two connections with one prefix never share an inbox');
  sub.unsubscribe();
  await Promise.all([a!, b!, plain].map((nc) => nc.close()));
});

/** A test coalescer: the tokens and the requests' texts, tab-separated, one per line. */
const lines: Coalescer = { join: (items) => te.encode(items.map((i) => `${i.token}\t${td.decode(i.data)}`).join('\n')) };

/** Answers each request of a joined message under the message's inbox with its own token, and a lone one as usual. */
function answerJoined(nc: NatsConnection, subject: string, seen: { messages: number; requests: number; sizes: number[] }) {
  return nc.subscribe(subject, {
    callback: (_e, m) => {
      seen.messages++;
      seen.sizes.push(m.data.length);
      const text = td.decode(m.data);
      if (!text.includes('\t')) {
        seen.requests++;
        m.respond(te.encode(`re:${text}`));
        return;
      }
      const inbox = m.reply!.slice(0, m.reply!.lastIndexOf('.') + 1);
      for (const line of text.split('\n')) {
        const [token, body] = line.split('\t') as [string, string];
        seen.requests++;
        nc.publish(inbox + token, te.encode(`re:${body.slice(0, 20)}`));
      }
    },
  });
}

test('requests to one subject made in one turn with `coalesce` leave as one message, and each gets its own reply', async () => {
  const seen = { messages: 0, requests: 0, sizes: [] as number[] };
  const sub = answerJoined(shared.nc, 'req.joined', seen);
  await shared.nc.flush();
  const r = Requester.for(shared.nc);
  const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => r.request('req.joined', te.encode(String(i)), { timeout: 5_000, coalesce: lines })));
  replies.forEach((m, i) => assert.equal(td.decode(m.data), `re:${i}`));
  assert.equal(seen.requests, 30);
  // All together; or the first on its own, when it was made alone (it leaves at once then).
  assert.ok(seen.messages <= 2, `30 requests in ${seen.messages} messages`);
  // Without `coalesce`, every request is a message of its own.
  seen.messages = 0;
  await Promise.all(Array.from({ length: 10 }, (_, i) => r.request('req.joined', te.encode(String(i)), { timeout: 5_000 })));
  assert.equal(seen.messages, 10);
  sub.unsubscribe();
});

test('nobody listening where a joined message went fails every request in it with NoResponders, and its tokens serve again', async () => {
  const r = Requester.for(shared.nc);
  const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => r.request('req.joined-nobody', te.encode(String(i)), { timeout: 5_000, coalesce: lines })));
  for (const o of outcomes) assert.ok(o.status === 'rejected' && (o.reason as NatsError).code === ErrorCode.NoResponders, 'each one fails as NoResponders, none waits for its timeout');
  const seen = { messages: 0, requests: 0, sizes: [] as number[] };
  const sub = answerJoined(shared.nc, 'req.joined-after', seen);
  await shared.nc.flush();
  const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => r.request('req.joined-after', te.encode(String(i)), { timeout: 5_000, coalesce: lines })));
  replies.forEach((m, i) => assert.equal(td.decode(m.data), `re:${i}`));
  sub.unsubscribe();
});

test("joined messages stay under the server's max payload: a turn's requests that would pass it leave in several", async () => {
  const seen = { messages: 0, requests: 0, sizes: [] as number[] };
  const sub = answerJoined(shared.nc, 'req.joined-big', seen);
  await shared.nc.flush();
  const max = shared.nc.info!.max_payload;
  const big = (i: number) => te.encode(`${i}:${'x'.repeat(Math.floor(max / 3))}`);
  const r = Requester.for(shared.nc);
  const replies = await Promise.all(Array.from({ length: 9 }, (_, i) => r.request('req.joined-big', big(i), { timeout: 5_000, coalesce: lines })));
  replies.forEach((m, i) => assert.ok(td.decode(m.data).startsWith(`re:${i}:x`)));
  assert.equal(seen.requests, 9);
  assert.ok(seen.sizes.every((n) => n <= max), `every message within ${max} bytes: ${seen.sizes.join(', ')}`);
  assert.ok(seen.messages >= 4 && seen.messages < 9, `joined two at a time at most (${seen.messages} messages)`);
  sub.unsubscribe();
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, ErrorCode, type NatsConnection, type NatsError } from 'nats';
import { Requester } from '../../../src/nats/requester.js';
import { startTestNats, type TestNats } from '../../harness/nats.js';

let nats: TestNats;
let nc: NatsConnection;
before(async () => {
  nats = await startTestNats();
  nc = await connect({ servers: nats.url, noAsyncTraces: true });
});
after(async () => {
  await nc.close();
  await nats.stop();
});

const te = new TextEncoder();
const td = new TextDecoder();

test('a request gets its own reply, many at once each get theirs', async () => {
  const sub = nc.subscribe('req.echo', { callback: (_e, m) => m.respond(te.encode(`re:${td.decode(m.data)}`)) });
  await nc.flush();
  const r = Requester.for(nc);
  assert.equal(Requester.for(nc), r, 'one requester per connection');
  const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => r.request('req.echo', te.encode(String(i)), { timeout: 5_000 })));
  replies.forEach((m, i) => assert.equal(td.decode(m.data), `re:${i}`));
  sub.unsubscribe();
});

test('nobody listening is NoResponders and silence is Timeout, as with nc.request()', async () => {
  const r = Requester.for(nc);
  await assert.rejects(r.request('req.nobody', te.encode('x'), { timeout: 5_000 }), (e: NatsError) => e.code === ErrorCode.NoResponders);
  const sub = nc.subscribe('req.silent', { callback: () => {} });
  await nc.flush();
  await assert.rejects(r.request('req.silent', te.encode('x'), { timeout: 100 }), (e: NatsError) => e.code === ErrorCode.Timeout);
  sub.unsubscribe();
});

test('requests waiting when the connection closes end as timeouts', async () => {
  const own = await connect({ servers: nats.url });
  own.subscribe('req.hold', { callback: () => {} });
  await own.flush();
  const pending = Requester.for(own).request('req.hold', te.encode('x'), { timeout: 60_000 });
  await own.close();
  await assert.rejects(pending, (e: NatsError) => e.code === ErrorCode.Timeout);
});

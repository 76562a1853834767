import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { Requester } from '../../../src/nats/requester.js';
import { canWriteNow, writeNow } from '../../../src/nats/write-now.js';
import { natsForTests } from '../../harness/nats.js';

const shared = natsForTests();
const te = new TextEncoder();

/** Counts the writes nats.js hands its socket from now on. */
function countWrites(nc: NatsConnection): () => number {
  const transport = (nc as unknown as { protocol: { transport: { send(data: Uint8Array): void } } }).protocol.transport;
  const send = transport.send.bind(transport);
  let writes = 0;
  transport.send = (data) => {
    writes++;
    send(data);
  };
  return () => writes;
}

test('this nats.js lets a connection write what it buffered at once (an upgrade that removes it fails here)', async () => {
  const nc = await connect({ servers: shared.nats.url });
  try {
    assert.equal(canWriteNow(nc), true);
    const writes = countWrites(nc);
    nc.publish('write-now.a', te.encode('1'));
    nc.publish('write-now.b', te.encode('2'));
    assert.equal(writes(), 0, 'nats.js holds publishes until the microtasks of this run end');
    writeNow(nc);
    assert.equal(writes(), 1, 'both publishes left in one write, now');
    writeNow(nc);
    assert.equal(writes(), 1, 'nothing buffered: no write');
  } finally {
    await nc.close();
  }
});

test('a request that is the only one out is written at once; with others out, requests share the end-of-run write', async () => {
  const nc = await connect({ servers: shared.nats.url });
  const held: { respond(data: Uint8Array): boolean }[] = [];
  nc.subscribe('write-now.req', { callback: (_e, m) => held.push(m) });
  await nc.flush();
  try {
    const r = Requester.for(nc);
    const writes = countWrites(nc);
    const first = r.request('write-now.req', te.encode('first'), { timeout: 5_000 });
    assert.equal(writes(), 1, 'alone: written before the caller goes on');
    const second = r.request('write-now.req', te.encode('second'), { timeout: 5_000 });
    const third = r.request('write-now.req', te.encode('third'), { timeout: 5_000 });
    assert.equal(writes(), 1, 'not alone: left for the batched write');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(writes(), 2, 'the two went out together at the end of the run');
    while (held.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const m of held) m.respond(te.encode('ok'));
    await Promise.all([first, second, third]);
  } finally {
    await nc.close();
  }
});

test('requests made in answer to a read of several replies are not written one by one: they share the end-of-run write', async () => {
  const nc = await connect({ servers: shared.nats.url });
  nc.subscribe('write-now.burst', { callback: () => undefined }); // holds every request
  await nc.flush();
  try {
    const r = Requester.for(nc);
    const first = [1, 2, 3].map((i) => r.request('write-now.burst', te.encode(String(i)), { timeout: 5_000 }));
    await new Promise((resolve) => setImmediate(resolve));
    // One read that brings the three replies, as nats.js delivers it: a callback per message, one after the other.
    const internals = r as unknown as { prefix: string; onReply(err: null, msg: unknown): void; pending: { snapshot(): [string, unknown][] } };
    const waitingToken = () => internals.pending.snapshot().map(([token]) => token)[0]!;
    const writes = countWrites(nc);
    const reply = (token: string) => ({ subject: `${internals.prefix}${token}`, data: te.encode('ok'), headers: undefined });
    let written: number | undefined;
    const next = first[0]!.then(() => {
      // The first caller sends its next request: alone for the moment, but the other two follow.
      const again = r.request('write-now.burst', te.encode('next'), { timeout: 5_000 });
      written = writes();
      return again;
    });
    for (const token of ['1', '2', '3']) internals.onReply(null, reply(token));
    await Promise.all(first);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(written, 0, 'not written on its own');
    assert.equal(writes(), 1, 'written once, at the end of the run');
    internals.onReply(null, reply(waitingToken()));
    await next;
    // A read with one reply: the next request made in answer to it is written at once.
    const lone = r.request('write-now.burst', te.encode('lone'), { timeout: 5_000 }).catch(() => undefined);
    assert.equal(writes(), 2, 'a request alone, after a lone reply, is written at once');
    internals.onReply(null, reply(waitingToken()));
    await lone;
  } finally {
    await nc.close();
  }
});

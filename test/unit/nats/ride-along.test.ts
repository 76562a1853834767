import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { Requester } from '../../../src/nats/requester.js';
import { RideAlong } from '../../../src/nats/ride-along.js';
import { natsForTests } from '../../harness/nats.js';

const shared = natsForTests();
const te = new TextEncoder();
const td = new TextDecoder();

/** Collects what arrives on `subject` (on the shared connection) until `count` messages came. */
async function listen(subject: string, count: number): Promise<{ got: string[]; done: Promise<void> }> {
  const got: string[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  shared.nc.subscribe(subject, {
    max: count,
    callback: (_e, m) => {
      got.push(td.decode(m.data));
      if (got.length === count) done();
    },
  });
  await shared.nc.flush();
  return { got, done: all };
}

/** A connection of the test's own, and a responder (on the shared one) echoing requests to `subject`. */
async function ownWithResponder(subject: string): Promise<{ own: NatsConnection; close: () => Promise<void> }> {
  const own = await connect({ servers: shared.nats.url });
  const responder = shared.nc.subscribe(subject, { callback: (_e, m) => m.respond(m.data) });
  await shared.nc.flush();
  return {
    own,
    close: async () => {
      responder.unsubscribe();
      await own.close();
    },
  };
}

test('what rides along leaves at the end of the turn when no request comes, in order', async () => {
  const own = await connect({ servers: shared.nats.url });
  const events = await listen('ride.alone', 3);
  const ride = RideAlong.of(own);
  assert.equal(RideAlong.of(own), ride, 'one queue per connection');
  for (const n of ['a', 'b', 'c']) ride.publish('ride.alone', te.encode(n));
  assert.equal(own.stats().outMsgs, 0, 'nothing left before the turn ended');
  await events.done;
  assert.deepEqual(events.got, ['a', 'b', 'c']);
  await own.close();
});

test('what rides along joins the next request, in the same write, before the turn ends', async () => {
  const { own, close } = await ownWithResponder('ride.req');
  const events = await listen('ride.events', 2);
  await shared.nc.flush();
  const before = own.stats().outMsgs;
  RideAlong.of(own).publish('ride.events', te.encode('step 1 completed'));
  RideAlong.of(own).publish('ride.events', te.encode('step 2 running'));
  assert.equal(own.stats().outMsgs, before, 'the events wait');
  const reply = Requester.for(own).request('ride.req', te.encode('step 2'), { timeout: 5_000 });
  // Published into the connection's buffer right behind the request, in this very turn: nats.js
  // writes that buffer once, at the end of the microtasks.
  assert.equal(own.stats().outMsgs, before + 3, 'the request and both events are in the outbound buffer together');
  assert.equal(td.decode((await reply).data), 'step 2');
  await events.done;
  assert.deepEqual(events.got, ['step 1 completed', 'step 2 running']);
  await close();
});

test('what boarded a request is not sent again at the end of the turn', async () => {
  const { own, close } = await ownWithResponder('ride.once.req');
  const got: string[] = [];
  const events = shared.nc.subscribe('ride.once', { callback: (_e, m) => got.push(td.decode(m.data)) });
  await shared.nc.flush();
  RideAlong.of(own).publish('ride.once', te.encode('event'));
  await Requester.for(own).request('ride.once.req', te.encode('x'), { timeout: 5_000 });
  await new Promise((r) => setImmediate(r));
  await own.flush();
  await shared.nc.flush();
  assert.equal(own.stats().outMsgs, 2, 'the request and the event, once each');
  assert.deepEqual(got, ['event']);
  events.unsubscribe();
  await close();
});

test('what is made right after a request waits for the next one, and leaves in its write', async () => {
  const { own, close } = await ownWithResponder('ride.next.req');
  const events = await listen('ride.next', 1);
  const ride = RideAlong.of(own);
  const first = Requester.for(own).request('ride.next.req', te.encode('step 1'), { timeout: 5_000 });
  // The engine records a step's start after its request left, in the same run of code.
  ride.publish('ride.next', te.encode('step 1 running'));
  await new Promise((r) => setImmediate(r));
  assert.equal(own.stats().outMsgs, 1, 'the turn ended and the event still waits');
  const second = Requester.for(own).request('ride.next.req', te.encode('step 2'), { timeout: 5_000 });
  assert.equal(own.stats().outMsgs, 3, 'it is in the outbound buffer right behind the next request');
  await Promise.all([first, second]);
  await events.done;
  assert.deepEqual(events.got, ['step 1 running']);
  await close();
});

test('what is made right after a request leaves on its own when no other request comes', async () => {
  const { own, close } = await ownWithResponder('ride.late.req');
  const events = await listen('ride.late', 2);
  const ride = RideAlong.of(own);
  const reply = Requester.for(own).request('ride.late.req', te.encode('last step'), { timeout: 5_000 });
  ride.publish('ride.late', te.encode('last step running'));
  await reply;
  // Made in a later turn, with no request before it: this one is due at the end of its turn, and
  // the one waiting leaves with it, first.
  ride.publish('ride.late', te.encode('execution completed'));
  await events.done;
  assert.deepEqual(events.got, ['last step running', 'execution completed']);
  // And alone, the waiting one leaves after RIDE_ALONG_LATEST_MS.
  const alone = await listen('ride.late', 1);
  const before = own.stats().outMsgs;
  const again = Requester.for(own).request('ride.late.req', te.encode('a long step'), { timeout: 5_000 });
  ride.publish('ride.late', te.encode('a long step running'));
  await new Promise((r) => setImmediate(r));
  assert.equal(own.stats().outMsgs, before + 1, 'not at the end of its turn');
  await again;
  await alone.done;
  assert.deepEqual(alone.got, ['a long step running']);
  await close();
});

import { ErrorCode, NatsError, type Msg, type NatsConnection, type Subscription } from 'nats';
import { shortInbox } from './connection.js';
import { PerConnection } from './per-connection.js';
import { ReadCount } from './read-count.js';
import { Reconnects } from './reconnects.js';
import { RideAlong } from './ride-along.js';
import { ShortLivedTable } from '../util/short-lived.js';
import { writeNow } from './write-now.js';

interface Pending {
  resolve: (msg: Msg) => void;
  reject: (err: NatsError) => void;
  /** When (performance.now(), ms) the request ends as a timeout. */
  deadline: number;
  /** Kept to send the request again after a reconnect. */
  subject: string;
  data: Uint8Array;
  /** Sent more than once (a reconnect): a second reply may still come, so its token is never reused. */
  resent: boolean;
  match: ((msg: Msg) => boolean) | undefined;
  /** The tokens of the joined message it went out in (see Coalescer); shared by them all. */
  batch: string[] | undefined;
}

/**
 * Joins requests to one subject made in one turn of the event loop into one message. The message
 * goes out under the first request's reply token; its receiver answers each request on its own,
 * under that token's inbox with the request's own token (so every reply finds its request as
 * before). What the message looks like is the receiver's protocol: the requester only hands over
 * the encoded requests and their tokens, in the order made.
 */
export interface Coalescer {
  /** One message for `items` (two or more). It may add at most JOIN_OVERHEAD bytes, and JOIN_ITEM_OVERHEAD per item besides its token. */
  join(items: readonly { token: string; data: Uint8Array }[]): Uint8Array;
  /**
   * The replies in a message that joins several (the receiver's replies to requests of joined
   * messages, made in one turn, may come so), by token; undefined for a reply that came alone.
   * Each is then taken as if it had come alone under its token.
   */
  split?(data: Uint8Array): { token: string; data: Uint8Array }[] | undefined;
}

/** One reply of a message that joined several (Coalescer.split): read as a message of its own. */
class JoinedReply implements Msg {
  constructor(
    readonly subject: string,
    readonly sid: number,
    readonly data: Uint8Array,
  ) {}
  respond(): boolean {
    return false;
  }
  json<T>(): T {
    return JSON.parse(this.string()) as T;
  }
  string(): string {
    return Buffer.from(this.data.buffer, this.data.byteOffset, this.data.length).toString('utf8');
  }
}

/** Bytes a Coalescer may add to a joined message, beyond each request and its token: for the max payload. */
export const JOIN_OVERHEAD = 128;
export const JOIN_ITEM_OVERHEAD = 8;

/** Requests to one subject coalesced in this turn. */
interface TurnGroup {
  subject: string;
  coalesce: Coalescer;
  items: { token: string; p: Pending }[];
  bytes: number;
}

export interface RequestOptions {
  timeout: number;
  /**
   * Whether `msg` answers this request. A reply it refuses is dropped and the request waits on:
   * reply tokens are reused, so a caller whose replies carry their own key can rule out a stray.
   */
  match?: (msg: Msg) => boolean;
  /**
   * Given a function that sends this request again under the same reply token, while it waits
   * (the first reply wins): for a caller that learns its receiver reconnected and may have lost it.
   */
  resender?: (resend: () => void) => void;
  /**
   * Coalesce with the other requests to this subject made in the same turn (the receiver must
   * take joined messages: see Coalescer). A request that is the only one out still leaves alone
   * and at once. Each request keeps its own deadline, reply and outcome; nobody listening fails
   * every request of the message.
   */
  coalesce?: Coalescer;
}

/**
 * Request-reply over one wildcard inbox subscription per connection, as `nc.request()` does, with
 * the same outcomes (the reply, or a NatsError with code NoResponders or Timeout), at a lower cost
 * per request:
 * - nats.js 2.29's RequestOne rejects an already-settled deferred with a fresh NatsError after
 *   every reply, building a stack trace each time (~10 µs of a dispatcher's CPU per step);
 * - reply tokens are reused: a new reply subject per request misses the nats-servers' subject
 *   cache on every hop (3-4 µs of server CPU per request, measured). A token goes back to the pool
 *   only after exactly one reply to exactly one send; one that timed out or was sent again is
 *   retired, so a late reply can never reach a later request. (Holding requests back to leave
 *   in one write, as the step server does with replies, raised the servers' CPU per call.)
 * - requests made with `coalesce` (step requests) leave as one message per subject and turn, and
 *   replies that come joined are split: at 64 in flight, 0.06 messages a call instead of 4.
 */
export class Requester {
  private static readonly byConnection = new PerConnection((nc) => new Requester(nc));
  /** By reply token; a ShortLivedTable, as one is added and deleted per request (see util/short-lived.ts). */
  private readonly pending = new ShortLivedTable<Pending>();
  private readonly freeTokens: string[] = [];
  private readonly prefix: string;
  private readonly sub: Subscription;
  private seq = 0;
  /**
   * One timer for every pending request, armed for the earliest deadline (see expireDue). A timer
   * per request cost more than the rest of the request: step deadlines differ by the millisecond,
   * and each new duration is a new list in Node's timers. It is not cleared when the last request
   * is answered: requests made one after the other (a chain of steps) would each arm and clear it,
   * and an idle node gains nothing from clearing, since Node leaves the event loop's own timer
   * set and wakes for it anyway. It fires once, finds nothing due, and is not armed again; unref'd,
   * it never holds a process open.
   */
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /**
   * Replies per read of the socket. After a read that brought more than one, the requests made in
   * answer are many (64 callers each sending their next) even when the first of them is alone for
   * a moment: they leave together in the end-of-run write, not the first on its own and the rest
   * in a second.
   */
  private readonly replies = new ReadCount();
  /** Requests to coalesce made in this turn, by subject; sent by sendTurn at the end of the turn's microtasks. */
  private turn: TurnGroup[] = [];
  /** The coalescers used so far that split joined replies: every reply is offered to them. */
  private readonly splitters: Coalescer[] = [];

  /** The requester of `nc` (made on first use; it lives as long as the connection). */
  static for(nc: NatsConnection): Requester {
    return Requester.byConnection.of(nc);
  }

  private constructor(private readonly nc: NatsConnection) {
    // Under the connection's own inbox prefix: NATS permissions may allow replies on that one only.
    this.prefix = `${shortInbox(nc)}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => this.onReply(err, msg) });
    // As nc.request(): requests still waiting when the connection closes end as timeouts.
    void this.sub.closed.then(() => this.failAll(NatsError.errorForCode(ErrorCode.Timeout)));
    Reconnects.of(nc).every(() => this.resendPending());
  }

  /**
   * A request or its reply that was on the wire when a server went away is lost, and the peer is
   * alive, so nothing else would tell: after every reconnect the requests still waiting go out
   * again under the same reply token (the first reply wins). The receivers make this safe: a step
   * server joins a running attempt or answers a finished one with side effects from its stored
   * result, and probes and view requests are reads.
   */
  private resendPending(): void {
    for (const [token, p] of this.pending.snapshot()) this.resend(token, p);
  }

  /** Sends `p` again under its token, if it still waits there (a token is reused once answered). */
  private resend(token: string, p: Pending): void {
    if (this.pending.get(token) !== p) return;
    p.resent = true;
    try {
      this.nc.publish(p.subject, p.data, { reply: this.prefix + token });
    } catch {
      // The connection went away (again): its reconnect sends everything.
    }
  }

  /** Publishes `data` to `subject` and resolves with the first reply; rejects like `nc.request()`. */
  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<Msg> {
    const token = this.freeTokens.pop() ?? (++this.seq).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      const deadline = performance.now() + opts.timeout;
      const p: Pending = { resolve, reject, deadline, subject, data, resent: false, match: opts.match, batch: undefined };
      this.pending.set(token, p);
      if (deadline < this.timerAt) this.armFor(deadline);
      opts.resender?.(() => this.resend(token, p));
      this.send(token, p, opts.coalesce);
    });
  }

  private armFor(deadline: number): void {
    clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(this.expireDue, Math.max(1, Math.ceil(deadline - performance.now())));
    this.timer.unref();
  }

  /**
   * The timer fired: requests past their deadline end as timeouts, and the timer is armed again
   * for the earliest deadline still pending. Answered requests leave it armed (it fires at most
   * once per earliest deadline, and finds little to do); with none left pending it is not armed again.
   */

  private readonly expireDue = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    // Node's timer clock counts whole milliseconds: what is due within one is due now.
    const now = performance.now() + 1;
    let next = Infinity;
    for (const [token, p] of this.pending.snapshot()) {
      if (p.deadline <= now) {
        this.pending.delete(token);
        p.reject(NatsError.errorForCode(ErrorCode.Timeout));
      } else if (p.deadline < next) next = p.deadline;
    }
    if (next < Infinity) this.armFor(next);
  };

  private send(token: string, p: Pending, coalesce: Coalescer | undefined): void {
    // Alone, and not made in answer to a burst of replies (the callers of many requests at
    // once make their next ones together): written now, not at the end of the run (write-now.ts).
    const alone = this.pending.size === 1 && this.replies.lastRead <= 1;
    if (coalesce && !alone) return this.addToTurn(token, p, coalesce);
    try {
      this.nc.publish(p.subject, p.data, { reply: this.prefix + token });
      RideAlong.board(this.nc);
      if (alone) writeNow(this.nc);
    } catch (err) {
      this.pending.delete(token);
      p.reject(err as NatsError);
    }
  }

  /**
   * Holds a request to coalesce until the end of this turn's microtasks, with the others to its
   * subject. nats.js writes what was published once per run of microtasks, so the requests made
   * in answer to one read of replies leave in one write either way: here they also leave as one
   * message, which each nats-server on the way handles once instead of once per request. A group
   * that would pass the server's max payload goes out first.
   */
  private addToTurn(token: string, p: Pending, coalesce: Coalescer): void {
    if (coalesce.split && !this.splitters.includes(coalesce)) this.splitters.push(coalesce);
    if (this.turn.length === 0) queueMicrotask(this.sendTurn);
    let group = this.turn.find((g) => g.subject === p.subject && g.coalesce === coalesce);
    const size = p.data.length + token.length + JOIN_ITEM_OVERHEAD;
    const max = (this.nc.info?.max_payload ?? 1 << 20) - JOIN_OVERHEAD;
    if (group && group.bytes + size > max) {
      this.turn.splice(this.turn.indexOf(group), 1);
      this.sendGroup(group); // the turn's own send, queued with its first group, takes what follows
      group = undefined;
    }
    if (!group) this.turn.push((group = { subject: p.subject, coalesce, items: [], bytes: 0 }));
    group.items.push({ token, p });
    group.bytes += size;
  }

  private readonly sendTurn = (): void => {
    const groups = this.turn;
    this.turn = [];
    for (const group of groups) this.sendGroup(group);
    RideAlong.board(this.nc);
  };

  /** One request goes out as it is; two or more as one joined message under the first one's token. */
  private sendGroup({ subject, coalesce, items }: TurnGroup): void {
    // Answered, timed out or sent again meanwhile: no longer waiting here, so not sent.
    const waiting = items.filter(({ token, p }) => this.pending.get(token) === p && !p.resent);
    if (waiting.length === 0) return;
    const first = waiting[0]!;
    try {
      if (waiting.length === 1) {
        this.nc.publish(subject, first.p.data, { reply: this.prefix + first.token });
        return;
      }
      const batch = waiting.map((w) => w.token);
      const data = coalesce.join(waiting.map(({ token, p }) => ({ token, data: p.data })));
      for (const { p } of waiting) p.batch = batch;
      this.nc.publish(subject, data, { reply: this.prefix + first.token });
    } catch (err) {
      for (const { token, p } of waiting) {
        this.pending.delete(token);
        p.reject(err as NatsError);
      }
    }
  }

  private onReply(err: NatsError | null, msg: Msg): void {
    if (err) return this.failAll(err);
    // A message joining several replies: each as if it had come alone under its token.
    for (const splitter of this.splitters) {
      const parts = msg.data.length > 0 ? splitter.split!(msg.data) : undefined;
      if (!parts) continue;
      for (const part of parts) this.answer(part.token, new JoinedReply(this.prefix + part.token, msg.sid, part.data));
      return;
    }
    this.answer(msg.subject.slice(this.prefix.length), msg);
  }

  /** `msg` came for the request waiting under `token`, if any. */
  private answer(token: string, msg: Msg): void {
    // Before the reply's callers run: they see how many replies this read brought.
    this.replies.note();
    const p = this.pending.get(token);
    if (!p) return; // late: it already timed out
    // The server answers a request nobody listens to with an empty 503 status message.
    const noResponders = msg.data.length === 0 && msg.headers?.code === 503;
    if (!noResponders && p.match && !p.match(msg)) return; // not this request's reply
    if (noResponders && p.batch) return this.failBatch(p.batch);
    this.pending.delete(token);
    if (!p.resent) this.freeTokens.push(token);
    if (noResponders) p.reject(NatsError.errorForCode(ErrorCode.NoResponders));
    else p.resolve(msg);
  }

  /**
   * Nobody listens where a joined message went (the server answers its first token): every
   * request in it fails so. Their tokens are free again: no reply can come to any of them.
   */
  private failBatch(batch: string[]): void {
    for (const token of batch) {
      const p = this.pending.get(token);
      if (p?.batch !== batch) continue; // answered already (a resend), its token since reused
      this.pending.delete(token);
      if (!p.resent) this.freeTokens.push(token);
      p.reject(NatsError.errorForCode(ErrorCode.NoResponders));
    }
  }

  private failAll(err: NatsError): void {
    for (const [token, p] of this.pending.snapshot()) {
      this.pending.delete(token);
      p.reject(err);
    }
  }
}

/**
 * Collections for entries that come and go at the rate of calls: a request waiting for its reply,
 * a step in flight, the callback of one dispatch.
 *
 * Why not a plain Map or Set: V8 rebuilds the hash table of a Map or Set that keeps adding and
 * deleting entries every so many operations, and leaves each replaced table pointing at its
 * successor (so that live iterators can follow). Once one replaced table is old enough to be
 * promoted, every minor GC keeps all the later tables alive through it, and with them every entry
 * they held: the per-call objects of every call since the last full GC are copied and promoted
 * instead of dying young. The process falls into this after some full GC and stays there.
 *
 * Measured (`node --trace-gc-nvp`, field `promoted`), a loopback request-reply loop with 64 calls
 * in flight and the pending calls kept by id: 2.2-2.7 MB promoted per minor GC with a Map, 0.15 MB
 * with the same Map replaced by a copy every 1024 deletes (ShortLivedTable), 0.13 MB with an array.
 * On the dispatcher (the MeshStepRunner's caller side at 64 in flight): 18-32 µs of CPU per call
 * before, 11.5-15 µs after. A linked list whose removed nodes are cleared keeps no chain either.
 *
 * A copy every 1024 deletes still let some runs fall into it: a chain of up to 1024 calls' entries
 * promoted at a time is garbage enough in the old generation to bring the next full GC, which
 * starts the next chain. The bench's calls/s with the caller and Moleculer's in one process (four
 * rounds of 20,000 calls, `--trace-gc-nvp`): 2 runs of 10 went that way from their first round
 * (2.2-2.6 MB promoted per minor GC, the caller's CPU 19.8-20.3 µs a call against 11.9-13.0 in the
 * others, which promoted 0.04-0.22 MB), and about 5 of 20 earlier runs; with a copy every 64
 * deletes, none of 20. A copy of 64 entries per 64 calls costs well under 0.1 µs a call.
 */

/** Deletes after which a ShortLivedTable moves to a fresh Map (its live entries copied). */
const DELETES_PER_MAP = 64;

/**
 * A table from string keys to values, for entries that are added and deleted all the time: a Map
 * that is replaced by a fresh copy every DELETES_PER_MAP deletes, so that a chain of replaced hash
 * tables (see above) never spans more than that many entries. (A dictionary-mode object keeps no
 * chain either, but interns every new string key on the way in: 1.2 µs against the Map's 0.23 µs
 * for a get, set and delete of a key never seen before, measured.)
 */
export class ShortLivedTable<V> {
  private entries = new Map<string, V>();
  private deletes = 0;

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  set(key: string, value: V): void {
    this.entries.set(key, value);
  }

  delete(key: string): boolean {
    if (!this.entries.delete(key)) return false;
    if (++this.deletes >= DELETES_PER_MAP) {
      this.deletes = 0;
      this.entries = new Map(this.entries);
    }
    return true;
  }

  /** The entries in insertion order (a snapshot: the table may change while the caller walks it). */
  snapshot(): [string, V][] {
    return [...this.entries];
  }

  clear(): void {
    this.entries = new Map();
    this.deletes = 0;
  }
}

/** One registration in a {@link CallbackList}. */
export interface Registration<T> {
  readonly value: T;
}

interface Node<T> extends Registration<T> {
  prev: Node<T> | undefined;
  next: Node<T> | undefined;
  list: CallbackList<T> | undefined;
}

/**
 * An ordered list of values (callbacks, mostly) that are registered and removed all the time:
 * O(1) add and remove by the registration `add` returned, no hashing, and a removed node keeps no
 * reference to its neighbours.
 */
export class CallbackList<T> {
  private head: Node<T> | undefined;
  private tail: Node<T> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(value: T): Registration<T> {
    const node: Node<T> = { value, prev: this.tail, next: undefined, list: this };
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.count++;
    return node;
  }

  /** Removes `registration` if it is still in this list; false otherwise. */
  remove(registration: Registration<T>): boolean {
    const node = registration as Node<T>;
    if (node.list !== this) return false;
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = node.list = undefined;
    this.count--;
    return true;
  }

  /** What is in the list, in order (a copy: callbacks may remove themselves meanwhile). */
  values(): T[] {
    const out: T[] = [];
    for (let node = this.head; node; node = node.next) out.push(node.value);
    return out;
  }

  /** Empties the list and returns what was in it, in order. */
  drain(): T[] {
    const out: T[] = [];
    for (let node = this.head; node; ) {
      const next = node.next;
      out.push(node.value);
      node.prev = node.next = node.list = undefined;
      node = next;
    }
    this.head = this.tail = undefined;
    this.count = 0;
    return out;
  }
}

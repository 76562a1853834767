import { CallbackList, type Registration } from '../util/short-lived.js';

/**
 * Callbacks for the abort of shared signals: one 'abort' listener per signal, whatever the number
 * of callbacks. An execution's signal is shared by all its parallel steps, and an EventTarget's
 * addEventListener and removeEventListener each walk its list of listeners: with a listener per
 * step in flight, a wide fan-out paid for every step once per step. The callbacks of a signal are
 * a list, not a Set: one is added and removed per dispatch (see util/short-lived.ts).
 */
export class AbortWatch {
  private readonly bySignal = new WeakMap<AbortSignal, CallbackList<() => void>>();

  /** Calls `onAbort` once when `signal` aborts, unless unwatched first. */
  watch(signal: AbortSignal, onAbort: () => void): Registration<() => void> {
    let callbacks = this.bySignal.get(signal);
    if (!callbacks) {
      const all = (callbacks = new CallbackList());
      this.bySignal.set(signal, all);
      signal.addEventListener('abort', () => {
        this.bySignal.delete(signal);
        for (const f of all.drain()) f();
      }, { once: true });
    }
    return callbacks.add(onAbort);
  }

  unwatch(signal: AbortSignal, registration: Registration<() => void>): void {
    this.bySignal.get(signal)?.remove(registration);
  }
}

/**
 * Callbacks for the abort of shared signals: one 'abort' listener per signal, whatever the number
 * of callbacks. An execution's signal is shared by all its parallel steps, and an EventTarget's
 * addEventListener and removeEventListener each walk its list of listeners: with a listener per
 * step in flight, a wide fan-out paid for every step once per step.
 */
export class AbortWatch {
  private readonly bySignal = new WeakMap<AbortSignal, Set<() => void>>();

  /** Calls `onAbort` once when `signal` aborts, unless unwatched first. */
  watch(signal: AbortSignal, onAbort: () => void): void {
    let callbacks = this.bySignal.get(signal);
    if (!callbacks) {
      const all = (callbacks = new Set());
      this.bySignal.set(signal, all);
      signal.addEventListener('abort', () => {
        this.bySignal.delete(signal);
        for (const f of all) f();
      }, { once: true });
    }
    callbacks.add(onAbort);
  }

  unwatch(signal: AbortSignal, onAbort: () => void): void {
    this.bySignal.get(signal)?.delete(onAbort);
  }
}

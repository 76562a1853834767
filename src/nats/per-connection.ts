import type { NatsConnection } from 'nats';

/** One value per connection, made on first use and kept as long as the connection is referenced. */
export class PerConnection<T> {
  private readonly byConnection = new WeakMap<NatsConnection, T>();

  constructor(private readonly make: (nc: NatsConnection) => T) {}

  /** The value of `nc`, made now if it has none yet. */
  of(nc: NatsConnection): T {
    let value = this.byConnection.get(nc);
    if (value === undefined) {
      value = this.make(nc);
      this.byConnection.set(nc, value);
    }
    return value;
  }

  /** The value of `nc` if one was made, without making one. */
  peek(nc: NatsConnection): T | undefined {
    return this.byConnection.get(nc);
  }
}

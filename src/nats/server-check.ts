import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';

/**
 * Asks a connection's server for a PONG now (`flush`), and moves the connection to another server
 * when none comes within `waitMs`: a server that froze or was cut off keeps its socket open, and
 * nats.js's own pings tell only after minutes on an idle connection. One check at a time.
 */
export class ServerCheck {
  private checking = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {}

  /**
   * `lagToleranceMs`: a timer that fires later than this past due means this process stood still
   * itself, and the PONG may be waiting unread: no verdict then.
   */
  check(waitMs: number, lagToleranceMs: number): void {
    const { nc } = this;
    if (this.checking || nc.isClosed()) return;
    this.checking = true;
    const dueAt = Date.now() + waitMs;
    const timer = setTimeout(() => {
      this.checking = false;
      if (nc.isClosed() || Date.now() - dueAt > lagToleranceMs) return;
      this.log.warn({ server: nc.getServer(), waited_ms: waitMs }, 'the NATS server did not answer a ping: moving to another server');
      nc.reconnect().catch(() => undefined);
    }, waitMs);
    const answered = () => {
      clearTimeout(timer);
      this.checking = false;
    };
    nc.flush().then(answered, answered);
  }
}

import { ErrorCode, type KV, type NatsConnection } from 'nats';
import { Reconnects } from '../nats/reconnects.js';

/** How long one read may take before it is asked again (a KV get is one small message). */
const READ_ATTEMPT_MS = 3_000;
/** How long an operation keeps trying through a JetStream election or a server's loss. */
const PATIENCE_MS = 30_000;

/** An attempt given up by us (not failed by the server): its answer may never come. */
class Unanswered extends Error {}

/**
 * A KV bucket that rides out the loss of one nats-server of a cluster. Measured on a cluster of
 * three losing one: writes answered "no responders" for seconds while the stream elected a
 * leader, a request on the wire to the dead server waited out its whole 20 s timeout, and a
 * direct get could go unanswered for as long. So: "no responders" and timeouts are tried again
 * (for up to 30 s), a request outstanding when the connection reconnects is sent again at once,
 * and a read unanswered for 3 s is asked again. Puts and gets are safe to repeat; an `update`
 * repeated after its first try landed fails its compare-and-swap, which its callers already
 * handle (they read the header back and see their own write); a `create` is repeated only after
 * "no responders" (nothing received it), since a repeated create would report its own success
 * as a conflict.
 */
export function patientKv(kv: KV, nc: NatsConnection): KV {
  const reconnects = Reconnects.of(nc);
  const attempt = <T>(op: () => Promise<T>, timeoutMs: number | undefined): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const off = reconnects.next(() => {
        clearTimeout(timer);
        reject(new Unanswered('the NATS connection moved to another server while the request was out'));
      });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          off();
          reject(new Unanswered(`no answer in ${timeoutMs} ms`));
        }, timeoutMs);
      }
      op().then(
        (v) => {
          off();
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          off();
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  const patiently = async <T>(op: () => Promise<T>, timeoutMs: number | undefined, retry: (err: unknown) => boolean): Promise<T> => {
    const until = Date.now() + PATIENCE_MS;
    for (let n = 0; ; n++) {
      try {
        return await attempt(op, timeoutMs);
      } catch (err) {
        if (!retry(err) || Date.now() >= until || nc.isClosed()) throw err;
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** n, 1_000)));
      }
    }
  };
  const overrides: Partial<KV> = {
    get: (key, opts) => patiently(() => kv.get(key, opts), READ_ATTEMPT_MS, isTransient),
    put: (key, value, opts) => patiently(() => kv.put(key, value, opts), undefined, isTransient),
    update: (key, value, version) => patiently(() => kv.update(key, value, version), undefined, isTransient),
    create: (key, value) => patiently(() => kv.create(key, value), undefined, isNoResponders),
  };
  return new Proxy(kv, {
    get(target, prop) {
      const own = overrides[prop as keyof KV];
      if (own) return own;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function isNoResponders(err: unknown): boolean {
  return (err as { code?: string }).code === ErrorCode.NoResponders;
}

/** Failures that say nothing about the operation itself: the cluster was busy electing, or the answer was lost. */
function isTransient(err: unknown): boolean {
  if (err instanceof Unanswered) return true;
  const code = (err as { code?: string }).code;
  if (code === ErrorCode.NoResponders || code === ErrorCode.Timeout || code === ErrorCode.JetStream408RequestTimeout) return true;
  return /temporarily unavailable/i.test((err as Error)?.message ?? '');
}

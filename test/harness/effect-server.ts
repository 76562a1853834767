/**
 * A small HTTP API with a side effect, on loopback, for durability tests: every POST is counted,
 * and its effect (a counter per `Idempotency-Key`) is applied once per key, as a real API that
 * honours the header does. A request can be held open (`?hold=MS`) so a test can freeze or kill
 * the node in the middle of the call.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EffectServer {
  readonly url: string;
  /** host:port, for the nodes' http allow-list. */
  readonly host: string;
  /** Requests received per idempotency key (a retry of the same key counts here). */
  readonly requests: Map<string, number>;
  /** Effects applied per key: 1 each when every key is applied once. */
  readonly effects: Map<string, number>;
  /** Requests without an Idempotency-Key header. */
  readonly unkeyed: number;
  /** Resolves when a request for a key whose text contains `part` has arrived. */
  arrived(part: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startEffectServer(): Promise<EffectServer> {
  const requests = new Map<string, number>();
  const effects = new Map<string, number>();
  const waiters = new Set<{ part: string; resolve: (key: string) => void }>();
  let unkeyed = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const key = req.headers['idempotency-key'];
    req.resume();
    req.on('end', () => {
      if (typeof key !== 'string') {
        unkeyed++;
      } else {
        requests.set(key, (requests.get(key) ?? 0) + 1);
        if (!effects.has(key)) effects.set(key, 1); // applied once per key, whatever the retries
        for (const w of [...waiters]) {
          if (key.includes(w.part)) {
            waiters.delete(w);
            w.resolve(key);
          }
        }
      }
      const hold = Number(url.searchParams.get('hold') ?? 0);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ key: key ?? null, applied: true }));
      }, hold);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    effects,
    get unkeyed() {
      return unkeyed;
    },
    arrived(part, timeoutMs = 30_000) {
      for (const key of requests.keys()) if (key.includes(part)) return Promise.resolve(key);
      return new Promise((resolve, reject) => {
        const w = { part, resolve };
        waiters.add(w);
        setTimeout(() => {
          if (waiters.delete(w)) reject(new Error(`no request for a key containing "${part}" within ${timeoutMs} ms`));
        }, timeoutMs).unref();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

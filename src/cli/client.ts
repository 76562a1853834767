import type { NatsConnection } from 'nats';
import { connectNats } from '../nats/connection.js';
import { compileNatsSettings } from '../node/options.js';

/**
 * For commands that talk to a mesh without joining it (`nodes`, `run`, `executions`, `cancel`):
 * connects with `--nats` (or NATS_URL and the credential variables), runs `use`, always closes.
 */
export async function withNats<T>(natsFlag: string | undefined, clientName: string, use: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connectNats(compileNatsSettings(natsFlag), `wfmesh-client:${clientName}`);
  try {
    return await use(nc);
  } finally {
    await nc.close();
  }
}

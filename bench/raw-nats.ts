import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from 'nats';
import { nowUs, summary, type Summary } from './stats.js';

const RESPONDER = fileURLToPath(new URL('./responder.ts', import.meta.url));

/** Starts the raw responder process on `url`, answering on `subject`. */
export async function startResponder(url: string, subject: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', RESPONDER, url, subject], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`responder exited with ${code}`)));
  });
  return child;
}

/** Sequential request-reply round trips (µs). */
export async function measureRtt(nc: NatsConnection, subject: string, count: number, payload: Uint8Array): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < count + 50; i++) {
    const t0 = nowUs();
    await nc.request(subject, payload, { timeout: 5_000 });
    if (i >= 50) samples.push(nowUs() - t0); // the first 50 warm up
  }
  return summary(samples);
}

/** Requests per second with `concurrency` requests always in flight. */
export async function measureThroughput(send: () => Promise<unknown>, total: number, concurrency: number): Promise<number> {
  let started = 0;
  const t0 = nowUs();
  const worker = async () => {
    while (started < total) {
      started++;
      await send();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return Math.round((total / (nowUs() - t0)) * 1e6);
}

import type { MeshNode } from '../src/node/index.js';
import { startNodeProcess } from './node-process.js';
import { median, round } from './stats.js';

/**
 * join_visible_ms: from a node's own "joined" log line to the observer seeing it.
 * dead_detect_ms: from kill -9 to the observer dropping it. (An idle node's RSS is measured in idle.ts.)
 */
export async function measureMembership(observer: MeshNode, url: string, rounds: number): Promise<{ join_visible_ms: number; dead_detect_ms: number }> {
  const joins: number[] = [];
  const deaths: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const name = `bench-member-${i}`;
    let seenAt = 0;
    let leftAt = 0;
    const off = observer.registry.onChange((e) => {
      if (e.kind === 'joined' && e.peer.name === name) seenAt = Date.now();
      if (e.kind === 'left' && e.name === name) leftAt = Date.now();
    });
    const proc = await startNodeProcess(['--nats', url, '--name', name, '--no-mcp']);
    while (!seenAt) await new Promise((r) => setTimeout(r, 5));
    joins.push(Math.max(0, seenAt - proc.joinedAt));
    const killedAt = Date.now();
    proc.kill('SIGKILL');
    while (!leftAt) await new Promise((r) => setTimeout(r, 5));
    deaths.push(leftAt - killedAt);
    off();
  }
  return { join_visible_ms: round(median(joins)), dead_detect_ms: round(median(deaths)) };
}

import type { MeshNode } from '../src/node/index.js';
import { startNodeProcess } from './node-process.js';
import { median, round } from './stats.js';

/**
 * join_visible_ms: from a node's own "joined" log line to the observer seeing it.
 * dead_detect_ms: from kill -9 to the observer dropping it.
 * frozen_detect_ms: from SIGSTOP to the observer dropping it (no goodbye, no closed socket: only
 * unanswered probes tell). (An idle node's RSS is measured in idle.ts.)
 */
export async function measureMembership(
  observer: MeshNode,
  url: string,
  rounds: number,
): Promise<{ join_visible_ms: number; dead_detect_ms: number; frozen_detect_ms: number }> {
  const joins: number[] = [];
  const deaths: number[] = [];
  const freezes: number[] = [];
  for (let i = 0; i < 2 * rounds; i++) {
    const freeze = i % 2 === 1;
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
    const stoppedAt = Date.now();
    proc.kill(freeze ? 'SIGSTOP' : 'SIGKILL');
    while (!leftAt) await new Promise((r) => setTimeout(r, 5));
    (freeze ? freezes : deaths).push(leftAt - stoppedAt);
    if (freeze) proc.kill('SIGKILL');
    off();
  }
  return { join_visible_ms: round(median(joins)), dead_detect_ms: round(median(deaths)), frozen_detect_ms: round(median(freezes)) };
}

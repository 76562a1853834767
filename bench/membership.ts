import type { MeshNode } from '../src/node/index.js';
import { startNodeProcess } from './node-process.js';
import { median, round } from './stats.js';

/** Keeps the mesh busy: one long step on a worker process, as a real execution would. */
const HOLD_WORKFLOW = `workflows:
  main:
    - {id: hold, tool: sleep, args: {ms: 600000}, requires: {labels: {role: worker}}}
`;

export interface MembershipFigures {
  join_visible_ms: number;
  dead_detect_ms: number;
  frozen_detect_ms: number;
  dead_detect_busy_ms: number;
  frozen_detect_busy_ms: number;
}

/**
 * join_visible_ms: from a node's own "joined" log line to the observer seeing it.
 * dead_detect_ms: from kill -9 to the observer dropping it, in an idle mesh (nothing has run
 * for the activity linger, waited out before each kill: the watcher reads the connection lists
 * every `idle_probe_ms`); dead_detect_busy_ms: the same while an execution runs (a step sleeping on a
 * worker), when every node probes at the busy rate.
 * frozen_detect_ms, frozen_detect_busy_ms: from SIGSTOP to the observer dropping it (no goodbye,
 * no closed socket: only unanswered probes tell; idle, its ring predecessor probes it every
 * `watched_probe_ms`). (An idle node's RSS is measured in idle.ts.)
 */
export async function measureMembership(observer: MeshNode, url: string, rounds: number): Promise<MembershipFigures> {
  await meshIdle(observer);
  const idle = await detectionRounds(observer, url, rounds, 'idle');
  const executions = observer.executions!;
  const hold = await executions.start({ yaml: HOLD_WORKFLOW, mode: 'distributed', wait: false, requested_by: 'bench' });
  try {
    while (!observer.membership.activity.busy()) await new Promise((r) => setTimeout(r, 10));
    const busy = await detectionRounds(observer, url, rounds, 'busy');
    return {
      join_visible_ms: round(median([...idle.joins, ...busy.joins])),
      dead_detect_ms: round(median(idle.deaths)),
      frozen_detect_ms: round(median(idle.freezes)),
      dead_detect_busy_ms: round(median(busy.deaths)),
      frozen_detect_busy_ms: round(median(busy.freezes)),
    };
  } finally {
    await executions.cancel(hold.execution_id, 'bench: the mesh was kept busy long enough');
  }
}

async function detectionRounds(observer: MeshNode, url: string, rounds: number, tag: string) {
  const joins: number[] = [];
  const deaths: number[] = [];
  const freezes: number[] = [];
  for (let i = 0; i < 2 * rounds; i++) {
    const freeze = i % 2 === 1;
    const name = `bench-member-${tag}-${i}`;
    let seenAt = 0;
    let leftAt = 0;
    const off = observer.registry.onChange((e) => {
      if (e.kind === 'joined' && e.peer.name === name) seenAt = Date.now();
      if (e.kind === 'left' && e.name === name) leftAt = Date.now();
    });
    const proc = await startNodeProcess(['--nats', url, '--name', name, '--no-mcp']);
    while (!seenAt) await new Promise((r) => setTimeout(r, 5));
    joins.push(Math.max(0, seenAt - proc.joinedAt));
    // Idle rounds wait out the busy spell the previous round's suspicion started, and the six idle
    // periods after the join during which every node probes at the idle period (docs/membership.md).
    if (tag === 'idle') {
      await meshIdle(observer);
      await new Promise((r) => setTimeout(r, 7 * observer.membership.timings.idleProbeIntervalMs));
    }
    const stoppedAt = Date.now();
    proc.kill(freeze ? 'SIGSTOP' : 'SIGKILL');
    while (!leftAt) await new Promise((r) => setTimeout(r, 5));
    (freeze ? freezes : deaths).push(leftAt - stoppedAt);
    if (freeze) proc.kill('SIGKILL');
    off();
  }
  return { joins, deaths, freezes };
}

/** Waits until nothing has run in the mesh for the activity linger (as the observer knows it). */
export async function meshIdle(observer: MeshNode): Promise<void> {
  while (observer.membership.activity.busy()) await new Promise((r) => setTimeout(r, 100));
}

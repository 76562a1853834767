/**
 * Finding executions whose coordinator is gone, and sending each to the one live node that
 * should take it over. One node (the live node with the smallest id) scans the store; each
 * orphan goes to its rendezvous successor, which claims it by compare-and-swap (so a double
 * send, or two scanners, still yield one coordinator).
 */
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { connectionWatcher } from '../mesh/connection-watch.js';
import type { Advertisement } from '../protocol/advert.js';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { subjects } from '../protocol/subjects.js';
import { HandoverReplySchema, successorOf, type HandoverRequest } from './lease.js';
import type { OpenExecution, OpenExecutions } from './open-executions.js';

export interface RecoveryContext {
  readonly nc: NatsConnection;
  /** The store's open executions, read incrementally (the recovery passes look among them). */
  readonly open: OpenExecutions;
  readonly log: Logger;
  readonly self: { readonly id: string; readonly name: string };
  /** Live peers, this node included. */
  readonly peers: () => readonly Advertisement[];
  /** Claims and resumes one execution here; resolves true when this node took it. */
  readonly takeOver: (executionId: string, reason: string) => Promise<boolean>;
}

/**
 * The node that scans for orphans (one scan per loss, not one per node): the mesh's connection
 * watcher while it runs (the node that already has the mesh's idle duties, so the others wake
 * less), otherwise the live node with the smallest id.
 */
export function isSweeper(selfId: string, peers: readonly Advertisement[]): boolean {
  const watcher = connectionWatcher(peers);
  if (watcher?.state === 'RUNNING') return watcher.id === selfId;
  let first: string | undefined;
  for (const p of peers) if (p.state === 'RUNNING' && (first === undefined || p.id < first)) first = p.id;
  return first === selfId;
}

/** Sends each execution to its successor (or runs it here when that is this node, or it cannot answer). */
export async function distribute(ctx: RecoveryContext, ids: readonly string[], reason: string): Promise<void> {
  const peers = ctx.peers();
  const byNode = new Map<string, { peer: Advertisement; ids: string[] }>();
  for (const id of ids) {
    const peer = successorOf(id, peers);
    if (!peer) continue; // nobody to run it: it stays resumable for the next node that starts
    const group = byNode.get(peer.id) ?? { peer, ids: [] };
    group.ids.push(id);
    byNode.set(peer.id, group);
  }
  await Promise.all(
    [...byNode.values()].map(async ({ peer, ids: group }) => {
      const left = peer.id === ctx.self.id ? group : await askToTakeOver(ctx, peer, group, reason);
      for (const id of left) await ctx.takeOver(id, reason).catch((err: Error) => ctx.log.warn({ execution: id, err: err.message }, 'could not take an execution over'));
    }),
  );
}

/** Asks `peer` to take `ids` over; resolves with those it did not take (to be taken here). */
export async function askToTakeOver(ctx: RecoveryContext, peer: Advertisement, ids: readonly string[], reason: string): Promise<string[]> {
  const request: HandoverRequest = { type: 'wfmesh.handover.request.v1', execution_ids: [...ids], from: ctx.self.name, reason };
  try {
    const msg = await ctx.nc.request(subjects.handover(peer.name, peer.id), encodeJson(request), { timeout: 10_000 });
    const reply = HandoverReplySchema.safeParse(decodeJson(msg.data));
    if (!reply.success) return [...ids];
    const taken = new Set(reply.data.taken);
    return ids.filter((id) => !taken.has(id));
  } catch (err) {
    ctx.log.warn({ peer: peer.name, err: (err as Error).message }, 'a successor did not answer a takeover request');
    return [...ids];
  }
}

/**
 * Unfinished records nobody coordinates. `scope`: `all` — those whose coordinator is not among the
 * live nodes and has been quiet for longer than a node takes to be declared dead, plus this
 * node's own from a previous process; `own` — only the latter; `{ left }` — those of the nodes that
 * just left (one scan for every node of a mass expiry), however recently written.
 */
export async function findOrphans(
  ctx: RecoveryContext,
  opts: { quietMs: number; startedAt: number; active: (id: string) => boolean; scope: 'all' | 'own' | { left: ReadonlySet<string> } },
): Promise<OpenExecution[]> {
  const live = new Set(ctx.peers().map((p) => p.name));
  const now = Date.now();
  const { scope } = opts;
  return (await ctx.open.now()).filter((r) => {
    if (opts.active(r.execution_id)) return false;
    const updated = Date.parse(r.updated_at);
    if (r.coordinator === ctx.self.name) return typeof scope === 'string' && updated < opts.startedAt;
    if (scope === 'own') return false;
    if (scope !== 'all') return scope.left.has(r.coordinator) && !live.has(r.coordinator);
    return !live.has(r.coordinator) && now - updated > opts.quietMs;
  });
}

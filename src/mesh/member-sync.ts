/**
 * Member lists between nodes, page by page: a node answers for its view (`wfmesh nodes`, a
 * joining node, a peer catching up), and a node pulls another's view to learn the members it
 * missed. Pages stay under the server's payload limit whatever the mesh size.
 */
import type { Msg, NatsConnection, ServiceMsg } from 'nats';
import type { Logger } from 'pino';
import type { Advertisement, MeshView, NodeCapabilities } from '../protocol/advert.js';
import { MeshViewSchema, ViewRequestSchema, type ViewRequest } from '../protocol/advert.js';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { subjects } from '../protocol/subjects.js';
import { Requester } from '../nats/requester.js';
import type { PeerRegistry } from './registry.js';
import { DEFAULT_PAGE } from './sorted-peers.js';

/** Answers one view request from the registry; halves the page until it fits the payload limit. */
export function answerView(msg: ServiceMsg | Msg, registry: PeerRegistry, self: { name: string; id: string }, maxPayload = 1024 * 1024): void {
  const raw = msg.data.length ? decodeJson(msg.data) : { type: 'wfmesh.view.request.v1' };
  const parsed = ViewRequestSchema.safeParse(raw);
  const req: ViewRequest = parsed.success ? parsed.data : { type: 'wfmesh.view.request.v1' };
  let limit = req.limit ?? DEFAULT_PAGE;
  for (;;) {
    const page = registry.page({ cursor: req.cursor, limit, region: req.region, labels: req.labels });
    const view: MeshView = { type: 'wfmesh.view.v1', node: self.name, node_id: self.id, nodes: page.nodes, total: page.total, members: registry.size, ...(page.next_cursor && { next_cursor: page.next_cursor }) };
    const data = encodeJson(view);
    if (data.length <= maxPayload - 1024 || page.nodes.length <= 1) {
      msg.respond(data);
      return;
    }
    limit = Math.max(1, Math.floor(page.nodes.length / 2));
  }
}

/** What a view entry says about a node's capabilities (its live fields left out). */
export function capabilitiesOf(ad: Advertisement): NodeCapabilities {
  const { state: _s, load: _l, last_seen: _ls, incarnation: _i, memory, ...rest } = ad;
  return { ...rest, memory: { total_mib: memory.total_mib, ...(memory.declared !== undefined && { declared: memory.declared }) } };
}

/**
 * Pulls every page of a peer's view (of any one node when no target) and adds the members this
 * node does not know. Members this node knows and the peer does not are left alone: the prober
 * finds out whether they are alive.
 */
export async function syncView(nc: NatsConnection, registry: PeerRegistry, selfName: string, target: { id: string; name: string } | undefined, log: Logger): Promise<void> {
  let cursor: string | undefined;
  let subject = target ? subjects.view(target.name, target.id) : subjects.viewAny();
  try {
    for (let pages = 0; pages < 10_000; pages++) {
      const req: ViewRequest = { type: 'wfmesh.view.request.v1', ...(cursor && { cursor }) };
      const msg = await Requester.for(nc).request(subject, encodeJson(req), { timeout: 5_000 });
      const view = MeshViewSchema.safeParse(decodeJson(msg.data));
      if (!view.success || view.data.node === selfName) return; // any node turned out to be this one
      const now = Date.now();
      for (const ad of view.data.nodes) {
        const known = registry.incarnationOf(ad.id);
        if (known === undefined || known < (ad.incarnation ?? 0)) registry.alive(capabilitiesOf(ad), ad.incarnation ?? 0, ad.state, now);
      }
      if (!view.data.next_cursor) return;
      cursor = view.data.next_cursor;
      // The next pages from the same node: a cursor means nothing to another one.
      if (!target) {
        if (!view.data.node_id) return;
        subject = subjects.view(view.data.node, view.data.node_id);
      }
    }
  } catch (err) {
    if (!nc.isClosed()) log.debug({ from: target?.name ?? 'any node', err: (err as Error).message, self: selfName }, 'could not pull a peer view');
  }
}

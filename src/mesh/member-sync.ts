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

/** Ids per page of an `ids_only` view (about 40 bytes each). */
const IDS_PAGE = 5_000;
/** Nodes asked for at once by id (about 1 KB each in full). */
const IDS_CHUNK = 200;

/** Answers one view request from the registry; halves the page until it fits the payload limit. */
export function answerView(msg: ServiceMsg | Msg, registry: PeerRegistry, self: { name: string; id: string }, maxPayload = 1024 * 1024): void {
  const raw = msg.data.length ? decodeJson(msg.data) : { type: 'wfmesh.view.request.v1' };
  const parsed = ViewRequestSchema.safeParse(raw);
  const req: ViewRequest = parsed.success ? parsed.data : { type: 'wfmesh.view.request.v1' };
  const base = { type: 'wfmesh.view.v1' as const, node: self.name, node_id: self.id, members: registry.size };
  if (req.ids) {
    const nodes = req.ids.map((id) => registry.get(id)).filter((p): p is Advertisement => p !== undefined);
    msg.respond(encodeJson({ ...base, nodes, total: nodes.length } satisfies MeshView));
    return;
  }
  let limit = req.limit ?? (req.ids_only ? IDS_PAGE : DEFAULT_PAGE);
  for (;;) {
    const page = registry.page({ cursor: req.cursor, limit, region: req.region, labels: req.labels });
    const view: MeshView = req.ids_only
      ? { ...base, nodes: [], members_ids: page.nodes.map((p) => ({ id: p.id, incarnation: p.incarnation ?? 0 })), total: page.total }
      : { ...base, nodes: page.nodes, total: page.total };
    if (page.next_cursor) view.next_cursor = page.next_cursor;
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

/** Times a pull of any node's view is asked again when this node's own view service answered it. */
const SELF_ANSWER_RETRIES = 6;

/**
 * Catches up with a peer's view (any one node's when no target): first its member ids, page by
 * page (tens of bytes each), then, in chunks, the capabilities of the members this node lacks
 * only. Members this node knows and the peer does not are left alone: the prober finds out
 * whether they are alive.
 */
export async function syncView(nc: NatsConnection, registry: PeerRegistry, selfName: string, target: { id: string; name: string } | undefined, log: Logger): Promise<void> {
  let subject = target ? subjects.view(target.name, target.id) : subjects.viewAny();
  const ask = async (req: ViewRequest) => {
    const msg = await Requester.for(nc).request(subject, encodeJson(req), { timeout: 5_000 });
    const view = MeshViewSchema.safeParse(decodeJson(msg.data));
    return view.success ? view.data : undefined;
  };
  log.debug({ from: subject }, 'pulling a peer view');
  try {
    const missing: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10_000; pages++) {
      let view = await ask({ type: 'wfmesh.view.request.v1', ids_only: true, ...(cursor && { cursor }) });
      // The queue group of any node's view includes this node: when it picked this one, ask again
      // (a joining node answered by itself knew nobody until its next sync, a second or two later).
      for (let again = 0; !target && pages === 0 && view?.node === selfName && again < SELF_ANSWER_RETRIES; again++) {
        view = await ask({ type: 'wfmesh.view.request.v1', ids_only: true });
      }
      if (!view || view.node === selfName) {
        log.debug({ from: subject, answered: view?.node ?? 'malformed' }, 'no view pulled');
        return; // any node turned out to be this one
      }
      // The next requests go to the same node: a cursor means nothing to another one.
      if (!target) {
        if (!view.node_id) return;
        subject = subjects.view(view.node, view.node_id);
      }
      for (const m of view.members_ids ?? []) if (registry.wouldTake(m.id, m.incarnation)) missing.push(m.id);
      if (!view.next_cursor) break;
      cursor = view.next_cursor;
    }
    let added = 0;
    for (let i = 0; i < missing.length; i += IDS_CHUNK) {
      const view = await ask({ type: 'wfmesh.view.request.v1', ids: missing.slice(i, i + IDS_CHUNK) });
      const now = Date.now();
      for (const ad of view?.nodes ?? []) if (learn(registry, ad, now)) added++;
    }
    log.debug({ from: subject, missing: missing.length, added, members: registry.size }, 'pulled a peer view');
  } catch (err) {
    if (!nc.isClosed()) log.debug({ from: subject, err: (err as Error).message, self: selfName }, 'could not pull a peer view');
  }
}

/**
 * Asks one node for its own entry (its capabilities): after an announcement without them (a
 * refutation) from a node this one had dropped. One request, about 1 KB; false when it failed.
 */
export async function fetchMember(nc: NatsConnection, registry: PeerRegistry, target: { id: string; name: string }): Promise<boolean> {
  const req: ViewRequest = { type: 'wfmesh.view.request.v1', ids: [target.id] };
  const msg = await Requester.for(nc).request(subjects.view(target.name, target.id), encodeJson(req), { timeout: 5_000 });
  const view = MeshViewSchema.safeParse(decodeJson(msg.data));
  const ad = view.success ? view.data.nodes.find((n) => n.id === target.id && n.name === target.name) : undefined;
  if (!ad) return false;
  learn(registry, ad, Date.now());
  return true;
}

/** A member as a view tells it: its capabilities, and its load and free memory (second hand) until it is heard from itself. */
function learn(registry: PeerRegistry, ad: Advertisement, now: number): boolean {
  if (!registry.alive(capabilitiesOf(ad), ad.incarnation ?? 0, ad.state, now)) return false;
  registry.seedLive(ad.id, ad.load, ad.memory.free_mib);
  return true;
}

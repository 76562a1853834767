import { Empty, RequestStrategy, type Msg, type NatsConnection } from 'nats';
import { MeshViewSchema, ServiceInfoSchema, ServicePingSchema, type MeshView, type ViewRequest } from '../protocol/advert.js';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { subjects } from '../protocol/subjects.js';
import { connectionInbox } from '../nats/connection.js';

/** A node as `$SRV.INFO.wfmesh` names it: the subjects addressed to it need both. */
export interface ServiceInstance {
  readonly id: string;
  readonly name: string;
}

/** Every node answering `$SRV.INFO.wfmesh`, in the order they answered. */
export async function listServiceInstances(nc: NatsConnection, maxWaitMs = 1_500): Promise<ServiceInstance[]> {
  const ids: ServiceInstance[] = [];
  const replies = await nc.requestMany(subjects.serviceInfo(), undefined, {
    maxWait: maxWaitMs,
    strategy: RequestStrategy.JitterTimer,
    jitter: 300,
  });
  for await (const msg of replies) {
    const info = ServiceInfoSchema.safeParse(decodeJson(msg.data));
    const name = info.success ? info.data.metadata?.name : undefined;
    if (info.success && name) ids.push({ id: info.data.id, name });
  }
  return ids;
}

/** The server's "nobody subscribes to that subject" answer to a message with a reply subject. */
function isNoResponders(msg: Msg): boolean {
  return msg.data.length === 0 && msg.headers?.code === 503;
}

/** What `wfmesh nodes` asks for: a filter, and one page (`limit`, `cursor`) or every page. */
export interface ViewQuery {
  region?: string | undefined;
  labels?: Record<string, string> | undefined;
  /** Nodes per page (the answering node may send fewer to stay under the payload limit). */
  limit?: number | undefined;
  /** Start after this (`next_cursor` of a previous page). */
  cursor?: string | undefined;
  /** Only the one page (from `cursor`, or the first), with its `next_cursor`; otherwise every page. */
  onePage?: boolean | undefined;
}

async function askView(nc: NatsConnection, subject: string, query: ViewQuery): Promise<MeshView | undefined> {
  const req: ViewRequest = {
    type: 'wfmesh.view.request.v1',
    ...(query.cursor !== undefined && { cursor: query.cursor }),
    ...(query.limit !== undefined && { limit: query.limit }),
    ...(query.region !== undefined && { region: query.region }),
    ...(query.labels !== undefined && { labels: query.labels }),
  };
  try {
    const msg = await nc.request(subject, encodeJson(req), { timeout: 5_000 });
    const view = MeshViewSchema.safeParse(decodeJson(msg.data));
    return view.success ? view.data : undefined;
  } catch {
    return undefined; // no node, or that node went away: the caller asks again
  }
}

/**
 * The mesh as one live node sees it (any node of the mesh answers), or undefined when no node
 * answers. Without a cursor it follows every page (from the same node) and returns them as one
 * view; with a cursor it returns that one page, whose `next_cursor` leads on. Unfiltered, it
 * waits (at most `boundMs`) until the view counts as many members as nodes answer
 * `$SRV.PING.wfmesh`, so that a node that just joined is listed. Used by `wfmesh nodes` and
 * anything outside the mesh that wants the peer list.
 */
export async function fetchMeshView(nc: NatsConnection, query: ViewQuery = {}, boundMs = 750): Promise<MeshView | undefined> {
  const heard = new Set<string>();
  let nobody = false;
  const sub = nc.subscribe(connectionInbox(nc), {
    callback: (_err, msg) => {
      if (isNoResponders(msg)) nobody = true;
      const ping = ServicePingSchema.safeParse(decodeJson(msg.data));
      if (ping.success) heard.add(ping.data.id);
    },
  });
  const filtered = query.region !== undefined || (query.labels !== undefined && Object.keys(query.labels).length > 0);
  const deadline = Date.now() + boundMs;
  let first: MeshView | undefined;
  try {
    const single = query.onePage === true || query.cursor !== undefined;
    if (!filtered && !single) nc.publish(subjects.servicePing(), Empty, { reply: sub.getSubject() });
    for (;;) {
      const view = await askView(nc, subjects.viewAny(), query);
      if (view && (!first || (view.members ?? 0) > (first.members ?? 0))) first = view;
      if (!first || filtered || single) break;
      if (nobody || (first.members ?? first.nodes.length) >= heard.size || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    sub.unsubscribe();
  }
  if (!first || query.onePage === true || query.cursor !== undefined) return first;
  const nodes = [...first.nodes];
  let next = first.next_cursor;
  for (let pages = 0; next && first.node_id && pages < 100_000; pages++) {
    const page = await askView(nc, subjects.view(first.node, first.node_id), { ...query, cursor: next });
    if (!page) break;
    nodes.push(...page.nodes);
    next = page.next_cursor;
  }
  const { next_cursor: _drop, ...rest } = first;
  return { ...rest, nodes };
}

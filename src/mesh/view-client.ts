import { Empty, RequestStrategy, type Msg, type NatsConnection } from 'nats';
import { MeshViewSchema, ServiceInfoSchema, ServicePingSchema, type MeshView } from '../protocol/advert.js';
import { decodeJson } from '../protocol/codec.js';
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

async function askView(nc: NatsConnection, node: ServiceInstance): Promise<MeshView | undefined> {
  try {
    const msg = await nc.request(subjects.view(node.name, node.id), undefined, { timeout: 2_000 });
    const view = MeshViewSchema.safeParse(decodeJson(msg.data));
    return view.success ? view.data : undefined;
  } catch {
    return undefined; // that node went away: the caller asks the next
  }
}

/**
 * The mesh as one live node sees it (the first that answers `$SRV.PING.wfmesh`), or undefined
 * when no node answers. It returns as soon as that view and the nodes answering the ping agree,
 * which on a healthy mesh is one round trip after the last ping reply; a node that is in the view
 * but silent (dead, not yet dropped) or answering but not yet in it (just joined) makes it wait,
 * at most `boundMs`. Used by `wfmesh nodes` and anything outside the mesh that wants the peer list.
 */
export async function fetchMeshView(nc: NatsConnection, boundMs = 750): Promise<MeshView | undefined> {
  const heard = new Set<string>();
  const notAsked: ServiceInstance[] = [];
  let nobody = false;
  let wake: (() => void) | undefined;
  const sub = nc.subscribe(connectionInbox(nc), {
    callback: (_err, msg) => {
      if (isNoResponders(msg)) nobody = true;
      const ping = ServicePingSchema.safeParse(decodeJson(msg.data));
      const name = ping.success ? ping.data.metadata?.name : undefined;
      if (ping.success && name && !heard.has(ping.data.id)) {
        heard.add(ping.data.id);
        notAsked.push({ id: ping.data.id, name });
      }
      wake?.();
    },
  });
  nc.publish(subjects.servicePing(), Empty, { reply: sub.getSubject() });

  const agrees = (v: MeshView) => v.nodes.length === heard.size && v.nodes.every((n) => heard.has(n.id));
  const deadline = Date.now() + boundMs;
  let view: MeshView | undefined;
  try {
    while (!nobody && !(view && agrees(view))) {
      const next = view ? undefined : notAsked.shift();
      if (next) {
        view = await askView(nc, next);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    sub.unsubscribe();
  }
  // Past the bound with no view yet: the nodes that answered late still get asked.
  for (let next = notAsked.shift(); !view && next; next = notAsked.shift()) view = await askView(nc, next);
  return view;
}

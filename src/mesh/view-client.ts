import { RequestStrategy, type NatsConnection } from 'nats';
import { MeshViewSchema, ServiceInfoSchema, type MeshView } from '../protocol/advert.js';
import { decodeJson } from '../protocol/codec.js';
import { subjects } from '../protocol/subjects.js';

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

/**
 * The mesh as one live node sees it (the first that answers). Undefined when no node answers.
 * Used by `wfmesh nodes` and anything outside the mesh that wants the peer list.
 */
export async function fetchMeshView(nc: NatsConnection): Promise<MeshView | undefined> {
  for (const node of await listServiceInstances(nc)) {
    try {
      const msg = await nc.request(subjects.view(node.name, node.id), undefined, { timeout: 2_000 });
      const view = MeshViewSchema.safeParse(decodeJson(msg.data));
      if (view.success) return view.data;
    } catch {
      /* that node went away: ask the next */
    }
  }
  return undefined;
}

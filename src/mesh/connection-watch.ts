import { RequestStrategy, type NatsConnection } from 'nats';
import { z } from 'zod';
import type { Advertisement } from '../protocol/advert.js';
import { subjects } from '../protocol/subjects.js';

/**
 * Noticing a killed node without waking every node: the NATS servers know which connections are
 * open. Every server of the cluster answers `$SYS.REQ.ACCOUNT.PING.CONNZ` with the open
 * connections of the asker's account (nats-server 2.2 and later, with no configuration: each
 * account imports it from the system account). One node of the mesh, the watcher, reads them once
 * an idle period; a member without a connection under its name is probed at once (its probe then
 * meets "no responders", the certain sign of a kill), so the other nodes may probe their ring
 * successors at a slower rate, for frozen nodes only (a frozen node keeps its connection).
 */

/** The NATS connection name of node `name` (what the servers list it under). */
export function nodeConnectionName(name: string): string {
  return `wfmesh:${name}`;
}

const NODE_PREFIX = nodeConnectionName('');

/** One server's answer, the parts read (a page of at most `limit` connections). */
const ConnzReplySchema = z.object({
  server: z.object({ id: z.string() }),
  data: z
    .object({
      total: z.number(),
      offset: z.number(),
      num_connections: z.number(),
      connections: z.array(z.object({ name: z.string().optional() })).nullish(),
    })
    .optional(),
  error: z.object({ description: z.string().optional() }).optional(),
});

/** Who the servers hold connections for: node name → open connections under it, and which servers answered. */
export interface ConnectionCensus {
  nodes: Map<string, number>;
  servers: Set<string>;
}

/** Connections a page asks each server for (nats-server's own default). */
const PAGE = 1024;
/** At most this many pages: past them the census is incomplete. */
const MAX_PAGES = 1024;

export interface ReadOptions {
  /** How long to wait for the servers' answers in all. */
  maxWaitMs: number;
  /** The answers end once none has come for this long. */
  jitterMs: number;
  /** Connections per server and page (default 1024, nats-server's own). */
  pageSize?: number;
  /**
   * How many servers answer, when known: the read then ends with the last of their answers (or
   * at `maxWaitMs`) instead of waiting out the jitter after it, which cost a wake-up of its own.
   */
  servers?: number;
}

/**
 * Asks every server for this account's connections, page by page while any server has more.
 * Rejects when no server answers (no responders: the server predates the import, or it is turned
 * off) or one answers with an error (no permission).
 */
export async function readConnections(nc: NatsConnection, opts: ReadOptions): Promise<ConnectionCensus> {
  const census: ConnectionCensus = { nodes: new Map(), servers: new Set() };
  const limit = opts.pageSize ?? PAGE;
  for (let page = 0; page < MAX_PAGES; page++) {
    const offset = page * limit;
    const ending = opts.servers ? { strategy: RequestStrategy.Count, maxMessages: opts.servers } : { strategy: RequestStrategy.JitterTimer, jitter: opts.jitterMs };
    const replies = await nc.requestMany(subjects.accountConnections(), JSON.stringify({ offset, limit }), { ...ending, maxWait: opts.maxWaitMs });
    let more = false;
    let answered = 0;
    for await (const msg of replies) {
      const reply = ConnzReplySchema.safeParse(msg.json());
      if (!reply.success) continue;
      const { server, data, error } = reply.data;
      if (error !== undefined || data === undefined) throw new Error(`nats-server ${server.id} refused the connection list: ${error?.description ?? 'no data'}`);
      answered++;
      if (page === 0) census.servers.add(server.id);
      for (const c of data.connections ?? []) {
        if (c.name?.startsWith(NODE_PREFIX)) {
          const node = c.name.slice(NODE_PREFIX.length);
          census.nodes.set(node, (census.nodes.get(node) ?? 0) + 1);
        }
      }
      if (data.offset + data.num_connections < data.total) more = true;
    }
    if (answered === 0) throw new Error('no NATS server answered with the connection list');
    if (!more) return census;
  }
  throw new Error(`more than ${limit * MAX_PAGES} connections on one server: the connection list is incomplete`);
}

/**
 * Whether this node can read the servers' connection lists: one read at start. False when the
 * servers do not answer or refuse (hand-written permissions without the subject).
 */
export async function canReadConnections(nc: NatsConnection): Promise<boolean> {
  try {
    await readConnections(nc, { maxWaitMs: 1_000, jitterMs: 100 });
    return true;
  } catch {
    return false;
  }
}

/**
 * The node that reads the connections for the mesh: the first by name (then id) of those that
 * can. Every node computes it from its own view, so all agree once their views do.
 */
export function connectionWatcher(members: readonly Advertisement[]): Advertisement | undefined {
  // The list is sorted by name then id: the first that can is the one.
  return members.find((m) => m.watches_connections === true);
}

/**
 * Members (other than `selfId`) the servers hold no connection for: fewer connections under a
 * name than members with it makes every member of that name a candidate (a node killed and
 * started again under its name leaves one connection for two entries).
 */
export function unconnectedMembers(census: ConnectionCensus, members: readonly Advertisement[], selfId: string): Advertisement[] {
  const byName = new Map<string, Advertisement[]>();
  for (const m of members) {
    if (m.id === selfId) continue;
    const same = byName.get(m.name);
    if (same) same.push(m);
    else byName.set(m.name, [m]);
  }
  const missing: Advertisement[] = [];
  for (const [name, same] of byName) if ((census.nodes.get(name) ?? 0) < same.length) missing.push(...same);
  return missing;
}

/** Every this many reads, the watcher waits out the jitter to hear servers that joined the cluster. */
const DISCOVER_EVERY = 15;

/**
 * The watcher's reads, one after another: `read()` resolves to the census, or to undefined when
 * it cannot be trusted to tell a missing node (a server that answered the last read did not answer
 * this one: its connections are unknown, and its nodes are moving to other servers). A read ends
 * with the answer of the last server the previous read heard; every 15th waits out the jitter
 * instead, to hear a server that joined (until then, its nodes are probed for nothing: they answer).
 */
export class ConnectionWatch {
  private lastServers = new Set<string>();
  private reads = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: ReadOptions,
  ) {}

  async read(): Promise<ConnectionCensus | undefined> {
    const discover = this.lastServers.size === 0 || this.reads++ % DISCOVER_EVERY === 0;
    const census = await readConnections(this.nc, discover ? this.opts : { ...this.opts, servers: this.lastServers.size });
    const lost = [...this.lastServers].some((s) => !census.servers.has(s));
    this.lastServers = census.servers;
    return lost ? undefined : census;
  }
}

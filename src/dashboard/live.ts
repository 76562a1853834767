import type { ServerResponse } from 'node:http';
import type { Subscription } from 'nats';
import { z } from 'zod';
import { decodeJson } from '../protocol/codec.js';
import { ExecutionEventSchema } from '../protocol/execution.js';
import { subjects } from '../protocol/subjects.js';
import type { DashboardOptions } from './types.js';

/** Past this much unsent data a page is too slow to follow: it is dropped and reconnects. */
const MAX_BACKLOG_BYTES = 1 << 20;
/** How often the mesh is pushed when only load changed. */
const MESH_REFRESH_MS = 5_000;
const KEEPALIVE_MS = 15_000;
const SomeExecutionSchema = z.object({ execution_id: z.string().min(1).max(128) });

/**
 * The server-sent-events stream shared by a node's open pages: `mesh` (the peers this node
 * knows, pushed at once on a join or a death and otherwise when live load changed) and
 * `execution` (every execution event seen on NATS). It listens to NATS and the registry only
 * while a page is open.
 */
export class LiveHub {
  private readonly clients = new Set<ServerResponse>();
  private sub: Subscription | undefined;
  private offPeers: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private lastPeers: unknown;
  private lastMeshAt = 0;

  constructor(private readonly opts: DashboardOptions) {}

  get size(): number {
    return this.clients.size;
  }

  /**
   * Turns `res` into an event stream until the page goes away. `hello` is sent once the NATS
   * subscription is in place: from then on the page misses no event, so it re-reads what it
   * shows on every `hello` (a first connect or a reconnect) and is never left behind.
   */
  async open(res: ServerResponse): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Proxies must not hold events back.
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    this.clients.add(res);
    res.once('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.quiet();
    });
    if (!this.sub) {
      this.listen();
      await this.opts.nc.flush().catch(() => undefined);
    }
    this.send(res, 'hello', { node: this.opts.nodeName, at: new Date().toISOString() });
    this.send(res, 'mesh', this.meshSnapshot());
  }

  close(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.quiet();
  }

  private meshSnapshot(): { node: string; at: string; nodes: unknown } {
    const nodes = this.opts.peers.list();
    this.lastPeers = nodes;
    this.lastMeshAt = Date.now();
    return { node: this.opts.nodeName, at: new Date().toISOString(), nodes };
  }

  private listen(): void {
    const { nc, peers, log } = this.opts;
    this.quiet();
    this.sub = nc.subscribe(subjects.eventsAll(), {
      callback: (err, msg) => {
        if (err) return;
        const value = decodeJson(msg.data);
        const parsed = ExecutionEventSchema.safeParse(value);
        if (parsed.success) return this.broadcast('execution', parsed.data);
        // An event of a newer shape still says which execution changed: the page re-reads it.
        const id = SomeExecutionSchema.safeParse(value);
        if (id.success) this.broadcast('execution', { execution_id: id.data.execution_id });
        else log.debug({ subject: msg.subject }, 'dashboard: ignored a malformed execution event');
      },
    });
    this.offPeers = peers.onChange(() => this.broadcast('mesh', this.meshSnapshot()));
    // The registry hands out a new list on every membership change; load (from probes) changes in
    // place, so it is pushed now and then rather than on every change.
    this.timer = setInterval(() => {
      if (peers.list() !== this.lastPeers || Date.now() - this.lastMeshAt >= MESH_REFRESH_MS) this.broadcast('mesh', this.meshSnapshot());
    }, this.opts.meshIntervalMs);
    this.keepalive = setInterval(() => {
      for (const res of this.clients) res.write(': keepalive\n\n');
    }, KEEPALIVE_MS);
    this.timer.unref();
    this.keepalive.unref();
  }

  private quiet(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    this.offPeers?.();
    this.offPeers = undefined;
    clearInterval(this.timer);
    clearInterval(this.keepalive);
  }

  private broadcast(event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.clients) this.write(res, frame);
  }

  private send(res: ServerResponse, event: string, data: unknown): void {
    this.write(res, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(res: ServerResponse, frame: string): void {
    if (res.destroyed || res.writableEnded) return; // the page left (maybe while NATS flushed)
    if (res.writableLength > MAX_BACKLOG_BYTES) {
      res.destroy();
      return;
    }
    res.write(frame);
  }
}

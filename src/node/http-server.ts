import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { MeshError } from '../protocol/errors.js';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * The node's HTTP port: /healthz, and whatever the node mounts (/mcp, /metrics).
 * Routes match on the path prefix; anything else is 404.
 */
export class NodeHttpServer {
  private readonly routes: { prefix: string; handler: HttpHandler }[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly log: Logger,
  ) {}

  /**
   * Listens on `host:port`. With `fallback` (the port was a default, not the user's choice) a
   * taken port moves on to the next ones, so several nodes can share a machine; a port the user
   * chose is theirs or an error that says so.
   */
  static async create(host: string, port: number, log: Logger, fallback = false): Promise<NodeHttpServer> {
    let self: NodeHttpServer | undefined;
    const server = createServer((req, res) => self?.dispatch(req, res));
    server.keepAliveTimeout = 65_000;
    const lastTry = fallback && port !== 0 ? Math.min(port + PORT_FALLBACK_TRIES - 1, 65_535) : port;
    for (let tryPort = port; ; tryPort++) {
      const err = await listen(server, host, tryPort);
      if (!err) break;
      if (err.code === 'EADDRINUSE' && tryPort < lastTry) continue;
      throw new MeshError('CONFIG_INVALID', listenFailure(err, host, tryPort, port));
    }
    const addr = server.address() as AddressInfo;
    if (addr.port !== port && port !== 0) log.warn({ port: addr.port, taken: port }, `HTTP port ${port} is taken: using ${addr.port}`);
    const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    self = new NodeHttpServer(server, `http://${shownHost}:${addr.port}`, log);
    return self;
  }

  route(prefix: string, handler: HttpHandler): void {
    this.routes.push({ prefix, handler });
    this.routes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = this.routes.find((r) => path === r.prefix || path.startsWith(`${r.prefix}/`));
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no route for ${path}` }));
      return;
    }
    Promise.resolve()
      .then(() => route.handler(req, res))
      .catch((err: unknown) => {
        this.log.error({ err, path }, 'HTTP handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'internal error' }));
      });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** How many ports from the default a node tries before giving up (4020-4039). */
const PORT_FALLBACK_TRIES = 20;

/** Resolves with the listen error, or undefined once listening. */
function listen(server: Server, host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const onError = (err: NodeJS.ErrnoException) => resolve(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(undefined);
    });
  });
}

function listenFailure(err: NodeJS.ErrnoException, host: string, port: number, first: number): string {
  if (err.code === 'EADDRINUSE') {
    return port === first
      ? `HTTP port ${host}:${port} is already in use (choose another with --mcp-port, or --no-mcp)`
      : `HTTP ports ${host}:${first}-${port} are all in use (choose one with --mcp-port, or --no-mcp)`;
  }
  return `cannot listen on ${host}:${port} (${err.code ?? err.message}); check --mcp-host and --mcp-port`;
}

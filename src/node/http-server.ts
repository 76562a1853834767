import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

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

  static async create(host: string, port: number, log: Logger): Promise<NodeHttpServer> {
    let self: NodeHttpServer | undefined;
    const server = createServer((req, res) => self?.dispatch(req, res));
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new Error(`HTTP port ${host}:${port} is already in use (choose another with --mcp-port, or --no-mcp)`)
            : err,
        );
      });
      server.listen(port, host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
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

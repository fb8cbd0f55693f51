/**
 * The operators' HTTP listener (`metrics.listener`, off by default; issue #27): `GET /metrics` in
 * Prometheus' text format, `GET /healthz` (the process is up and serving this listener: 200) and
 * `GET /readyz` (200 once storage is recovered, metadata is loaded, the broker is registered and the
 * Kafka listener serves requests; 503 with the phase it is in before that and while it shuts down).
 *
 * It starts before storage recovery, so a supervisor or a load balancer can tell a broker that is
 * recovering a large log (503) from one that is gone (no answer). Bounded like every listener: few
 * connections, no request bodies read, short timeouts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Operators' tools, not clients: a handful of scrapers and probes at once. */
const OPERATOR_CONNECTIONS_MAX = 16;
const OPERATOR_REQUEST_TIMEOUT_MS = 10_000;

export interface OperatorHttpOptions {
  readonly host: string;
  readonly port: number;
  /** The Prometheus exposition text and its content type. */
  readonly metrics: () => Promise<{ readonly text: string; readonly contentType: string }>;
  /** null when ready; otherwise what the broker is doing (the 503 body). */
  readonly notReadyReason: () => string | null;
}

export class OperatorHttpServer {
  private constructor(private readonly server: Server) {}

  static async listen(options: OperatorHttpOptions): Promise<OperatorHttpServer> {
    const server = createServer((request, response) => {
      route(options, request, response).catch((err: unknown) => {
        if (!response.headersSent) reply(response, 500, `error: ${(err as Error).message}\n`);
        else response.destroy();
      });
    });
    server.maxConnections = OPERATOR_CONNECTIONS_MAX;
    server.requestTimeout = OPERATOR_REQUEST_TIMEOUT_MS;
    server.headersTimeout = OPERATOR_REQUEST_TIMEOUT_MS;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new OperatorHttpServer(server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops listening and ends idle keep-alive connections; a scrape in progress finishes. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await closed;
  }
}

async function route(options: OperatorHttpOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (request.method !== 'GET' && request.method !== 'HEAD') return reply(response, 405, 'only GET\n', { allow: 'GET, HEAD' });
  switch (path) {
    case '/metrics': {
      const { text, contentType } = await options.metrics();
      return reply(response, 200, text, { 'content-type': contentType });
    }
    case '/healthz':
      return reply(response, 200, 'ok\n');
    case '/readyz': {
      const reason = options.notReadyReason();
      return reason === null ? reply(response, 200, 'ready\n') : reply(response, 503, `not ready: ${reason}\n`);
    }
    default:
      return reply(response, 404, 'not found: /metrics, /healthz, /readyz\n');
  }
}

function reply(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(body);
}

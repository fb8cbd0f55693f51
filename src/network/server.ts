/**
 * The TCP listener. It knows Kafka only as far as framing: every frame goes to one `FrameHandler`
 * (see connection.ts for the response contract). Connections above `max.connections` are closed on
 * accept. `close()` is graceful: stop accepting, let every connection answer what it has read, end the
 * sockets, and destroy whatever is still open after `shutdownTimeoutMs`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import {
  Connection,
  ConnectionClosedError,
  type CloseReason,
  type ConnectionInfo,
  type ConnectionLimits,
  type FrameHandler,
} from './connection.js';

export interface NetworkServerOptions extends Partial<ConnectionLimits> {
  readonly host: string;
  /** 0 lets the OS pick a port; read it back from `port`. */
  readonly port: number;
  readonly handler: FrameHandler;
  /** `max.connections`: connections accepted at once; more are closed on accept. */
  readonly maxConnections?: number;
  /** Upper bound on a graceful close before the remaining sockets are destroyed. */
  readonly shutdownTimeoutMs?: number;
  /** Called once per connection accepted (not for those closed at once above max.connections). */
  readonly onConnectionOpened?: (connection: ConnectionInfo) => void;
  /** Called once per connection the broker side closed (reason set) or the peer closed (undefined). */
  readonly onConnectionClosed?: (connection: ConnectionInfo, reason: CloseReason) => void;
}

export const NETWORK_DEFAULTS = {
  socketRequestMaxBytes: 104_857_600,
  queuedMaxRequests: 500,
  queuedMaxBytes: 104_857_600,
  connectionsMaxIdleMs: 600_000,
  maxConnections: 10_000,
  shutdownTimeoutMs: 30_000,
} as const;

export class NetworkServer {
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;
  private closing: Promise<void> | null = null;
  private readonly limits: ConnectionLimits;

  private constructor(
    private readonly server: Server,
    private readonly options: NetworkServerOptions,
  ) {
    this.limits = {
      socketRequestMaxBytes: options.socketRequestMaxBytes ?? NETWORK_DEFAULTS.socketRequestMaxBytes,
      queuedMaxRequests: options.queuedMaxRequests ?? NETWORK_DEFAULTS.queuedMaxRequests,
      queuedMaxBytes: options.queuedMaxBytes ?? NETWORK_DEFAULTS.queuedMaxBytes,
      connectionsMaxIdleMs: options.connectionsMaxIdleMs ?? NETWORK_DEFAULTS.connectionsMaxIdleMs,
    };
  }

  static async listen(options: NetworkServerOptions): Promise<NetworkServer> {
    const server = createServer({ noDelay: true, allowHalfOpen: true });
    const network = new NetworkServer(server, options);
    server.on('connection', (socket) => network.accept(socket));
    server.listen({ host: options.host, port: options.port });
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => { throw error; }),
    ]);
    return network;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') return -1;
    return address.port;
  }

  get host(): string {
    return this.options.host;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops accepting, finishes in-flight requests, closes every connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private accept(socket: Socket): void {
    const maxConnections = this.options.maxConnections ?? NETWORK_DEFAULTS.maxConnections;
    if (this.closing !== null || this.connections.size >= maxConnections) {
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const connection = new Connection(
      this.nextConnectionId++,
      socket,
      this.options.handler,
      this.limits,
      (closed, reason) => this.onClosed(closed, reason),
    );
    this.connections.add(connection);
    this.options.onConnectionOpened?.(connection);
    connection.start();
  }

  private onClosed(connection: Connection, reason: CloseReason): void {
    this.connections.delete(connection);
    this.options.onConnectionClosed?.(connection, reason);
  }

  private async shutdown(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const timeoutMs = this.options.shutdownTimeoutMs ?? NETWORK_DEFAULTS.shutdownTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
    const drained = Promise.all([...this.connections].map((c) => c.drain()));
    await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    const shutdownError = new ConnectionClosedError('broker shut down');
    for (const connection of [...this.connections]) connection.close(shutdownError);
    await stopped;
  }
}

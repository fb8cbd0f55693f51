/**
 * The TCP listener. It knows Kafka only as far as framing: every frame goes to one `FrameHandler`
 * (see connection.ts for the response contract). Connections above `max.connections` are closed on
 * accept. `close()` is graceful: stop accepting, let every connection answer what it has read, end the
 * sockets, and destroy whatever is still open after `shutdownTimeoutMs`.
 *
 * It owns the two broker-wide memory pools every connection draws from (connection.ts): request bytes
 * being read (`queued.max.request.bytes`, KIP-72) and unsent response bytes (`queued.max.response.bytes`).
 * Waiting for memory is how backpressure works, but a pool can be held by peers that never make progress
 * (answers nobody reads, a frame whose bytes stopped coming). When a connection has waited for memory
 * for `connections.max.stalled.ms`, the connections that have held memory without progress for that
 * long are closed, longest-stalled first, so that clients that read their answers keep working whatever
 * the others do.
 * Kafka needs no such rule: its fetch answers are sent from the page cache (sendfile) and hold no heap.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import {
  Connection,
  ConnectionClosedError,
  type CloseReason,
  type ConnectionInfo,
  type ConnectionLimits,
  type ConnectionMemory,
  type FrameHandler,
  MemoryStallError,
} from './connection.js';
import { MemoryPool } from './memory-pool.js';

export interface NetworkServerOptions extends Partial<ConnectionLimits> {
  /** `queued.max.request.bytes`: broker-wide bytes of request frames being read or served. */
  readonly queuedMaxRequestBytes?: number;
  /** `queued.max.response.bytes`: broker-wide bytes of responses built and not yet taken by the kernel. */
  readonly queuedMaxResponseBytes?: number;
  /**
   * `connections.max.stalled.ms`: how long a connection waits for memory before the connection holding
   * memory without progress the longest is closed to free it.
   */
  readonly connectionsMaxStalledMs?: number;
  /**
   * Accept connections but read nothing from them until `startServing()`: a client that connects while
   * the broker starts waits for its first answer (as at a Kafka broker, whose port is bound before its
   * acceptors start) instead of seeing its connection closed — franz-go, for one, takes an EOF during
   * ApiVersions as a TLS/SASL misconfiguration and does not retry it.
   */
  readonly holdUntilServing?: boolean;
  /** Called for each connection refused because `max.connections` were open (the caller rate-limits its log). */
  readonly onConnectionRejected?: (remoteAddress: string, remotePort: number) => void;
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
  queuedMaxRequestBytes: 268_435_456,
  queuedMaxResponseBytes: 268_435_456,
  queuedMaxResponseBytesPerConnection: 16_777_216,
  connectionsMaxIdleMs: 600_000,
  connectionsMaxStalledMs: 2_000,
  maxConnections: 10_000,
  shutdownTimeoutMs: 30_000,
} as const;

export class NetworkServer {
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;
  private closing: Promise<void> | null = null;
  private readonly limits: ConnectionLimits;
  private readonly memory: ConnectionMemory;
  private readonly stalledMs: number;
  /** Runs while some connection waits for memory. */
  private stallTimer: NodeJS.Timeout | null = null;
  /** False while connections are held (`holdUntilServing`) until `startServing()`. */
  private serving: boolean;

  private constructor(
    private readonly server: Server,
    private readonly options: NetworkServerOptions,
  ) {
    this.limits = {
      socketRequestMaxBytes: options.socketRequestMaxBytes ?? NETWORK_DEFAULTS.socketRequestMaxBytes,
      queuedMaxRequests: options.queuedMaxRequests ?? NETWORK_DEFAULTS.queuedMaxRequests,
      queuedMaxResponseBytesPerConnection:
        options.queuedMaxResponseBytesPerConnection ?? NETWORK_DEFAULTS.queuedMaxResponseBytesPerConnection,
      connectionsMaxIdleMs: options.connectionsMaxIdleMs ?? NETWORK_DEFAULTS.connectionsMaxIdleMs,
    };
    this.memory = {
      requests: new MemoryPool('queued.max.request.bytes', options.queuedMaxRequestBytes ?? NETWORK_DEFAULTS.queuedMaxRequestBytes),
      responses: new MemoryPool('queued.max.response.bytes', options.queuedMaxResponseBytes ?? NETWORK_DEFAULTS.queuedMaxResponseBytes),
      nowMs: () => performance.now(),
    };
    this.stalledMs = options.connectionsMaxStalledMs ?? NETWORK_DEFAULTS.connectionsMaxStalledMs;
    this.serving = options.holdUntilServing !== true;
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

  /** Bytes in use in the request and response pools (tests, metrics). */
  get memoryInUse(): { requestBytes: number; responseBytes: number } {
    return { requestBytes: this.memory.requests.usedBytes, responseBytes: this.memory.responses.usedBytes };
  }

  /** Starts reading the connections held since they were accepted (`holdUntilServing`). Idempotent. */
  startServing(): void {
    if (this.serving) return;
    this.serving = true;
    for (const connection of this.connections) connection.release();
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
      if (this.closing === null) this.options.onConnectionRejected?.(socket.remoteAddress ?? '', socket.remotePort ?? -1);
      socket.destroy();
      return;
    }
    const connection = new Connection(
      this.nextConnectionId++,
      socket,
      this.options.handler,
      this.limits,
      this.memory,
      (closed, reason) => this.onClosed(closed, reason),
      () => this.watchStalls(),
    );
    this.connections.add(connection);
    this.options.onConnectionOpened?.(connection);
    connection.start(!this.serving);
  }

  private onClosed(connection: Connection, reason: CloseReason): void {
    this.connections.delete(connection);
    this.options.onConnectionClosed?.(connection, reason);
  }

  private watchStalls(): void {
    if (this.stallTimer !== null || this.closing !== null) return;
    // Checked a few times per stall period; a connection closed frees its memory at once.
    // Judged after the next poll phase: a starved event loop must first see the reads and writes that
    // completed meanwhile, or a peer that did make progress would look stalled.
    this.stallTimer = setInterval(() => setImmediate(() => this.reclaimStalled()), Math.max(10, Math.floor(this.stalledMs / 4)));
    this.stallTimer.unref();
  }

  /**
   * For each pool some connection has waited for `connections.max.stalled.ms`, closes every connection
   * whose peer has kept memory of that pool from being freed for as long, the longest-stalled first. Only the
   * pool being waited for: a slow reader holding a few answers is not closed because a 100 MB frame
   * waits for request memory.
   */
  private reclaimStalled(): void {
    if (this.closing !== null) return;
    const connections = [...this.connections];
    const nowMs = this.memory.nowMs();
    let requestWaitSinceMs = Infinity;
    let responseWaitSinceMs = Infinity;
    for (const connection of connections) {
      requestWaitSinceMs = Math.min(requestWaitSinceMs, connection.requestMemoryWaitSinceMs());
      responseWaitSinceMs = Math.min(responseWaitSinceMs, connection.responseMemoryWaitSinceMs());
    }
    const requestWaitMs = nowMs - requestWaitSinceMs;
    const responseWaitMs = nowMs - responseWaitSinceMs;
    if (requestWaitMs === -Infinity && responseWaitMs === -Infinity) {
      if (this.stallTimer !== null) clearInterval(this.stallTimer);
      this.stallTimer = null;
      return;
    }
    // Only a wait that lasted: a reservation that is about to shrink to what it read, or an answer the
    // kernel is about to take, is contention, not a stall.
    const requestWait = requestWaitMs >= this.stalledMs;
    const responseWait = responseWaitMs >= this.stalledMs;
    if (!requestWait && !responseWait) return;
    const stalled = connections
      .map((connection) => ({
        connection,
        sinceMs: Math.min(
          requestWait ? connection.requestStalledSinceMs() : Infinity,
          responseWait ? connection.responseStalledSinceMs() : Infinity,
        ),
      }))
      .filter((entry) => nowMs - entry.sinceMs >= this.stalledMs)
      .sort((a, b) => a.sinceMs - b.sinceMs);
    for (const { connection, sinceMs } of stalled) {
      connection.close(new MemoryStallError(
        `held ${connection.heldBytes()} bytes of broker memory (unsent answers or a partly read request) for ` +
        `${Math.round(nowMs - sinceMs)} ms without progress while other connections waited for memory`,
      ));
    }
  }

  private async shutdown(): Promise<void> {
    if (this.stallTimer !== null) clearInterval(this.stallTimer);
    this.stallTimer = null;
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

/**
 * One broker process: configuration → data directory identity (meta.properties) → handler registry →
 * request pipeline → TCP listener. `close()` stops accepting, answers in-flight requests, and closes.
 */
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { systemClock, type Clock } from '../common/clock.js';
import { formatListener, parseListener, type Listener, type RunnelConfig } from '../config/config.js';
import { FrameSizeError } from '../network/frame-decoder.js';
import { ConnectionClosedError, type CloseReason, type ConnectionInfo } from '../network/connection.js';
import { NetworkServer } from '../network/server.js';
import { ProtocolDecodeError } from '../protocol/reader.js';
import type { AnyApiHandler, BrokerServices } from './api-handler.js';
import { HandlerRegistry } from './handler-registry.js';
import { BUILTIN_HANDLERS } from './handlers/index.js';
import { ensureMetaProperties } from './meta-properties.js';
import { SingleNodeMetadataView, type MetadataView } from './metadata-view.js';
import { InvalidRequestError, RequestPipeline } from './pipeline.js';

export interface BrokerStartOptions {
  readonly config: RunnelConfig;
  /** Used when the data directory is new; must match meta.properties otherwise. */
  readonly clusterId?: string;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Handlers to serve instead of the built-in set (tests). */
  readonly handlers?: readonly AnyApiHandler[];
}

export class Broker {
  private constructor(
    readonly nodeId: number,
    readonly clusterId: string,
    readonly advertised: Listener,
    private readonly network: NetworkServer,
  ) {}

  static async start(options: BrokerStartOptions): Promise<Broker> {
    const startedMs = performance.now();
    const { config } = options;
    const logger = options.logger ?? pino({ level: 'silent' });
    const meta = await ensureMetaProperties(config['log.dirs'], config['node.id'], options.clusterId);
    const registry = new HandlerRegistry();
    for (const handler of options.handlers ?? BUILTIN_HANDLERS) registry.register(handler);
    const listener = parseListener(config.listeners);
    let pipeline: RequestPipeline | null = null;
    const network = await NetworkServer.listen({
      host: listener.host,
      port: listener.port,
      socketRequestMaxBytes: config['socket.request.max.bytes'],
      connectionsMaxIdleMs: config['connections.max.idle.ms'],
      maxConnections: config['max.connections'],
      queuedMaxRequests: config['queued.max.requests'],
      queuedMaxBytes: config['queued.max.request.bytes'],
      handler: (connection, frame) => {
        if (pipeline === null) throw new InvalidRequestError('broker is starting');
        return pipeline.handleFrame(connection, frame);
      },
      onConnectionClosed: (connection, reason) => logClose(logger, connection, reason),
    });
    const advertised = advertisedListener(config, listener, network.port);
    const services: BrokerServices = {
      nodeId: meta.nodeId,
      config,
      clock: options.clock ?? systemClock,
      metadata: singleNodeView(meta.clusterId, meta.nodeId, advertised),
    };
    pipeline = new RequestPipeline(registry, services);
    const broker = new Broker(meta.nodeId, meta.clusterId, advertised, network);
    logger.info(
      {
        listener: formatListener(listener.host, network.port),
        advertised: formatListener(advertised.host, advertised.port),
        nodeId: meta.nodeId,
        clusterId: meta.clusterId,
        startupMs: Math.round(performance.now() - startedMs),
      },
      'runnel broker started',
    );
    return broker;
  }

  /** The port actually bound (the OS's choice when the listener asked for 0). */
  get port(): number {
    return this.network.port;
  }

  /** host:port clients should bootstrap from. */
  get bootstrapServers(): string {
    const host = this.advertised.host.includes(':') ? `[${this.advertised.host}]` : this.advertised.host;
    return `${host}:${this.advertised.port}`;
  }

  close(): Promise<void> {
    return this.network.close();
  }
}

function singleNodeView(clusterId: string, nodeId: number, advertised: Listener): MetadataView {
  return new SingleNodeMetadataView(clusterId, { nodeId, host: advertised.host, port: advertised.port, rack: null });
}

/**
 * advertised.listeners, else the bound listener. A wildcard bind host is advertised as this machine's
 * host name and port 0 as the bound port, as Kafka does for an unset advertised host.
 */
function advertisedListener(config: RunnelConfig, bound: Listener, boundPort: number): Listener {
  const configured = config['advertised.listeners'];
  const base = configured === '' ? bound : parseListener(configured);
  const wildcard = base.host === '0.0.0.0' || base.host === '::';
  return {
    securityProtocol: 'PLAINTEXT',
    host: wildcard ? hostname() : base.host,
    port: base.port === 0 ? boundPort : base.port,
  };
}

/** Expected closes (bad frames, idle, shutdown) at debug; anything else is a bug and logged as one. */
function logClose(logger: Logger, connection: ConnectionInfo, reason: CloseReason): void {
  if (reason === undefined) return;
  const peer = `${connection.remoteAddress}:${connection.remotePort}`;
  const expected =
    reason instanceof ProtocolDecodeError ||
    reason instanceof InvalidRequestError ||
    reason instanceof FrameSizeError ||
    reason instanceof ConnectionClosedError;
  if (expected) logger.debug({ peer, reason: reason.message }, 'connection closed');
  else logger.error({ peer, err: reason }, 'connection closed by an unexpected error');
}

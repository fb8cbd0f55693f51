/**
 * One broker process: configuration → data directory identity (meta.properties) → metadata log + loader
 * (`{dataDir}/metadata`) → partition logs (`{dataDir}/wal`, recovered at open) → replica manager →
 * handler registry → request pipeline → TCP listener → broker registration (a RegisterBroker record when
 * this node is new or its advertised endpoint changed).
 *
 * `close()` is the clean shutdown: stop accepting and answer in-flight requests, end parked produces,
 * flush and close every log (writing the clean-shutdown marker, so the next start skips the scan), then
 * close the metadata log.
 */
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { systemClock, type Clock } from '../common/clock.js';
import { formatListener, parseListener, type Listener, type RunnelConfig } from '../config/config.js';
import { FrameSizeError } from '../network/frame-decoder.js';
import { ConnectionClosedError, MemoryStallError, type CloseReason, type ConnectionInfo } from '../network/connection.js';
import { RateLimitedLog } from '../common/rate-limited-log.js';
import { NetworkServer } from '../network/server.js';
import { ProtocolDecodeError } from '../protocol/reader.js';
import type { AnyApiHandler, BrokerServices } from './api-handler.js';
import { HandlerRegistry } from './handler-registry.js';
import { BUILTIN_HANDLERS } from './handlers/index.js';
import { ensureMetaProperties } from './meta-properties.js';
import { ImageMetadataView } from './metadata-view.js';
import { InvalidRequestError, RequestPipeline } from './pipeline.js';
import { imageRecords } from '../metadata/image.js';
import { LocalMetadataLog } from '../metadata/local-metadata-log.js';
import { MetadataLoader } from '../metadata/loader.js';
import type { MetadataLog } from '../metadata/metadata-log.js';
import { LogManager } from '../storage/log-manager.js';
import { brokerLogDefaults } from '../replication/log-config.js';
import { LocalReplicaManager } from '../replication/replica-manager.js';
import { DelayedProducePurgatory } from '../replication/delayed-produce.js';
import { DelayedFetchPurgatory } from '../replication/delayed-fetch.js';
import { newFetchSessionCache } from './handlers/01-fetch.js';
import { TopicCreator } from '../replication/topic-creator.js';
import { GroupCoordinatorRuntime } from '../group/coordinator-runtime.js';
import { ProducerIdManager } from '../replication/producer-id-manager.js';
import { AdminController } from '../controller/admin.js';

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
    /** Long-lived state the handlers share (tests reach the replica manager and metadata through it). */
    readonly services: BrokerServices,
    private readonly logManager: LogManager,
  ) {}

  static async start(options: BrokerStartOptions): Promise<Broker> {
    const startedMs = performance.now();
    const { config } = options;
    const logger = options.logger ?? pino({ level: 'silent' });
    const clock = options.clock ?? systemClock;
    const dataDir = config['log.dirs'];
    const meta = await ensureMetaProperties(dataDir, config['node.id'], options.clusterId);
    const opened: Array<() => Promise<void>> = [];
    const closeOpened = async (): Promise<void> => {
      for (const close of opened.reverse()) await close().catch(() => undefined);
    };
    try {
      const metadataLog = await LocalMetadataLog.open(dataDir, { compactAfterBytes: config['metadata.log.max.record.bytes.between.snapshots'] });
      opened.push(() => metadataLog.close());
      const metadataLoader = new MetadataLoader(metadataLog);
      metadataLog.compactWith(() => imageRecords(metadataLoader.image));
      const logManager = await LogManager.open({ dataDir, defaults: brokerLogDefaults(config), clock, logger });
      opened.push(() => logManager.close());
      const replicaManager = await LocalReplicaManager.start({
        nodeId: meta.nodeId, config, logManager, loader: metadataLoader, logger,
      });
      opened.push(() => replicaManager.close());
      const delayedProduce = new DelayedProducePurgatory(replicaManager);
      opened.push(async () => delayedProduce.close());
      const delayedFetch = new DelayedFetchPurgatory(replicaManager);
      opened.push(async () => delayedFetch.close());
      logManager.startBackgroundTasks();

      const registry = new HandlerRegistry();
      for (const handler of options.handlers ?? BUILTIN_HANDLERS) registry.register(handler);
      const listener = parseListener(config.listeners);
      let pipeline: RequestPipeline | null = null;
      const closeLogs = newCloseLogs(logger);
      const rejectLog = newRateLimitedLog(logger);
      const network = await NetworkServer.listen({
        host: listener.host,
        port: listener.port,
        socketRequestMaxBytes: config['socket.request.max.bytes'],
        connectionsMaxIdleMs: config['connections.max.idle.ms'],
        maxConnections: config['max.connections'],
        queuedMaxRequests: config['queued.max.requests'],
        queuedMaxRequestBytes: config['queued.max.request.bytes'],
        queuedMaxResponseBytes: config['queued.max.response.bytes'],
        queuedMaxResponseBytesPerConnection: config['queued.max.response.bytes.per.connection'],
        connectionsMaxStalledMs: config['connections.max.stalled.ms'],
        handler: (connection, frame, memory) => {
          if (pipeline === null) throw new InvalidRequestError('broker is starting');
          return pipeline.handleFrame(connection, frame, memory);
        },
        onConnectionRejected: (remoteAddress, remotePort) => rejectLog.warn(
          { peer: `${remoteAddress}:${remotePort}`, maxConnections: config['max.connections'] },
          'connection refused: max.connections reached',
        ),
        onConnectionClosed: (connection, reason) => {
          // Parked fetches of a closed connection end now; their answers are dropped.
          delayedFetch.release(connection.id);
          logClose(logger, closeLogs, connection, reason);
        },
      });
      opened.push(() => network.close());
      const advertised = advertisedListener(config, listener, network.port);
      await registerBroker(metadataLog, metadataLoader, meta.nodeId, advertised);
      const controller = new AdminController(metadataLog, () => metadataLoader.image);
      // A standalone node is its own controller (KRaft combined mode).
      const metadata = new ImageMetadataView(meta.clusterId, meta.nodeId, metadataLoader, replicaManager, meta.nodeId);
      const topicCreator = new TopicCreator(controller);
      const groupCoordinator = new GroupCoordinatorRuntime({
        nodeId: meta.nodeId, config, clock, metadata, replicaManager, topicCreator, logger,
      });
      opened.push(async () => groupCoordinator.close());
      const services: BrokerServices = {
        nodeId: meta.nodeId,
        config,
        clock,
        metadata,
        metadataLog,
        metadataLoader,
        replicaManager,
        delayedProduce,
        fetchSessions: newFetchSessionCache(),
        delayedFetch,
        controller,
        topicCreator,
        groupCoordinator,
        producerIds: new ProducerIdManager(controller, meta.nodeId),
        logger,
      };
      pipeline = new RequestPipeline(registry, services);
      const broker = new Broker(meta.nodeId, meta.clusterId, advertised, network, services, logManager);
      logger.info(
        {
          listener: formatListener(listener.host, network.port),
          advertised: formatListener(advertised.host, advertised.port),
          nodeId: meta.nodeId,
          clusterId: meta.clusterId,
          partitions: replicaManager.partitions().length,
          startupMs: Math.round(performance.now() - startedMs),
        },
        'runnel broker started',
      );
      return broker;
    } catch (err) {
      await closeOpened();
      throw err;
    }
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

  /** Clean shutdown (see the header). Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private closing: Promise<void> | undefined;

  private async shutdown(): Promise<void> {
    // Parked fetches answer now instead of holding the graceful close for up to max_wait_ms.
    this.services.delayedFetch.close();
    // Waiting JoinGroup/SyncGroup answer NOT_COORDINATOR now, as when Kafka's coordinator resigns.
    this.services.groupCoordinator.close();
    await this.network.close();
    this.services.delayedProduce.close();
    await this.services.replicaManager.close();
    await this.logManager.close();
    await this.services.metadataLog.close();
    this.services.logger.info({ nodeId: this.nodeId }, 'runnel broker stopped');
  }
}

/**
 * Registers this broker in the metadata (RegisterBrokerRecord) when it is absent, fenced, or its
 * advertised endpoint changed (a port-0 listener binds a new port on every start). The broker epoch
 * grows with every registration, as KRaft's does.
 */
async function registerBroker(log: MetadataLog, loader: MetadataLoader, nodeId: number, advertised: Listener): Promise<void> {
  const current = loader.image.brokers.get(nodeId);
  const unchanged = current !== undefined && !current.fenced && current.host === advertised.host
    && current.port === advertised.port && current.rack === null;
  if (unchanged) return;
  await log.append([{
    type: 'RegisterBroker', brokerId: nodeId, brokerEpoch: (current?.brokerEpoch ?? -1) + 1,
    host: advertised.host, port: advertised.port, rack: null, fenced: false,
  }]);
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

/** Warn lines bad clients can trigger: at most 10 per 10 s each, the rest counted (issue #26, defect 8). */
function newRateLimitedLog(logger: Logger): RateLimitedLog {
  return new RateLimitedLog(logger, { linesMax: 10, intervalMs: 10_000, nowMs: () => performance.now() });
}

interface CloseLogs {
  readonly malformed: RateLimitedLog;
  readonly stalled: RateLimitedLog;
}

function newCloseLogs(logger: Logger): CloseLogs {
  return { malformed: newRateLimitedLog(logger), stalled: newRateLimitedLog(logger) };
}

/**
 * Malformed requests and connections closed to free memory at warn (rate-limited: a client decides how
 * often they happen); idle and shutdown closes at debug; anything else is a bug and logged as one.
 */
function logClose(logger: Logger, logs: CloseLogs, connection: ConnectionInfo, reason: CloseReason): void {
  if (reason === undefined) return;
  const peer = `${connection.remoteAddress}:${connection.remotePort}`;
  const malformed =
    reason instanceof ProtocolDecodeError ||
    reason instanceof InvalidRequestError ||
    reason instanceof FrameSizeError;
  if (malformed) logs.malformed.warn({ peer, reason: reason.message }, 'malformed request: connection closed');
  else if (reason instanceof MemoryStallError) logs.stalled.warn({ peer, reason: reason.message }, 'connection closed to free broker memory');
  else if (reason instanceof ConnectionClosedError) logger.debug({ peer, reason: reason.message }, 'connection closed');
  else logger.error({ peer, err: reason }, 'connection closed by an unexpected error');
}

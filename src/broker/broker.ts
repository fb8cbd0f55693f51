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
import { formatListener, type Listener, type NamedListener, type RunnelConfig } from '../config/config.js';
import { advertisedBrokerListener, nodeLayout } from '../config/node-layout.js';
import { BrokerLifecycle } from './lifecycle.js';
import { BrokerIncarnationFile } from './broker-incarnation.js';
import type { DataDirLock } from '../storage/data-dir-lock.js';
import { StartAbortedError } from '../common/start-aborted.js';
import type { QuorumView } from './quorum-view.js';
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
import { configKey, type MetadataImage } from '../metadata/image.js';
import type { MetadataLoader } from '../metadata/loader.js';
import { finalizedTransactionVersion } from '../metadata/features.js';
import { LogManager } from '../storage/log-manager.js';
import { brokerLogDefaults } from '../replication/log-config.js';
import { LocalReplicaManager } from '../replication/replica-manager.js';
import { ReplicaFetcherManager, replicaFetcherOptions } from '../replication/replica-fetcher.js';
import { DelayedProducePurgatory } from '../replication/delayed-produce.js';
import { DelayedFetchPurgatory } from '../replication/delayed-fetch.js';
import { newFetchSessionCache } from './handlers/01-fetch.js';
import { TopicCreator } from '../controller/topic-creator.js';
import { GroupCoordinatorRuntime } from '../group/coordinator-runtime.js';
import { TxnCoordinatorRuntime } from '../txn/runtime.js';
import { ProducerIdManager } from '../controller/producer-ids.js';
import type { ControllerChannel } from '../controller/requests.js';
import { packageVersion } from '../common/package-version.js';
import { parseHostPort } from '../config/config.js';
import { BrokerMetrics } from './metrics.js';
import { ErrorCode } from '../protocol/errors.js';
import { OperatorHttpServer } from './operator-http.js';

export interface BrokerStartOptions {
  readonly config: RunnelConfig;
  /** Used when the data directory is new; must match meta.properties otherwise. */
  readonly clusterId?: string;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Handlers to serve instead of the built-in set (tests). */
  readonly handlers?: readonly AnyApiHandler[];
  /** The node's metadata (Raft voter or observer, loaded into one loader) and its controller channel. */
  readonly cluster: {
    readonly loader: MetadataLoader;
    readonly controller: ControllerChannel;
    /** The metadata quorum as this node sees it (DescribeQuorum, Metadata's controller id). */
    readonly quorum?: QuorumView;
  };
  /**
   * The data directory's lock, held by the caller (RunnelNode): proof that the directory's previous process
   * is dead, so the broker names that process's incarnation when it registers (broker-incarnation.ts).
   * Absent (tests that start a Broker alone): registration follows Kafka's rule and waits out an old session.
   */
  readonly dataDirLock?: DataDirLock;
  /** Aborts the start while it waits for the broker's registration (the node's StartAbortedError). */
  readonly signal?: AbortSignal;
}

const REGISTRATION_TIMEOUT_MS = 120_000;
/** How long start waits to be unfenced before serving anyway (a lagging controller must not stop a start). */
const UNFENCE_WAIT_MS = 10_000;
const CONTROLLED_SHUTDOWN_TIMEOUT_MS = 30_000;

export class Broker {
  private constructor(
    readonly nodeId: number,
    readonly clusterId: string,
    readonly advertised: Listener,
    private readonly network: NetworkServer,
    /** Long-lived state the handlers share (tests reach the replica manager and metadata through it). */
    readonly services: BrokerServices,
    private readonly logManager: LogManager,
    /** The operators' HTTP listener (metrics.listener), when configured. */
    private readonly operatorHttp: OperatorHttpServer | undefined,
    /** What /readyz answers: null once ready; the phase it is in otherwise. */
    private readonly readiness: Readiness,
    private readonly lifecycle: BrokerLifecycle,
  ) {}

  static async start(options: BrokerStartOptions): Promise<Broker> {
    const startedMs = performance.now();
    const { config } = options;
    const logger = options.logger ?? pino({ level: 'silent' });
    const clock = options.clock ?? systemClock;
    const dataDir = config['log.dirs'];
    // The node holds the data directory's lock (RunnelNode) before anything in it is read or written.
    const meta = await ensureMetaProperties(dataDir, config['node.id'], options.clusterId);
    const opened: Array<() => Promise<void>> = [];
    const closeOpened = async (): Promise<void> => {
      for (const close of opened.reverse()) await close().catch(() => undefined);
    };
    const metrics = new BrokerMetrics({ nodeId: meta.nodeId, clusterId: meta.clusterId, version: packageVersion() });
    const readiness: Readiness = { notReady: 'loading metadata' };
    try {
      // Before recovery, so /readyz can say 503 through a long one (and /healthz 200).
      const operatorHttp = await startOperatorHttp(config, metrics, readiness);
      if (operatorHttp !== undefined) opened.push(() => operatorHttp.close());
      const metadataLoader = options.cluster.loader;
      readiness.notReady = 'recovering storage';
      const logManager = await LogManager.open({
        dataDir, defaults: brokerLogDefaults(config), clock, logger, onLogFlush: (ms) => metrics.logFlushed(ms),
      });
      opened.push(() => logManager.close());
      const replicaManager = await LocalReplicaManager.start({
        nodeId: meta.nodeId, config, logManager, loader: metadataLoader, logger, clock, waitForRegistration: true,
      });
      opened.push(() => replicaManager.close());
      const delayedProduce = new DelayedProducePurgatory(replicaManager);
      opened.push(async () => delayedProduce.close());
      const delayedFetch = new DelayedFetchPurgatory(replicaManager);
      opened.push(async () => delayedFetch.close());
      logManager.startBackgroundTasks();

      const registry = new HandlerRegistry();
      for (const handler of options.handlers ?? BUILTIN_HANDLERS) registry.register(handler);
      const listener = nodeLayout(config).brokerListener!;
      readiness.notReady = 'starting the Kafka listener';
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
        // Bound now (registration advertises the port), served once the pipeline below exists.
        holdUntilServing: true,
        handler: (connection, frame, memory) => {
          if (pipeline === null) throw new ConnectionClosedError('broker is starting');
          return pipeline.handleFrame(connection, frame, memory);
        },
        onConnectionRejected: (remoteAddress, remotePort) => rejectLog.warn(
          { peer: `${remoteAddress}:${remotePort}`, maxConnections: config['max.connections'] },
          'connection refused: max.connections reached',
        ),
        onConnectionOpened: () => metrics.connectionOpened(),
        onConnectionClosed: (connection, reason) => {
          metrics.connectionClosed();
          // Parked fetches of a closed connection end now; their answers are dropped.
          delayedFetch.release(connection.id);
          logClose(logger, closeLogs, connection, reason);
        },
      });
      opened.push(() => network.close());
      const advertised = advertisedListener(config, listener, network.port);
      const controller = options.cluster.controller;
      readiness.notReady = 'registering with the controller';
      const incarnationFile = options.dataDirLock === undefined ? undefined : await BrokerIncarnationFile.open(options.dataDirLock, dataDir, meta.nodeId);
      const previousIncarnationId = await incarnationFile?.readPrevious();
      const lifecycle = new BrokerLifecycle({
        ...(previousIncarnationId !== undefined ? { previousIncarnationId } : {}),
        ...(incarnationFile !== undefined ? { onRegistered: (id: string) => incarnationFile.write(id) } : {}),
        channel: controller, nodeId: meta.nodeId, clusterId: meta.clusterId, host: advertised.host, port: advertised.port,
        rack: config['broker.rack'] === '' ? null : config['broker.rack'], loader: metadataLoader,
        heartbeatIntervalMs: config['broker.heartbeat.interval.ms'], logger,
      });
      opened.push(async () => lifecycle.stop());
      const abortRegistration = (): void => lifecycle.stop();
      options.signal?.addEventListener('abort', abortRegistration, { once: true });
      try {
        if (options.signal?.aborted === true) lifecycle.stop();
        await lifecycle.start(Date.now() + REGISTRATION_TIMEOUT_MS);
      } finally {
        options.signal?.removeEventListener('abort', abortRegistration);
      }
      if (lifecycle.brokerEpoch < 0) throw new StartAbortedError('registering with the controller');
      const brokerEpoch = (): number => lifecycle.brokerEpoch;
      // Replication (src/replication/replica-fetcher.ts): followers fetch from leaders once registered.
      replicaManager.startReplication({
        fetchers: new ReplicaFetcherManager(replicaFetcherOptions(config, meta.nodeId, brokerEpoch, metadataLoader, logger)),
        controller,
        brokerEpoch,
      });
      readiness.notReady = 'catching up with the metadata log';
      if (!await lifecycle.waitUnfenced(UNFENCE_WAIT_MS)) {
        logger.warn({ nodeId: meta.nodeId }, `still fenced after ${UNFENCE_WAIT_MS} ms; serving anyway (the controller unfences once caught up)`);
      }
      // Partition roles from the image are applied before serving.
      await replicaManager.whenIdle();
      const quorum = options.cluster.quorum;
      const metadata = new ImageMetadataView(
        meta.clusterId, () => quorum?.leaderId() ?? meta.nodeId, metadataLoader, replicaManager, meta.nodeId,
      );
      const topicCreator = new TopicCreator(controller, () => metadataLoader.image);
      const groupCoordinator = new GroupCoordinatorRuntime({
        nodeId: meta.nodeId, config, clock, metadata, replicaManager, topicCreator, logger,
        groupConfig: (groupId) => groupConfigOf(metadataLoader.image, groupId),
      });
      opened.push(async () => groupCoordinator.close());
      const producerIds = new ProducerIdManager(controller, meta.nodeId, brokerEpoch);
      const txnCoordinator = new TxnCoordinatorRuntime({
        nodeId: meta.nodeId, config, clock, metadata, replicaManager, delayedProduce, topicCreator, groupCoordinator,
        generateProducerId: () => producerIds.generateProducerId(), logger,
        transactionVersionLevel: () => finalizedTransactionVersion(metadataLoader.image),
      });
      opened.push(async () => txnCoordinator.close());
      const services: BrokerServices = {
        nodeId: meta.nodeId,
        config,
        clock,
        metadata,
        metadataLoader,
        quorum,
        replicaManager,
        delayedProduce,
        fetchSessions: newFetchSessionCache(),
        delayedFetch,
        controllerChannel: controller,
        topicCreator,
        groupCoordinator,
        txnCoordinator,
        producerIds,
        metrics,
        logger,
      };
      metrics.attach({
        partitions: () => replicaManager.partitions(),
        topicExists: (topic) => metadataLoader.image.topicIdsByName.has(topic),
        produceWaiters: () => delayedProduce.size,
        fetchWaiters: () => delayedFetch.size,
        connections: () => network.connectionCount,
        groupStates: () => groupStateCounts(groupCoordinator),
      });
      pipeline = new RequestPipeline(registry, services);
      network.startServing();
      readiness.notReady = null;
      const broker = new Broker(
        meta.nodeId, meta.clusterId, advertised, network, services, logManager, operatorHttp, readiness, lifecycle,
      );
      logger.info(
        {
          listener: formatListener(listener.host, network.port),
          advertised: formatListener(advertised.host, advertised.port),
          nodeId: meta.nodeId,
          clusterId: meta.clusterId,
          partitions: replicaManager.partitions().length,
          ...(operatorHttp === undefined ? {} : { metricsListener: formatHostPort(parseHostPort(config['metrics.listener']).host, operatorHttp.port) }),
          startupMs: Math.round(performance.now() - startedMs),
          // Whether registration could prove the previous process dead (no wait for its session).
          namedPreviousIncarnation: previousIncarnationId !== undefined,
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

  /** The port of the operators' HTTP listener (metrics.listener), or undefined when it is off. */
  get metricsPort(): number | undefined {
    return this.operatorHttp?.port;
  }

  /** host:port clients should bootstrap from. */
  get bootstrapServers(): string {
    const host = this.advertised.host.includes(':') ? `[${this.advertised.host}]` : this.advertised.host;
    return `${host}:${this.advertised.port}`;
  }

  /**
   * Clean shutdown (see the header). Idempotent. A broker inside a RunnelNode closes the whole node
   * (controller, metadata log, data-directory lock) with it.
   */
  close(): Promise<void> {
    if (this.owner !== undefined) return this.owner();
    return this.closeBroker();
  }

  /** The broker's own clean shutdown, without its node (RunnelNode calls it). */
  closeBroker(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private owner: (() => Promise<void>) | undefined;

  /** Makes close() close the node that owns this broker. */
  ownedBy(close: () => Promise<void>): void {
    this.owner = close;
  }

  private closing: Promise<void> | undefined;

  /** Abrupt stop for tests of crashes (startCluster's killNode): no controlled shutdown. */
  kill(): Promise<void> {
    this.lifecycle.stop();
    this.closing ??= this.shutdown(false);
    return this.closing;
  }

  private async shutdown(controlled = true): Promise<void> {
    // Controlled shutdown (KIP-631) while still serving: the controller moves this broker's leaderships
    // away, so producers see one NOT_LEADER_OR_FOLLOWER and follow the new leaders.
    if (controlled && this.services.config['controlled.shutdown.enable']) {
      this.readiness.notReady = 'controlled shutdown';
      const moved = await this.lifecycle.controlledShutdown(CONTROLLED_SHUTDOWN_TIMEOUT_MS);
      if (!moved) this.services.logger.warn({ nodeId: this.nodeId }, 'controlled shutdown did not finish; stopping anyway');
    }
    this.lifecycle.stop();
    this.readiness.notReady = 'shutting down';
    // Parked fetches answer now instead of holding the graceful close for up to max_wait_ms.
    this.services.delayedFetch.close();
    // Waiting JoinGroup/SyncGroup answer NOT_COORDINATOR now, as when Kafka's coordinator resigns.
    this.services.groupCoordinator.close();
    this.services.txnCoordinator.close();
    await this.network.close();
    this.services.delayedProduce.close();
    await this.services.replicaManager.close();
    await this.logManager.close();
    await this.operatorHttp?.close();
    this.services.logger.info({ nodeId: this.nodeId }, 'runnel broker stopped');
  }
}

/** What /readyz reports: null when ready, else the start-up (or shutdown) phase. */
interface Readiness {
  notReady: string | null;
}

async function startOperatorHttp(config: RunnelConfig, metrics: BrokerMetrics, readiness: Readiness): Promise<OperatorHttpServer | undefined> {
  if (config['metrics.listener'] === '') return undefined;
  const { host, port } = parseHostPort(config['metrics.listener']);
  return OperatorHttpServer.listen({
    host, port,
    metrics: async () => ({ text: await metrics.text(), contentType: metrics.contentType }),
    notReadyReason: () => readiness.notReady,
  });
}

function formatHostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Classic groups by state for the NumGroups gauges; undefined while offsets partitions load. */
function groupStateCounts(groupCoordinator: GroupCoordinatorRuntime): Map<string, number> | undefined {
  const listed = groupCoordinator.listGroups({ statesFilter: [], typesFilter: [] });
  if (listed.errorCode !== ErrorCode.NONE) return undefined;
  const counts = new Map<string, number>();
  for (const group of listed.groups) counts.set(group.groupState, (counts.get(group.groupState) ?? 0) + 1);
  return counts;
}

/** A group's KIP-848 configs (GROUP resources of IncrementalAlterConfigs), as the coordinator reads them. */
function groupConfigOf(image: MetadataImage, groupId: string): { sessionTimeoutMs?: number; heartbeatIntervalMs?: number } {
  const overrides = image.configs.get(configKey('group', groupId));
  if (overrides === undefined) return {};
  const session = overrides.get('consumer.session.timeout.ms');
  const heartbeat = overrides.get('consumer.heartbeat.interval.ms');
  return {
    ...(session === undefined ? {} : { sessionTimeoutMs: Number(session) }),
    ...(heartbeat === undefined ? {} : { heartbeatIntervalMs: Number(heartbeat) }),
  };
}

/**
 * advertised.listeners, else the bound listener. A wildcard bind host is advertised as this machine's
 * host name and port 0 as the bound port, as Kafka does for an unset advertised host.
 */
function advertisedListener(config: RunnelConfig, bound: NamedListener, boundPort: number): Listener {
  const base = advertisedBrokerListener(config, bound);
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

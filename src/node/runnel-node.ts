/**
 * One Runnel process (KRaft's KafkaRaftServer, reduced): by `process.roles` a controller voter (the Raft
 * metadata log, the controller that runs while this node leads it, the controller listener), a broker
 * (the client listener, partitions, groups), or both. A standalone node is both, a one-voter quorum: one
 * code path for one node and for many (DESIGN §5).
 *
 * Start: meta.properties is read (a directory of another node id is refused) → the metadata log starts
 * (Raft on a voter; on a broker-only node an observer that fetches committed metadata from the voters)
 * → the first active controller writes the cluster id once (there is no format step) → the cluster id is
 * checked against meta.properties (a directory of another cluster is refused) and written there → the
 * broker starts, registers, and serves once unfenced.
 *
 * Close: the broker's controlled shutdown and close, then the controller, then the metadata log.
 */
import { StartAbortedError } from '../common/start-aborted.js';
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Broker } from '../broker/broker.js';
import { randomKafkaUuid, readMetaProperties, ensureMetaProperties, metaPropertiesFileName } from '../broker/meta-properties.js';
import type { QuorumDescription, QuorumView } from '../broker/quorum-view.js';
import { systemClock, type Clock } from '../common/clock.js';
import { ConfigError, type RunnelConfig } from '../config/config.js';
import { nodeLayout, type NodeLayout } from '../config/node-layout.js';
import { ControllerClient } from '../controller/controller-client.js';
import { ControllerRpcService, json } from '../controller/controller-rpc.js';
import { ControllerCore } from '../controller/core.js';
import { MetadataHistory } from '../controller/metadata-history.js';
import { ObserverMetadataLog } from '../controller/observer-metadata-log.js';
import { QuorumController } from '../controller/quorum-controller.js';
import { RaftMetadataLog, type MetadataQuorumStatus } from '../controller/raft-metadata-log.js';
import { EMPTY_IMAGE, applyRecords, imageRecords } from '../metadata/image.js';
import { TRANSACTION_VERSION_FEATURE } from '../metadata/features.js';
import { MetadataLoader } from '../metadata/loader.js';
import { LocalMetadataLog } from '../metadata/local-metadata-log.js';
import type { MetadataRecord } from '../metadata/records.js';
import { RpcClient } from '../raft/driver/rpc-client.js';
import { lockDataDir, type DataDirLock } from '../storage/data-dir-lock.js';

export interface RunnelNodeOptions {
  readonly config: RunnelConfig;
  /** The cluster id a brand-new quorum takes (22-character base64url uuid); random when absent. */
  readonly clusterId?: string;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /**
   * Aborts a start that is still waiting: for the controller quorum (cluster id) or for the broker's
   * registration. A start past those waits completes, and the caller closes the node cleanly.
   */
  readonly signal?: AbortSignal;
}

/** How often start logs that it still waits for the quorum. */
const QUORUM_WAIT_LOG_MS = 5_000;
/** A node that never sees a quorum gives up after this long. */
const QUORUM_WAIT_MS = 300_000;

export class RunnelNode {
  broker: Broker | undefined;
  private closing: Promise<void> | undefined;
  private activeTerm = -1;

  private constructor(
    readonly layout: NodeLayout,
    readonly loader: MetadataLoader,
    readonly channel: ControllerClient,
    private readonly logger: Logger,
    private readonly rpc: RpcClient,
    private readonly raftLog: RaftMetadataLog | undefined,
    private readonly observerLog: ObserverMetadataLog | undefined,
    readonly controller: QuorumController | undefined,
    private readonly history: MetadataHistory | undefined,
    private readonly bootstrapClusterId: string,
    /** The `transaction.version` property: the level a new cluster starts at (kafka-storage format --feature). */
    private readonly bootstrapTransactionVersion: number,
    private readonly dataDir: string,
    private readonly lock: DataDirLock,
  ) {}

  get nodeId(): number {
    return this.layout.nodeId;
  }

  /** This voter's metadata log (undefined on a broker-only node); appends succeed only on the active controller. */
  get metadataLog(): RaftMetadataLog | undefined {
    return this.raftLog;
  }

  static async start(options: RunnelNodeOptions): Promise<RunnelNode> {
    const { config } = options;
    const logger = options.logger ?? pino({ level: 'silent' });
    const clock = options.clock ?? systemClock;
    const layout = nodeLayout(config);
    const dataDir = config['log.dirs'];
    await mkdir(dataDir, { recursive: true });
    // One node per data directory (Kafka's `.lock`), before anything in it is read or written.
    const lock = await lockDataDir(dataDir);
    try {
      return await RunnelNode.startLocked(options, layout, lock);
    } catch (error) {
      await lock.release().catch(() => undefined);
      throw error;
    }
  }

  private static async startLocked(options: RunnelNodeOptions, layout: NodeLayout, lock: DataDirLock): Promise<RunnelNode> {
    const { config } = options;
    const logger = options.logger ?? pino({ level: 'silent' });
    const clock = options.clock ?? systemClock;
    const dataDir = config['log.dirs'];
    const existing = await readMetaProperties(dataDir);
    if (existing !== null && existing.nodeId !== layout.nodeId) {
      throw new ConfigError(`${join(dataDir, metaPropertiesFileName)} belongs to node.id ${existing.nodeId}, not ${layout.nodeId}`);
    }
    if (options.clusterId !== undefined && existing !== null && existing.clusterId !== options.clusterId) {
      throw new ConfigError(`${join(dataDir, metaPropertiesFileName)} belongs to cluster ${existing.clusterId}, not ${options.clusterId}`);
    }
    const rpc = new RpcClient();
    let node: RunnelNode | undefined;
    let raftLog: RaftMetadataLog | undefined;
    let observerLog: ObserverMetadataLog | undefined;
    let controller: QuorumController | undefined;
    let history: MetadataHistory | undefined;
    let service: ControllerRpcService | undefined;
    let loader: MetadataLoader;
    if (layout.isController) {
      const listener = layout.controllerListener;
      raftLog = new RaftMetadataLog({
        nodeId: layout.nodeId,
        dir: join(dataDir, 'metadata'),
        listen: listener === undefined ? undefined : { host: listener.host, port: listener.port },
        voters: layout.voters,
        snapshotEveryBytes: config['metadata.log.max.record.bytes.between.snapshots'],
        onRpc: (payload, reply) => (service === undefined ? reply(json({ error: 'starting' })) : service.handle(payload, reply)),
        onStatusChange: (status) => node?.onQuorumStatus(status),
      });
      loader = new MetadataLoader(raftLog);
      history = new MetadataHistory(raftLog, loader);
      const log = raftLog;
      controller = new QuorumController({
        core: new ControllerCore({ config, brokerLifecycle: 'heartbeats', nodeId: layout.nodeId }), writer: raftLog, image: () => loader.image, clock, nodeId: layout.nodeId, logger,
        heartbeatDeadlineMs: Math.max(1, Math.floor(config['broker.heartbeat.interval.ms'] / 2)),
      });
      service = new ControllerRpcService(controller, history, () => log.status()?.leaderId ?? -1, () => node?.localQuorumDescription());
    } else {
      observerLog = new ObserverMetadataLog(layout.voters, rpc);
      loader = new MetadataLoader(observerLog);
    }
    const log = raftLog;
    const observer = observerLog;
    const channel = new ControllerClient({
      local: controller, voters: layout.voters, nodeId: layout.nodeId, loader, rpc,
      leaderHint: () => log?.status()?.leaderId ?? observer?.leaderId ?? -1,
    });
    node = new RunnelNode(
      layout, loader, channel, logger, rpc, raftLog, observerLog, controller, history,
      existing?.clusterId ?? options.clusterId ?? randomKafkaUuid(), config['transaction.version'], dataDir, lock,
    );
    try {
      if (raftLog !== undefined) {
        const snapshotLoader = loader;
        await raftLog.start(() => imageRecords(snapshotLoader.image));
        const status = raftLog.status();
        if (status !== undefined) node.onQuorumStatus(status);
      } else {
        observerLog!.start();
      }
      const clusterId = await node.waitForClusterId(options.signal);
      if (existing !== null && existing.clusterId !== clusterId) {
        throw new ConfigError(
          `${join(dataDir, metaPropertiesFileName)} belongs to cluster ${existing.clusterId}, but the controller quorum's cluster is ${clusterId}`,
        );
      }
      await ensureMetaProperties(dataDir, layout.nodeId, clusterId);
      if (layout.isBroker) {
        node.broker = await Broker.start({
          config, clusterId, logger, clock, dataDirLock: lock,
          cluster: { loader, controller: channel, quorum: node.quorumView() }, signal: options.signal,
        });
        const owner = node;
        node.broker.ownedBy(() => owner.close());
      } else {
        logger.info({ nodeId: layout.nodeId, clusterId }, 'runnel controller started');
      }
      return node;
    } catch (error) {
      await node.kill().catch(() => undefined);
      throw error;
    }
  }

  /** Clean shutdown: controlled shutdown of the broker, then the controller and the metadata log. */
  close(): Promise<void> {
    this.closing ??= this.shutdown(true);
    return this.closing;
  }

  /** Abrupt stop (tests of crashes): the broker skips the controlled shutdown; nothing is flushed beyond what is durable. */
  kill(): Promise<void> {
    this.closing ??= this.shutdown(false);
    return this.closing;
  }

  private async shutdown(clean: boolean): Promise<void> {
    if (this.broker !== undefined) await (clean ? this.broker.closeBroker() : this.broker.kill());
    this.channel.close();
    this.controller?.close();
    this.history?.close();
    this.rpc.close();
    await this.raftLog?.close();
    await this.observerLog?.close();
    await this.lock.release();
  }

  /** Raft leadership → the controller: active only once the leader has applied every committed record. */
  private onQuorumStatus(status: MetadataQuorumStatus): void {
    if (status.role !== 'leader') {
      this.activeTerm = -1;
      this.controller?.deactivate();
      return;
    }
    if (this.activeTerm === status.term) return;
    this.activeTerm = status.term;
    void this.activate(status.term);
  }

  /**
   * Activation waits for a read barrier: it succeeds only once an entry of this term has committed and
   * been applied here, so the controller decides on an image that holds every committed record
   * (leader completeness). Until then the barrier is refused, and retried while this term lasts.
   */
  private async activate(term: number): Promise<void> {
    const log = this.raftLog!;
    for (let attempt = 0; ; attempt++) {
      const now = log.status();
      // Raft reports its first leadership from inside its own start, before the log can take requests.
      if (now === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      if (now.role !== 'leader' || now.term !== term || this.closing !== undefined) {
        if (this.activeTerm === term) this.activeTerm = -1;
        return;
      }
      try {
        await log.readIndex();
        break;
      } catch (err) {
        if (attempt % 100 === 99) this.logger.debug({ err, term }, 'controller activation still waiting for a read barrier');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const now = log.status();
    if (now?.role !== 'leader' || now.term !== term) return;
    try {
      await this.bootstrapMetadata(log);
    } catch (err) {
      this.logger.warn({ err, term }, 'writing the cluster id failed; a later leader retries');
      return;
    }
    if (log.status()?.term !== term || this.activeTerm !== term) return;
    this.controller?.activate();
  }

  /**
   * The first active controller of a new quorum writes the cluster id and, in the same batch, the
   * bootstrap feature levels (Kafka's `kafka-storage format --feature transaction.version=N`, done by the
   * quorum itself): the `transaction.version` property of that controller, when above 0. After that the
   * level changes only with UpdateFeatures. A standalone node that ran the single-file metadata log of
   * earlier versions brings that metadata along first.
   */
  private async bootstrapMetadata(log: RaftMetadataLog): Promise<void> {
    if (this.loader.image.clusterId !== null) return;
    const legacy = await this.legacyMetadata();
    if (legacy.length > 0) await log.append(legacy);
    const features: MetadataRecord[] = this.bootstrapTransactionVersion > 0
      ? [{ type: 'FeatureLevel', name: TRANSACTION_VERSION_FEATURE, featureLevel: this.bootstrapTransactionVersion }]
      : [];
    await log.append([{ type: 'ClusterId', clusterId: this.bootstrapClusterId }, ...features]);
    if (legacy.length > 0) {
      await rename(join(this.dataDir, 'metadata', 'metadata.log'), join(this.dataDir, 'metadata', 'metadata.log.migrated'));
      this.logger.info({ records: legacy.length }, 'metadata of the single-file metadata log moved into the Raft metadata log');
    }
  }

  private async legacyMetadata(): Promise<MetadataRecord[]> {
    if (!this.layout.standalone || !existsSync(join(this.dataDir, 'metadata', 'metadata.log'))) return [];
    const legacy = await LocalMetadataLog.open(this.dataDir);
    let image = EMPTY_IMAGE;
    legacy.onCommit((batch) => {
      image = applyRecords(image, batch.records, image.offset + 1).image;
    });
    await legacy.close();
    return imageRecords(image);
  }

  private waitForClusterId(signal: AbortSignal | undefined): Promise<string> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (signal?.aborted === true) {
          reject(new StartAbortedError('waiting for the controller quorum'));
          return true;
        }
        const id = this.loader.image.clusterId;
        if (id === null) return false;
        resolve(id);
        return true;
      };
      if (check()) return;
      let lastLog = started;
      const timer = setInterval(() => {
        if (check()) {
          clearInterval(timer);
          return;
        }
        const now = Date.now();
        if (now - started > QUORUM_WAIT_MS) {
          clearInterval(timer);
          reject(new Error(`no controller quorum after ${QUORUM_WAIT_MS} ms (controller.quorum.voters: ${[...this.layout.voters.keys()].join(', ')})`));
        } else if (now - lastLog >= QUORUM_WAIT_LOG_MS) {
          lastLog = now;
          this.logger.info({ nodeId: this.nodeId, waitedMs: now - started }, 'waiting for the controller quorum');
        }
      }, 10);
    });
  }

  /** The quorum as this node's APIs show it. */
  quorumView(): QuorumView {
    return {
      leaderId: () => this.raftLog?.status()?.leaderId ?? this.observerLog?.leaderId ?? -1,
      describe: () => this.describeQuorum(),
      voterEndpoints: () => [...this.layout.voters].map(([nodeId, a]) => ({ nodeId, host: a.host, port: a.port })),
    };
  }

  /** The leader's description, from here when this node leads the quorum, else from the leader. */
  async describeQuorum(): Promise<QuorumDescription | undefined> {
    const local = this.localQuorumDescription();
    if (local !== undefined) return local;
    const leaderId = this.quorumView().leaderId();
    const address = this.layout.voters.get(leaderId);
    if (address === undefined) return undefined;
    try {
      const answer = await this.rpc.request(address, json({ method: 'describeQuorum' }), 5_000);
      const parsed = JSON.parse(answer.toString('utf8')) as { description?: QuorumDescription };
      return parsed.description;
    } catch {
      return undefined;
    }
  }

  /** This node's description when it leads the quorum (the only node that knows every voter's progress). */
  localQuorumDescription(): QuorumDescription | undefined {
    const status = this.raftLog?.status();
    if (status === undefined || status.role !== 'leader') return undefined;
    const now = Date.now();
    const voters = [...this.layout.voters.keys()].map((nodeId) => {
      const end = nodeId === this.nodeId ? status.lastIndex : this.raftLog!.matchIndexOf(nodeId) ?? -1;
      const caughtUp = end >= status.lastIndex;
      return { nodeId, logEndOffset: end, lastFetchTimestamp: end >= 0 ? now : -1, lastCaughtUpTimestamp: caughtUp ? now : -1 };
    });
    // Observers (broker-only nodes) fetch committed metadata; the image says which are registered.
    const observers = [...this.loader.image.brokers.values()]
      .filter((b) => !this.layout.voters.has(b.brokerId))
      .map((b) => ({ nodeId: b.brokerId, logEndOffset: -1, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1 }));
    return { leaderId: this.nodeId, leaderEpoch: status.term, highWatermark: status.commitIndex, voters, observers };
  }

}

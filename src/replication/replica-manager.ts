/**
 * The replica manager of one node (Kafka's ReplicaManager + Partition, much reduced; DESIGN §2, §3, §5):
 * the one owner of which partitions this node hosts, who leads them at which epoch, the ISR and the
 * high watermark. It follows the metadata image — each committed delta creates (or opens) the logs of
 * partitions assigned here, deletes the logs of removed topics and of partitions moved away, applies
 * topic config changes, and takes leadership, epoch and ISR from the image.
 *
 * High watermark (consumers see offsets below it) = min over the ISR of each replica's acknowledged end:
 * this node's own acknowledged end is its durable log end when the topic's durability mode is `fsync`
 * (a consumer never sees bytes a crash could take back) and its log end in `none` mode; followers'
 * ends come from their fetches (`recordFollowerFetch`). A standalone node's ISR is itself, so its HW is
 * its own acknowledged end. `onPartitionAdvanced` listeners hear every log-end and HW move.
 *
 * Delta application is asynchronous (log files are created and deleted) and runs on one serial chain:
 * a partition the image knows but whose log is not open yet answers NOT_LEADER_OR_FOLLOWER (retriable),
 * as Kafka does for a partition in the metadata cache it does not host yet.
 *
 * Cluster replication (`startReplication`): followed partitions are fetched by the ReplicaFetcherManager
 * (replica-fetcher.ts), which appends through `followerPartition`; led partitions keep each follower's
 * state in their IO-free core (partition-replication.ts: HW over the maximal ISR, ISR shrink / expand
 * proposals) and send ISR changes to the controller (AlterPartition), applying them only once committed.
 * Follower fetches are served through `checkFollowerFetch` / `recordFollowerFetch` (delayed-fetch.ts).
 *
 * Not implemented here: JBOD; unclean leader election's recovery of the HW.
 */
import type { RunnelConfig } from '../config/config.js';
import { configKey, type MetadataDelta, type MetadataImage, type PartitionImage, type TopicImage } from '../metadata/image.js';
import type { MetadataLoader } from '../metadata/loader.js';
import { RECOVERING } from '../metadata/records.js';
import { ErrorCode } from '../protocol/errors.js';
import type { LogManager } from '../storage/log-manager.js';
import type { AppendResult, PartitionLog } from '../storage/partition-log.js';
import type { LogConfig } from '../storage/config.js';
import { logConfigForTopic } from '../metadata/topic-configs.js';
import type { AbortedTransaction, HostedPartition, PartitionLookup, PartitionProducerState, ReplicaManager } from './types.js';
import { PartitionProducerStateStore } from './producer-state-store.js';
import type { ProducerStateEntry } from './producer-state.js';
import { PartitionReplication, type FollowerReplicaState, type IsrProposal, type FollowerFetchCheck } from './partition-replication.js';
import type { FollowerPartition, ReplicaFetcherManager } from './replica-fetcher.js';
import type { ControllerChannel } from '../controller/requests.js';
import { systemClock, type Clock } from '../common/clock.js';
import { readBatchHeader, batchLastOffset, probeBatch } from '../protocol/record-batch.js';
import type { EpochEndOffset } from '../storage/leader-epoch-cache.js';

/** The pino methods the replica manager uses; a pino Logger fits. */
export interface ReplicationLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface LocalReplicaManagerOptions {
  readonly nodeId: number;
  readonly config: RunnelConfig;
  readonly logManager: LogManager;
  readonly loader: MetadataLoader;
  readonly logger?: ReplicationLogger;
  readonly clock?: Clock;
  /**
   * Take no partition role (leader or follower) until `startReplication` was called and the image shows
   * this broker registered with that broker epoch and unfenced (a broker process, KIP-631). Without it
   * (tools, unit tests) roles follow the image at once.
   */
  readonly waitForRegistration?: boolean;
}

/** What the replica manager needs to replicate in a cluster (`startReplication`). */
export interface ReplicationServices {
  readonly fetchers: ReplicaFetcherManager;
  readonly controller: ControllerChannel;
  readonly brokerEpoch: () => number;
}

/** KIP-392's selector (replica.selector.class); any other value keeps consumers on the leader. */
export const RACK_AWARE_REPLICA_SELECTOR = 'org.apache.kafka.common.replica.RackAwareReplicaSelector';

/** Kafka's AlterPartition request timeout (the controller answers once the change is committed). */
const ALTER_PARTITION_TIMEOUT_MS = 30_000;

/**
 * AlterPartition answers that prove the proposal was not committed (KRaft's ReplicationControlManager
 * validates before it writes anything): the proposal is dropped. UNSUPPORTED_VERSION is a controller
 * without AlterPartition. INELIGIBLE_REPLICA is final even if another copy of the request is still on
 * its way to a voter: the controller bumps the partition epoch when the replica becomes eligible again
 * (replication-control.ts eligibilityEpochBumps), so a late copy names a stale epoch.
 */
const NOT_COMMITTED_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.INELIGIBLE_REPLICA, ErrorCode.INVALID_REQUEST, ErrorCode.UNSUPPORTED_VERSION, ErrorCode.NEW_LEADER_ELECTED,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.STALE_BROKER_EPOCH,
]);

/** Kafka's LeaderAndIsr.NO_LEADER. */
export const NO_LEADER = -1;

/** Partitions opened (logs created, producer state loaded) concurrently while a delta is applied. */
export const PARTITIONS_APPLIED_AT_ONCE = 16;
/** A long delta application (thousands of partitions) logs its progress this often. */
const PROGRESS_LOG_INTERVAL_MS = 5_000;

/** Least time between two reopen attempts of one failed log (each writes and syncs a 64 KiB probe). */
export const LOG_RECOVERY_BACKOFF_MS = 500;

/** One hosted partition. Its fields change only inside the replica manager. */
class PartitionState implements HostedPartition {
  /** This node's acknowledged end: durable end (fsync) or log end (none). */
  localEndOffset = 0;
  hosted = true;
  /** A reopen of the failed log is queued or running (see recoverFailedLog). */
  logRecoveryQueued = false;
  /** performance.now() before which no new reopen of a failed log is attempted. */
  logRecoveryNotBeforeMs = 0;
  /** Set while this node follows the partition: the fetcher's handle on it. */
  following: FollowerPartition | undefined;

  constructor(
    readonly topic: string,
    readonly topicId: string,
    readonly partition: number,
    /** Replaced only when a failed log is reopened (LocalReplicaManager.recoverFailedLog). */
    public log: PartitionLog,
    /** Leadership, ISR, follower states, HW rule: the IO-free core (partition-replication.ts). */
    readonly replication: PartitionReplication,
    /** Idempotent-producer state, loaded from the log's snapshot and tail before the partition is served. */
    public producerState: PartitionProducerStateStore,
  ) {}

  get leaderId(): number { return this.replication.leader; }
  get leaderEpoch(): number { return this.replication.leaderEpoch; }
  get isr(): readonly number[] { return this.replication.isr; }
  get replicas(): readonly number[] { return this.replication.replicas; }

  get isLeader(): boolean {
    return this.hosted && this.replication.isLeader;
  }

  get leaderEpochStartOffset(): number { return this.replication.epochStartOffset; }

  get highWatermark(): number {
    return this.log.highWatermark;
  }

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  get logEndOffset(): number {
    return this.log.logEndOffset;
  }

  get lastStableOffset(): number {
    return this.producerState.lastStableOffset(this.log.highWatermark);
  }

  abortedTransactions(fetchOffset: number, upperBoundOffset: number): Promise<readonly AbortedTransaction[]> {
    return this.producerState.abortedTransactions(fetchOffset, upperBoundOffset);
  }
}

export class LocalReplicaManager implements ReplicaManager {
  readonly nodeId: number;
  private readonly config: RunnelConfig;
  private readonly logs: LogManager;
  private readonly loader: MetadataLoader;
  private readonly logger: ReplicationLogger | undefined;
  private readonly clock: Clock;
  private readonly byName = new Map<string, PartitionState>();
  private readonly byTopicId = new Map<string, PartitionState>();
  private readonly listeners = new Set<(partition: HostedPartition) => void>();
  private work: Promise<void> = Promise.resolve();
  private closed = false;
  private replication: ReplicationServices | undefined;
  /**
   * Roles are applied from the image. A restarted broker waits for its new registration to be unfenced:
   * by then the controller has moved its old incarnation's leaderships away with a new leader epoch. If
   * it led again at the old epoch after losing its unflushed tail, it would write new records at
   * offsets — and under the epoch — a follower already holds different ones for, a divergence no
   * epoch check can see (the replication simulation finds this).
   */
  private ready: boolean;
  private isrTimer: ReturnType<typeof setInterval> | undefined;
  /** Partitions with an AlterPartition request on its way (at most one each). */
  private readonly sendingProposals = new Set<PartitionState>();
  /**
   * Bumped whenever a partition's hosted leadership changes (applied from the image, or dropped), so
   * the Metadata view knows when to rebuild without rebuilding on every append.
   */
  leadershipVersion = 0;

  private constructor(options: LocalReplicaManagerOptions) {
    this.nodeId = options.nodeId;
    this.config = options.config;
    this.logs = options.logManager;
    this.loader = options.loader;
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.ready = options.waitForRegistration !== true;
  }

  /**
   * Subscribes to the loader and opens every partition the current image assigns here; logs on disk
   * of topics the image no longer has (deleted while this node was down) are removed.
   */
  static async start(options: LocalReplicaManagerOptions): Promise<LocalReplicaManager> {
    const manager = new LocalReplicaManager(options);
    manager.loader.subscribe((delta, image) => manager.enqueue(() => manager.applyDelta(delta, image)));
    manager.enqueue(() => manager.removeStrayLogs(manager.loader.image));
    await manager.whenIdle();
    return manager;
  }

  /**
   * Cluster replication on: followed partitions get fetchers, led partitions propose ISR changes to
   * the controller, and the ISR-expiry check runs every replica.lag.time.max.ms / 2
   * (ReplicaManager.startup's isr-expiration task). Called once the broker is registered.
   */
  startReplication(services: ReplicationServices): void {
    this.replication = services;
    this.enqueue(async () => {
      if (await this.becomeReady(this.loader.image)) return;
      for (const state of this.byName.values()) this.follow(state);
    });
    const intervalMs = Math.max(1, Math.floor(this.config['replica.lag.time.max.ms'] / 2));
    this.isrTimer = setInterval(() => this.maybeShrinkIsrs(), intervalMs);
    this.isrTimer.unref?.();
  }

  // ---------------------------------------------------------------- lookups

  partition(topic: string, partition: number): HostedPartition | undefined {
    return this.byName.get(nameKey(topic, partition));
  }

  partitionByTopicId(topicId: string, partition: number): HostedPartition | undefined {
    return this.byTopicId.get(idKey(topicId, partition));
  }

  /** Every hosted partition (for checkpoints, metrics, DescribeLogDirs). */
  partitions(): HostedPartition[] {
    return [...this.byName.values()];
  }

  leaderPartition(topic: string, partition: number, currentLeaderEpoch: number): PartitionLookup {
    const state = this.byName.get(nameKey(topic, partition));
    if (state === undefined) return { ok: false, errorCode: this.notHostedError(topic, partition) };
    // KIP-320: an older epoch is a stale client (fenced); a newer one means our metadata lags.
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < state.leaderEpoch) return { ok: false, errorCode: ErrorCode.FENCED_LEADER_EPOCH };
    if (currentLeaderEpoch > state.leaderEpoch) return { ok: false, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH };
    if (!state.isLeader) return { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    if (state.log.isFailed()) {
      // Kafka answers an offline replica KAFKA_STORAGE_ERROR (retriable); the request also starts the reopen.
      this.recoverFailedLog(state);
      return { ok: false, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
    }
    return { ok: true, partition: state };
  }

  /**
   * The partition if this node hosts a replica of it, leader or not (Kafka's getPartitionOrError, as
   * DescribeProducers uses it): else NOT_LEADER_OR_FOLLOWER when the image knows the partition,
   * UNKNOWN_TOPIC_OR_PARTITION when it does not.
   */
  hostedPartition(topic: string, partition: number): PartitionLookup {
    const state = this.byName.get(nameKey(topic, partition));
    return state === undefined ? { ok: false, errorCode: this.notHostedError(topic, partition) } : { ok: true, partition: state };
  }

  /** A partition this node does not host: retriable when the image knows it (its log is not open here). */
  private notHostedError(topic: string, partition: number): number {
    const known = this.loader.image.topicIdsByName.has(topic) && this.imagePartition(topic, partition) !== undefined;
    return known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }

  /** The idempotent producers a hosted partition remembers (DescribeProducers; KIP-664). */
  activeProducers(hosted: HostedPartition): ProducerStateEntry[] {
    return [...this.owned(hosted).producerState.state.activeProducers()];
  }

  onPartitionAdvanced(listener: (partition: HostedPartition) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The topic's current log configuration (Kafka defaults < broker configs < topic overrides). */
  logConfig(topic: string): LogConfig {
    return logConfigForTopic(this.config, this.loader.image, this.nodeId, topic);
  }

  /** A topic-level property from the image, else undefined (the broker default applies). */
  topicConfigValue(topic: string, name: string): string | undefined {
    return this.loader.image.configs.get(configKey('topic', topic))?.get(name);
  }

  /** min.insync.replicas for topic (topic override, else the broker's). */
  minInsyncReplicas(topic: string): number {
    const override = Number(this.topicConfigValue(topic, 'min.insync.replicas'));
    return Number.isInteger(override) && override >= 1 ? override : this.config['min.insync.replicas'];
  }

  /** cleanup.policy contains `compact` (keys required, KIP-58 / LogValidator). */
  isCompacted(topic: string): boolean {
    const policy = this.topicConfigValue(topic, 'cleanup.policy');
    return policy !== undefined && policy.split(',').some((p) => p.trim() === 'compact');
  }

  /**
   * The seam for idempotent producers (DESIGN §6): the partition's producer state, or undefined while
   * none is kept — then every batch is appended as it comes. The idempotence work returns its
   * ProducerStateManager here.
   */
  producerStateFor(partition: HostedPartition): PartitionProducerState | undefined {
    return this.byName.get(nameKey(partition.topic, partition.partition))?.producerState;
  }

  /** The partition's producer and transaction state (transaction markers, aborted transactions). */
  producerStateStore(hosted: HostedPartition): PartitionProducerStateStore {
    return this.owned(hosted).producerState;
  }

  // ---------------------------------------------------------------- append and high watermark

  /**
   * Appends a client's batches to a partition this node leads, at its leader epoch (PartitionLog.append:
   * throws RecordBatchError / StorageError with the Kafka code; nothing is written then). The caller has
   * checked leadership synchronously before calling.
   */
  appendRecordsToLeader(hosted: HostedPartition, records: Buffer): AppendResult {
    const state = this.owned(hosted);
    const result = state.log.append(records, state.leaderEpoch);
    const endOffset = result.lastOffset + 1;
    if (state.log.config.durabilityMode === 'none') {
      state.localEndOffset = Math.max(state.localEndOffset, endOffset);
    } else {
      // A failed write: parked acks=-1 produces must hear KAFKA_STORAGE_ERROR now, not at their timeout.
      result.durable.then(() => this.onLocalDurable(state, endOffset), () => this.onLocalFailure(state));
    }
    if (!this.maybeAdvanceHighWatermark(state)) this.publish(state);
    return result;
  }

  /**
   * A follower's fetch of a partition led here, before the read (Partition.fetchRecords): the replica
   * must be assigned; LastFetchedEpoch is checked against the leader's epochs (KIP-595).
   */
  checkFollowerFetch(hosted: HostedPartition, replicaId: number, fetchOffset: number, lastFetchedEpoch: number, currentLeaderEpoch: number): FollowerFetchCheck {
    const state = this.owned(hosted);
    return state.replication.checkFollowerFetch(
      replicaId, fetchOffset, lastFetchedEpoch, currentLeaderEpoch, state.log.logStartOffset, state.log.logEndOffset,
      (epoch) => state.log.endOffsetForEpoch(epoch),
    );
  }

  /**
   * A follower fetched at fetchOffset (its acknowledged end) while the leader's log ended at
   * leaderLogEndOffset: its state moves, the HW may advance, and it may rejoin the ISR.
   */
  recordFollowerFetch(hosted: HostedPartition, replicaId: number, fetchOffset: number, leaderLogEndOffset: number, brokerEpoch = -1): void {
    const state = this.owned(hosted);
    if (!state.hosted || !state.replication.recordFollowerFetch(replicaId, fetchOffset, leaderLogEndOffset, this.clock.monotonicMs(), brokerEpoch)) return;
    this.maybeAdvanceHighWatermark(state);
    const proposal = state.replication.expandProposal(replicaId, state.log.highWatermark, (id) => this.isIsrEligible(id));
    if (proposal !== undefined) this.sendProposal(state, proposal);
  }

  /**
   * KIP-392's preferred read replica (ReplicaManager.findPreferredReadReplica with the
   * RackAwareReplicaSelector): -1 unless replica.selector.class is that selector, the leader is not in
   * clientRack, and an ISR follower in clientRack holds fetchOffset — then the most caught up of them
   * (larger log end, then more recently caught up, then the smaller id).
   */
  preferredReadReplica(hosted: HostedPartition, clientRack: string, fetchOffset: number): number {
    if (this.config['replica.selector.class'] !== RACK_AWARE_REPLICA_SELECTOR) return -1;
    const state = this.owned(hosted);
    if (!state.isLeader) return -1;
    const brokers = this.loader.image.brokers;
    if (brokers.get(this.nodeId)?.rack === clientRack) return -1;
    let best: FollowerReplicaState | undefined;
    for (const id of state.isr) {
      const follower = state.replication.follower(id);
      if (follower === undefined || brokers.get(id)?.rack !== clientRack) continue;
      if (follower.logEndOffset < fetchOffset || fetchOffset < state.log.logStartOffset) continue;
      if (best === undefined || follower.logEndOffset > best.logEndOffset
        || (follower.logEndOffset === best.logEndOffset && follower.lastCaughtUpTimeMs > best.lastCaughtUpTimeMs)) best = follower;
    }
    return best?.replicaId ?? -1;
  }

  /** A follower's acknowledged end, as if it fetched at endOffset with the leader's log end as it is now. */
  recordFollowerEnd(hosted: HostedPartition, replicaId: number, endOffset: number): void {
    this.recordFollowerFetch(hosted, replicaId, endOffset, hosted.logEndOffset);
  }

  private onLocalFailure(state: PartitionState): void {
    if (state.hosted) this.publish(state);
  }

  /**
   * Queues a reopen of a failed log (LogManager.reopenFailedLog) on the serial chain, at most one per
   * LOG_RECOVERY_BACKOFF_MS per partition; requests to the partition trigger it (leaderPartition).
   * Once reopened, the partition is served again (issue 26, defect 4) and listeners hear of it, so the
   * group coordinator reloads its state from the recovered log.
   */
  private recoverFailedLog(state: PartitionState): void {
    const nowMs = performance.now();
    if (state.logRecoveryQueued || nowMs < state.logRecoveryNotBeforeMs || this.closed) return;
    state.logRecoveryQueued = true;
    state.logRecoveryNotBeforeMs = nowMs + LOG_RECOVERY_BACKOFF_MS;
    this.enqueue(async () => {
      try {
        if (!this.closed && state.hosted && state.log.isFailed()) await this.reopenFailedLog(state);
      } catch (err) {
        this.logger?.warn({ err, topic: state.topic, partition: state.partition }, 'partition log still failing: not reopened');
      } finally {
        state.logRecoveryQueued = false;
      }
    });
  }

  private async reopenFailedLog(state: PartitionState): Promise<void> {
    const log = await this.logs.reopenFailedLog(state.topic, state.partition);
    log.updateConfig(this.logConfig(state.topic));
    const producerState = await PartitionProducerStateStore.open(log, {
      producerIdExpirationMs: this.config['producer.id.expiration.ms'],
      producerIdExpirationCheckIntervalMs: this.config['producer.id.expiration.check.interval.ms'],
      logger: this.logger,
    });
    state.log = log;
    state.producerState = producerState;
    // What the failure cut was never acknowledged; the leader's epoch may not have reached the disk.
    state.localEndOffset = Math.min(state.localEndOffset, log.logEndOffset);
    const latest = log.latestEpoch();
    if (state.isLeader && (latest === undefined || latest < state.leaderEpoch)) log.leaderEpochCache.assign(state.leaderEpoch, log.logEndOffset);
    this.leadershipVersion++;
    this.logger?.info({ topic: state.topic, partition: state.partition, logEndOffset: log.logEndOffset }, 'failed partition log reopened: serving again');
    if (!this.maybeAdvanceHighWatermark(state)) this.publish(state);
  }

  private onLocalDurable(state: PartitionState, endOffset: number): void {
    if (!state.hosted) return;
    state.localEndOffset = Math.max(state.localEndOffset, endOffset);
    this.maybeAdvanceHighWatermark(state);
  }

  /**
   * Moves the HW forward to the core's candidate (min over the maximal ISR of acknowledged ends);
   * publishes and returns true if it moved. The leader's HW never goes back.
   */
  private maybeAdvanceHighWatermark(state: PartitionState): boolean {
    if (!state.isLeader) return false;
    const candidate = state.replication.highWatermarkCandidate(
      state.localEndOffset, state.log.logEndOffset, this.clock.monotonicMs(), (id) => this.isIsrEligible(id),
    );
    if (candidate <= state.log.highWatermark) return false;
    state.log.updateHighWatermark(candidate);
    this.publish(state);
    return true;
  }

  /** KIP-841/903: only an unfenced, registered broker may join an ISR. */
  private isIsrEligible(brokerId: number): boolean {
    const broker = this.loader.image.brokers.get(brokerId);
    return broker !== undefined && !broker.fenced;
  }

  private publish(state: PartitionState): void {
    for (const listener of this.listeners) {
      try {
        listener(state);
      } catch (err) {
        this.logger?.error({ err, topic: state.topic, partition: state.partition }, 'partition listener failed');
      }
    }
  }

  private owned(hosted: HostedPartition): PartitionState {
    const state = this.byName.get(nameKey(hosted.topic, hosted.partition));
    if (state !== hosted) throw new Error(`partition ${hosted.topic}-${hosted.partition} is not hosted here`);
    return state;
  }

  // ---------------------------------------------------------------- ISR changes

  /** Partition.maybeShrinkIsr for every led partition (the isr-expiration task). */
  private maybeShrinkIsrs(): void {
    const nowMs = this.clock.monotonicMs();
    for (const state of this.byName.values()) {
      if (!state.isLeader) continue;
      // A proposal still in flight with no answer that settled it is sent again.
      const proposal = state.replication.pendingProposal ?? state.replication.shrinkProposal(state.log.logEndOffset, nowMs);
      if (proposal !== undefined) this.sendProposal(state, proposal);
    }
  }

  /**
   * AlterPartition to the controller. The ISR changes only when the committed state arrives — in the
   * answer or in a metadata delta, whichever is first (both carry the partition epoch). A refusal that
   * proves nothing was committed drops the proposal; anything else (timeout, NOT_CONTROLLER, a stale
   * partition epoch) keeps it in flight — the HW keeps counting its members — and the ISR task sends
   * it again until metadata settles it (PartitionReplication.proposalRejected says why).
   */
  private sendProposal(state: PartitionState, proposal: IsrProposal): void {
    const replication = this.replication;
    if (replication === undefined || this.sendingProposals.has(state)) return;
    this.logger?.info({ topic: state.topic, partition: state.partition, kind: proposal.kind, isr: state.isr, newIsr: proposal.newIsr }, 'proposing an ISR change');
    this.sendingProposals.add(state);
    void replication.controller.send({
      type: 'alterPartition', brokerId: this.nodeId, brokerEpoch: replication.brokerEpoch(),
      partitions: [{
        topicId: state.topicId, partitionId: state.partition, leaderEpoch: proposal.leaderEpoch, partitionEpoch: proposal.partitionEpoch,
        newIsr: proposal.newIsr, leaderRecoveryState: proposal.leaderRecoveryState,
      }],
    }, ALTER_PARTITION_TIMEOUT_MS).then((outcome) => {
      const errorCode = outcome.ok ? (outcome.value.partitions[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR) : outcome.errorCode;
      const item = outcome.ok ? outcome.value.partitions[0] : undefined;
      if (errorCode !== ErrorCode.NONE || item === undefined) {
        this.logger?.warn({ topic: state.topic, partition: state.partition, errorCode }, 'ISR change not committed');
        if (NOT_COMMITTED_ERRORS.has(errorCode)) state.replication.proposalRejected(proposal);
        return;
      }
      if (!state.hosted) return;
      state.replication.applyCommitted({
        leader: item.leader, leaderEpoch: item.leaderEpoch, partitionEpoch: item.partitionEpoch, isr: item.isr, replicas: state.replicas,
        leaderRecoveryState: item.leaderRecoveryState,
      }, this.clock.monotonicMs(), state.log.logEndOffset);
      this.leadershipVersion++;
      if (!this.maybeAdvanceHighWatermark(state)) this.publish(state);
    }, (err: unknown) => {
      this.logger?.warn({ err, topic: state.topic, partition: state.partition }, 'ISR change failed');
    }).finally(() => this.sendingProposals.delete(state));
  }

  // ---------------------------------------------------------------- following

  /** Starts (or restarts) fetching a partition this node follows; a no-op without replication. */
  private follow(state: PartitionState): void {
    const fetchers = this.replication?.fetchers;
    if (fetchers === undefined || state.isLeader || state.leaderId < 0 || !state.hosted) return;
    if (state.following !== undefined && state.following.leaderId === state.leaderId && state.following.leaderEpoch === state.leaderEpoch) return;
    const follower = this.followerPartition(state, state.leaderId, state.leaderEpoch);
    state.following = follower;
    fetchers.addPartition(follower);
  }

  /** Stops fetching; resolves once no fetcher touches the log. */
  private async unfollow(state: PartitionState): Promise<void> {
    if (state.following === undefined) return;
    state.following = undefined;
    await this.replication?.fetchers.removePartition(state.topic, state.partition);
  }

  private followerPartition(state: PartitionState, leaderId: number, leaderEpoch: number): FollowerPartition {
    const log = state.log;
    const manager = this;
    const follower: FollowerPartition = {
      topic: state.topic, topicId: state.topicId, partition: state.partition, leaderId, leaderEpoch,
      isCurrent: () => state.hosted && state.following === follower && !manager.closed,
      logEndOffset: () => log.logEndOffset,
      logStartOffset: () => log.logStartOffset,
      highWatermark: () => log.highWatermark,
      lastFetchedEpoch: () => log.latestEpoch() ?? -1,
      endOffsetForEpoch: (epoch: number): EpochEndOffset => log.endOffsetForEpoch(epoch),
      append: (records, leaderHighWatermark) => manager.appendAsFollower(state, records, leaderHighWatermark),
      updateHighWatermark: (leaderHighWatermark) => manager.followerHighWatermark(state, leaderHighWatermark),
      truncateTo: (offset) => manager.truncateFollower(state, offset, false),
      truncateFullyAndStartAt: (offset) => manager.truncateFollower(state, offset, true),
    };
    return follower;
  }

  /**
   * The leader's batches, verbatim (offsets and epochs as the leader wrote them); producer state
   * rebuilt from them so this replica answers duplicates if it becomes leader. Resolves once durable
   * per the durability mode: only then may the next fetch acknowledge the bytes.
   */
  private appendAsFollower(state: PartitionState, records: Buffer, leaderHighWatermark: number): Promise<void> {
    // One append per run of whole batches that fits segment.bytes (a fetch may carry more than a small
    // segment holds); batches are never split.
    const segmentBytes = state.log.config.segmentBytes;
    let durable: Promise<void> = Promise.resolve();
    let runStart = 0;
    let position = 0;
    while (position < records.length) {
      const size = probeBatch(records, position, records.length, records.length - position);
      if (size <= 0) break;
      if (position > runStart && position + size - runStart > segmentBytes) {
        durable = this.appendRun(state, records.subarray(runStart, position));
        runStart = position;
      }
      position += size;
    }
    if (position > runStart) durable = this.appendRun(state, records.subarray(runStart, position));
    this.followerHighWatermark(state, leaderHighWatermark);
    // Appends become durable in offset order: the last one covers the others.
    return state.log.config.durabilityMode === 'none' ? Promise.resolve() : durable;
  }

  private appendRun(state: PartitionState, run: Buffer): Promise<void> {
    const result = state.log.appendAsFollower(run);
    for (let position = 0; position < run.length;) {
      const size = probeBatch(run, position, run.length, run.length - position);
      if (size <= 0) break;
      state.producerState.onReplicatedAppend(readBatchHeader(run, position), run.subarray(position, position + size));
      position += size;
    }
    return result.durable;
  }

  /** A follower's HW follows the leader's, never past its own log end, never back (maybeUpdateHighWatermark). */
  private followerHighWatermark(state: PartitionState, leaderHighWatermark: number): void {
    const target = Math.min(leaderHighWatermark, state.log.logEndOffset);
    if (target > state.log.highWatermark) state.log.updateHighWatermark(target);
    this.publish(state);
  }

  private async truncateFollower(state: PartitionState, offset: number, fully: boolean): Promise<void> {
    if (!fully && offset < state.log.highWatermark) {
      // Only an unclean election can ask for this (a clean leader holds every record below our HW).
      this.logger?.error({ topic: state.topic, partition: state.partition, offset, highWatermark: state.log.highWatermark }, 'truncating below the high watermark');
    }
    if (fully) await state.log.truncateFullyAndStartAt(offset);
    else await state.log.truncateTo(offset);
    state.localEndOffset = Math.min(state.localEndOffset, state.log.logEndOffset);
    await state.producerState.reload();
    this.publish(state);
  }

  // ---------------------------------------------------------------- metadata deltas

  /** Resolves once every delta published so far is applied (logs created / deleted). */
  whenIdle(): Promise<void> {
    return this.work;
  }

  private enqueue(task: () => Promise<void>): void {
    this.work = this.work.then(task).catch((err: unknown) => {
      this.logger?.error({ err }, 'applying a metadata delta failed');
    });
  }

  /**
   * Paced (issue 26, defect 3): a delta of 20,000 partitions kept the broker from answering anything for
   * seconds and from stopping for minutes. Partitions are applied PARTITIONS_APPLIED_AT_ONCE at a time,
   * the event loop gets a turn between groups (requests are answered meanwhile; a partition not open
   * yet answers NOT_LEADER_OR_FOLLOWER, retriable), close() stops between groups (the rest is applied
   * at the next start, from the image), and progress is logged every PROGRESS_LOG_INTERVAL_MS.
   */
  private async applyDelta(delta: MetadataDelta, image: MetadataImage): Promise<void> {
    for (const topic of delta.deletedTopics) {
      if (this.closed) return;
      await this.removeTopic(topic);
    }
    await this.applyPartitions(delta.changedPartitions, image);
    if (this.closed) return;
    if (delta.changedBrokers.includes(this.nodeId)) await this.becomeReady(image);
    for (const change of delta.changedConfigs) {
      if (change.resourceType === 'topic') this.updateConfig(change.resourceName);
    }
  }

  /** Paced application of many partitions (see applyDelta). */
  private async applyPartitions(changed: readonly PartitionImage[], image: MetadataImage): Promise<void> {
    const started = performance.now();
    let loggedMs = started;
    for (let i = 0; i < changed.length; i += PARTITIONS_APPLIED_AT_ONCE) {
      if (this.closed) return;
      await Promise.all(changed.slice(i, i + PARTITIONS_APPLIED_AT_ONCE).map((partition) => {
        const topic = image.topicsById.get(partition.topicId);
        return topic === undefined ? undefined : this.applyPartition(topic, partition);
      }));
      await new Promise((resolve) => setImmediate(resolve));
      if (performance.now() - loggedMs >= PROGRESS_LOG_INTERVAL_MS) {
        loggedMs = performance.now();
        this.logger?.info({ applied: Math.min(i + PARTITIONS_APPLIED_AT_ONCE, changed.length), of: changed.length, ms: Math.round(loggedMs - started) }, 'opening partitions');
      }
    }
  }

  /**
   * The gate of `ready`: once the image shows this broker registered (with the epoch startReplication
   * got) and unfenced, every hosted partition takes its role from the image. True if it just opened.
   */
  private async becomeReady(image: MetadataImage): Promise<boolean> {
    if (this.ready || this.replication === undefined) return false;
    const broker = image.brokers.get(this.nodeId);
    if (broker === undefined || broker.fenced || broker.brokerEpoch !== this.replication.brokerEpoch()) return false;
    this.ready = true;
    this.logger?.info({ brokerEpoch: broker.brokerEpoch, partitions: this.byName.size }, 'registered and unfenced: taking partition roles');
    const assigned: PartitionImage[] = [];
    for (const topic of image.topicsById.values()) {
      for (const partition of topic.partitions) if (partition.replicas.includes(this.nodeId)) assigned.push(partition);
    }
    await this.applyPartitions(assigned, image);
    return true;
  }

  /**
   * Becomes leader or follower of a partition assigned here, or drops one moved away — the one serial
   * path for a partition's role (ReplicaManager.applyDelta → makeLeaders / makeFollowers).
   */
  private async applyPartition(topic: TopicImage, image: PartitionImage): Promise<void> {
    const key = nameKey(topic.name, image.partitionId);
    let state = this.byName.get(key);
    if (!image.replicas.includes(this.nodeId)) {
      if (state !== undefined) await this.dropPartition(state);
      return;
    }
    if (state !== undefined && state.topicId !== topic.topicId) {
      await this.dropPartition(state);
      state = undefined;
    }
    if (state === undefined) state = await this.openPartition(topic, image.partitionId);
    if (this.closed || !this.ready) return;
    const leaderChanged = image.leader !== state.leaderId || image.leaderEpoch !== state.leaderEpoch;
    // A fetcher must be done with the log before this node leads it or follows someone else.
    if (leaderChanged) await this.unfollow(state);
    const role = state.replication.applyCommitted(image, this.clock.monotonicMs(), state.log.logEndOffset);
    if (role === 'stale') return;
    this.leadershipVersion++;
    if (role === 'became-leader') {
      // A new leader has everything it holds on disk: recovery (or the previous term) wrote it.
      state.localEndOffset = state.log.logEndOffset;
      // Partition.makeLeader: the epoch starts at the current log end, so OffsetForLeaderEpoch answers
      // (epoch, log end) for a leader that has not appended yet.
      const latest = state.log.latestEpoch();
      if (latest === undefined || latest < image.leaderEpoch) state.log.leaderEpochCache.assign(image.leaderEpoch, state.log.logEndOffset);
      // The active controller logs every election (partition, old → new leader, epoch) once for the
      // cluster; each broker taking the role is detail.
      this.logger?.debug({ topic: topic.name, partition: image.partitionId, leaderEpoch: image.leaderEpoch, isr: image.isr, logEndOffset: state.log.logEndOffset, highWatermark: state.log.highWatermark }, 'became leader');
      if (image.leaderRecoveryState === RECOVERING) {
        // Partition.makeLeader: nothing to recover locally; the next ISR change reports RECOVERED (KIP-704).
        this.logger?.info({ topic: topic.name, partition: image.partitionId, leaderEpoch: image.leaderEpoch }, 'leading a partition marked RECOVERING after an unclean election; marking it RECOVERED');
      }
    } else if (role === 'follower') {
      this.follow(state);
    }
    if (!this.maybeAdvanceHighWatermark(state)) this.publish(state);
  }

  private async openPartition(topic: TopicImage, partition: number): Promise<PartitionState> {
    let log = this.logs.getLog(topic.name, partition);
    if (log !== undefined && log.topicId !== undefined && log.topicId !== topic.topicId) {
      // Same name, another topic: the old one was deleted and recreated while this node was away.
      await this.logs.deleteLog(topic.name, partition);
      log = undefined;
    }
    log ??= await this.logs.createLog(topic.name, partition, topic.topicId);
    log.updateConfig(this.logConfig(topic.name));
    const producerState = await PartitionProducerStateStore.open(log, {
      producerIdExpirationMs: this.config['producer.id.expiration.ms'],
      producerIdExpirationCheckIntervalMs: this.config['producer.id.expiration.check.interval.ms'],
      logger: this.logger,
    });
    const replication = new PartitionReplication({ localId: this.nodeId, replicaLagTimeMaxMs: this.config['replica.lag.time.max.ms'] });
    const state = new PartitionState(topic.name, topic.topicId, partition, log, replication, producerState);
    this.byName.set(nameKey(topic.name, partition), state);
    this.byTopicId.set(idKey(topic.topicId, partition), state);
    return state;
  }

  private async removeTopic(topic: TopicImage): Promise<void> {
    for (const state of [...this.byName.values()]) {
      if (state.topicId === topic.topicId) await this.dropPartition(state);
    }
  }

  private async dropPartition(state: PartitionState): Promise<void> {
    state.hosted = false;
    this.leadershipVersion++;
    this.byName.delete(nameKey(state.topic, state.partition));
    this.byTopicId.delete(idKey(state.topicId, state.partition));
    await this.unfollow(state);
    // Parked produces and fetches wake and see that the partition is gone.
    this.publish(state);
    await this.logs.deleteLog(state.topic, state.partition);
    this.logger?.info({ topic: state.topic, partition: state.partition }, 'partition log deleted');
  }

  /** Applies the topic's current overrides to its hosted logs. */
  private updateConfig(topic: string): void {
    const config = this.logConfig(topic);
    for (const state of this.byName.values()) if (state.topic === topic) state.log.updateConfig(config);
  }

  private async removeStrayLogs(image: MetadataImage): Promise<void> {
    for (const log of this.logs.allLogs()) {
      if (this.byName.has(nameKey(log.topic, log.partition))) continue;
      if (this.imagePartition(log.topic, log.partition, image)?.replicas.includes(this.nodeId) === true) continue;
      await this.logs.deleteLog(log.topic, log.partition);
      this.logger?.info({ topic: log.topic, partition: log.partition }, 'stray partition log deleted');
    }
  }

  private imagePartition(topic: string, partition: number, image = this.loader.image): PartitionImage | undefined {
    const topicId = image.topicIdsByName.get(topic);
    return topicId === undefined ? undefined : image.topicsById.get(topicId)?.partitions[partition];
  }

  /** Stops applying deltas and fetching; the log manager is closed by its owner. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.isrTimer !== undefined) clearInterval(this.isrTimer);
    await this.work;
    await this.replication?.fetchers.close();
    // Clean shutdown: producer snapshots at the log ends, before the log manager closes the logs.
    const states = [...this.byName.values()];
    for (let i = 0; i < states.length; i += PARTITIONS_APPLIED_AT_ONCE) {
      await Promise.all(states.slice(i, i + PARTITIONS_APPLIED_AT_ONCE).map((state) => state.producerState.close()));
    }
  }
}

function nameKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function idKey(topicId: string, partition: number): string {
  return `${topicId}/${partition}`;
}

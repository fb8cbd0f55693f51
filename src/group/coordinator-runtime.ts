/**
 * The IO shell around the group coordinator core (DESIGN.md §6; Kafka's CoordinatorRuntime +
 * GroupCoordinatorService for classic groups). One instance per broker, one serial path: every core
 * call is followed by `pump()`, which performs the core's outputs in order until none are left.
 *
 * - **The internal topic.** `__consumer_offsets` is created on the first FindCoordinator for a group
 *   (KafkaApis.getCoordinator → AutoTopicCreationManager), through the broker's TopicCreator, with
 *   `offsets.topic.num.partitions` partitions, `offsets.topic.replication.factor` replicas and
 *   cleanup.policy=compact, compression.type=producer, segment.bytes=`offsets.topic.segment.bytes`
 *   (GroupCoordinatorConfig.groupMetadataTopicConfigs). As in Kafka 4 the replication factor is not
 *   lowered to the live brokers: creation is refused (INVALID_REPLICATION_FACTOR, logged) and
 *   FindCoordinator answers COORDINATOR_NOT_AVAILABLE until enough brokers are live. Kafka answers that
 *   first request COORDINATOR_NOT_AVAILABLE while it creates the topic in the background; here the
 *   request waits for the creation (at most `TOPIC_CREATION_WAIT_MS`) so it usually finds the leader.
 *   The topic is compact-only, so storage never retains it by time or size (committed offsets stay
 *   until tombstoned); without log compaction (not built), loading replays every record.
 * - **Ownership.** The replica manager's partition listener says when this node starts or stops
 *   leading a partition of the topic (or its leader epoch changes): the core loads it (beginLoad; the
 *   partition is read from its log start to its log end and replayed; completeLoad) while its groups
 *   answer COORDINATOR_LOAD_IN_PROGRESS, or unloads it (waiting requests get NOT_COORDINATOR).
 * - **Appends.** Each core append becomes one v2 batch (coordinator-runtime-batch.ts) appended at the
 *   leader epoch through the replica manager; it is complete when the partition's high watermark passes
 *   it (fsync mode: after fdatasync; later, after the ISR has it), in log order, and only then are the
 *   responses that depend on it sent (persist before send). A failed append reports the storage's Kafka
 *   error code to the core, which maps it as Kafka does; a failed fsync fails every waiting append of
 *   the partition and gives the partition up.
 * - **Time.** One unref'd timer sleeps until the core's next deadline, then `tick()`s it.
 *
 * - **Transactions.** TxnOffsetCommit writes its offsets in a transactional batch of the producer (and
 *   opens the producer's transaction in the partition's producer state); the transaction coordinator's
 *   marker for this partition is written here (`completeTransaction`), so the core applies or drops the
 *   offsets once it is durable. Loading replays transactional offsets per producer until their marker.
 *
 * Not implemented: KIP-848 consumer groups, share groups, compaction of
 * the topic (the storage has none yet, so a load replays every record ever written to the partition).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { invariant } from '../common/assert.js';
import type { Clock } from '../common/clock.js';
import { Prng } from '../common/prng.js';
import type { RunnelConfig } from '../config/config.js';
import type { MetadataView } from '../broker/metadata-view.js';
import type { LocalReplicaManager } from '../replication/replica-manager.js';
import type { TopicCreator } from '../controller/topic-creator.js';
import type { HostedPartition } from '../replication/types.js';
import { GroupCoordinatorCore } from './coordinator.js';
import type {
  ConsumerGroupConfig,
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  DescribedConsumerGroup,
  TopicInfo,
  TopicsSnapshot,
} from './consumer-coordinator.js';
import { buildCoordinatorBatch, coordinatorBatchesOfChunk } from './coordinator-runtime-batch.js';
import { ErrorCode } from './errors.js';
import { findGroupCoordinators, type CoordinatorNode, type FindCoordinatorResult } from './find-coordinator.js';
import type { GroupView } from './responses.js';
import type {
  AppendRequest,
  DelayedResponse,
  DescribedGroup,
  ConsumerGroupMigrationPolicy,
  DeleteGroupsResponse,
  GroupCoordinatorConfig,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  RequestToken,
  SyncGroupRequest,
  SyncGroupResponse,
  TxnOffsetCommitRequest,
} from './types.js';
import type { EndTransactionMarker } from '../protocol/control-batch.js';
import { readBatchHeader } from '../protocol/record-batch.js';
import { writeTxnMarker } from '../replication/txn-markers.js';

/** Kafka's Topic.GROUP_METADATA_TOPIC_NAME. */
export const GROUP_METADATA_TOPIC_NAME = '__consumer_offsets';
/** How long FindCoordinator waits for the internal topic to be created before answering. */
export const TOPIC_CREATION_WAIT_MS = 10_000;
/** Bytes read per step while loading a partition. */
const LOAD_READ_BYTES = 1024 * 1024;
/** A partition load this slow is logged at info even when it replayed nothing. */
const SLOW_LOAD_MS = 1000;
/** A load makes progress on every read; this only stops a bug from spinning forever. */
const LOAD_READS_MAX = 10_000_000;
/** Rounds of one pump: each round performs what the previous one produced. */
const PUMP_ROUNDS_MAX = 1_000_000;
/** setTimeout's largest delay. */
const TIMER_DELAY_MAX_MS = 2_147_483_647;

export interface GroupCoordinatorRuntimeOptions {
  readonly nodeId: number;
  readonly config: RunnelConfig;
  readonly clock: Clock;
  readonly metadata: MetadataView;
  readonly replicaManager: LocalReplicaManager;
  readonly topicCreator: TopicCreator;
  readonly logger?: Logger;
  /** Seed of the member-id generator; random by default. */
  readonly seed?: number;
  /** A group's own configuration (GROUP config resources). */
  readonly groupConfig?: (groupId: string) => Partial<ConsumerGroupConfig>;
}

interface PendingAppend {
  readonly appendId: number;
  /** Complete once the high watermark reaches this offset. */
  readonly endOffset: number;
  /** A transaction marker (completeTransaction): called instead of completing a core append. */
  readonly onDurable?: (errorCode: number) => void;
}

/** A `__consumer_offsets` partition this node leads, at one leader epoch. */
interface OwnedPartition {
  readonly hosted: HostedPartition;
  readonly leaderEpoch: number;
  state: 'loading' | 'active';
  /** Appends in log order, waiting for the high watermark. */
  readonly pending: PendingAppend[];
}

export class GroupCoordinatorRuntime {
  /** Partitions of `__consumer_offsets`: the existing topic's count, else offsets.topic.num.partitions. */
  readonly numPartitions: number;
  private readonly core: GroupCoordinatorCore;
  private readonly options: GroupCoordinatorRuntimeOptions;
  private readonly owned = new Map<number, OwnedPartition>();
  /** Partitions whose leadership or high watermark moved since the last pump. */
  private readonly dirty = new Map<number, HostedPartition>();
  private readonly waiting = new Map<RequestToken, (body: DelayedResponse['body']) => void>();
  private readonly unsubscribe: () => void;
  private nextToken = 1;
  private pumping = false;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDeadlineMs: number | undefined;
  private creating: Promise<void> | undefined;

  constructor(options: GroupCoordinatorRuntimeOptions) {
    this.options = options;
    const existing = options.metadata.topicByName(GROUP_METADATA_TOPIC_NAME);
    this.numPartitions = existing?.partitions.length ?? options.config['offsets.topic.num.partitions'];
    this.core = new GroupCoordinatorCore({
      clock: options.clock,
      prng: new Prng(options.seed ?? randomBytes(4).readUInt32BE(0)),
      config: coreConfig(options.config, this.numPartitions),
      partitionExists: (topic) => options.metadata.topicByName(topic) !== undefined,
      topics: () => topicsSnapshot(options.metadata),
      groupConfig: (groupId) => options.groupConfig?.(groupId) ?? {},
    });
    this.unsubscribe = options.replicaManager.onPartitionAdvanced((hosted) => {
      if (hosted.topic !== GROUP_METADATA_TOPIC_NAME) return;
      this.dirty.set(hosted.partition, hosted);
      this.pump();
    });
    for (const hosted of options.replicaManager.partitions()) {
      if (hosted.topic === GROUP_METADATA_TOPIC_NAME) this.dirty.set(hosted.partition, hosted);
    }
    this.pump();
  }

  // ---------------------------------------------------------------- FindCoordinator

  /**
   * The coordinator of each group (key type 0): the leader of its partition, creating the internal
   * topic first if it does not exist yet.
   */
  async findGroupCoordinators(groupIds: readonly string[]): Promise<FindCoordinatorResult[]> {
    if (groupIds.length > 0) await this.ensureOffsetsTopic();
    return findGroupCoordinators(groupIds, this.numPartitions, (p) => this.leaderOf(p));
  }

  private leaderOf(partition: number): CoordinatorNode | null {
    const topic = this.options.metadata.topicByName(GROUP_METADATA_TOPIC_NAME);
    const p = topic?.partitions[partition];
    if (p === undefined || p.errorCode !== ErrorCode.NONE || p.leaderId < 0) return null;
    const broker = this.options.metadata.brokers().find((b) => b.nodeId === p.leaderId);
    return broker === undefined ? null : { nodeId: broker.nodeId, host: broker.host, port: broker.port };
  }

  private ensureOffsetsTopic(): Promise<void> {
    if (this.options.metadata.topicByName(GROUP_METADATA_TOPIC_NAME) !== undefined || this.closed) return Promise.resolve();
    this.creating ??= this.createOffsetsTopic().finally(() => {
      this.creating = undefined;
    });
    return withTimeout(this.creating, TOPIC_CREATION_WAIT_MS);
  }

  private async createOffsetsTopic(): Promise<void> {
    const { config, topicCreator, replicaManager, logger } = this.options;
    const result = await topicCreator.create({
      name: GROUP_METADATA_TOPIC_NAME,
      numPartitions: this.numPartitions,
      replicationFactor: config['offsets.topic.replication.factor'],
      configs: new Map([
        ['cleanup.policy', 'compact'],
        ['compression.type', 'producer'],
        ['segment.bytes', String(config['offsets.topic.segment.bytes'])],
      ]),
    });
    if (result.errorCode !== ErrorCode.NONE && result.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      logger?.warn({ errorCode: result.errorCode, reason: result.errorMessage }, `${GROUP_METADATA_TOPIC_NAME} could not be created`);
      return;
    }
    // The partitions' logs are open and leadership applied (so loading has started) once this resolves.
    await replicaManager.whenIdle();
  }

  // ---------------------------------------------------------------- group APIs

  joinGroup(request: JoinGroupRequest): Promise<JoinGroupResponse> {
    return this.delayed((token) => this.core.joinGroup(token, request)) as Promise<JoinGroupResponse>;
  }

  syncGroup(request: SyncGroupRequest): Promise<SyncGroupResponse> {
    return this.delayed((token) => this.core.syncGroup(token, request)) as Promise<SyncGroupResponse>;
  }

  offsetCommit(request: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    return this.delayed((token) => this.core.offsetCommit(token, request)) as Promise<OffsetCommitResponse>;
  }

  deleteGroups(groupIds: string[]): Promise<DeleteGroupsResponse> {
    return this.delayed((token) => this.core.deleteGroups(token, groupIds)) as Promise<DeleteGroupsResponse>;
  }

  offsetDelete(request: OffsetDeleteRequest): Promise<OffsetDeleteResponse> {
    return this.delayed((token) => this.core.offsetDelete(token, request)) as Promise<OffsetDeleteResponse>;
  }

  consumerGroupHeartbeat(request: ConsumerGroupHeartbeatRequest): Promise<ConsumerGroupHeartbeatResponse> {
    return this.delayed((token) => this.core.consumerGroupHeartbeat(token, request)) as Promise<ConsumerGroupHeartbeatResponse>;
  }

  consumerGroupDescribe(groupIds: string[]): DescribedConsumerGroup[] {
    return this.direct(() => this.core.consumerGroupDescribe(groupIds));
  }

  txnOffsetCommit(request: TxnOffsetCommitRequest): Promise<OffsetCommitResponse> {
    return this.delayed((token) => this.core.txnOffsetCommit(token, request)) as Promise<OffsetCommitResponse>;
  }

  /**
   * Writes a transaction marker to a `__consumer_offsets` partition this node coordinates and, once the
   * high watermark passes it, applies (commit) or drops (abort) the producer's transactional offsets
   * there (Kafka's GroupCoordinator.completeTransaction, which the WriteTxnMarkers path calls for this
   * topic). NONE, or the error of the write: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS (a load
   * would miss a marker written under it) or the marker's own (src/replication/txn-markers.ts).
   */
  completeTransaction(partition: number, marker: EndTransactionMarker): Promise<number> {
    const owned = this.owned.get(partition);
    if (owned === undefined) return Promise.resolve(ErrorCode.NOT_COORDINATOR);
    if (owned.state !== 'active') return Promise.resolve(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    const written = writeTxnMarker(this.options.replicaManager, GROUP_METADATA_TOPIC_NAME, partition, marker, this.options.clock.nowMs());
    if (written.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || written.errorCode === ErrorCode.TRANSACTION_COORDINATOR_FENCED) {
      return Promise.resolve(ErrorCode.NONE);
    }
    if (!('result' in written)) return Promise.resolve(written.errorCode);
    written.result.durable.catch((err: unknown) => this.onDurableFailure(owned, err));
    return new Promise((resolve) => {
      owned.pending.push({
        appendId: -1,
        endOffset: written.result.lastOffset + 1,
        onDurable: (errorCode) => {
          if (errorCode === ErrorCode.NONE) this.core.completeTransaction(partition, marker.producerId, marker.commit);
          resolve(errorCode);
        },
      });
      this.dirty.set(partition, owned.hosted);
      this.pump();
    });
  }

  heartbeat(request: HeartbeatRequest): HeartbeatResponse {
    return this.direct(() => this.core.heartbeat(request));
  }

  leaveGroup(request: LeaveGroupRequest): LeaveGroupResponse {
    return this.direct(() => this.core.leaveGroup(request));
  }

  offsetFetch(request: OffsetFetchRequest): OffsetFetchResponse {
    return this.direct(() => this.core.offsetFetch(request));
  }

  describeGroups(groupIds: string[]): DescribedGroup[] {
    return this.direct(() => this.core.describeGroups(groupIds));
  }

  listGroups(request: ListGroupsRequest): ListGroupsResponse {
    return this.direct(() => this.core.listGroups(request));
  }

  /** Read-only view of a group (tests, diagnostics). */
  inspectGroup(groupId: string): GroupView | undefined {
    return this.core.inspectGroup(groupId);
  }

  /** The `__consumer_offsets` partitions this node leads and whether they are loaded. */
  ownedPartitions(): { partition: number; status: 'loading' | 'active' }[] {
    return this.core.ownedPartitions();
  }

  /**
   * Stops the timer and gives every partition up (Kafka's coordinator shutdown resigns them all):
   * waiting JoinGroup/SyncGroup/commit requests answer NOT_COORDINATOR now. Later requests see no owned
   * partition and answer NOT_COORDINATOR too. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty.clear();
    for (const partition of [...this.owned.keys()]) this.resign(partition);
    this.pump();
  }

  // ---------------------------------------------------------------- the serial path

  private delayed(start: (token: RequestToken) => void): Promise<DelayedResponse['body']> {
    const token = this.nextToken++;
    const answer = new Promise<DelayedResponse['body']>((resolve) => this.waiting.set(token, resolve));
    start(token);
    this.pump();
    return answer;
  }

  private direct<T>(call: () => T): T {
    const result = call();
    this.pump();
    return result;
  }

  /** Performs the core's outputs and the partitions' changes until there are none left. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let round = 0; ; round++) {
        invariant(round < PUMP_ROUNDS_MAX, 'group coordinator runtime does not settle');
        const outputs = this.core.drainOutputs();
        const dirty = [...this.dirty.values()];
        this.dirty.clear();
        if (outputs.length === 0 && dirty.length === 0) break;
        for (const output of outputs) {
          if (output.kind === 'append') this.append(output.append);
          else this.respond(output.response);
        }
        for (const hosted of dirty) this.reconcile(hosted);
      }
    } finally {
      this.pumping = false;
    }
    this.scheduleTick();
  }

  private respond(response: DelayedResponse): void {
    const resolve = this.waiting.get(response.token);
    invariant(resolve !== undefined, () => `group coordinator answered unknown token ${response.token}`);
    this.waiting.delete(response.token);
    resolve(response.body);
  }

  // ---------------------------------------------------------------- ownership and loading

  /** Takes leadership changes and high-watermark moves of one partition into account. */
  private reconcile(hosted: HostedPartition): void {
    const partition = hosted.partition;
    if (this.closed || partition >= this.numPartitions) return;
    let owned = this.owned.get(partition);
    const leads = hosted.isLeader && !hosted.log.isFailed();
    if (owned !== undefined && (!leads || owned.hosted !== hosted || owned.leaderEpoch !== hosted.leaderEpoch)) {
      this.resign(partition);
      owned = undefined;
    }
    if (!leads) return;
    if (owned === undefined) return this.elect(hosted);
    this.completeDurable(owned);
  }

  private elect(hosted: HostedPartition): void {
    const owned: OwnedPartition = { hosted, leaderEpoch: hosted.leaderEpoch, state: 'loading', pending: [] };
    this.owned.set(hosted.partition, owned);
    this.core.beginLoad(hosted.partition);
    // Per partition at debug: __consumer_offsets has 50 partitions by default, each loaded at creation and
    // start-up and unloaded at shutdown; a line for each is noise to an operator (issue #27).
    this.options.logger?.debug({ partition: hosted.partition, leaderEpoch: hosted.leaderEpoch }, 'loading group coordinator partition');
    void this.load(owned);
  }

  private resign(partition: number): void {
    const owned = this.owned.get(partition);
    for (const pending of owned?.pending ?? []) pending.onDurable?.(ErrorCode.NOT_COORDINATOR);
    this.owned.delete(partition);
    this.core.unload(partition);
    this.options.logger?.debug({ partition }, 'unloaded group coordinator partition');
  }

  /** Replays the partition from its log start to its current log end, then serves its groups. */
  private async load(owned: OwnedPartition): Promise<void> {
    const { hosted } = owned;
    const partition = hosted.partition;
    const startedMs = performance.now();
    let records = 0;
    try {
      let offset = hosted.logStartOffset;
      const endOffset = hosted.logEndOffset;
      for (let reads = 0; offset < endOffset; reads++) {
        invariant(reads < LOAD_READS_MAX, 'group coordinator load does not progress');
        const result = await hosted.log.read(offset, LOAD_READ_BYTES, endOffset);
        if (this.owned.get(partition) !== owned) return;
        if (result.records.length === 0 || result.nextOffset <= offset) break;
        for (const chunk of result.records) {
          for (const batch of coordinatorBatchesOfChunk(chunk)) {
            records += batch.records.length;
            this.core.replayBatch(partition, batch);
          }
        }
        offset = result.nextOffset;
      }
      owned.state = 'active';
      this.core.completeLoad(partition);
      const loadMs = Math.round(performance.now() - startedMs);
      // A load that replayed groups or took long is worth an operator's line; an empty one is not.
      const level = records > 0 || loadMs >= SLOW_LOAD_MS ? 'info' : 'debug';
      this.options.logger?.[level]({ partition, records, loadMs }, 'loaded group coordinator partition');
    } catch (err) {
      if (this.owned.get(partition) !== owned) return;
      this.options.logger?.error({ err, partition }, 'loading group coordinator partition failed');
      this.resign(partition);
    }
    this.pump();
  }

  // ---------------------------------------------------------------- appends

  private append(append: AppendRequest): void {
    const owned = this.owned.get(append.partition);
    if (owned === undefined || owned.state !== 'active') {
      this.core.completeAppend(append.appendId, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      return;
    }
    if (append.records.length === 0) {
      owned.pending.push({ appendId: append.appendId, endOffset: 0 });
    } else {
      try {
        const batch = buildCoordinatorBatch(append.records, this.options.clock.nowMs(), append.producer);
        const result = this.options.replicaManager.appendRecordsToLeader(owned.hosted, batch);
        // A transactional batch opens the producer's transaction on this partition, as any produce does.
        if (append.producer !== undefined) {
          this.options.replicaManager.producerStateStore(owned.hosted).onAppend(readBatchHeader(batch), result.baseOffset, result.lastOffset, result.logAppendTimeMs);
        }
        owned.pending.push({ appendId: append.appendId, endOffset: result.lastOffset + 1 });
        result.durable.catch((err: unknown) => this.onDurableFailure(owned, err));
      } catch (err) {
        this.core.completeAppend(append.appendId, errorCodeOf(err));
        return;
      }
    }
    // In `none` durability mode the high watermark has already moved.
    this.dirty.set(append.partition, owned.hosted);
  }

  /** Completes, in log order, every append the high watermark has passed. */
  private completeDurable(owned: OwnedPartition): void {
    const highWatermark = owned.hosted.highWatermark;
    while (owned.pending.length > 0 && (owned.pending[0] as PendingAppend).endOffset <= highWatermark) {
      const done = owned.pending.shift() as PendingAppend;
      if (done.onDurable !== undefined) done.onDurable(ErrorCode.NONE);
      else this.core.completeAppend(done.appendId, ErrorCode.NONE);
    }
  }

  /** fsync failed: the log is failed; nothing waiting on it will become durable. */
  private onDurableFailure(owned: OwnedPartition, err: unknown): void {
    const partition = owned.hosted.partition;
    if (this.closed || this.owned.get(partition) !== owned) return;
    this.options.logger?.error({ err, partition }, 'group coordinator append failed to become durable');
    for (const pending of owned.pending.splice(0)) {
      if (pending.onDurable !== undefined) pending.onDurable(ErrorCode.KAFKA_STORAGE_ERROR);
      else this.core.completeAppend(pending.appendId, ErrorCode.KAFKA_STORAGE_ERROR);
    }
    this.resign(partition);
    this.pump();
  }

  // ---------------------------------------------------------------- time

  private scheduleTick(): void {
    if (this.closed) return;
    const deadlineMs = this.core.nextDeadlineMs();
    if (deadlineMs === this.timerDeadlineMs && this.timer !== undefined) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDeadlineMs = deadlineMs;
    if (deadlineMs === undefined) return;
    const delayMs = Math.min(Math.max(1, Math.ceil(deadlineMs - this.options.clock.monotonicMs())), TIMER_DELAY_MAX_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDeadlineMs = undefined;
      if (this.closed) return;
      this.core.tick();
      this.pump();
    }, delayMs);
    this.timer.unref();
  }
}

/** The non-internal topics of the metadata, for KIP-848 subscriptions and assignments. */
function topicsSnapshot(metadata: MetadataView): TopicsSnapshot {
  const byName = new Map<string, TopicInfo>();
  const byId = new Map<string, TopicInfo>();
  for (const t of metadata.topics()) {
    if (t.isInternal) continue;
    const info = { topicId: t.topicId, name: t.name, partitions: t.partitions.length };
    byName.set(t.name, info);
    byId.set(t.topicId, info);
  }
  return { byName, byId };
}

/** Kafka's assignor class names map to the short names (GroupCoordinatorConfig accepts both). */
function assignorNames(text: string): string[] {
  return text.split(',').map((a) => a.trim()).filter((a) => a !== '')
    .map((a) => (a.endsWith('UniformAssignor') ? 'uniform' : a.endsWith('RangeAssignor') ? 'range' : a));
}

function coreConfig(config: RunnelConfig, numPartitions: number): Partial<GroupCoordinatorConfig> {
  return {
    consumerSessionTimeoutMs: config['group.consumer.session.timeout.ms'],
    consumerHeartbeatIntervalMs: config['group.consumer.heartbeat.interval.ms'],
    consumerAssignors: assignorNames(config['group.consumer.assignors']),
    consumerMaxSize: config['group.consumer.max.size'],
    consumerMigrationPolicy: config['group.consumer.migration.policy'].toLowerCase() as ConsumerGroupMigrationPolicy,
    offsetsTopicNumPartitions: numPartitions,
    groupMinSessionTimeoutMs: config['group.min.session.timeout.ms'],
    groupMaxSessionTimeoutMs: config['group.max.session.timeout.ms'],
    groupInitialRebalanceDelayMs: config['group.initial.rebalance.delay.ms'],
    groupMaxSize: config['group.max.size'],
    offsetMetadataMaxBytes: config['offset.metadata.max.bytes'],
    offsetsRetentionMinutes: config['offsets.retention.minutes'],
    offsetsRetentionCheckIntervalMs: config['offsets.retention.check.interval.ms'],
  };
}

/** The Kafka error code a storage or batch error carries, else UNKNOWN_SERVER_ERROR. */
function errorCodeOf(err: unknown): number {
  const code = (err as { errorCode?: unknown } | null)?.errorCode;
  return typeof code === 'number' ? code : ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** Resolves when work does or after timeoutMs, whichever comes first; never rejects. */
function withTimeout(work: Promise<void>, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    work.then(() => undefined, () => undefined).finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * The IO shell around the transaction coordinator core (coordinator.ts; Kafka's TransactionStateManager
 * + TransactionMarkerChannelManager), on the same seams as the group coordinator runtime
 * (src/group/coordinator-runtime.ts): one serial path, every core call followed by `pump()`.
 *
 * - **The internal topic.** `__transaction_state` is created on the first transactional FindCoordinator,
 *   through the broker's TopicCreator, with `transaction.state.log.num.partitions` partitions,
 *   `.replication.factor` replicas, cleanup.policy=compact, min.insync.replicas = `.min.isr`,
 *   segment.bytes = `.segment.bytes`, compression none (TransactionLog's topic configs). As for groups, the
 *   request waits for the creation (at most TOPIC_CREATION_WAIT_MS).
 * - **Ownership.** The replica manager's partition listener says when this node starts or stops leading
 *   a partition of the topic or its leader epoch changes; the partition is then replayed from its log
 *   start to its log end (its ids answer COORDINATOR_LOAD_IN_PROGRESS meanwhile) with the leader epoch
 *   as coordinator epoch, or unloaded.
 * - **Appends.** One uncompressed v2 batch with one record per core append, at the leader epoch, complete
 *   once the high watermark passes it (persist before answering); a failed fsync gives the partition up.
 * - **Markers.** For each partition of an ending transaction the marker goes to the partition's leader
 *   (marker-channel.ts, Kafka's TransactionMarkerChannelManager): written here when this node leads it
 *   (src/replication/txn-markers.ts; through the group coordinator for `__consumer_offsets` partitions,
 *   which then applies or drops the transaction's offsets) and waited on until the high watermark covers
 *   it (acks=-1); sent to any other leader as WriteTxnMarkers over the inter-broker listener, one request
 *   per broker batching its partitions (broker-channels.ts). Not-leader and other retriable answers are
 *   routed again by the then-current metadata every RETRY_BACKOFF_MS for up to RETRY_WINDOW_MS; then the
 *   core retries the whole set on its next abort check. INVALID_PRODUCER_EPOCH /
 *   TRANSACTION_COORDINATOR_FENCED mean a newer marker is already there: that partition counts as done.
 *   The transaction completes only once every partition is done.
 * - **Verification for other nodes' producers.** A produce on this node for a transactional id another
 *   node coordinates asks that coordinator with AddPartitionsToTxn verify_only (`verifyElsewhere`,
 *   KIP-890 part 1; Kafka's AddPartitionsToTxnManager). Transactions v2's implicit add (`addImplicitly`,
 *   KIP-890 part 2) asks the same way without verify_only, or this node's core when it coordinates the id.
 *   Markers go out as WriteTxnMarkers v2 with the transaction's version (KIP-1228).
 * - **Time.** One unref'd timer sleeps until the core's next deadline, then `tick()`s it.
 *
 * Not implemented: compaction of the topic (load replays every record).
 */
import type { Logger } from 'pino';
import { invariant } from '../common/assert.js';
import type { Clock } from '../common/clock.js';
import type { RunnelConfig } from '../config/config.js';
import type { MetadataView } from '../broker/metadata-view.js';
import { buildCoordinatorBatch, coordinatorRecordsOfChunk } from '../group/coordinator-runtime-batch.js';
import type { GroupCoordinatorRuntime } from '../group/coordinator-runtime.js';
import { ErrorCode } from '../protocol/errors.js';
import type { EndTransactionMarker } from '../protocol/control-batch.js';
import type { DelayedProducePurgatory } from '../replication/delayed-produce.js';
import type { LocalReplicaManager } from '../replication/replica-manager.js';
import type { TopicCreator } from '../controller/topic-creator.js';
import { writeTxnMarker } from '../replication/txn-markers.js';
import { ApiKey } from '../protocol/generated/index.js';
import { BrokerChannels } from './broker-channels.js';
import { TxnMarkerChannel, WRITE_TXN_MARKERS_VERSION, type MarkerRoute } from './marker-channel.js';
import type { HostedPartition } from '../replication/types.js';
import {
  GROUP_METADATA_TOPIC,
  TxnCoordinatorCore,
  TRANSACTION_VERSION_2,
  type DescribedTransaction,
  type EndTxnRequest,
  type EndTxnResult,
  type InitProducerIdRequest,
  type InitProducerIdResult,
  type ListedTransaction,
  type TopicPartitionRef,
  type TxnIdentity,
  type TxnOutput,
} from './coordinator.js';

/** Kafka's Topic.TRANSACTION_STATE_TOPIC_NAME. */
export const TRANSACTION_STATE_TOPIC_NAME = '__transaction_state';
export const TOPIC_CREATION_WAIT_MS = 10_000;
const LOAD_READ_BYTES = 1024 * 1024;
const LOAD_READS_MAX = 10_000_000;
const PUMP_ROUNDS_MAX = 1_000_000;
const TIMER_DELAY_MAX_MS = 2_147_483_647;
/** AddPartitionsToTxn version for verify_only (v5: TRANSACTION_ABORTABLE answers, KIP-890). */
const VERIFY_VERSION = 5;
/** Kafka's AddPartitionsToTxnManager uses request.timeout.ms; a produce should not wait that long. */
const VERIFY_TIMEOUT_MS = 10_000;
/** How long one marker waits for its partition's high watermark (Kafka: request.timeout.ms). */
const MARKER_WRITE_TIMEOUT_MS = 30_000;

export interface TxnCoordinatorRuntimeOptions {
  readonly nodeId: number;
  readonly config: RunnelConfig;
  readonly clock: Clock;
  readonly metadata: MetadataView;
  readonly replicaManager: LocalReplicaManager;
  readonly delayedProduce: DelayedProducePurgatory;
  readonly topicCreator: TopicCreator;
  readonly groupCoordinator: GroupCoordinatorRuntime;
  /** A fresh producer id from the node's block (InitProducerId for a new transactional id). */
  readonly generateProducerId: () => Promise<number>;
  /** The cluster's finalized transaction.version (the metadata image's FeatureLevelRecord), read at each write. */
  readonly transactionVersionLevel: () => number;
  readonly logger?: Logger;
}

interface PendingAppend {
  readonly appendId: number;
  readonly endOffset: number;
}

interface OwnedPartition {
  readonly hosted: HostedPartition;
  readonly leaderEpoch: number;
  state: 'loading' | 'active';
  readonly pending: PendingAppend[];
}

export interface FindTransactionCoordinatorResult {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

export class TxnCoordinatorRuntime {
  readonly numPartitions: number;
  private readonly core: TxnCoordinatorCore;
  private readonly options: TxnCoordinatorRuntimeOptions;
  private readonly owned = new Map<number, OwnedPartition>();
  private readonly dirty = new Map<number, HostedPartition>();
  private readonly unsubscribe: () => void;
  private pumping = false;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDeadlineMs: number | undefined;
  private creating: Promise<void> | undefined;
  /** WriteTxnMarkers and verification each have their own connections, as Kafka's two send threads do:
   * a marker request waits for replication (up to 30 s) and must not hold a produce's verification. */
  private readonly markerChannels: BrokerChannels;
  private readonly verifyChannels: BrokerChannels;
  private readonly markerChannel: TxnMarkerChannel;
  /** Per transactional id, the last verification answer handed out (verifyElsewhere's ordering). */
  private readonly verifyTails = new Map<string, Promise<void>>();

  constructor(options: TxnCoordinatorRuntimeOptions) {
    this.options = options;
    const { config } = options;
    const existing = options.metadata.topicByName(TRANSACTION_STATE_TOPIC_NAME);
    this.numPartitions = existing?.partitions.length ?? config['transaction.state.log.num.partitions'];
    this.core = new TxnCoordinatorCore({
      clock: options.clock,
      transactionVersionLevel: options.transactionVersionLevel,
      config: {
        transactionStateLogNumPartitions: this.numPartitions,
        transactionMaxTimeoutMs: config['transaction.max.timeout.ms'],
        transactionalIdExpirationMs: config['transactional.id.expiration.ms'],
        abortTimedOutTransactionsIntervalMs: config['transaction.abort.timed.out.transaction.cleanup.interval.ms'],
        removeExpiredTransactionalIdsIntervalMs: config['transaction.remove.expired.transaction.cleanup.interval.ms'],
        offsetsTopicNumPartitions: options.groupCoordinator.numPartitions,
      },
    });
    const channelOptions = {
      nodeId: options.nodeId,
      endpoint: (brokerId: number) => options.metadata.brokers().find((b) => b.nodeId === brokerId),
      connectTimeoutMs: config['replica.socket.timeout.ms'],
      logger: options.logger,
    };
    this.markerChannels = new BrokerChannels(channelOptions);
    this.verifyChannels = new BrokerChannels(channelOptions);
    this.markerChannel = new TxnMarkerChannel({
      nodeId: options.nodeId,
      route: (tp) => this.routeMarker(tp),
      writeLocal: (tp, marker) => this.writeLocalMarker(tp, marker),
      send: (brokerId, request, timeoutMs) => this.markerChannels.send(brokerId, ApiKey.WriteTxnMarkers, WRITE_TXN_MARKERS_VERSION, request, timeoutMs),
      monotonicMs: () => options.clock.monotonicMs(),
      onRefused: (tp, errorCode) => options.logger?.warn({ topic: tp.topic, partition: tp.partition, errorCode }, 'transaction marker refused'),
      onResult: (tp, destination, errorCode) => options.logger?.debug({ nodeId: options.nodeId, topic: tp.topic, partition: tp.partition, destination, errorCode }, 'transaction marker answer'),
    });
    this.unsubscribe = options.replicaManager.onPartitionAdvanced((hosted) => {
      if (hosted.topic !== TRANSACTION_STATE_TOPIC_NAME) return;
      this.dirty.set(hosted.partition, hosted);
      this.pump();
    });
    for (const hosted of options.replicaManager.partitions()) {
      if (hosted.topic === TRANSACTION_STATE_TOPIC_NAME) this.dirty.set(hosted.partition, hosted);
    }
    this.pump();
  }

  // ---------------------------------------------------------------- FindCoordinator

  async findCoordinators(transactionalIds: readonly string[]): Promise<FindTransactionCoordinatorResult[]> {
    if (transactionalIds.length > 0) await this.ensureStateTopic();
    return transactionalIds.map((key) => {
      const leader = key === '' ? null : this.leaderOf(this.core.partitionFor(key));
      if (key === '') return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Transactional id must not be empty' };
      if (leader === null) return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'The coordinator is not available.' };
      return { key, ...leader, errorCode: ErrorCode.NONE, errorMessage: null };
    });
  }

  private leaderOf(partition: number): { nodeId: number; host: string; port: number } | null {
    const topic = this.options.metadata.topicByName(TRANSACTION_STATE_TOPIC_NAME);
    const p = topic?.partitions[partition];
    if (p === undefined || p.errorCode !== ErrorCode.NONE || p.leaderId < 0) return null;
    const broker = this.options.metadata.brokers().find((b) => b.nodeId === p.leaderId);
    return broker === undefined ? null : { nodeId: broker.nodeId, host: broker.host, port: broker.port };
  }

  private ensureStateTopic(): Promise<void> {
    if (this.options.metadata.topicByName(TRANSACTION_STATE_TOPIC_NAME) !== undefined || this.closed) return Promise.resolve();
    this.creating ??= this.createStateTopic().finally(() => {
      this.creating = undefined;
    });
    return withTimeout(this.creating, TOPIC_CREATION_WAIT_MS);
  }

  private async createStateTopic(): Promise<void> {
    const { config, topicCreator, replicaManager, logger } = this.options;
    const result = await topicCreator.create({
      name: TRANSACTION_STATE_TOPIC_NAME,
      numPartitions: this.numPartitions,
      replicationFactor: config['transaction.state.log.replication.factor'],
      configs: new Map([
        ['cleanup.policy', 'compact'],
        ['compression.type', 'uncompressed'],
        ['min.insync.replicas', String(config['transaction.state.log.min.isr'])],
        ['segment.bytes', String(config['transaction.state.log.segment.bytes'])],
        ['unclean.leader.election.enable', 'false'],
      ]),
    });
    if (result.errorCode !== ErrorCode.NONE && result.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      logger?.warn({ errorCode: result.errorCode, reason: result.errorMessage }, `${TRANSACTION_STATE_TOPIC_NAME} could not be created`);
      return;
    }
    await replicaManager.whenIdle();
  }

  // ---------------------------------------------------------------- transaction APIs

  async initProducerId(request: InitProducerIdRequest): Promise<InitProducerIdResult> {
    let fresh: number | undefined;
    if (this.core.needsNewProducerId(request.transactionalId) && request.transactionalId !== '') {
      try {
        fresh = await this.options.generateProducerId();
      } catch (err) {
        this.options.logger?.warn({ err }, 'no producer id block available');
        return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, producerId: -1, producerEpoch: -1 };
      }
    }
    return this.answer<InitProducerIdResult>((respond) => this.core.initProducerId(request, fresh, respond));
  }

  /** `clientTransactionVersion` 2 for an implicit add (AddPartitionsToTxn v4+ without verify_only, KIP-890 part 2). */
  addPartitions(identity: TxnIdentity, partitions: readonly TopicPartitionRef[], clientTransactionVersion = 0): Promise<number> {
    return this.answer<number>((respond) => this.core.addPartitions(identity, partitions, respond, clientTransactionVersion));
  }

  addOffsets(identity: TxnIdentity, groupId: string): Promise<number> {
    return this.answer<number>((respond) => this.core.addOffsets(identity, groupId, respond));
  }

  endTxn(identity: TxnIdentity, commit: boolean): Promise<number> {
    return this.answer<number>((respond) => this.core.endTxn(identity, commit, respond));
  }

  /** EndTxn at any version; a transactions v2 end at an exhausted epoch gets a fresh producer id first. */
  async endTransaction(request: Omit<EndTxnRequest, 'freshProducerId'>): Promise<EndTxnResult> {
    let freshProducerId: number | undefined;
    if (this.core.needsProducerIdToEnd(request.transactionalId, request.clientTransactionVersion)) {
      try {
        freshProducerId = await this.options.generateProducerId();
      } catch (err) {
        this.options.logger?.warn({ err }, 'no producer id block available');
        return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, producerId: -1, producerEpoch: -1 };
      }
    }
    return this.answer<EndTxnResult>((respond) => this.core.endTransaction({ ...request, freshProducerId }, respond));
  }

  /** KIP-890 part 1: is each partition in the producer's ongoing transaction? Synchronous (no IO). */
  verifyPartitions(identity: TxnIdentity, partitions: readonly TopicPartitionRef[]): number[] {
    const result = this.core.verifyPartitions(identity, partitions);
    this.pump();
    return result;
  }

  /**
   * KIP-890 part 1 for an id another node coordinates (Kafka's AddPartitionsToTxnManager): one
   * AddPartitionsToTxn v5 verify_only to the coordinator; per partition its answer, or, when it cannot be
   * asked (no leader, no connection, timeout), COORDINATOR_NOT_AVAILABLE. Answers for one id are
   * delivered in the order the requests came, so the produces waiting on them append in arrival order.
   */
  verifyElsewhere(identity: TxnIdentity, partitions: readonly TopicPartitionRef[]): Promise<number[]> {
    return this.inOrder(identity, this.askCoordinator(identity, partitions, true));
  }

  /**
   * KIP-890 part 2's implicit add (Produce v12+, TxnOffsetCommit v5+; Kafka's AddPartitionsToTxnManager
   * with the addPartition operation): the partitions join the producer's transaction — through this
   * node's coordinator when it coordinates the id, else with AddPartitionsToTxn v5 without verify_only
   * to the coordinating node. Per partition its answer (COORDINATOR_NOT_AVAILABLE when it cannot be
   * asked). The adds of one id start one after the other (a producer's in-flight requests would
   * otherwise find each other's add pending and be told CONCURRENT_TRANSACTIONS), and are answered in
   * request order.
   */
  addImplicitly(identity: TxnIdentity, partitions: readonly TopicPartitionRef[]): Promise<number[]> {
    const previous = this.verifyTails.get(identity.transactionalId) ?? Promise.resolve();
    return this.inOrder(identity, previous.then(() => this.askCoordinator(identity, partitions, false)));
  }

  private inOrder(identity: TxnIdentity, asked: Promise<number[]>): Promise<number[]> {
    const previous = this.verifyTails.get(identity.transactionalId);
    const answer = previous === undefined ? asked : Promise.all([previous, asked]).then(([, errors]) => errors);
    const tail = answer.then(() => undefined);
    this.verifyTails.set(identity.transactionalId, tail);
    void tail.then(() => {
      if (this.verifyTails.get(identity.transactionalId) === tail) this.verifyTails.delete(identity.transactionalId);
    });
    return answer;
  }

  private async askCoordinator(identity: TxnIdentity, partitions: readonly TopicPartitionRef[], verifyOnly: boolean): Promise<number[]> {
    const unavailable = (): number[] => partitions.map(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const leader = this.leaderOf(this.core.partitionFor(identity.transactionalId));
    if (leader === null || this.closed) return unavailable();
    if (leader.nodeId === this.options.nodeId) {
      if (verifyOnly) return this.verifyPartitions(identity, partitions);
      const errorCode = await this.addPartitions(identity, partitions, TRANSACTION_VERSION_2);
      return partitions.map(() => errorCode);
    }
    const topics = new Map<string, number[]>();
    for (const tp of partitions) {
      let ids = topics.get(tp.topic);
      if (ids === undefined) topics.set(tp.topic, (ids = []));
      ids.push(tp.partition);
    }
    try {
      const response = await this.verifyChannels.send(leader.nodeId, ApiKey.AddPartitionsToTxn, VERIFY_VERSION, {
        transactions: [{
          transactionalId: identity.transactionalId, producerId: BigInt(identity.producerId), producerEpoch: identity.producerEpoch,
          verifyOnly, topics: [...topics].map(([name, ids]) => ({ name, partitions: ids })),
        }],
        v3AndBelowTransactionalId: '', v3AndBelowProducerId: 0n, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [],
      }, VERIFY_TIMEOUT_MS);
      this.options.logger?.debug({ nodeId: this.options.nodeId, coordinator: leader.nodeId, response }, 'transaction verification answer');
      if (response.errorCode !== ErrorCode.NONE) return partitions.map(() => response.errorCode);
      const answers = new Map<string, number>();
      for (const t of response.resultsByTransaction) {
        for (const topic of t.topicResults) {
          for (const p of topic.resultsByPartition) answers.set(`${topic.name}\u0000${p.partitionIndex}`, p.partitionErrorCode);
        }
      }
      return partitions.map((tp) => answers.get(`${tp.topic}\u0000${tp.partition}`) ?? ErrorCode.COORDINATOR_NOT_AVAILABLE);
    } catch (err) {
      this.options.logger?.debug({ err, coordinator: leader.nodeId }, 'transaction verification with the coordinator failed');
      return unavailable();
    }
  }

  /** True when this node coordinates the id now. */
  coordinates(transactionalId: string): boolean {
    return this.owned.get(this.core.partitionFor(transactionalId))?.state === 'active';
  }

  /** True when another live node leads the id's partition (the produce path then asks it: verifyElsewhere). */
  coordinatedElsewhere(transactionalId: string): boolean {
    const leader = this.leaderOf(this.core.partitionFor(transactionalId));
    return leader !== null && leader.nodeId !== this.options.nodeId;
  }

  describe(transactionalIds: readonly string[]): DescribedTransaction[] {
    const result = this.core.describe(transactionalIds);
    this.pump();
    return result;
  }

  list(stateFilters: readonly string[], producerIdFilters: readonly number[], durationFilterMs: number): ReturnType<TxnCoordinatorCore['list']> {
    const result = this.core.list(stateFilters, producerIdFilters, durationFilterMs);
    this.pump();
    return result;
  }

  inspect(transactionalId: string): ReturnType<TxnCoordinatorCore['inspect']> {
    return this.core.inspect(transactionalId);
  }

  ownedPartitions(): ReturnType<TxnCoordinatorCore['ownedPartitions']> {
    return this.core.ownedPartitions();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty.clear();
    this.markerChannel.close();
    this.markerChannels.close();
    this.verifyChannels.close();
    for (const partition of [...this.owned.keys()]) this.resign(partition);
    this.pump();
  }

  // ---------------------------------------------------------------- the serial path

  private answer<T>(start: (respond: (result: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve) => {
      start(resolve);
      this.pump();
    });
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let round = 0; ; round++) {
        invariant(round < PUMP_ROUNDS_MAX, 'transaction coordinator runtime does not settle');
        const outputs = this.core.drainOutputs();
        const dirty = [...this.dirty.values()];
        this.dirty.clear();
        if (outputs.length === 0 && dirty.length === 0) break;
        for (const output of outputs) this.perform(output);
        for (const hosted of dirty) this.reconcile(hosted);
      }
    } finally {
      this.pumping = false;
    }
    this.scheduleTick();
  }

  private perform(output: TxnOutput): void {
    if (output.kind === 'append') this.append(output);
    else void this.writeMarkers(output);
  }

  // ---------------------------------------------------------------- ownership and loading

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
    this.core.beginLoad(hosted.partition, hosted.leaderEpoch);
    void this.load(owned);
  }

  private resign(partition: number): void {
    this.owned.delete(partition);
    this.core.unload(partition);
  }

  private async load(owned: OwnedPartition): Promise<void> {
    const { hosted } = owned;
    const partition = hosted.partition;
    try {
      let offset = hosted.logStartOffset;
      const endOffset = hosted.logEndOffset;
      for (let reads = 0; offset < endOffset; reads++) {
        invariant(reads < LOAD_READS_MAX, 'transaction coordinator load does not progress');
        const result = await hosted.log.read(offset, LOAD_READ_BYTES, endOffset);
        if (this.owned.get(partition) !== owned) return;
        if (result.records.length === 0 || result.nextOffset <= offset) break;
        for (const chunk of result.records) {
          for (const record of coordinatorRecordsOfChunk(chunk)) this.core.replay(partition, record.key, record.value);
        }
        offset = result.nextOffset;
      }
      owned.state = 'active';
      this.core.completeLoad(partition);
      this.options.logger?.info({ partition, coordinatorEpoch: owned.leaderEpoch }, 'loaded transaction coordinator partition');
    } catch (err) {
      if (this.owned.get(partition) !== owned) return;
      this.options.logger?.error({ err, partition }, 'loading transaction coordinator partition failed');
      this.resign(partition);
    }
    this.pump();
  }

  // ---------------------------------------------------------------- appends

  private append(output: Extract<TxnOutput, { kind: 'append' }>): void {
    const owned = this.owned.get(output.partition);
    if (owned === undefined || owned.state !== 'active') {
      this.core.completeAppend(output.appendId, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      return;
    }
    try {
      const batch = buildCoordinatorBatch([{ key: output.key, value: output.value }], this.options.clock.nowMs());
      const result = this.options.replicaManager.appendRecordsToLeader(owned.hosted, batch);
      owned.pending.push({ appendId: output.appendId, endOffset: result.lastOffset + 1 });
      result.durable.catch((err: unknown) => this.onDurableFailure(owned, err));
    } catch (err) {
      this.core.completeAppend(output.appendId, errorCodeOf(err));
      return;
    }
    this.dirty.set(output.partition, owned.hosted);
  }

  private completeDurable(owned: OwnedPartition): void {
    const highWatermark = owned.hosted.highWatermark;
    while (owned.pending.length > 0 && (owned.pending[0] as PendingAppend).endOffset <= highWatermark) {
      const done = owned.pending.shift() as PendingAppend;
      this.core.completeAppend(done.appendId, ErrorCode.NONE);
    }
  }

  private onDurableFailure(owned: OwnedPartition, err: unknown): void {
    const partition = owned.hosted.partition;
    if (this.closed || this.owned.get(partition) !== owned) return;
    this.options.logger?.error({ err, partition }, 'transaction state append failed to become durable');
    for (const pending of owned.pending.splice(0)) this.core.completeAppend(pending.appendId, ErrorCode.KAFKA_STORAGE_ERROR);
    this.resign(partition);
    this.pump();
  }

  // ---------------------------------------------------------------- markers

  private async writeMarkers(output: Extract<TxnOutput, { kind: 'markers' }>): Promise<void> {
    const marker: EndTransactionMarker = {
      producerId: output.producerId, producerEpoch: output.producerEpoch, coordinatorEpoch: output.coordinatorEpoch, commit: output.commit,
      transactionVersion: output.transactionVersion,
    };
    const written = await this.markerChannel.write(marker, output.partitions, () => !this.closed && this.core.markersPending(output.markerId));
    if (this.closed) return;
    if (written) this.core.completeMarkers(output.markerId);
    else {
      this.options.logger?.warn({ transactionalId: output.transactionalId }, 'transaction markers not all written; retrying later');
      this.core.failMarkers(output.markerId);
    }
    this.pump();
  }

  /** Where a partition's marker goes: its leader by the metadata now (marker-channel.ts). */
  private routeMarker(tp: TopicPartitionRef): MarkerRoute {
    const topic = this.options.metadata.topicByName(tp.topic);
    if (topic === undefined) return 'gone';
    const partition = topic.partitions[tp.partition];
    if (partition === undefined) return 'gone';
    return partition.leaderId;
  }

  /** One attempt on this node: NONE once the marker is under the partition's high watermark. */
  private async writeLocalMarker(tp: TopicPartitionRef, marker: EndTransactionMarker): Promise<number> {
    const { replicaManager, delayedProduce, groupCoordinator, clock } = this.options;
    if (tp.topic === GROUP_METADATA_TOPIC) return groupCoordinator.completeTransaction(tp.partition, marker);
    const written = writeTxnMarker(replicaManager, tp.topic, tp.partition, marker, clock.nowMs());
    if (written.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || written.errorCode === ErrorCode.TRANSACTION_COORDINATOR_FENCED) return ErrorCode.NONE;
    if (!('result' in written)) return written.errorCode;
    const [errorCode] = await delayedProduce.await([{
      partition: written.partition, requiredOffset: written.result.lastOffset + 1, minInsyncReplicas: replicaManager.minInsyncReplicas(tp.topic),
    }], MARKER_WRITE_TIMEOUT_MS);
    return errorCode ?? ErrorCode.REQUEST_TIMED_OUT;
  }

  // ---------------------------------------------------------------- time

  private scheduleTick(): void {
    if (this.closed) return;
    const deadlineMs = this.core.nextDeadlineMs();
    if (deadlineMs === this.timerDeadlineMs && this.timer !== undefined) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDeadlineMs = deadlineMs;
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

function errorCodeOf(err: unknown): number {
  const code = (err as { errorCode?: unknown } | null)?.errorCode;
  return typeof code === 'number' ? code : ErrorCode.UNKNOWN_SERVER_ERROR;
}

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

/**
 * The replica manager's contract (DESIGN §2, §3): the one place where a partition's leadership, leader
 * epoch, ISR and high watermark come from. Produce, Fetch, ListOffsets, OffsetForLeaderEpoch,
 * DeleteRecords and the group coordinator read partitions only through it. On a single node every
 * partition is "leader = self, ISR = {self}"; the cluster work plugs followers and ISR changes in here.
 */
import type { RecordBatchHeader } from '../protocol/record-batch.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { FollowerFetchCheck } from './partition-replication.js';
import type { VerificationGuard } from './producer-state.js';

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A hosted partition: what this node knows of it right now. Owned by the replica manager. */
export interface HostedPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly log: PartitionLog;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly replicas: readonly number[];
  /** True when this node leads the partition. */
  readonly isLeader: boolean;
  /** Consumers see offsets below it. Single node: the durable log end (fsync) or the log end (none). */
  readonly highWatermark: number;
  /**
   * Where this node's leader epoch starts in its log (-1 when not leader). Until the HW reaches it, a
   * new leader's HW may be below one consumers already saw: consumers get OFFSET_NOT_AVAILABLE.
   */
  readonly leaderEpochStartOffset: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /**
   * Consumers at read_committed see offsets below it: the high watermark held back by the first offset
   * of the oldest open (or not yet replicated) transaction (KIP-98).
   */
  readonly lastStableOffset: number;
  /**
   * Aborted transactions a read_committed fetch of [fetchOffset, upperBoundOffset) reports (KIP-98), read
   * from the log's `.txnindex` files.
   */
  abortedTransactions(fetchOffset: number, upperBoundOffset: number): Promise<readonly AbortedTransaction[]>;
}

/** FetchResponse's AbortedTransaction: the consumer skips the producer's records from firstOffset to its abort marker. */
export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
}

/** Outcome of looking a partition up for a client request. errorCode is a Kafka error code. */
export type PartitionLookup =
  | { readonly ok: true; readonly partition: HostedPartition }
  | { readonly ok: false; readonly errorCode: number };

export interface ReplicaManager {
  /** Hosted partition by name, or undefined if this node has no replica of it. */
  partition(topic: string, partition: number): HostedPartition | undefined;
  partitionByTopicId(topicId: string, partition: number): HostedPartition | undefined;
  /**
   * The partition if this node leads it at `currentLeaderEpoch` (-1: no check), else the error Kafka
   * returns: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH,
   * UNKNOWN_LEADER_EPOCH (KIP-320).
   */
  leaderPartition(topic: string, partition: number, currentLeaderEpoch: number): PartitionLookup;
  /**
   * The produce hook: called (synchronously, after the append or the high-watermark move) whenever
   * a partition's log end or high watermark advances. Long-polling fetches and follower streams park
   * on it. Returns an unsubscribe function.
   */
  onPartitionAdvanced(listener: (partition: HostedPartition) => void): () => void;
  /**
   * KIP-392 (ReplicaManager.findPreferredReadReplica + RackAwareReplicaSelector): with
   * replica.selector.class set to the rack-aware selector, an ISR follower in clientRack holding
   * fetchOffset (the most caught up), unless the leader is in that rack; -1 for "the leader".
   */
  preferredReadReplica(partition: HostedPartition, clientRack: string, fetchOffset: number): number;
  /** A follower fetch of a led partition, before reading: unknown replica, KIP-595 divergence. */
  checkFollowerFetch(partition: HostedPartition, replicaId: number, fetchOffset: number, lastFetchedEpoch: number, currentLeaderEpoch: number): FollowerFetchCheck;
  /** A follower fetched at fetchOffset (its acknowledged end) when the leader's log ended at leaderLogEndOffset. */
  recordFollowerFetch(partition: HostedPartition, replicaId: number, fetchOffset: number, leaderLogEndOffset: number, brokerEpoch?: number): void;
}

/**
 * What the idempotent-producer state of one partition answers for a batch with producerId ≥ 0
 * (src/replication/producer-state.ts: ProducerStateManager; DESIGN §6). The Produce handler asks before
 * appending and reports every append after it.
 */
export type ProducerBatchCheck =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly baseOffset: number; readonly lastOffset: number; readonly logAppendTimeMs: number }
  | { readonly kind: 'error'; readonly errorCode: number; readonly errorMessage?: string };

export interface PartitionProducerState {
  checkBatch(header: RecordBatchHeader): ProducerBatchCheck;
  onAppend(header: RecordBatchHeader, baseOffset: number, lastOffset: number, logAppendTimeMs: number): void;
  /** KIP-890: the producer already has a transaction open on this partition at this epoch. */
  hasOngoingTransaction(producerId: number, producerEpoch: number): boolean;
  /** KIP-890: a verification with a remote coordinator starts; a marker for the producer voids it. */
  beginVerification(producerId: number, producerEpoch: number): VerificationGuard;
  verificationHolds(guard: VerificationGuard): boolean;
}

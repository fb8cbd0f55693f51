/** A fake ReplicaManager over real PartitionLogs, for the fetch read and purgatory tests. */
import { ErrorCode } from '../../src/protocol/errors.js';
import type { AbortedTransaction, HostedPartition, PartitionLookup, ReplicaManager } from '../../src/replication/types.js';
import type { FollowerFetchCheck } from '../../src/replication/partition-replication.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';

export class FakePartition implements HostedPartition {
  leaderId = 1;
  leaderEpoch = 0;
  isr: readonly number[] = [1];
  replicas: readonly number[] = [1];
  hosted = true;
  leaderEpochStartOffset = 0;

  constructor(readonly topic: string, readonly topicId: string, readonly partition: number, readonly log: PartitionLog) {}

  get isLeader(): boolean {
    return this.hosted && this.leaderId === 1;
  }

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
    return this.log.highWatermark;
  }

  async abortedTransactions(): Promise<readonly AbortedTransaction[]> {
    return [];
  }
}

export class FakeReplicaManager implements ReplicaManager {
  private readonly partitions = new Map<string, FakePartition>();
  private readonly listeners = new Set<(partition: HostedPartition) => void>();

  add(partition: FakePartition): FakePartition {
    this.partitions.set(`${partition.topic}/${partition.partition}`, partition);
    return partition;
  }

  drop(partition: FakePartition): void {
    partition.hosted = false;
    this.partitions.delete(`${partition.topic}/${partition.partition}`);
    this.publish(partition);
  }

  partition(topic: string, partition: number): HostedPartition | undefined {
    return this.partitions.get(`${topic}/${partition}`);
  }

  partitionByTopicId(topicId: string, partition: number): HostedPartition | undefined {
    for (const p of this.partitions.values()) if (p.topicId === topicId && p.partition === partition) return p;
    return undefined;
  }

  leaderPartition(topic: string, partition: number, currentLeaderEpoch: number): PartitionLookup {
    const p = this.partitions.get(`${topic}/${partition}`);
    if (p === undefined) return { ok: false, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < p.leaderEpoch) return { ok: false, errorCode: ErrorCode.FENCED_LEADER_EPOCH };
    if (currentLeaderEpoch > p.leaderEpoch) return { ok: false, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH };
    if (!p.isLeader) return { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    return { ok: true, partition: p };
  }

  /** The fake has no followers: every replica is one the partition does not know. */
  checkFollowerFetch(_partition: HostedPartition, _replicaId: number, _fetchOffset: number, _lastFetchedEpoch: number, currentLeaderEpoch: number): FollowerFetchCheck {
    return { kind: 'error', errorCode: currentLeaderEpoch >= 0 ? 'UNKNOWN_LEADER_EPOCH' : 'NOT_LEADER_OR_FOLLOWER' };
  }

  recordFollowerFetch(): void {}

  preferredReadReplica(): number {
    return -1;
  }

  onPartitionAdvanced(listener: (partition: HostedPartition) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Appends a batch, optionally moving the high watermark to the log end; publishes either way. */
  append(partition: FakePartition, batch: Buffer, advanceHighWatermark = true): void {
    partition.log.append(batch, partition.leaderEpoch);
    if (advanceHighWatermark) partition.log.updateHighWatermark(partition.log.logEndOffset);
    this.publish(partition);
  }

  publish(partition: FakePartition): void {
    for (const listener of this.listeners) listener(partition);
  }
}

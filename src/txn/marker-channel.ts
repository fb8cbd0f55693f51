/**
 * Writing one transaction's markers to every partition of it, wherever the partitions are led (Kafka's
 * TransactionMarkerChannelManager + TransactionMarkerRequestCompletionHandler, KIP-98).
 *
 * Each partition is routed by the current metadata: a topic that no longer exists is skipped (Kafka's
 * channel drops markers of deleted topics); a partition this node leads is written locally
 * (`writeLocal`: the same path as this node's WriteTxnMarkers handler); one led by another broker is
 * queued for that broker, and each broker's queue goes out as ONE WriteTxnMarkers request carrying every
 * queued marker and partition (drainQueuedTransactionMarkers), at most REQUEST_PARTITIONS_MAX partitions
 * a request; a partition with no leader waits. The answers, per partition (the completion handler):
 * - NONE: written (and replicated: the leader answers once its high watermark covers the marker).
 * - INVALID_PRODUCER_EPOCH / TRANSACTION_COORDINATOR_FENCED: a newer producer epoch or coordinator
 *   already wrote there. Kafka then stops sending this transaction's markers (a newer coordinator owns
 *   it); here the partition counts as done, and whether the transaction may complete is the core's call
 *   (its append of the Complete* state fails once this node no longer leads the state partition).
 * - NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS(_AFTER_APPEND),
 *   REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR, and a lost connection (NETWORK_EXCEPTION): routed again after
 *   RETRY_BACKOFF_MS, by then-current metadata (the leader may have moved).
 * - anything else: refused; the transaction's write fails.
 * A write completes with true when every partition is done, with false when one is refused, when the
 * transaction stops being current (`isCurrent`: the coordinator lost the partition, or closed) or after
 * RETRY_WINDOW_MS; the coordinator core then retries the whole set later (its abort-check interval).
 */
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { WriteTxnMarkersRequest, WriteTxnMarkersResponse } from '../protocol/generated/write-txn-markers.js';
import type { EndTransactionMarker } from '../protocol/control-batch.js';
import type { TopicPartitionRef } from './coordinator.js';

export const RETRY_BACKOFF_MS = 100;
/** How long one write keeps retrying before the core takes over (Kafka retries until the epoch changes). */
export const RETRY_WINDOW_MS = 30_000;
/** Partitions in one WriteTxnMarkers request (bounds the frame; Kafka sends the whole queue). */
export const REQUEST_PARTITIONS_MAX = 10_000;
/** WriteTxnMarkers v1 (flexible): what Kafka 2.8+ brokers serve and send. */
/** v2 carries each marker's transaction version (KIP-1228); every Runnel node serves it. */
export const WRITE_TXN_MARKERS_VERSION = 2;
/** A leader waits up to its request timeout for the markers' replication; the request gets headroom. */
const REQUEST_TIMEOUT_MS = 35_000;

/** Where a partition is written: 'gone' when its topic no longer exists, -1 when it has no leader now. */
export type MarkerRoute = number | 'gone';

export interface TxnMarkerChannelOptions {
  readonly nodeId: number;
  readonly route: (tp: TopicPartitionRef) => MarkerRoute;
  /** Writes the marker on this node (it leads the partition): NONE once replicated, else an error code. */
  readonly writeLocal: (tp: TopicPartitionRef, marker: EndTransactionMarker) => Promise<number>;
  readonly send: (brokerId: number, request: WriteTxnMarkersRequest, timeoutMs: number) => Promise<WriteTxnMarkersResponse>;
  readonly monotonicMs: () => number;
  readonly onRefused?: (tp: TopicPartitionRef, errorCode: number) => void;
  /** Every answer (diagnostics): the partition, where it was written ('local' or a broker id), the code. */
  readonly onResult?: (tp: TopicPartitionRef, destination: number | 'local', errorCode: number) => void;
}

interface MarkerWrite {
  readonly marker: EndTransactionMarker;
  readonly isCurrent: () => boolean;
  readonly deadlineMs: number;
  remaining: number;
  settled: boolean;
  readonly resolve: (ok: boolean) => void;
}

interface QueuedPartition {
  readonly write: MarkerWrite;
  readonly tp: TopicPartitionRef;
}

export function isRetriableMarkerError(errorCode: number): boolean {
  switch (errorCode) {
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.KAFKA_STORAGE_ERROR:
    case ErrorCode.NETWORK_EXCEPTION:
      return true;
    default:
      return false;
  }
}

export class TxnMarkerChannel {
  private readonly queues = new Map<number, QueuedPartition[]>();
  private readonly sending = new Set<number>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private closed = false;

  constructor(private readonly options: TxnMarkerChannelOptions) {}

  /** Resolves true once the marker is written on every partition (see the header). */
  write(marker: EndTransactionMarker, partitions: readonly TopicPartitionRef[], isCurrent: () => boolean): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const write: MarkerWrite = {
        marker, isCurrent, deadlineMs: this.options.monotonicMs() + RETRY_WINDOW_MS, remaining: partitions.length, settled: false, resolve,
      };
      if (partitions.length === 0) return this.settle(write, true);
      for (const tp of partitions) this.route({ write, tp });
    });
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const queue of this.queues.values()) for (const queued of queue.splice(0)) this.settle(queued.write, false);
  }

  private route(queued: QueuedPartition): void {
    const { write, tp } = queued;
    if (write.settled) return;
    if (this.closed || !write.isCurrent()) return this.settle(write, false);
    const destination = this.options.route(tp);
    if (destination === 'gone') return this.done(write);
    if (destination < 0) return this.retryLater(queued);
    if (destination === this.options.nodeId) {
      void this.options.writeLocal(tp, write.marker).then(
        (errorCode) => this.onResult(queued, errorCode, 'local'),
        () => this.onResult(queued, ErrorCode.UNKNOWN_SERVER_ERROR, 'local'),
      );
      return;
    }
    let queue = this.queues.get(destination);
    if (queue === undefined) this.queues.set(destination, (queue = []));
    queue.push(queued);
    // After the current turn, so the partitions routed in it (every one of a write, and of the writes
    // started with it) go out together.
    queueMicrotask(() => void this.drain(destination));
  }

  /** Sends the broker's queue, a request at a time, until it is empty. */
  private async drain(brokerId: number): Promise<void> {
    if (this.sending.has(brokerId)) return;
    this.sending.add(brokerId);
    try {
      for (;;) {
        const queue = this.queues.get(brokerId);
        if (queue === undefined || queue.length === 0 || this.closed) return;
        const batch = takeBatch(queue);
        if (batch.length === 0) continue;
        await this.sendBatch(brokerId, batch);
      }
    } finally {
      this.sending.delete(brokerId);
      if (this.queues.get(brokerId)?.length === 0) this.queues.delete(brokerId);
    }
  }

  private async sendBatch(brokerId: number, batch: readonly QueuedPartition[]): Promise<void> {
    const request = markersRequest(batch);
    let response: WriteTxnMarkersResponse;
    try {
      response = await this.options.send(brokerId, request, REQUEST_TIMEOUT_MS);
    } catch {
      // Disconnected or timed out: every partition of the request goes back through routing.
      for (const queued of batch) this.onResult(queued, ErrorCode.NETWORK_EXCEPTION, brokerId);
      return;
    }
    const answers = new Map<string, number>();
    for (const m of response.markers) {
      for (const topic of m.topics) {
        for (const p of topic.partitions) answers.set(answerKey(m.producerId, topic.name, p.partitionIndex), p.errorCode);
      }
    }
    for (const queued of batch) {
      const errorCode = answers.get(answerKey(BigInt(queued.write.marker.producerId), queued.tp.topic, queued.tp.partition));
      // A leader that leaves a partition out of its answer did not write it: retry.
      this.onResult(queued, errorCode ?? ErrorCode.REQUEST_TIMED_OUT, brokerId);
    }
  }

  private onResult(queued: QueuedPartition, errorCode: number, destination: number | 'local'): void {
    const { write } = queued;
    if (write.settled) return;
    this.options.onResult?.(queued.tp, destination, errorCode);
    if (errorCode === ErrorCode.NONE || errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || errorCode === ErrorCode.TRANSACTION_COORDINATOR_FENCED) {
      return this.done(write);
    }
    if (isRetriableMarkerError(errorCode)) return this.retryLater(queued);
    this.options.onRefused?.(queued.tp, errorCode);
    this.settle(write, false);
  }

  private retryLater(queued: QueuedPartition): void {
    const { write } = queued;
    if (write.settled) return;
    if (this.closed || this.options.monotonicMs() >= write.deadlineMs) return this.settle(write, false);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.route(queued);
    }, RETRY_BACKOFF_MS);
    this.timers.add(timer);
  }

  private done(write: MarkerWrite): void {
    write.remaining--;
    if (write.remaining === 0) this.settle(write, true);
  }

  private settle(write: MarkerWrite, ok: boolean): void {
    if (write.settled) return;
    write.settled = true;
    write.resolve(ok);
  }
}

/**
 * Up to REQUEST_PARTITIONS_MAX queued partitions, leaving settled ones out and keeping one write per
 * producer id in a request: leaders answer per producer id (KafkaApis keys the results by it).
 */
function takeBatch(queue: QueuedPartition[]): QueuedPartition[] {
  const batch: QueuedPartition[] = [];
  const writers = new Map<number, MarkerWrite>();
  const rest: QueuedPartition[] = [];
  for (const queued of queue) {
    if (queued.write.settled) continue;
    const writer = writers.get(queued.write.marker.producerId);
    if (batch.length >= REQUEST_PARTITIONS_MAX || (writer !== undefined && writer !== queued.write)) {
      rest.push(queued);
      continue;
    }
    writers.set(queued.write.marker.producerId, queued.write);
    batch.push(queued);
  }
  queue.length = 0;
  queue.push(...rest);
  return batch;
}

function answerKey(producerId: bigint, topic: string, partition: number): string {
  return `${producerId}\u0000${topic}\u0000${partition}`;
}

/** One WritableTxnMarker per (producer id, epoch, outcome, coordinator epoch), its partitions by topic. */
function markersRequest(batch: readonly QueuedPartition[]): WriteTxnMarkersRequest {
  const byWrite = new Map<MarkerWrite, Map<string, number[]>>();
  for (const { write, tp } of batch) {
    let topics = byWrite.get(write);
    if (topics === undefined) byWrite.set(write, (topics = new Map()));
    let partitions = topics.get(tp.topic);
    if (partitions === undefined) topics.set(tp.topic, (partitions = []));
    partitions.push(tp.partition);
  }
  return {
    markers: [...byWrite].map(([write, topics]) => ({
      producerId: BigInt(write.marker.producerId),
      producerEpoch: write.marker.producerEpoch,
      transactionResult: write.marker.commit,
      coordinatorEpoch: write.marker.coordinatorEpoch,
      transactionVersion: write.marker.transactionVersion ?? 0,
      topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
    })),
  };
}

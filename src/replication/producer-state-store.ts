/**
 * A partition's idempotent-producer state bound to its log (Kafka's UnifiedLog producer-state hooks,
 * reduced; DESIGN §4, §6): the replica manager opens one per hosted partition and hands it to Produce
 * through `producerStateFor`.
 *
 * - Open: the latest intact `<offset>.snapshot` at or below the log end is loaded (expired producers
 *   skipped), then the batch headers from that offset (at least the log start offset) to the log end
 *   are replayed (Kafka's loadProducerState → rebuildProducerState). Without a snapshot — a crash before
 *   the first one, or a log older than this feature — the whole retained log is replayed, headers only.
 *   A rebuild that replayed anything is snapshotted at once, so the next crash starts from there.
 * - Snapshots: at the first idempotent append after a segment roll (Kafka snapshots at every roll) and
 *   at close (clean shutdown), at the log end offset: check + append + onAppend are synchronous, so the
 *   state covers every batch below it. The two latest snapshots are kept.
 * - Expiry: every `producerIdExpirationCheckIntervalMs` (checked at appends) producers idle for
 *   producer.id.expiration.ms are removed (Kafka's PeriodicProducerExpirationCheck).
 *
 * - Transactions: control batches are read whole while rebuilding, so a marker closes its producer's
 *   transaction as it did when it was written; the snapshot carries open transactions and the aborted
 *   ones (producer-state.ts), so a restart rebuilds the last stable offset and the aborted list.
 *
 * Follower truncation rebuilds the state with `reload` (the replica manager calls it after truncating).
 */
import { systemClock, type Clock } from '../common/clock.js';
import { ControlRecordType, readControlBatch } from '../protocol/control-batch.js';
import { readBatchHeader, type RecordBatchHeader } from '../protocol/record-batch.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { ProducerStateManager, type CompletedTxn, type ProducerStateOptions, type VerificationGuard } from './producer-state.js';
import type { PartitionProducerState, ProducerBatchCheck } from './types.js';

/** Kafka's producer.id.expiration.check.interval.ms default (10 minutes). */
export const PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS_DEFAULT = 600_000;

export interface ProducerStateStoreOptions extends ProducerStateOptions {
  readonly producerIdExpirationCheckIntervalMs?: number;
  readonly clock?: Clock;
  readonly logger?: { warn(obj: object, msg: string): void };
}

export class PartitionProducerStateStore implements PartitionProducerState {
  private segmentBaseOffset: number;
  private nextExpiryCheckMs: number;
  private closed = false;

  private constructor(
    readonly log: PartitionLog,
    readonly state: ProducerStateManager,
    private readonly options: ProducerStateStoreOptions,
    private readonly clock: Clock,
    /** Offset of the latest snapshot on disk, -1 when none. */
    private lastSnapshotOffset: number,
  ) {
    this.segmentBaseOffset = log.activeSegment.baseOffset;
    this.nextExpiryCheckMs = clock.nowMs() + this.expiryCheckIntervalMs;
  }

  /** Loads the state of an open log (see the header). The partition must not take appends meanwhile. */
  static async open(log: PartitionLog, options: ProducerStateStoreOptions = {}): Promise<PartitionProducerStateStore> {
    const clock = options.clock ?? systemClock;
    const store = new PartitionProducerStateStore(log, new ProducerStateManager(options), options, clock, -1);
    await store.reload();
    return store;
  }

  /** Rebuilds from the latest snapshot and the log (at open, and after truncation). */
  async reload(): Promise<void> {
    const { log, state } = this;
    state.clear();
    const snapshot = await log.latestProducerSnapshot();
    let fromOffset = log.logStartOffset;
    this.lastSnapshotOffset = -1;
    if (snapshot !== undefined) {
      try {
        state.load(snapshot.data, this.clock.nowMs());
        fromOffset = Math.max(snapshot.offset, log.logStartOffset);
        this.lastSnapshotOffset = snapshot.offset;
      } catch (err) {
        this.options.logger?.warn({ err, topic: log.topic, partition: log.partition, offset: snapshot.offset }, 'producer snapshot unreadable: rebuilding from the log');
      }
    }
    const endOffset = log.logEndOffset;
    let replayed = 0;
    for await (const batch of log.batches(fromOffset, endOffset)) {
      const header = readBatchHeader(batch, 0);
      state.replay(header, header.isControl ? markerOf(batch) : undefined);
      replayed++;
    }
    this.segmentBaseOffset = log.activeSegment.baseOffset;
    if (replayed > 0) await this.takeSnapshot();
  }

  checkBatch(header: RecordBatchHeader): ProducerBatchCheck {
    return this.state.checkBatch(header);
  }

  hasOngoingTransaction(producerId: number, producerEpoch: number): boolean {
    return this.state.hasOngoingTransaction(producerId, producerEpoch);
  }

  beginVerification(producerId: number, producerEpoch: number): VerificationGuard {
    return this.state.beginVerification(producerId, producerEpoch);
  }

  verificationHolds(guard: VerificationGuard): boolean {
    return this.state.verificationHolds(guard);
  }

  checkMarker(producerId: number, producerEpoch: number, coordinatorEpoch: number, transactionVersion = 0): { errorCode: number; errorMessage?: string } {
    return this.state.checkMarker(producerId, producerEpoch, coordinatorEpoch, transactionVersion);
  }

  /** A marker the log has just appended at offset (after checkMarker, with no await between). */
  onMarker(producerId: number, producerEpoch: number, coordinatorEpoch: number, commit: boolean, offset: number, timestamp: number): CompletedTxn | undefined {
    const completed = this.state.onMarker(producerId, producerEpoch, coordinatorEpoch, commit, offset, timestamp);
    this.afterAppend();
    return completed;
  }

  /** Consumers at read_committed read below it (ongoing and unreplicated transactions hold it back). */
  lastStableOffset(highWatermark: number): number {
    return this.state.lastStableOffset(highWatermark);
  }

  abortedTransactions(fetchOffset: number, upperBoundOffset: number): CompletedTxn[] {
    this.state.truncateAbortedBelow(this.log.logStartOffset);
    return this.state.abortedTransactions(fetchOffset, upperBoundOffset);
  }

  /** Called synchronously after the append: records it, snapshots after a roll, expires idle producers. */
  onAppend(header: RecordBatchHeader, baseOffset: number, lastOffset: number, logAppendTimeMs: number): void {
    this.state.onAppend(header, baseOffset, lastOffset, logAppendTimeMs);
    this.afterAppend();
  }

  private afterAppend(): void {
    const segmentBaseOffset = this.log.activeSegment.baseOffset;
    if (segmentBaseOffset !== this.segmentBaseOffset) {
      this.segmentBaseOffset = segmentBaseOffset;
      this.takeSnapshot().catch(() => undefined);
    }
    const nowMs = this.clock.nowMs();
    if (nowMs >= this.nextExpiryCheckMs) {
      this.nextExpiryCheckMs = nowMs + this.expiryCheckIntervalMs;
      this.state.removeExpiredProducers(nowMs);
    }
  }

  /**
   * A batch a follower appended from its leader (AppendOrigin.REPLICATION: no sequence checks, the
   * leader made them): recorded as recovery replays it, snapshotted after a roll like a leader's append.
   */
  onReplicatedAppend(header: RecordBatchHeader, batch?: Buffer): void {
    // A follower's transaction markers close transactions as on the leader, so a new leader has the LSO.
    this.state.replay(header, header.isControl && batch !== undefined ? markerOf(batch) : undefined);
    const segmentBaseOffset = this.log.activeSegment.baseOffset;
    if (segmentBaseOffset !== this.segmentBaseOffset) {
      this.segmentBaseOffset = segmentBaseOffset;
      this.takeSnapshot().catch(() => undefined);
    }
  }

  /**
   * Writes the state as `<logEndOffset>.snapshot` unless one exists there already, then drops snapshots
   * older than the previous one. The bytes are taken synchronously; the write joins the log's IO chain.
   */
  async takeSnapshot(): Promise<void> {
    const offset = this.log.logEndOffset;
    // At the log start there is nothing to replay without a snapshot either (Kafka skips one that adds
    // nothing too): a clean stop of 20,000 empty partitions wrote and synced 20,000 files.
    if (offset <= this.lastSnapshotOffset || offset <= this.log.logStartOffset) return;
    const previous = this.lastSnapshotOffset;
    this.lastSnapshotOffset = offset;
    try {
      await this.log.writeProducerSnapshot(offset, this.state.serialize());
      if (previous > 0) await this.log.deleteProducerSnapshotsBelow(previous);
    } catch (err) {
      if (this.lastSnapshotOffset === offset) this.lastSnapshotOffset = previous;
      this.options.logger?.warn({ err, topic: this.log.topic, partition: this.log.partition, offset }, 'producer snapshot failed');
      throw err;
    }
  }

  /** Clean shutdown: a snapshot at the log end, so the next open replays nothing. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.takeSnapshot().catch(() => undefined);
  }

  private get expiryCheckIntervalMs(): number {
    return this.options.producerIdExpirationCheckIntervalMs ?? PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS_DEFAULT;
  }
}

/** The marker of a control batch read from the log; other control types (none exist yet) are skipped. */
function markerOf(batch: Buffer): { commit: boolean; coordinatorEpoch: number } | undefined {
  const control = readControlBatch(batch);
  if (control === undefined) return undefined;
  if (control.type !== ControlRecordType.COMMIT && control.type !== ControlRecordType.ABORT) return undefined;
  return { commit: control.type === ControlRecordType.COMMIT, coordinatorEpoch: control.coordinatorEpoch };
}

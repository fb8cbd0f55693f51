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
 *   transaction as it did when it was written; the snapshot carries open transactions, so a restart
 *   rebuilds the last stable offset. Each aborted transaction goes to the log's per-segment `.txnindex`
 *   (storage/transaction-index.ts) when its marker is appended, by a leader or a follower; the log writes
 *   and syncs every entry below a snapshot's offset before that snapshot, so a rebuild indexes again only
 *   the markers it replays, and only those the index does not hold yet. A version 2 snapshot's aborted
 *   list (written before the index existed) is indexed at load.
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
    let migrated = 0;
    if (snapshot !== undefined) {
      try {
        const legacyAborted = state.load(snapshot.data, this.clock.nowMs());
        fromOffset = Math.max(snapshot.offset, log.logStartOffset);
        this.lastSnapshotOffset = snapshot.offset;
        // Their last stable offset was not kept: 0 never ends a fetch's index search early (always safe).
        for (const txn of legacyAborted) await log.recoverAbortedTransaction({ ...txn, lastStableOffset: 0 });
        migrated = legacyAborted.length;
      } catch (err) {
        this.options.logger?.warn({ err, topic: log.topic, partition: log.partition, offset: snapshot.offset }, 'producer snapshot unreadable: rebuilding from the log');
      }
    }
    const endOffset = log.logEndOffset;
    let replayed = 0;
    for await (const batch of log.batches(fromOffset, endOffset)) {
      const header = readBatchHeader(batch, 0);
      const marker = header.isControl ? markerOf(batch) : undefined;
      const completed = state.replay(header, marker);
      if (completed !== undefined && marker?.commit === false) {
        await log.recoverAbortedTransaction({ ...completed, lastStableOffset: state.lastStableOffsetAfter(completed) });
      }
      replayed++;
    }
    this.segmentBaseOffset = log.activeSegment.baseOffset;
    // A snapshot now also syncs the index entries recovered (the next start replays from here).
    if (replayed > 0 || migrated > 0) await this.takeSnapshot(migrated > 0);
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
    if (completed !== undefined && !commit) this.indexAborted(completed);
    this.afterAppend();
    return completed;
  }

  /** UnifiedLog.append → segment.updateTxnIndex, with the LSO right after the transaction closed. */
  private indexAborted(completed: CompletedTxn): void {
    this.log.addAbortedTransaction({ ...completed, lastStableOffset: this.state.lastStableOffsetAfter(completed) });
  }

  /** Consumers at read_committed read below it (ongoing and unreplicated transactions hold it back). */
  lastStableOffset(highWatermark: number): number {
    return this.state.lastStableOffset(highWatermark);
  }

  /**
   * Read from the log's `.txnindex` files (nothing kept in memory), ordered by first offset. Kafka answers
   * in marker order; the Java client, librdkafka and franz-go sort the list themselves, but KafkaJS 2.2.4
   * (filterAbortedMessages) assumes it sorted and, when a transaction that began earlier aborted later,
   * showed its records at read_committed (on Kafka too). Sorting costs the others nothing.
   */
  async abortedTransactions(fetchOffset: number, upperBoundOffset: number): Promise<CompletedTxn[]> {
    const found = await this.log.collectAbortedTransactions(Math.max(fetchOffset, this.log.logStartOffset), upperBoundOffset);
    const out = found.map(({ producerId, firstOffset, lastOffset }) => ({ producerId, firstOffset, lastOffset }));
    return out.sort((a, b) => a.firstOffset - b.firstOffset);
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
    // A follower's transaction markers close transactions as on the leader, so a new leader has the LSO
    // and its own index of the aborted ones (derived, local: the `.log` bytes stay identical).
    const marker = header.isControl && batch !== undefined ? markerOf(batch) : undefined;
    const completed = this.state.replay(header, marker);
    if (completed !== undefined && marker?.commit === false) this.indexAborted(completed);
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
  async takeSnapshot(replaceSameOffset = false): Promise<void> {
    const offset = this.log.logEndOffset;
    // At the log start there is nothing to replay without a snapshot either (Kafka skips one that adds
    // nothing too): a clean stop of 20,000 empty partitions wrote and synced 20,000 files.
    // replaceSameOffset: a version 2 snapshot whose aborted list was just indexed is rewritten as version 3.
    if (offset < this.lastSnapshotOffset || (offset === this.lastSnapshotOffset && !replaceSameOffset) || offset <= this.log.logStartOffset) return;
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

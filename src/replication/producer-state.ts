/**
 * The idempotent-producer state of one partition (Kafka's ProducerStateManager, ProducerStateEntry,
 * ProducerAppendInfo and BatchMetadata; KIP-98, KIP-360; DESIGN §6). Free of IO: the partition's owner
 * feeds it batch headers and persists `serialize()` as the log's `<offset>.snapshot`
 * (producer-state-store.ts).
 *
 * Per producer id: its epoch, the time of its last batch and the metadata of its last 5 batches
 * (NUM_BATCHES_TO_RETAIN: the Java client keeps at most 5 requests in flight per partition).
 * `checkBatch` answers, for a client batch with producerId ≥ 0, in UnifiedLog.analyzeAndValidateProducerState's
 * order:
 * 1. duplicate — same epoch and the exact sequence range of one of the retained batches: the original
 *    offsets are returned and nothing is written. The answer's logAppendTimeMs is that batch's timestamp,
 *    as Kafka's appendInfo.setLogAppendTime(duplicate.timestamp) does (even for CreateTime topics).
 * 2. INVALID_PRODUCER_EPOCH — an epoch older than the producer's (ProducerAppendInfo.checkProducerEpoch;
 *    since 2.7 Kafka answers this, not PRODUCER_FENCED, on the produce path).
 * 3. OUT_OF_ORDER_SEQUENCE_NUMBER — a newer epoch not starting at sequence 0, or the same epoch with a
 *    first sequence other than last + 1 (a gap, or a retry older than the 5 retained batches), with
 *    Int32 wrap-around (MAX_VALUE → 0) (ProducerAppendInfo.checkSequence).
 * 4. append — anything else, including a producer this partition does not know with any sequence:
 *    since KIP-360 (Kafka 2.5) the broker no longer answers UNKNOWN_PRODUCER_ID; an unknown producer is
 *    one whose state expired or whose batches retention or DeleteRecords removed, and it is accepted.
 * `onAppend` records the batch once the log has assigned its offsets: check + append + onAppend run
 * without an await between them, so in-flight requests of one producer are checked in arrival order.
 *
 * Bounds (STYLE.md 8): producers idle for `producerIdExpirationMs` by their last batch's timestamp are
 * removed by `removeExpiredProducers` (Kafka's isProducerExpired) and skipped when a snapshot is loaded;
 * past `producersMax` producers the least recently appended one is evicted (Kafka has no such bound; an
 * evicted producer is treated like an expired one).
 *
 * Transactions (KIP-98; ProducerStateManager's ongoingTxns / unreplicatedTxns and ProducerAppendInfo
 * .appendEndTxnMarker): the first transactional batch of a producer opens its transaction at that offset
 * (`currentTxnFirstOffset`); a non-transactional batch while one is open is INVALID_TXN_STATE. A marker
 * (`onMarker`, written by the coordinator) older than the producer's epoch is INVALID_PRODUCER_EPOCH, one
 * from an older coordinator epoch TRANSACTION_COORDINATOR_FENCED; otherwise it closes the transaction
 * [firstOffset, marker offset]. A closed transaction stays unstable until the high watermark passes its
 * marker: `firstUnstableOffset(highWatermark)` is the smallest first offset of the open and of the
 * unreplicated closed ones, and the last stable offset (LSO) is min(high watermark, that). Aborted ones are
 * not kept here: the caller indexes each in the log's per-segment `.txnindex` (storage/transaction-index.ts,
 * Kafka's TransactionIndex) with `lastStableOffsetAfter`, so memory does not grow with their number. Aborts
 * of a producer with nothing open close nothing and are not indexed (they cover no record). Producers with
 * an open transaction never expire and are never evicted (Kafka's isProducerExpired).
 */
import { ErrorCode } from '../protocol/errors.js';
import { readInt64, writeInt64, type RecordBatchHeader } from '../protocol/record-batch.js';
import type { PartitionProducerState, ProducerBatchCheck } from './types.js';

/** ProducerStateEntry.NUM_BATCHES_TO_RETAIN. */
export const NUM_BATCHES_TO_RETAIN = 5;
/** Kafka's producer.id.expiration.ms default (1 day). */
export const PRODUCER_ID_EXPIRATION_MS_DEFAULT = 86_400_000;
/** Producers one partition remembers before evicting the least recently appended. */
export const PRODUCERS_PER_PARTITION_MAX = 10_000;

const INT32_MAX = 0x7fffffff;
/**
 * 1: idempotent state only; 2: adds each producer's open transaction and coordinator epoch, and the
 * aborted transactions; 3: as 2 without the aborted transactions (they moved to the `.txnindex` files).
 */
const SNAPSHOT_VERSION = 3;
const SNAPSHOT_HEADER_BYTES = 6;
const PRODUCER_BYTES_V1 = 19;
const PRODUCER_BYTES = 31;
const BATCH_BYTES = 32;
const ABORTED_BYTES_V2 = 24;

/** BatchMetadata: one appended batch of a producer. */
export interface BatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** The batch's max timestamp (its append time for LogAppendTime topics). */
  readonly timestamp: number;
}

/** ProducerStateEntry. Batches are oldest first. */
export interface ProducerStateEntry {
  readonly producerId: number;
  producerEpoch: number;
  lastTimestamp: number;
  readonly batches: BatchMetadata[];
  /** First offset of the producer's open transaction on this partition, -1 when none. */
  currentTxnFirstOffset: number;
  /** Epoch of the coordinator that wrote the producer's last marker, -1 before any. */
  coordinatorEpoch: number;
}

/** A pending verification of a producer's first batch on a partition (KIP-890's VerificationGuard). */
export interface VerificationGuard {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** A transaction closed by a marker (Kafka's CompletedTxn / AbortedTxn without the LSO field). */
export interface CompletedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  /** The marker's offset. */
  readonly lastOffset: number;
}

export interface ProducerStateOptions {
  readonly producerIdExpirationMs?: number;
  readonly producersMax?: number;
}

/** DefaultRecordBatch.incrementSequence: sequences wrap from Int32 max to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  return sequence > INT32_MAX - increment ? increment - (INT32_MAX - sequence) - 1 : sequence + increment;
}

/** DefaultRecordBatch.lastSequence. */
export function lastSequence(header: RecordBatchHeader): number {
  return incrementSequence(header.baseSequence, header.lastOffsetDelta);
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

export class SnapshotFormatError extends Error {
  override name = 'SnapshotFormatError';
}

export class ProducerStateManager implements PartitionProducerState {
  readonly producerIdExpirationMs: number;
  readonly producersMax: number;
  /** Least recently appended first: Map keeps insertion order and every append re-inserts. */
  private readonly producers = new Map<number, ProducerStateEntry>();
  /** Open transactions: producer id → first offset; insertion order is offset order. */
  private readonly ongoing = new Map<number, number>();
  /** Closed transactions whose marker the high watermark may not cover yet, in marker order. */
  private unreplicated: CompletedTxn[] = [];
  /** Producers whose first transactional batch is being verified with another node's coordinator. */
  private readonly verifications = new Map<number, VerificationGuard>();

  constructor(options: ProducerStateOptions = {}) {
    this.producerIdExpirationMs = options.producerIdExpirationMs ?? PRODUCER_ID_EXPIRATION_MS_DEFAULT;
    this.producersMax = options.producersMax ?? PRODUCERS_PER_PARTITION_MAX;
  }

  get producerCount(): number {
    return this.producers.size;
  }

  /** The producer's entry (read-only use: tests, DescribeProducers). */
  lastEntry(producerId: number): ProducerStateEntry | undefined {
    return this.producers.get(producerId);
  }

  activeProducers(): IterableIterator<ProducerStateEntry> {
    return this.producers.values();
  }

  /** What a client batch with producerId ≥ 0 gets (see the header). No state changes. */
  checkBatch(header: RecordBatchHeader): ProducerBatchCheck {
    const entry = this.producers.get(header.producerId);
    if (entry === undefined) return APPEND;
    const epoch = header.producerEpoch;
    if (epoch === entry.producerEpoch) {
      const duplicate = findBatch(entry, header.baseSequence, lastSequence(header));
      if (duplicate !== undefined) {
        return { kind: 'duplicate', baseOffset: duplicate.firstOffset, lastOffset: duplicate.lastOffset, logAppendTimeMs: duplicate.timestamp };
      }
    }
    if (epoch < entry.producerEpoch) {
      return error(ErrorCode.INVALID_PRODUCER_EPOCH, `Epoch of producer ${header.producerId} is ${epoch}, which is smaller than the last seen epoch ${entry.producerEpoch}`);
    }
    // ProducerAppendInfo.appendDataBatch: an open transaction only takes transactional batches.
    if (!header.isTransactional && entry.currentTxnFirstOffset >= 0) {
      return error(ErrorCode.INVALID_TXN_STATE, `Expected transactional write from producer ${header.producerId} at offset ${entry.currentTxnFirstOffset}`);
    }
    if (epoch !== entry.producerEpoch) {
      if (header.baseSequence === 0) return APPEND;
      return error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `Invalid sequence number for new epoch of producer ${header.producerId}: ${epoch} (request epoch), ${header.baseSequence} (seq. number), ${entry.producerEpoch} (current producer epoch)`);
    }
    const lastSeq = entry.batches.length === 0 ? -1 : (entry.batches[entry.batches.length - 1] as BatchMetadata).lastSeq;
    if (inSequence(lastSeq, header.baseSequence)) return APPEND;
    return error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `Out of order sequence number for producer ${header.producerId}: ${header.baseSequence} (incoming seq. number), ${lastSeq} (current end sequence number)`);
  }

  /** True when the producer has a transaction open here at this epoch (KIP-890: no verification needed). */
  hasOngoingTransaction(producerId: number, producerEpoch: number): boolean {
    const entry = this.producers.get(producerId);
    return entry !== undefined && entry.producerEpoch === producerEpoch && entry.currentTxnFirstOffset >= 0;
  }

  /**
   * KIP-890 part 1 (ProducerStateManager.maybeCreateVerificationStateEntry): the produce path is about to
   * ask a remote coordinator whether this producer's transaction holds the partition. A marker for the
   * producer written meanwhile ends what was verified, so the guard no longer holds (`verificationHolds`)
   * and the batch is refused instead of opening a transaction nobody will end.
   */
  beginVerification(producerId: number, producerEpoch: number): VerificationGuard {
    // Requests of one producer epoch in flight together share the guard (Kafka reuses the
    // VerificationStateEntry), so a second verification does not void the first one's.
    const existing = this.verifications.get(producerId);
    if (existing !== undefined && existing.producerEpoch === producerEpoch) return existing;
    this.verifications.delete(producerId);
    if (this.verifications.size >= this.producersMax) {
      const oldest = this.verifications.keys().next();
      if (oldest.done !== true) this.verifications.delete(oldest.value);
    }
    const guard: VerificationGuard = { producerId, producerEpoch };
    this.verifications.set(producerId, guard);
    return guard;
  }

  verificationHolds(guard: VerificationGuard): boolean {
    return this.verifications.get(guard.producerId) === guard;
  }

  /** Records a batch the log has just appended at [baseOffset, lastOffset]; logAppendTimeMs -1 for CreateTime. */
  onAppend(header: RecordBatchHeader, baseOffset: number, lastOffset: number, logAppendTimeMs: number): void {
    this.update(header.producerId, header.producerEpoch, header.baseSequence, lastSequence(header), baseOffset, lastOffset,
      logAppendTimeMs >= 0 ? logAppendTimeMs : header.maxTimestamp, header.isTransactional);
    // The transaction is open here now: later batches need no verification.
    if (header.isTransactional) this.verifications.delete(header.producerId);
  }

  /**
   * May this end-transaction marker be written (ProducerAppendInfo.appendEndTxnMarker's checks)? NONE,
   * INVALID_PRODUCER_EPOCH (an epoch older than the producer's) or TRANSACTION_COORDINATOR_FENCED.
   */
  checkMarker(producerId: number, producerEpoch: number, coordinatorEpoch: number, transactionVersion = 0): { errorCode: number; errorMessage?: string } {
    const entry = this.producers.get(producerId);
    if (entry === undefined) return { errorCode: ErrorCode.NONE };
    // KIP-1228: a transactions v2 marker carries the epoch bumped at the end, so one not above the
    // producer's epoch here is a retry of a marker already written, or the producer's next transaction
    // has started here — either way it must not close what is open.
    if (transactionVersion >= 2 ? producerEpoch <= entry.producerEpoch : producerEpoch < entry.producerEpoch) {
      return { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, errorMessage: `Epoch of producer ${producerId} is ${producerEpoch}, which is ${transactionVersion >= 2 ? 'not above' : 'smaller than'} the last seen epoch ${entry.producerEpoch}` };
    }
    if (coordinatorEpoch < entry.coordinatorEpoch) {
      return { errorCode: ErrorCode.TRANSACTION_COORDINATOR_FENCED, errorMessage: `Invalid coordinator epoch for producer ${producerId}: ${coordinatorEpoch} (zombie), ${entry.coordinatorEpoch} (current)` };
    }
    return { errorCode: ErrorCode.NONE };
  }

  /**
   * A marker appended at `offset` (checked first with checkMarker by the leader; replayed as it is by
   * recovery): closes the producer's transaction. Returns it, or undefined when none was open.
   */
  onMarker(producerId: number, producerEpoch: number, coordinatorEpoch: number, commit: boolean, offset: number, timestamp: number): CompletedTxn | undefined {
    this.verifications.delete(producerId);
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      this.evictIfFull();
      entry = { producerId, producerEpoch, lastTimestamp: timestamp, batches: [], currentTxnFirstOffset: -1, coordinatorEpoch };
    } else {
      this.producers.delete(producerId);
    }
    this.producers.set(producerId, entry);
    if (entry.producerEpoch !== producerEpoch) {
      entry.producerEpoch = producerEpoch;
      entry.batches.length = 0;
    }
    entry.coordinatorEpoch = coordinatorEpoch;
    entry.lastTimestamp = timestamp;
    const firstOffset = entry.currentTxnFirstOffset;
    entry.currentTxnFirstOffset = -1;
    if (firstOffset < 0) return undefined;
    this.ongoing.delete(producerId);
    const completed: CompletedTxn = { producerId, firstOffset, lastOffset: offset };
    this.unreplicated.push(completed);
    return completed;
  }

  /**
   * A batch read back from the log while rebuilding (AppendOrigin.REPLICATION: no checks). Producer-less
   * batches are ignored; a control batch needs its marker (`control`), else it is ignored too.
   */
  replay(header: RecordBatchHeader, control?: { commit: boolean; coordinatorEpoch: number }): CompletedTxn | undefined {
    if (header.producerId < 0) return undefined;
    if (header.isControl) {
      if (control === undefined) return undefined;
      return this.onMarker(header.producerId, header.producerEpoch, control.coordinatorEpoch, control.commit, header.baseOffset, header.maxTimestamp);
    }
    this.update(header.producerId, header.producerEpoch, header.baseSequence, lastSequence(header), header.baseOffset, header.lastOffset, header.maxTimestamp, header.isTransactional);
    return undefined;
  }

  private update(producerId: number, epoch: number, firstSeq: number, lastSeq: number, firstOffset: number, lastOffset: number, timestamp: number, transactional: boolean): void {
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      this.evictIfFull();
      entry = { producerId, producerEpoch: epoch, lastTimestamp: timestamp, batches: [], currentTxnFirstOffset: -1, coordinatorEpoch: -1 };
    } else {
      this.producers.delete(producerId);
    }
    this.producers.set(producerId, entry);
    // ProducerStateEntry.maybeUpdateProducerEpoch: a new epoch starts a new sequence space.
    if (entry.producerEpoch !== epoch) {
      entry.producerEpoch = epoch;
      entry.batches.length = 0;
    }
    if (entry.batches.length === NUM_BATCHES_TO_RETAIN) entry.batches.shift();
    entry.batches.push({ firstSeq, lastSeq, firstOffset, lastOffset, timestamp });
    entry.lastTimestamp = timestamp;
    if (transactional && entry.currentTxnFirstOffset < 0) {
      entry.currentTxnFirstOffset = firstOffset;
      this.ongoing.set(producerId, firstOffset);
    }
  }

  private evictIfFull(): void {
    if (this.producers.size < this.producersMax) return;
    for (const [producerId, entry] of this.producers) {
      if (entry.currentTxnFirstOffset >= 0) continue;
      this.producers.delete(producerId);
      return;
    }
  }

  // ---------------------------------------------------------------- stability

  /**
   * ProducerStateManager.firstUnstableOffset: the first offset of the oldest open transaction, or of the
   * oldest closed one whose marker is at or above the high watermark; undefined when there is none.
   * Closed transactions the high watermark has passed are forgotten here.
   */
  firstUnstableOffset(highWatermark: number): number | undefined {
    let drop = 0;
    while (drop < this.unreplicated.length && (this.unreplicated[drop] as CompletedTxn).lastOffset < highWatermark) drop++;
    if (drop > 0) this.unreplicated = this.unreplicated.slice(drop);
    let first: number | undefined;
    for (const firstOffset of this.ongoing.values()) {
      first = firstOffset;
      break;
    }
    for (const txn of this.unreplicated) {
      if (first === undefined || txn.firstOffset < first) first = txn.firstOffset;
    }
    return first;
  }

  /** The last stable offset: consumers at read_committed see offsets below it. */
  lastStableOffset(highWatermark: number): number {
    const first = this.firstUnstableOffset(highWatermark);
    return first === undefined ? highWatermark : Math.min(first, highWatermark);
  }

  /**
   * The last stable offset an index entry records for a transaction `onMarker` just closed
   * (ProducerStateManager.lastStableOffset(completedTxn)): the first offset of the oldest transaction
   * still open, else the offset after the marker. No transaction aborted later overlaps offsets below it.
   */
  lastStableOffsetAfter(completed: CompletedTxn): number {
    for (const firstOffset of this.ongoing.values()) return firstOffset;
    return completed.lastOffset + 1;
  }

  /** Open transactions (DescribeProducers' currentTxnStartOffset comes from the entries). */
  ongoingTransactionCount(): number {
    return this.ongoing.size;
  }

  /** Kafka's removeExpiredProducers: drops producers whose last batch is producerIdExpirationMs old. */
  removeExpiredProducers(nowMs: number): number {
    let removed = 0;
    for (const [producerId, entry] of this.producers) {
      if (this.isExpired(entry, nowMs)) {
        this.producers.delete(producerId);
        removed++;
      }
    }
    return removed;
  }

  private isExpired(entry: ProducerStateEntry, nowMs: number): boolean {
    return entry.currentTxnFirstOffset < 0 && nowMs - entry.lastTimestamp >= this.producerIdExpirationMs;
  }

  /** Forgets every producer and transaction (truncation of the whole log, or before a reload). */
  clear(): void {
    this.producers.clear();
    this.ongoing.clear();
    this.verifications.clear();
    this.unreplicated = [];
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Snapshot body (storage frames it with a CRC-32C): version u16 (3), producer count u32, then per
   * producer in least-recently-appended order: producerId i64, epoch i16, lastTimestamp i64, batch count
   * u8, currentTxnFirstOffset i64, coordinatorEpoch i32, and per batch firstSeq i32, lastSeq i32,
   * firstOffset i64, lastOffset i64, timestamp i64. Unlike Kafka's snapshot (last batch only) every
   * retained batch is kept, so duplicates are still found after a restart. Versions 1 (no transaction
   * fields) and 2 (followed by the aborted transactions: count u32 and per transaction producerId i64,
   * firstOffset i64, lastOffset i64) still load; `load` returns version 2's aborted transactions so the
   * caller can index them.
   */
  serialize(): Buffer {
    let size = SNAPSHOT_HEADER_BYTES;
    for (const entry of this.producers.values()) size += PRODUCER_BYTES + entry.batches.length * BATCH_BYTES;
    const buf = Buffer.allocUnsafe(size);
    buf.writeUInt16BE(SNAPSHOT_VERSION, 0);
    buf.writeUInt32BE(this.producers.size, 2);
    let pos = SNAPSHOT_HEADER_BYTES;
    for (const entry of this.producers.values()) {
      writeInt64(buf, pos, entry.producerId);
      buf.writeInt16BE(entry.producerEpoch, pos + 8);
      writeInt64(buf, pos + 10, entry.lastTimestamp);
      buf.writeUInt8(entry.batches.length, pos + 18);
      writeInt64(buf, pos + 19, entry.currentTxnFirstOffset);
      buf.writeInt32BE(entry.coordinatorEpoch, pos + 27);
      pos += PRODUCER_BYTES;
      for (const batch of entry.batches) {
        buf.writeInt32BE(batch.firstSeq, pos);
        buf.writeInt32BE(batch.lastSeq, pos + 4);
        writeInt64(buf, pos + 8, batch.firstOffset);
        writeInt64(buf, pos + 16, batch.lastOffset);
        writeInt64(buf, pos + 24, batch.timestamp);
        pos += BATCH_BYTES;
      }
    }
    return buf;
  }

  /**
   * Replaces the state with a snapshot's, skipping producers expired at nowMs (ProducerStateManager
   * .loadFromSnapshot). Throws SnapshotFormatError, leaving the state empty, on anything malformed.
   * Returns the aborted transactions a version 2 snapshot carried (none from later versions).
   */
  load(data: Buffer, nowMs: number): CompletedTxn[] {
    this.clear();
    try {
      return this.loadEntries(data, nowMs);
    } catch (err) {
      this.clear();
      throw err instanceof SnapshotFormatError ? err : new SnapshotFormatError(`producer snapshot: ${(err as Error).message}`);
    }
  }

  private loadEntries(data: Buffer, nowMs: number): CompletedTxn[] {
    const version = data.length < SNAPSHOT_HEADER_BYTES ? -1 : data.readUInt16BE(0);
    if (version !== 1 && version !== 2 && version !== SNAPSHOT_VERSION) throw new SnapshotFormatError('producer snapshot: unknown version');
    const producerBytes = version === 1 ? PRODUCER_BYTES_V1 : PRODUCER_BYTES;
    const count = data.readUInt32BE(2);
    let pos = SNAPSHOT_HEADER_BYTES;
    const open: { producerId: number; firstOffset: number }[] = [];
    for (let i = 0; i < count; i++) {
      if (pos + producerBytes > data.length) throw new SnapshotFormatError('producer snapshot: truncated');
      const producerId = readInt64(data, pos);
      const producerEpoch = data.readInt16BE(pos + 8);
      const lastTimestamp = readInt64(data, pos + 10);
      const batchCount = data.readUInt8(pos + 18);
      const currentTxnFirstOffset = version === 1 ? -1 : readInt64(data, pos + 19);
      const coordinatorEpoch = version === 1 ? -1 : data.readInt32BE(pos + 27);
      pos += producerBytes;
      if (batchCount > NUM_BATCHES_TO_RETAIN || pos + batchCount * BATCH_BYTES > data.length) {
        throw new SnapshotFormatError('producer snapshot: bad batch count');
      }
      const batches: BatchMetadata[] = [];
      for (let b = 0; b < batchCount; b++, pos += BATCH_BYTES) {
        batches.push({
          firstSeq: data.readInt32BE(pos),
          lastSeq: data.readInt32BE(pos + 4),
          firstOffset: readInt64(data, pos + 8),
          lastOffset: readInt64(data, pos + 16),
          timestamp: readInt64(data, pos + 24),
        });
      }
      const entry: ProducerStateEntry = { producerId, producerEpoch, lastTimestamp, batches, currentTxnFirstOffset, coordinatorEpoch };
      if (this.isExpired(entry, nowMs)) continue;
      this.producers.delete(producerId);
      this.evictIfFull();
      this.producers.set(producerId, entry);
      if (currentTxnFirstOffset >= 0) open.push({ producerId, firstOffset: currentTxnFirstOffset });
    }
    for (const txn of open.sort((a, b) => a.firstOffset - b.firstOffset)) this.ongoing.set(txn.producerId, txn.firstOffset);
    const aborted: CompletedTxn[] = [];
    if (version === 2) pos = loadAbortedV2(data, pos, aborted);
    if (pos !== data.length) throw new SnapshotFormatError('producer snapshot: trailing bytes');
    return aborted;
  }
}

/** Version 2's aborted transactions (see `serialize`); returns the position after them. */
function loadAbortedV2(data: Buffer, start: number, out: CompletedTxn[]): number {
  if (start + 4 > data.length) throw new SnapshotFormatError('producer snapshot: truncated');
  const count = data.readUInt32BE(start);
  let pos = start + 4;
  if (pos + count * ABORTED_BYTES_V2 > data.length) throw new SnapshotFormatError('producer snapshot: bad aborted count');
  for (let i = 0; i < count; i++, pos += ABORTED_BYTES_V2) {
    out.push({ producerId: readInt64(data, pos), firstOffset: readInt64(data, pos + 8), lastOffset: readInt64(data, pos + 16) });
  }
  return pos;
}

const APPEND: ProducerBatchCheck = Object.freeze({ kind: 'append' });

function error(errorCode: number, errorMessage: string): ProducerBatchCheck {
  return { kind: 'error', errorCode, errorMessage };
}

/** ProducerStateEntry.batchWithSequenceRange. */
function findBatch(entry: ProducerStateEntry, firstSeq: number, lastSeq: number): BatchMetadata | undefined {
  for (const batch of entry.batches) {
    if (batch.firstSeq === firstSeq && batch.lastSeq === lastSeq) return batch;
  }
  return undefined;
}

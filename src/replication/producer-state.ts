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
 * Not implemented: transactions (currentTxnFirstOffset, ongoing/unreplicated transactions, control
 * batches, coordinator epochs, KIP-890 verification).
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
const SNAPSHOT_VERSION = 1;
const SNAPSHOT_HEADER_BYTES = 6;
const PRODUCER_BYTES = 19;
const BATCH_BYTES = 32;

/** BatchMetadata: one appended batch of a producer. */
export interface BatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** The batch's max timestamp (its append time for LogAppendTime topics). */
  readonly timestamp: number;
}

/** ProducerStateEntry without the transaction fields. Batches are oldest first. */
export interface ProducerStateEntry {
  readonly producerId: number;
  producerEpoch: number;
  lastTimestamp: number;
  readonly batches: BatchMetadata[];
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
    if (epoch !== entry.producerEpoch) {
      if (header.baseSequence === 0) return APPEND;
      return error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `Invalid sequence number for new epoch of producer ${header.producerId}: ${epoch} (request epoch), ${header.baseSequence} (seq. number), ${entry.producerEpoch} (current producer epoch)`);
    }
    const lastSeq = entry.batches.length === 0 ? -1 : (entry.batches[entry.batches.length - 1] as BatchMetadata).lastSeq;
    if (inSequence(lastSeq, header.baseSequence)) return APPEND;
    return error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `Out of order sequence number for producer ${header.producerId}: ${header.baseSequence} (incoming seq. number), ${lastSeq} (current end sequence number)`);
  }

  /** Records a batch the log has just appended at [baseOffset, lastOffset]; logAppendTimeMs -1 for CreateTime. */
  onAppend(header: RecordBatchHeader, baseOffset: number, lastOffset: number, logAppendTimeMs: number): void {
    this.update(header.producerId, header.producerEpoch, header.baseSequence, lastSequence(header), baseOffset, lastOffset,
      logAppendTimeMs >= 0 ? logAppendTimeMs : header.maxTimestamp);
  }

  /**
   * A batch read back from the log while rebuilding (AppendOrigin.REPLICATION: no checks). Control and
   * producer-less batches are ignored.
   */
  replay(header: RecordBatchHeader): void {
    if (header.producerId < 0 || header.isControl) return;
    this.update(header.producerId, header.producerEpoch, header.baseSequence, lastSequence(header), header.baseOffset, header.lastOffset, header.maxTimestamp);
  }

  private update(producerId: number, epoch: number, firstSeq: number, lastSeq: number, firstOffset: number, lastOffset: number, timestamp: number): void {
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      this.evictIfFull();
      entry = { producerId, producerEpoch: epoch, lastTimestamp: timestamp, batches: [] };
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
  }

  private evictIfFull(): void {
    if (this.producers.size < this.producersMax) return;
    const oldest = this.producers.keys().next();
    if (oldest.done !== true) this.producers.delete(oldest.value);
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
    return nowMs - entry.lastTimestamp >= this.producerIdExpirationMs;
  }

  /** Forgets every producer (truncation of the whole log). */
  clear(): void {
    this.producers.clear();
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Snapshot body (storage frames it with a CRC-32C): version u16, producer count u32, then per producer
   * in least-recently-appended order: producerId i64, epoch i16, lastTimestamp i64, batch count u8, and
   * per batch firstSeq i32, lastSeq i32, firstOffset i64, lastOffset i64, timestamp i64. Unlike Kafka's
   * snapshot (last batch only) every retained batch is kept, so duplicates are still found after a restart.
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
   */
  load(data: Buffer, nowMs: number): void {
    this.producers.clear();
    try {
      this.loadEntries(data, nowMs);
    } catch (err) {
      this.producers.clear();
      throw err instanceof SnapshotFormatError ? err : new SnapshotFormatError(`producer snapshot: ${(err as Error).message}`);
    }
  }

  private loadEntries(data: Buffer, nowMs: number): void {
    if (data.length < SNAPSHOT_HEADER_BYTES || data.readUInt16BE(0) !== SNAPSHOT_VERSION) {
      throw new SnapshotFormatError('producer snapshot: unknown version');
    }
    const count = data.readUInt32BE(2);
    let pos = SNAPSHOT_HEADER_BYTES;
    for (let i = 0; i < count; i++) {
      if (pos + PRODUCER_BYTES > data.length) throw new SnapshotFormatError('producer snapshot: truncated');
      const producerId = readInt64(data, pos);
      const producerEpoch = data.readInt16BE(pos + 8);
      const lastTimestamp = readInt64(data, pos + 10);
      const batchCount = data.readUInt8(pos + 18);
      pos += PRODUCER_BYTES;
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
      const entry: ProducerStateEntry = { producerId, producerEpoch, lastTimestamp, batches };
      if (this.isExpired(entry, nowMs)) continue;
      this.producers.delete(producerId);
      this.evictIfFull();
      this.producers.set(producerId, entry);
    }
    if (pos !== data.length) throw new SnapshotFormatError('producer snapshot: trailing bytes');
  }
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

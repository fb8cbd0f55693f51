/**
 * One log segment: `<baseOffset>.log` plus its sparse `.index` and `.timeindex`, and `.txnindex` once an
 * aborted transaction's marker lands in it (Kafka's LogSegment).
 * The segment's logical state (size, next offset, indexes, max timestamp) is updated synchronously at
 * append time; bytes reach the file later through the partition log's serial IO chain. Indexes of
 * inactive segments are loaded lazily and may be dropped again to bound memory.
 */
import { join } from 'node:path';
import {
  batchLastOffset, batchMaxTimestamp, isBatchCrcValid, probeBatch, readInt64, BASE_OFFSET_OFFSET,
  LAST_OFFSET_DELTA_OFFSET, PARTITION_LEADER_EPOCH_OFFSET, RECORD_BATCH_OVERHEAD,
} from '../protocol/record-batch.js';
import { OffsetIndex, TimeIndex } from './sparse-index.js';
import { TransactionIndex } from './transaction-index.js';
import { preadFull } from './fs-util.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const SNAPSHOT_SUFFIX = '.snapshot';
/** Kafka's LogFileUtils.TXN_INDEX_FILE_SUFFIX: the segment's aborted transactions (transaction-index.ts). */
export const TXN_INDEX_SUFFIX = '.txnindex';

/** Relative offsets are int32 in the index (Kafka rolls before a segment's offsets would overflow). */
export const RELATIVE_OFFSET_MAX = 0x7fffffff;

export function offsetFileName(offset: number, suffix: string): string {
  return `${String(offset).padStart(20, '0')}${suffix}`;
}

/** Parses `<20 digits><suffix>`; undefined for anything else. */
export function parseOffsetFileName(name: string, suffix: string): number | undefined {
  if (!name.endsWith(suffix)) return undefined;
  const digits = name.slice(0, -suffix.length);
  if (!/^\d{20}$/.test(digits)) return undefined;
  const offset = Number(digits);
  return Number.isSafeInteger(offset) ? offset : undefined;
}

export class LogSegment {
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  /** Logical size: bytes appended, written or not. */
  size = 0;
  /** Bytes known to be completely written to the file (reads stop there). */
  writtenSize = 0;
  /** Offset after the last batch (baseOffset while empty). */
  nextOffset: number;
  /** Largest batch maxTimestamp seen and the last offset of that batch; undefined until indexes load. */
  maxTimestamp: number | undefined = -1;
  offsetOfMaxTimestamp: number;
  /** Timestamp of the first batch, for segment.ms (Kafka's rollingBasedTimestamp); -1 while unknown. */
  firstBatchTimestamp = -1;
  createdMs: number;
  bytesSinceLastIndexEntry = 0;
  offsetIndex: OffsetIndex | undefined;
  timeIndex: TimeIndex | undefined;
  /** Aborted transactions whose ABORT marker is in this segment; read from its file on demand. */
  readonly txnIndex: TransactionIndex;
  /** Indexes differ from the files (active segment, or rebuilt). */
  indexesDirty = false;
  deleted = false;
  /** The file and its directory entry are durable (fsync of the directory after creation). */
  fileCreated = false;
  /**
   * The file may hold bytes no fdatasync covered (`none`-mode writes, or written by an earlier process
   * that crashed): an O_DSYNC write syncs only its own range, so the next synced write must fdatasync
   * the whole file instead. True until the first fdatasync, since a file found at open is unknown.
   */
  unsyncedWrites = true;

  constructor(readonly dir: string, readonly baseOffset: number, createdMs: number, txnIndexExists = false) {
    this.logPath = join(dir, offsetFileName(baseOffset, LOG_SUFFIX));
    this.txnIndex = new TransactionIndex(join(dir, offsetFileName(baseOffset, TXN_INDEX_SUFFIX)), baseOffset, txnIndexExists);
    this.indexPath = join(dir, offsetFileName(baseOffset, INDEX_SUFFIX));
    this.timeIndexPath = join(dir, offsetFileName(baseOffset, TIME_INDEX_SUFFIX));
    this.nextOffset = baseOffset;
    this.offsetOfMaxTimestamp = baseOffset;
    this.createdMs = createdMs;
  }

  createIndexes(maxOffsetEntries: number): void {
    this.offsetIndex = new OffsetIndex(this.baseOffset, maxOffsetEntries);
    this.timeIndex = new TimeIndex(this.baseOffset, Math.floor((maxOffsetEntries * 8) / 12));
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = this.baseOffset;
    this.bytesSinceLastIndexEntry = 0;
  }

  /**
   * Accounts one batch at position (LogSegment.append): an offset-index entry (batch lastOffset →
   * position) and a time-index entry every indexIntervalBytes.
   */
  onBatch(buf: Buffer, pos: number, size: number, position: number, indexIntervalBytes: number): void {
    const lastOffset = batchLastOffset(buf, pos);
    const maxTimestamp = batchMaxTimestamp(buf, pos);
    if (this.firstBatchTimestamp < 0) this.firstBatchTimestamp = maxTimestamp;
    if (this.maxTimestamp !== undefined && maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = lastOffset;
    }
    if (this.offsetIndex !== undefined && this.bytesSinceLastIndexEntry > indexIntervalBytes) {
      this.offsetIndex.append(lastOffset, position);
      this.timeIndex?.maybeAppend(this.maxTimestamp ?? -1, this.offsetOfMaxTimestamp);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += size;
    this.size = position + size;
    this.nextOffset = lastOffset + 1;
    this.indexesDirty = true;
  }

  /** Final time-index entry when the segment becomes inactive (LogSegment.onBecomeInactiveSegment). */
  onBecomeInactive(): void {
    if (this.maxTimestamp !== undefined && this.maxTimestamp >= 0) {
      this.timeIndex?.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
    }
  }

  indexesLoaded(): boolean {
    return this.offsetIndex !== undefined && this.timeIndex !== undefined;
  }

  dropIndexes(): void {
    if (this.indexesDirty) return;
    this.offsetIndex = undefined;
    this.timeIndex = undefined;
  }
}

/** What a scan stopped on: undefined when the whole range held valid batches. */
export type ScanStop = 'torn' | 'corrupt-structure' | 'crc' | 'offsets' | undefined;

export interface ScanResult {
  validBytes: number;
  stop: ScanStop;
}

export interface ScannedBatch {
  buf: Buffer;
  pos: number;
  size: number;
  /** Byte position in the segment file. */
  position: number;
  baseOffset: number;
  lastOffset: number;
  partitionLeaderEpoch: number;
}

const SCAN_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * Walks the batches of a segment file from `from` to `to` bytes, checking structure, CRC (when
 * checkCrc) and offsets (monotonic, within the segment's int32 range) as LogSegment.recover does.
 * visit returns false to stop early. Reads in large chunks; bounded by the byte range.
 */
export async function scanSegmentFile(
  fd: number, segmentBaseOffset: number, from: number, to: number, checkCrc: boolean,
  visit: (batch: ScannedBatch) => boolean,
): Promise<ScanResult> {
  let chunk = Buffer.allocUnsafe(Math.max(RECORD_BATCH_OVERHEAD, Math.min(SCAN_CHUNK_BYTES, to - from)));
  let filePos = from;
  let end = to;
  let previousLastOffset = segmentBaseOffset - 1;
  // Each round either consumes whole batches or grows the chunk to the batch that did not fit, and a
  // batch never exceeds the bytes left in the range, so the loop ends within (to - from) / 61 + 2 rounds.
  while (filePos < end) {
    const requested = Math.min(chunk.length, end - filePos);
    const n = await preadFull(fd, chunk, requested, filePos);
    if (n < requested) end = filePos + n;
    let pos = 0;
    for (;;) {
      const remaining = end - filePos - pos;
      if (remaining === 0) break;
      const size = probeBatch(chunk, pos, n, remaining);
      if (size < 0 && n - pos >= RECORD_BATCH_OVERHEAD) {
        // A sane header whose batch runs past the end of the range is a write cut short, not damage.
        const declared = probeBatch(chunk, pos, n, 0x7fffffff);
        return stopAt(filePos + pos, declared > remaining ? 'torn' : 'corrupt-structure');
      }
      if (size < 0 && remaining < RECORD_BATCH_OVERHEAD) return stopAt(filePos + pos, 'torn');
      if (size < 0) break;
      if (pos + size > n) {
        if (size > chunk.length) chunk = Buffer.allocUnsafe(size);
        break;
      }
      if (checkCrc && !isBatchCrcValid(chunk, pos, size)) return stopAt(filePos + pos, 'crc');
      const baseOffset = readInt64(chunk, pos + BASE_OFFSET_OFFSET);
      const lastOffset = baseOffset + chunk.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
      const offsetsValid = baseOffset > previousLastOffset && lastOffset >= baseOffset
        && lastOffset - segmentBaseOffset <= RELATIVE_OFFSET_MAX;
      if (!offsetsValid) return stopAt(filePos + pos, 'offsets');
      const partitionLeaderEpoch = chunk.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET);
      const keepGoing = visit({ buf: chunk, pos, size, position: filePos + pos, baseOffset, lastOffset, partitionLeaderEpoch });
      previousLastOffset = lastOffset;
      pos += size;
      if (!keepGoing) return { validBytes: filePos + pos, stop: undefined };
    }
    filePos += pos;
  }
  return { validBytes: filePos, stop: undefined };
}

function stopAt(position: number, stop: ScanStop): ScanResult {
  return { validBytes: position, stop };
}

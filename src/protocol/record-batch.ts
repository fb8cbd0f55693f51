/**
 * Kafka record batch, magic v2: a view over the 61-byte header of a batch that stays a Buffer slice.
 * Layout follows clients/.../record/DefaultRecordBatch.java:
 *
 *   baseOffset int64 @0 · batchLength int32 @8 · partitionLeaderEpoch int32 @12 · magic int8 @16
 *   crc uint32 @17 (CRC-32C over bytes 21..end) · attributes int16 @21 · lastOffsetDelta int32 @23
 *   baseTimestamp int64 @27 · maxTimestamp int64 @35 · producerId int64 @43 · producerEpoch int16 @51
 *   baseSequence int32 @53 · recordsCount int32 @57 · records @61
 *
 * The CRC does not cover baseOffset, batchLength or partitionLeaderEpoch, so the broker can assign
 * offsets and stamp the leader epoch in place. Setting LogAppendTime changes attributes and
 * maxTimestamp, which the CRC does cover: it is recomputed then, as DefaultRecordBatch.setMaxTimestamp does.
 *
 * Offsets and timestamps are JS numbers here (checked < 2^53); nothing on this path allocates per record.
 */
import { crc32c } from '@node-rs/crc32';

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORDS_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;

/** baseOffset + batchLength: the bytes in front of what batchLength counts (Kafka's LOG_OVERHEAD). */
export const LOG_OVERHEAD = 12;
export const RECORD_BATCH_OVERHEAD = 61;
export const CURRENT_MAGIC = 2;

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_FLAG_MASK = 0x10;
export const CONTROL_FLAG_MASK = 0x20;
export const DELETE_HORIZON_FLAG_MASK = 0x40;

export const NO_PRODUCER_ID = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;
export const NO_TIMESTAMP = -1;

export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** Kafka error codes this module can produce (protocol error table numbers). */
export const ErrorCode = {
  CORRUPT_MESSAGE: 2,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  INVALID_RECORD: 87,
} as const;

/** One rejected record of a batch: ProduceResponse v8+ `record_errors` (KIP-467). */
export interface RecordError {
  readonly batchIndex: number;
  readonly message: string;
}

/**
 * A batch the client sent is unusable; errorCode is what the Produce response carries, recordErrors
 * the records to name in it (Kafka's RecordValidationException).
 */
export class RecordBatchError extends Error {
  override name = 'RecordBatchError';
  constructor(readonly errorCode: number, message: string, readonly recordErrors: readonly RecordError[] = []) {
    super(message);
  }
}

const TWO_POW_32 = 0x100000000;

/** int64 → number; exact for |v| < 2^53, which every offset and timestamp in the log satisfies. */
export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_POW_32, pos + 4);
}

export interface RecordBatchHeader {
  baseOffset: number;
  lastOffset: number;
  /** Bytes of the whole batch including LOG_OVERHEAD. */
  sizeInBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
  compression: number;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
}

/** Decodes the header at pos; the caller has checked that RECORD_BATCH_OVERHEAD bytes are there. */
export function readBatchHeader(buf: Buffer, pos = 0): RecordBatchHeader {
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  const baseOffset = readInt64(buf, pos + BASE_OFFSET_OFFSET);
  const lastOffsetDelta = buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
  return {
    baseOffset,
    lastOffset: baseOffset + lastOffsetDelta,
    sizeInBytes: LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(pos + MAGIC_OFFSET),
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes,
    lastOffsetDelta,
    baseTimestamp: readInt64(buf, pos + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64(buf, pos + MAX_TIMESTAMP_OFFSET),
    producerId: readInt64(buf, pos + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET),
    recordsCount: buf.readInt32BE(pos + RECORDS_COUNT_OFFSET),
    compression: attributes & COMPRESSION_CODEC_MASK,
    timestampType: (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? 'LogAppendTime' : 'CreateTime',
    isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
    isControl: (attributes & CONTROL_FLAG_MASK) !== 0,
  };
}

export function batchBaseOffset(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos + BASE_OFFSET_OFFSET);
}

export function batchLastOffset(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos + BASE_OFFSET_OFFSET) + buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
}

export function batchMaxTimestamp(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos + MAX_TIMESTAMP_OFFSET);
}

export function batchPartitionLeaderEpoch(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/** Results of probeBatch below zero: why no batch starts at pos. */
export const PROBE_SHORT = -1;
export const PROBE_BAD_MAGIC = -2;
export const PROBE_BAD_LENGTH = -3;

/**
 * Structure check of the batch at pos without reading past end: returns its size in bytes (which may
 * exceed end - pos: the caller decides whether the rest is still to be read or torn), or a PROBE_* code.
 */
export function probeBatch(buf: Buffer, pos: number, end: number, maxBatchBytes: number): number {
  if (end - pos < RECORD_BATCH_OVERHEAD) return PROBE_SHORT;
  if (buf.readInt8(pos + MAGIC_OFFSET) !== CURRENT_MAGIC) return PROBE_BAD_MAGIC;
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) return PROBE_BAD_LENGTH;
  if (batchLength + LOG_OVERHEAD > maxBatchBytes) return PROBE_BAD_LENGTH;
  return batchLength + LOG_OVERHEAD;
}

export function computeBatchCrc(buf: Buffer, pos: number, size: number): number {
  return crc32c(buf.subarray(pos + ATTRIBUTES_OFFSET, pos + size));
}

export function isBatchCrcValid(buf: Buffer, pos: number, size: number): boolean {
  return computeBatchCrc(buf, pos, size) === buf.readUInt32BE(pos + CRC_OFFSET);
}

/** Header fields that are consistent with each other (see validateBatchFields). */
function fieldsError(buf: Buffer, pos: number): string | undefined {
  const recordsCount = buf.readInt32BE(pos + RECORDS_COUNT_OFFSET);
  const lastOffsetDelta = buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
  if (recordsCount <= 0) return `recordsCount ${recordsCount} must be positive`;
  if (lastOffsetDelta !== recordsCount - 1) {
    return `lastOffsetDelta ${lastOffsetDelta} does not match recordsCount ${recordsCount}`;
  }
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  if ((attributes & COMPRESSION_CODEC_MASK) > 4) return `unknown compression codec ${attributes & 7}`;
  return undefined;
}

export interface BatchSpan {
  position: number;
  size: number;
}

/**
 * Splits buf into whole v2 batches, checking magic, batchLength against the buffer, CRC-32C and the
 * record count vs lastOffsetDelta (unless !checkFields: a follower copies the leader's batches, which
 * compaction may have thinned). Throws RecordBatchError; never modifies buf. A buffer that is not
 * an exact sequence of whole batches is CORRUPT_MESSAGE (Kafka rejects a trailing partial batch too).
 */
export function splitAndValidateBatches(
  buf: Buffer, maxBatchBytes: number, spansMax: number, checkFields = true,
): BatchSpan[] {
  const spans: BatchSpan[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (spans.length >= spansMax) throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'too many batches');
    const size = probeBatch(buf, pos, buf.length, maxBatchBytes);
    if (size === PROBE_BAD_MAGIC) {
      throw new RecordBatchError(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `magic ${buf.readInt8(pos + MAGIC_OFFSET)} is not 2`);
    }
    if (size < 0 || pos + size > buf.length) {
      throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, `batch at byte ${pos}: length inconsistent with the buffer`);
    }
    if (!isBatchCrcValid(buf, pos, size)) {
      throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, `batch at byte ${pos}: CRC-32C mismatch`);
    }
    const problem = checkFields ? fieldsError(buf, pos) : undefined;
    if (problem !== undefined) throw new RecordBatchError(ErrorCode.INVALID_RECORD, `batch at byte ${pos}: ${problem}`);
    spans.push({ position: pos, size });
    pos += size;
  }
  if (spans.length === 0) throw new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, 'no record batch');
  return spans;
}

/** Stamps baseOffset and partitionLeaderEpoch; both lie outside the CRC, so it stays valid. */
export function assignOffsetAndEpoch(buf: Buffer, pos: number, baseOffset: number, leaderEpoch: number): void {
  writeInt64(buf, pos + BASE_OFFSET_OFFSET, baseOffset);
  buf.writeInt32BE(leaderEpoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * LogAppendTime: the broker's clock becomes maxTimestamp and the timestamp-type bit is set. Both are
 * covered by the CRC, so it is recomputed (DefaultRecordBatch.setMaxTimestamp).
 */
export function setLogAppendTime(buf: Buffer, pos: number, size: number, nowMs: number): void {
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  if ((attributes & TIMESTAMP_TYPE_MASK) !== 0 && readInt64(buf, pos + MAX_TIMESTAMP_OFFSET) === nowMs) return;
  buf.writeInt16BE(attributes | TIMESTAMP_TYPE_MASK, pos + ATTRIBUTES_OFFSET);
  writeInt64(buf, pos + MAX_TIMESTAMP_OFFSET, nowMs);
  buf.writeUInt32BE(computeBatchCrc(buf, pos, size), pos + CRC_OFFSET);
}

/** CreateTime topic: a batch flagged LogAppendTime is turned back to CreateTime, CRC recomputed (as Kafka). */
export function setCreateTime(buf: Buffer, pos: number, size: number): void {
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  if ((attributes & TIMESTAMP_TYPE_MASK) === 0) return;
  buf.writeInt16BE(attributes & ~TIMESTAMP_TYPE_MASK, pos + ATTRIBUTES_OFFSET);
  buf.writeUInt32BE(computeBatchCrc(buf, pos, size), pos + CRC_OFFSET);
}

// ---- Record-level reads for uncompressed batches (ListOffsets by timestamp). ----
// DefaultRecord: length varint, attributes int8, timestampDelta varlong, offsetDelta varint, ...

interface VarintCursor { pos: number; }

function readVarlong(buf: Buffer, cursor: VarintCursor, end: number): number | undefined {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor.pos >= end) return undefined;
    const byte = buf[cursor.pos++] as number;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    multiplier *= 128;
  }
  return undefined;
}

/** Decompresses a batch's records section (bytes after the 61-byte header) for codec 1-4. */
export type RecordsDecompressor = (compression: number, compressed: Buffer) => Buffer;

/**
 * Visits (offset, timestamp) of each record of a batch; stops when visit returns true. Compressed batches
 * need decompress (else false is returned and the caller falls back to the batch level), as does a record
 * that does not parse. Bounded by recordsCount and the records' size.
 */
export function forEachRecordTimestamp(
  buf: Buffer, pos: number, size: number, visit: (offset: number, timestampMs: number) => boolean,
  decompress?: RecordsDecompressor,
): boolean {
  const compression = buf.readInt16BE(pos + ATTRIBUTES_OFFSET) & COMPRESSION_CODEC_MASK;
  let records = buf.subarray(pos + RECORDS_OFFSET, pos + size);
  if (compression !== 0) {
    if (decompress === undefined) return false;
    try {
      records = decompress(compression, records);
    } catch {
      return false;
    }
  }
  const baseOffset = readInt64(buf, pos + BASE_OFFSET_OFFSET);
  const baseTimestamp = readInt64(buf, pos + BASE_TIMESTAMP_OFFSET);
  const count = buf.readInt32BE(pos + RECORDS_COUNT_OFFSET);
  const cursor = { pos: 0 };
  for (let i = 0; i < count; i++) {
    const length = readVarlong(records, cursor, records.length);
    if (length === undefined || length < 0) return false;
    const recordEnd = cursor.pos + length;
    if (recordEnd > records.length) return false;
    cursor.pos += 1;
    const timestampDelta = readVarlong(records, cursor, recordEnd);
    const offsetDelta = readVarlong(records, cursor, recordEnd);
    if (timestampDelta === undefined || offsetDelta === undefined) return false;
    if (visit(baseOffset + offsetDelta, baseTimestamp + timestampDelta)) return true;
    cursor.pos = recordEnd;
  }
  return true;
}

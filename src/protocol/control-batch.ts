/**
 * Transaction markers: the control batches a transaction coordinator writes to every partition of a
 * transaction when it ends (KIP-98; Kafka's EndTransactionMarker, ControlRecordType,
 * MemoryRecords.withEndTransactionMarker).
 *
 * One batch, magic 2, uncompressed, attributes transactional | control, the producer's id and epoch,
 * base sequence -1, one record:
 *   key   = int16 version (0), int16 type (0 ABORT, 1 COMMIT)        — ControlRecordType's key schema
 *   value = int16 version (0), int32 coordinator epoch               — EndTransactionMarker's value schema
 * Offsets and the partition leader epoch are assigned by the log, as for any batch.
 */
import { crc32c } from '@node-rs/crc32';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  NO_PARTITION_LEADER_EPOCH,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_OFFSET,
  TRANSACTIONAL_FLAG_MASK,
  writeInt64,
} from './record-batch.js';

/** ControlRecordType ids. */
export const ControlRecordType = { ABORT: 0, COMMIT: 1 } as const;
export type ControlRecordTypeId = (typeof ControlRecordType)[keyof typeof ControlRecordType];

/** ControlRecordType.CURRENT_CONTROL_RECORD_KEY_VERSION / EndTransactionMarker.CURRENT_END_TXN_MARKER_VERSION. */
const CONTROL_KEY_VERSION = 0;
const END_TXN_MARKER_VERSION = 0;
const KEY_BYTES = 4;
const VALUE_BYTES = 6;

export interface EndTransactionMarker {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  /** true: COMMIT, false: ABORT. */
  readonly commit: boolean;
  /**
   * The transaction version the coordinator ended the transaction under (WriteTxnMarkers v2, KIP-1228);
   * not written into the batch. 2: the marker's epoch was bumped past the transaction's, so the partition
   * takes it only above the producer's current epoch. Absent: 0.
   */
  readonly transactionVersion?: number;
}

/** The marker batch, stamped with timestampMs; the log assigns its offset. */
export function buildEndTxnMarkerBatch(marker: EndTransactionMarker, timestampMs: number): Buffer {
  // The record: length varint, attributes 0, timestampDelta 0, offsetDelta 0, key length 4 (varint 8),
  // key, value length 6 (varint 12), value, header count 0. Every varint here is one byte.
  const recordBody = 1 + 1 + 1 + 1 + KEY_BYTES + 1 + VALUE_BYTES + 1;
  const buf = Buffer.alloc(RECORD_BATCH_OVERHEAD + 1 + recordBody);
  writeInt64(buf, BASE_OFFSET_OFFSET, 0);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  buf.writeInt32BE(NO_PARTITION_LEADER_EPOCH, PARTITION_LEADER_EPOCH_OFFSET);
  buf.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  buf.writeInt16BE(TRANSACTIONAL_FLAG_MASK | CONTROL_FLAG_MASK, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(0, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(buf, BASE_TIMESTAMP_OFFSET, timestampMs);
  writeInt64(buf, MAX_TIMESTAMP_OFFSET, timestampMs);
  writeInt64(buf, PRODUCER_ID_OFFSET, marker.producerId);
  buf.writeInt16BE(marker.producerEpoch, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(-1, BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(1, RECORDS_COUNT_OFFSET);
  let pos = RECORD_BATCH_OVERHEAD;
  buf.writeUInt8(recordBody << 1, pos++); // zigzag varint of a small positive length
  buf.writeUInt8(0, pos++); // attributes
  buf.writeUInt8(0, pos++); // timestampDelta
  buf.writeUInt8(0, pos++); // offsetDelta
  buf.writeUInt8(KEY_BYTES << 1, pos++);
  buf.writeInt16BE(CONTROL_KEY_VERSION, pos);
  buf.writeInt16BE(marker.commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT, pos + 2);
  pos += KEY_BYTES;
  buf.writeUInt8(VALUE_BYTES << 1, pos++);
  buf.writeInt16BE(END_TXN_MARKER_VERSION, pos);
  buf.writeInt32BE(marker.coordinatorEpoch, pos + 2);
  pos += VALUE_BYTES;
  buf.writeUInt8(0, pos++); // headers
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return buf;
}

/** What a control batch read back from the log says. */
export interface ControlBatchInfo {
  /** 0 ABORT, 1 COMMIT, other values are control types this broker does not know. */
  readonly type: number;
  /** From an end-transaction marker's value; -1 when the value is absent or unreadable. */
  readonly coordinatorEpoch: number;
}

/**
 * The control type of a whole control batch (ControlRecordType.parse of its first record's key), or
 * undefined when the batch is not a readable control batch (compressed, empty, truncated).
 */
export function readControlBatch(batch: Buffer, pos = 0): ControlBatchInfo | undefined {
  if (batch.length - pos < RECORD_BATCH_OVERHEAD + 1) return undefined;
  const attributes = batch.readInt16BE(pos + ATTRIBUTES_OFFSET);
  if ((attributes & CONTROL_FLAG_MASK) === 0 || (attributes & COMPRESSION_CODEC_MASK) !== 0) return undefined;
  if (batch.readInt32BE(pos + RECORDS_COUNT_OFFSET) < 1) return undefined;
  const end = pos + LOG_OVERHEAD + batch.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (end > batch.length) return undefined;
  const cursor = { pos: pos + RECORD_BATCH_OVERHEAD };
  try {
    readVarint(batch, cursor, end); // length
    cursor.pos += 1; // attributes
    readVarint(batch, cursor, end); // timestampDelta
    readVarint(batch, cursor, end); // offsetDelta
    const keyLength = readVarint(batch, cursor, end);
    if (keyLength < KEY_BYTES || cursor.pos + keyLength > end) return undefined;
    const type = batch.readInt16BE(cursor.pos + 2);
    cursor.pos += keyLength;
    const valueLength = readVarint(batch, cursor, end);
    const coordinatorEpoch = valueLength >= VALUE_BYTES && cursor.pos + valueLength <= end ? batch.readInt32BE(cursor.pos + 2) : -1;
    return { type, coordinatorEpoch };
  } catch {
    return undefined;
  }
}

function readVarint(buf: Buffer, cursor: { pos: number }, end: number): number {
  let raw = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (cursor.pos >= end) throw new RangeError('truncated varint');
    const byte = buf[cursor.pos++] as number;
    raw += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }
  throw new RangeError('varint too long');
}

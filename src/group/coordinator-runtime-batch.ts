/**
 * The `__consumer_offsets` record batches of the coordinator runtime: one v2 batch (magic 2,
 * uncompressed, CreateTime, no producer) per core append, as Kafka's CoordinatorRuntime writes them
 * (MemoryRecords.withRecords of the shard's records; the classic coordinator also wrote one batch per
 * store), and the reverse for loading: every record's key and value of a batch read back from the log.
 *
 * Record v2 layout (KIP-98, DefaultRecord): length varint, attributes int8, timestampDelta varlong,
 * offsetDelta varint, key (varint length, -1 = null), value (same), header count varint.
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
  NO_PRODUCER_ID,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_OFFSET,
  TRANSACTIONAL_FLAG_MASK,
  readInt64,
  writeInt64,
} from '../protocol/record-batch.js';
import { ControlRecordType, readControlBatch } from '../protocol/control-batch.js';
import type { ReplayBatch } from './coordinator.js';
import { RecordFormatError, type CoordinatorRecord } from './records.js';

/**
 * One batch for `records` (at least one), stamped with timestampMs; offsets are assigned by the log.
 * With a producer (transactional offset commits) the batch is transactional and carries the producer's
 * id and epoch, sequence -1, as Kafka's coordinator writes them (MemoryRecords.withTransactionalRecords).
 */
export function buildCoordinatorBatch(
  records: readonly CoordinatorRecord[], timestampMs: number, producer?: { producerId: number; producerEpoch: number },
): Buffer {
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const encoded = records.map((r, i) => encodeRecord(r, i));
  let bodyBytes = 0;
  for (const e of encoded) bodyBytes += e.length;
  const buf = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + bodyBytes);
  writeInt64(buf, BASE_OFFSET_OFFSET, 0);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  buf.writeInt32BE(NO_PARTITION_LEADER_EPOCH, PARTITION_LEADER_EPOCH_OFFSET);
  buf.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  buf.writeInt16BE(producer === undefined ? 0 : TRANSACTIONAL_FLAG_MASK, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(records.length - 1, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(buf, BASE_TIMESTAMP_OFFSET, timestampMs);
  writeInt64(buf, MAX_TIMESTAMP_OFFSET, timestampMs);
  writeInt64(buf, PRODUCER_ID_OFFSET, producer?.producerId ?? NO_PRODUCER_ID);
  buf.writeInt16BE(producer?.producerEpoch ?? -1, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(-1, BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(records.length, RECORDS_COUNT_OFFSET);
  let pos = RECORD_BATCH_OVERHEAD;
  for (const e of encoded) pos += e.copy(buf, pos);
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return buf;
}

/**
 * The records of a log read's chunk, which may hold several whole batches back to back (a disk read
 * returns them contiguous), in offset order. See coordinatorRecordsOf.
 */
export function coordinatorRecordsOfChunk(chunk: Buffer): CoordinatorRecord[] {
  const out: CoordinatorRecord[] = [];
  let pos = 0;
  while (pos < chunk.length) {
    if (chunk.length - pos < RECORD_BATCH_OVERHEAD) throw new RecordFormatError(`partial batch of ${chunk.length - pos} bytes`);
    const size = LOG_OVERHEAD + chunk.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (size < RECORD_BATCH_OVERHEAD || pos + size > chunk.length) throw new RecordFormatError(`batch of ${size} bytes at ${pos}`);
    for (const record of coordinatorRecordsOf(chunk.subarray(pos, pos + size))) out.push(record);
    pos += size;
  }
  return out;
}

/**
 * The batches of a log read's chunk with what replay needs of each header: producer, transactional,
 * control (and a marker's outcome), and the records (none for control batches).
 */
export function coordinatorBatchesOfChunk(chunk: Buffer): ReplayBatch[] {
  const out: ReplayBatch[] = [];
  let pos = 0;
  while (pos < chunk.length) {
    if (chunk.length - pos < RECORD_BATCH_OVERHEAD) throw new RecordFormatError(`partial batch of ${chunk.length - pos} bytes`);
    const size = LOG_OVERHEAD + chunk.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (size < RECORD_BATCH_OVERHEAD || pos + size > chunk.length) throw new RecordFormatError(`batch of ${size} bytes at ${pos}`);
    const batch = chunk.subarray(pos, pos + size);
    const attributes = batch.readInt16BE(ATTRIBUTES_OFFSET);
    const isControl = (attributes & CONTROL_FLAG_MASK) !== 0;
    const control = isControl ? readControlBatch(batch) : undefined;
    const known = control !== undefined && (control.type === ControlRecordType.COMMIT || control.type === ControlRecordType.ABORT);
    out.push({
      producerId: readInt64(batch, PRODUCER_ID_OFFSET),
      isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
      isControl,
      ...(known ? { marker: { commit: control.type === ControlRecordType.COMMIT } } : {}),
      records: coordinatorRecordsOf(batch),
    });
    pos += size;
  }
  return out;
}

/**
 * The records of one whole batch read from the log, in offset order. Control batches (transaction
 * markers) carry no coordinator records and give none. The runtime never writes compressed batches, so
 * one here means the partition was written by something else: RecordFormatError, as for any record
 * that does not parse.
 */
export function coordinatorRecordsOf(batch: Buffer): CoordinatorRecord[] {
  if (batch.length < RECORD_BATCH_OVERHEAD) throw new RecordFormatError(`batch of ${batch.length} bytes`);
  const attributes = batch.readInt16BE(ATTRIBUTES_OFFSET);
  if ((attributes & CONTROL_FLAG_MASK) !== 0) return [];
  if ((attributes & COMPRESSION_CODEC_MASK) !== 0) {
    throw new RecordFormatError(`compressed batch (codec ${attributes & COMPRESSION_CODEC_MASK}) in __consumer_offsets`);
  }
  const count = batch.readInt32BE(RECORDS_COUNT_OFFSET);
  const end = LOG_OVERHEAD + batch.readInt32BE(BATCH_LENGTH_OFFSET);
  if (end > batch.length || count < 0) throw new RecordFormatError('batch length or record count out of range');
  const cursor = { pos: RECORD_BATCH_OVERHEAD };
  const out: CoordinatorRecord[] = [];
  for (let i = 0; i < count; i++) {
    const length = readVarint(batch, cursor, end);
    const recordEnd = cursor.pos + length;
    if (length < 0 || recordEnd > end) throw new RecordFormatError(`record ${i}: length ${length}`);
    cursor.pos += 1; // attributes
    readVarint(batch, cursor, recordEnd); // timestampDelta
    readVarint(batch, cursor, recordEnd); // offsetDelta
    const key = readBytes(batch, cursor, recordEnd);
    const value = readBytes(batch, cursor, recordEnd);
    if (key === null) throw new RecordFormatError(`record ${i}: null key`);
    out.push({ key, value });
    cursor.pos = recordEnd;
  }
  return out;
}

function encodeRecord(record: CoordinatorRecord, offsetDelta: number): Buffer {
  const head: number[] = [0]; // attributes
  pushVarint(head, 0); // timestampDelta: every record has the batch's timestamp
  pushVarint(head, offsetDelta);
  pushVarint(head, record.key.length);
  const valueLength: number[] = [];
  pushVarint(valueLength, record.value === null ? -1 : record.value.length);
  const parts = [Buffer.from(head), record.key, Buffer.from(valueLength), record.value ?? EMPTY, NO_HEADERS];
  let bodyBytes = 0;
  for (const part of parts) bodyBytes += part.length;
  const length: number[] = [];
  pushVarint(length, bodyBytes);
  return Buffer.concat([Buffer.from(length), ...parts], length.length + bodyBytes);
}

const EMPTY = Buffer.alloc(0);
/** Header count 0, as a varint. */
const NO_HEADERS = Buffer.from([0]);

/** Zigzag varint of a 32-bit value. */
function pushVarint(out: number[], value: number): void {
  let v = (value << 1) ^ (value >> 31);
  v >>>= 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function readVarint(buf: Buffer, cursor: { pos: number }, end: number): number {
  let raw = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (cursor.pos >= end) throw new RecordFormatError('truncated varint');
    const byte = buf[cursor.pos++] as number;
    raw += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }
  throw new RecordFormatError('varint longer than 10 bytes');
}

function readBytes(buf: Buffer, cursor: { pos: number }, end: number): Buffer | null {
  const length = readVarint(buf, cursor, end);
  if (length === -1) return null;
  if (length < -1 || cursor.pos + length > end) throw new RecordFormatError(`field length ${length}`);
  const bytes = Buffer.from(buf.subarray(cursor.pos, cursor.pos + length));
  cursor.pos += length;
  return bytes;
}

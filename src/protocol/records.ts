/**
 * The record walk: checks that the records of a v2 batch parse, as Kafka's broker does for every batch
 * a client appends (LogValidator iterates each batch's records; DefaultRecordBatch's iterators and
 * DefaultRecord.readFrom throw InvalidRecordException for what is checked here). A batch whose CRC is
 * right but whose records do not parse would otherwise be stored and stop every consumer at its offset.
 *
 * DefaultRecord (clients/.../record/DefaultRecord.java), each field a zig-zag varint unless noted:
 *   length · attributes int8 · timestampDelta varlong · offsetDelta · keyLength (-1 = null) · key ·
 *   valueLength (-1 = null) · value · headerCount · headers [keyLength (≥ 0) · key · valueLength · value]
 *
 * Uncompressed records are walked in place; nothing is allocated unless a check fails (the cursor is
 * module state, not an object per call). Compressed records are decompressed into a reused buffer
 * (compression.ts) and walked the same way; the batch itself is never re-encoded or modified.
 *
 * Stricter than Kafka, where Kafka would store what some consumer cannot read back:
 * - key/value/header-value lengths below -1 (Java reads them as null; other clients refuse them);
 * - client batches whose offsetDeltas are not 0, 1, 2, … (Kafka re-compresses such compressed batches
 *   with fresh offsets and keeps uncompressed ones as sent; no client writes them, and Runnel never
 *   re-encodes, so they are refused);
 * - a compressed payload that does not decompress is INVALID_RECORD (Kafka throws KafkaException there,
 *   which reaches the client as UNKNOWN_SERVER_ERROR).
 */
import {
  ATTRIBUTES_OFFSET, COMPRESSION_CODEC_MASK, LAST_OFFSET_DELTA_OFFSET, RECORDS_COUNT_OFFSET, RECORDS_OFFSET,
} from './record-batch.js';
import { COMPRESSION_NONE, DecompressionError, decompressRecordsView } from './compression.js';

/** Record errors reported per batch (Kafka reports all; a response must stay bounded). */
export const KEYLESS_RECORDS_MAX = 100;

/** What the walk checks beyond structure. */
export interface RecordWalkOptions {
  /**
   * 'client': offsetDelta of record i must be i (what producers write). 'replication': increasing and at
   * most lastOffsetDelta (a compacted leader's batches have gaps); for the follower path to reuse.
   */
  readonly origin: 'client' | 'replication';
  /**
   * Compacted topics (LogValidator.validateKey): indexes of keyless records are pushed here, at most
   * KEYLESS_RECORDS_MAX; the caller clears it before the walk.
   */
  readonly keyless?: number[];
}

/** Smallest possible record: seven one-byte fields (length, attributes, three deltas/lengths, headers). */
const RECORD_BYTES_MIN = 7;

let cursor = 0;
/** Set by the readers below when a varint runs past its bound or is too long (Java: IllegalArgumentException). */
let overrun = false;

/** ByteUtils.readVarint: at most 5 bytes, 32-bit zig-zag (bits past 32 drop, as Java's int shifts do). */
function readVarint(buf: Buffer, end: number): number {
  let value = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (cursor >= end) break;
    const byte = buf[cursor++] as number;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return (value >>> 1) ^ -(value & 1);
  }
  overrun = true;
  return 0;
}

/** ByteUtils.readVarlong, value unused: at most 10 bytes. */
function skipVarlong(buf: Buffer, end: number): void {
  for (let i = 0; i < 10; i++) {
    if (cursor >= end) break;
    if (((buf[cursor++] as number) & 0x80) === 0) return;
  }
  overrun = true;
}

/** A length-prefixed field: -1 is null; returns the length or -2 when the field is malformed. */
function skipBytesField(buf: Buffer, end: number): number {
  const length = readVarint(buf, end);
  if (overrun || length < -1 || length > end - cursor) return -2;
  if (length > 0) cursor += length;
  return length;
}

/**
 * Checks the records section buf[start, end) of a batch declaring `count` records and lastOffsetDelta.
 * Returns undefined when every record parses and nothing follows the last, else the reason
 * (Kafka's InvalidRecordException wording where it has one).
 */
export function walkRecords(
  buf: Buffer, start: number, end: number, count: number, lastOffsetDelta: number, options: RecordWalkOptions,
): string | undefined {
  if (count < 0) return `Found invalid record count ${count} in magic v2 batch`;
  if (count > (end - start) / RECORD_BYTES_MIN) return `Incorrect declared batch size, premature EOF reached (${count} records in ${end - start} bytes)`;
  const client = options.origin === 'client';
  const keyless = options.keyless;
  cursor = start;
  overrun = false;
  let previousOffsetDelta = -1;
  for (let index = 0; index < count; index++) {
    if (cursor >= end) return 'Incorrect declared batch size, premature EOF reached';
    const length = readVarint(buf, end);
    if (overrun || length < 0) return `record ${index}: invalid record length`;
    const recordStart = cursor;
    const recordEnd = cursor + length;
    if (recordEnd > end) {
      return `Invalid record size: expected ${length} bytes in record payload, but instead the buffer has only ${end - cursor} remaining bytes.`;
    }
    cursor++; // attributes: unused in v2
    skipVarlong(buf, recordEnd); // timestampDelta
    const offsetDelta = readVarint(buf, recordEnd);
    if (overrun) return `record ${index}: Found invalid record structure`;
    if (client ? offsetDelta !== index : offsetDelta <= previousOffsetDelta || offsetDelta > lastOffsetDelta) {
      return `record ${index}: offsetDelta ${offsetDelta} out of sequence`;
    }
    previousOffsetDelta = offsetDelta;
    const keyLength = skipBytesField(buf, recordEnd);
    if (keyLength === -2) return `record ${index}: Found invalid record structure (key)`;
    if (keyLength === -1 && keyless !== undefined && keyless.length < KEYLESS_RECORDS_MAX) keyless.push(index);
    if (skipBytesField(buf, recordEnd) === -2) return `record ${index}: Found invalid record structure (value)`;
    const headers = readVarint(buf, recordEnd);
    if (overrun || headers < 0 || headers > (recordEnd - cursor) / 2) return `record ${index}: Found invalid number of record headers ${headers}`;
    for (let h = 0; h < headers; h++) {
      if (skipBytesField(buf, recordEnd) < 0) return `record ${index}: Invalid negative header key size`;
      if (skipBytesField(buf, recordEnd) === -2) return `record ${index}: Found invalid record structure (header value)`;
    }
    if (cursor !== recordEnd) {
      return `Invalid record size: expected to read ${length} bytes in record payload, but instead read ${cursor - recordStart}`;
    }
  }
  if (cursor !== end) return 'Incorrect declared batch size, records still remaining in file';
  return undefined;
}

/**
 * Checks the records of the whole batch buf[pos, pos + size) (header fields already validated),
 * decompressing them first when the attributes name a codec.
 */
export function validateBatchRecords(buf: Buffer, pos: number, size: number, options: RecordWalkOptions): string | undefined {
  const count = buf.readInt32BE(pos + RECORDS_COUNT_OFFSET);
  const lastOffsetDelta = buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
  const codec = buf.readInt16BE(pos + ATTRIBUTES_OFFSET) & COMPRESSION_CODEC_MASK;
  if (codec === COMPRESSION_NONE) return walkRecords(buf, pos + RECORDS_OFFSET, pos + size, count, lastOffsetDelta, options);
  let records: Buffer;
  try {
    records = decompressRecordsView(codec, buf.subarray(pos + RECORDS_OFFSET, pos + size));
  } catch (err) {
    if (!(err instanceof DecompressionError)) throw err;
    return `records do not decompress: ${err.message}`;
  }
  return walkRecords(records, 0, records.length, count, lastOffsetDelta, options);
}

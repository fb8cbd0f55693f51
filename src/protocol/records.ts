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

// The walk keeps its cursor in a local and decodes the one- and two-byte varints (every field of a
// typical record: lengths under 8 KiB, small deltas) inline; longer or malformed varints take
// varintSlow, which hands its value back through `slowValue`. A profile of the single-node produce
// path (franz-go acks=1, 100-byte records, 3 partitions) had the first version, whose cursor was module
// state read and written by helper functions, at 16% of the broker's CPU; this form takes about a third
// less time per record (38 -> 25 ns for 100-byte records on the 2-core VM). test/protocol/records.test.ts
// checks it against that first version (test/protocol/records-reference.ts) on random and mutated sections.

/** Set by varintSlow: the decoded value. */
let slowValue = 0;

/**
 * ByteUtils.readVarint from buf[pos], at most 5 bytes, 32-bit zig-zag (bits past 32 drop, as Java's
 * int shifts do). Returns the position after it, or -1 when it runs past `end` or is too long
 * (Java: IllegalArgumentException); the value goes to slowValue.
 */
function varintSlow(buf: Buffer, pos: number, end: number): number {
  let value = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (pos >= end) return -1;
    const byte = buf[pos++] as number;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) {
      slowValue = (value >>> 1) ^ -(value & 1);
      return pos;
    }
  }
  return -1;
}

/** ByteUtils.readVarlong, value unused: at most 10 bytes. Returns the position after it, or -1. */
function skipVarlong(buf: Buffer, pos: number, end: number): number {
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return -1;
    if (((buf[pos++] as number) & 0x80) === 0) return pos;
  }
  return -1;
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
  let c = start;
  let previousOffsetDelta = -1;
  let b = 0;
  let u = 0;
  for (let index = 0; index < count; index++) {
    if (c >= end) return 'Incorrect declared batch size, premature EOF reached';
    // length
    let length: number;
    b = buf[c] as number;
    if (b < 0x80) { length = (b >>> 1) ^ -(b & 1); c += 1; }
    else if (c + 1 < end && (u = buf[c + 1] as number) < 0x80) { u = (b & 0x7f) | (u << 7); length = (u >>> 1) ^ -(u & 1); c += 2; }
    else { c = varintSlow(buf, c, end); length = slowValue; }
    if (c < 0 || length < 0) return `record ${index}: invalid record length`;
    const recordStart = c;
    const recordEnd = c + length;
    if (recordEnd > end) {
      return `Invalid record size: expected ${length} bytes in record payload, but instead the buffer has only ${end - c} remaining bytes.`;
    }
    c++; // attributes: unused in v2
    // timestampDelta (varlong, value unused)
    if (c < recordEnd && (buf[c] as number) < 0x80) c += 1;
    else c = skipVarlong(buf, c, recordEnd);
    // offsetDelta
    let offsetDelta = 0;
    if (c >= 0) {
      b = c < recordEnd ? buf[c] as number : 0x80;
      if (b < 0x80) { offsetDelta = (b >>> 1) ^ -(b & 1); c += 1; }
      else if (c + 1 < recordEnd && (u = buf[c + 1] as number) < 0x80) { u = (b & 0x7f) | (u << 7); offsetDelta = (u >>> 1) ^ -(u & 1); c += 2; }
      else { c = varintSlow(buf, c, recordEnd); offsetDelta = slowValue; }
    }
    if (c < 0) return `record ${index}: Found invalid record structure`;
    if (client ? offsetDelta !== index : offsetDelta <= previousOffsetDelta || offsetDelta > lastOffsetDelta) {
      return `record ${index}: offsetDelta ${offsetDelta} out of sequence`;
    }
    previousOffsetDelta = offsetDelta;
    // key
    let fieldLength: number;
    b = c < recordEnd ? buf[c] as number : 0x80;
    if (b < 0x80) { fieldLength = (b >>> 1) ^ -(b & 1); c += 1; }
    else if (c + 1 < recordEnd && (u = buf[c + 1] as number) < 0x80) { u = (b & 0x7f) | (u << 7); fieldLength = (u >>> 1) ^ -(u & 1); c += 2; }
    else { c = varintSlow(buf, c, recordEnd); fieldLength = slowValue; }
    if (c < 0 || fieldLength < -1 || fieldLength > recordEnd - c) return `record ${index}: Found invalid record structure (key)`;
    if (fieldLength > 0) c += fieldLength;
    else if (fieldLength === -1 && keyless !== undefined && keyless.length < KEYLESS_RECORDS_MAX) keyless.push(index);
    // value
    b = c < recordEnd ? buf[c] as number : 0x80;
    if (b < 0x80) { fieldLength = (b >>> 1) ^ -(b & 1); c += 1; }
    else if (c + 1 < recordEnd && (u = buf[c + 1] as number) < 0x80) { u = (b & 0x7f) | (u << 7); fieldLength = (u >>> 1) ^ -(u & 1); c += 2; }
    else { c = varintSlow(buf, c, recordEnd); fieldLength = slowValue; }
    if (c < 0 || fieldLength < -1 || fieldLength > recordEnd - c) return `record ${index}: Found invalid record structure (value)`;
    if (fieldLength > 0) c += fieldLength;
    // headers
    let headers: number;
    b = c < recordEnd ? buf[c] as number : 0x80;
    if (b < 0x80) { headers = (b >>> 1) ^ -(b & 1); c += 1; }
    else { c = varintSlow(buf, c, recordEnd); headers = slowValue; }
    if (c < 0 || headers < 0 || headers > (recordEnd - c) / 2) return `record ${index}: Found invalid number of record headers ${c < 0 ? 0 : headers}`;
    for (let h = 0; h < headers; h++) {
      c = varintSlow(buf, c, recordEnd);
      if (c < 0 || slowValue < 0 || slowValue > recordEnd - c) return `record ${index}: Invalid negative header key size`;
      c += slowValue;
      c = varintSlow(buf, c, recordEnd);
      if (c < 0 || slowValue < -1 || slowValue > recordEnd - c) return `record ${index}: Found invalid record structure (header value)`;
      if (slowValue > 0) c += slowValue;
    }
    if (c !== recordEnd) {
      return `Invalid record size: expected to read ${length} bytes in record payload, but instead read ${c - recordStart}`;
    }
  }
  if (c !== end) return 'Incorrect declared batch size, records still remaining in file';
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

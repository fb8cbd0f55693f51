/**
 * The first version of the record walk (src/protocol/records.ts before its cursor became a local with
 * inline one- and two-byte varints), kept as the reference the fast version must agree with, answer for
 * answer, on well-formed, random and mutated records sections (records.test.ts). Test-only.
 */
import { KEYLESS_RECORDS_MAX, type RecordWalkOptions } from '../../src/protocol/records.js';

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
export function walkRecordsReference(
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


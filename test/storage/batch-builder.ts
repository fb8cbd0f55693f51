/** Builds valid Kafka v2 record batches (uncompressed records) for tests and benchmarks. */
import { crc32c } from '@node-rs/crc32';
import { writeInt64 } from '../../src/protocol/record-batch.js';

export interface TestRecord {
  key?: Buffer | null;
  value: Buffer | null;
  timestampDelta?: number;
}

export interface BatchSpec {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  records: TestRecord[];
  baseTimestamp?: number;
  /** Defaults to baseTimestamp + the largest timestampDelta. */
  maxTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  compression?: number;
  logAppendTime?: boolean;
  /** Compresses the records section (set compression to the matching codec id). */
  compressRecords?: (records: Buffer) => Buffer;
}

function zigzagVarint(value: number): number[] {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function encodeRecord(record: TestRecord, offsetDelta: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0]), Buffer.from(zigzagVarint(record.timestampDelta ?? 0)), Buffer.from(zigzagVarint(offsetDelta))];
  for (const field of [record.key ?? null, record.value]) {
    if (field === null) {
      parts.push(Buffer.from(zigzagVarint(-1)));
    } else {
      parts.push(Buffer.from(zigzagVarint(field.length)), field);
    }
  }
  parts.push(Buffer.from(zigzagVarint(0)));
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(zigzagVarint(body.length)), body]);
}

export function buildBatch(spec: BatchSpec): Buffer {
  const raw = Buffer.concat(spec.records.map((r, i) => encodeRecord(r, i)));
  const records = spec.compressRecords === undefined ? raw : spec.compressRecords(raw);
  const buf = Buffer.alloc(61 + records.length);
  const baseTimestamp = spec.baseTimestamp ?? 1_700_000_000_000;
  const maxDelta = Math.max(0, ...spec.records.map((r) => r.timestampDelta ?? 0));
  writeInt64(buf, 0, spec.baseOffset ?? 0);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(spec.partitionLeaderEpoch ?? -1, 12);
  buf.writeInt8(2, 16);
  let attributes = spec.compression ?? 0;
  if (spec.logAppendTime) attributes |= 0x08;
  if (spec.transactional) attributes |= 0x10;
  if (spec.control) attributes |= 0x20;
  buf.writeInt16BE(attributes, 21);
  buf.writeInt32BE(spec.records.length - 1, 23);
  writeInt64(buf, 27, baseTimestamp);
  writeInt64(buf, 35, spec.maxTimestamp ?? baseTimestamp + maxDelta);
  writeInt64(buf, 43, spec.producerId ?? -1);
  buf.writeInt16BE(spec.producerEpoch ?? -1, 51);
  buf.writeInt32BE(spec.baseSequence ?? -1, 53);
  buf.writeInt32BE(spec.records.length, 57);
  records.copy(buf, 61);
  buf.writeUInt32BE(crc32c(buf.subarray(21)), 17);
  return buf;
}

/** count records of valueBytes each (deterministic content derived from seed). */
export function simpleBatch(count: number, valueBytes: number, seed = 0, baseTimestamp?: number): Buffer {
  const records: TestRecord[] = [];
  for (let i = 0; i < count; i++) {
    const value = Buffer.alloc(valueBytes, (seed + i) & 0xff);
    records.push({ value, timestampDelta: i });
  }
  return buildBatch({ records, baseTimestamp });
}

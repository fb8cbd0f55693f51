/** Builds Kafka v2 record batches for produce tests, compressed with any codec Kafka clients use. */
import { gzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import { compressSync as snappyCompress } from 'snappy';
import { compressFrameSync as lz4CompressFrame } from 'lz4-napi';
import { compress as zstdCompress } from 'zstd-napi';
import { writeInt64 } from '../../src/protocol/record-batch.js';

export interface TestRecord {
  key?: Buffer | null;
  value: Buffer | null;
  timestampDelta?: number;
}

export interface BatchOptions {
  baseTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  /** 0 none, 1 gzip, 2 snappy (xerial framing when `xerial`), 3 lz4, 4 zstd. */
  compression?: number;
  xerial?: boolean;
}

export function varint(value: number): number[] {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

export function encodeRecord(record: TestRecord, offsetDelta: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0]), Buffer.from(varint(record.timestampDelta ?? 0)), Buffer.from(varint(offsetDelta))];
  for (const field of [record.key ?? null, record.value]) {
    if (field === null) parts.push(Buffer.from(varint(-1)));
    else parts.push(Buffer.from(varint(field.length)), field);
  }
  parts.push(Buffer.from(varint(0)));
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(varint(body.length)), body]);
}

function xerialFrame(raw: Buffer): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const block = snappyCompress(raw);
  const length = Buffer.alloc(4);
  length.writeInt32BE(block.length, 0);
  return Buffer.concat([header, length, block]);
}

export function compress(codec: number, raw: Buffer, xerial: boolean): Buffer {
  switch (codec) {
    case 0: return raw;
    case 1: return gzipSync(raw);
    case 2: return xerial ? xerialFrame(raw) : snappyCompress(raw);
    case 3: return lz4CompressFrame(raw);
    case 4: return zstdCompress(raw);
    default: throw new Error(`codec ${codec}`);
  }
}

export function recordBatch(records: TestRecord[], options: BatchOptions = {}): Buffer {
  const raw = Buffer.concat(records.map((r, i) => encodeRecord(r, i)));
  const body = compress(options.compression ?? 0, raw, options.xerial ?? false);
  const maxDelta = Math.max(0, ...records.map((r) => r.timestampDelta ?? 0));
  return frameBatch(body, records.length, { ...options, maxTimestampDelta: maxDelta });
}

/**
 * A batch around a records section taken as given (it need not parse: poison-batch tests), declaring
 * `count` records; the CRC is right, so only a record walk can tell.
 */
export function frameBatch(body: Buffer, count: number, options: BatchOptions & { maxTimestampDelta?: number; lastOffsetDelta?: number } = {}): Buffer {
  const baseTimestamp = options.baseTimestamp ?? Date.now();
  const batch = Buffer.alloc(61 + body.length);
  writeInt64(batch, 0, 0);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt32BE(-1, 12);
  batch.writeInt8(2, 16);
  const attributes = (options.compression ?? 0) | (options.transactional ? 0x10 : 0) | (options.control ? 0x20 : 0);
  batch.writeInt16BE(attributes, 21);
  batch.writeInt32BE(options.lastOffsetDelta ?? count - 1, 23);
  writeInt64(batch, 27, baseTimestamp);
  writeInt64(batch, 35, baseTimestamp + (options.maxTimestampDelta ?? 0));
  writeInt64(batch, 43, options.producerId ?? -1);
  batch.writeInt16BE(options.producerEpoch ?? -1, 51);
  batch.writeInt32BE(options.baseSequence ?? -1, 53);
  batch.writeInt32BE(count, 57);
  body.copy(batch, 61);
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
}

/** `count` records with values v0..v{count-1} and keys k0.. . */
export function simpleBatch(count: number, options: BatchOptions = {}): Buffer {
  return recordBatch(
    Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), timestampDelta: i })),
    options,
  );
}

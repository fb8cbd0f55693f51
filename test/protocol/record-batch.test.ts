import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assignOffsetAndEpoch, forEachRecordTimestamp, isBatchCrcValid, probeBatch, readBatchHeader, readInt64,
  RecordBatchError, setLogAppendTime, splitAndValidateBatches, writeInt64, ErrorCode, PROBE_BAD_MAGIC,
  PROBE_SHORT, PROBE_BAD_LENGTH, setCreateTime,
} from '../../src/protocol/record-batch.js';
import { crc32c } from '@node-rs/crc32';
import { gunzipSync, gzipSync } from 'node:zlib';
import { buildBatch, simpleBatch } from '../storage/batch-builder.js';

test('header view decodes every field of a built batch', () => {
  const buf = buildBatch({
    baseOffset: 42, partitionLeaderEpoch: 7, records: [{ value: Buffer.from('a') }, { value: Buffer.from('b'), timestampDelta: 5 }],
    baseTimestamp: 1000, producerId: 99, producerEpoch: 3, baseSequence: 11, transactional: true,
  });
  const h = readBatchHeader(buf);
  assert.equal(h.baseOffset, 42);
  assert.equal(h.lastOffset, 43);
  assert.equal(h.sizeInBytes, buf.length);
  assert.equal(h.partitionLeaderEpoch, 7);
  assert.equal(h.magic, 2);
  assert.equal(h.baseTimestamp, 1000);
  assert.equal(h.maxTimestamp, 1005);
  assert.equal(h.producerId, 99);
  assert.equal(h.producerEpoch, 3);
  assert.equal(h.baseSequence, 11);
  assert.equal(h.recordsCount, 2);
  assert.equal(h.isTransactional, true);
  assert.equal(h.isControl, false);
  assert.equal(h.timestampType, 'CreateTime');
});

test('int64 helpers round-trip values up to 2^53 and negatives', () => {
  const buf = Buffer.alloc(8);
  for (const v of [0, 1, -1, 2 ** 32, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, -(2 ** 40) + 3, 1_700_000_000_123]) {
    writeInt64(buf, 0, v);
    assert.equal(readInt64(buf, 0), v);
    assert.equal(buf.readBigInt64BE(0), BigInt(v));
  }
});

test('assigning offset and epoch keeps the CRC valid', () => {
  const buf = simpleBatch(3, 10);
  assignOffsetAndEpoch(buf, 0, 123_456_789_012, 9);
  assert.equal(readBatchHeader(buf).baseOffset, 123_456_789_012);
  assert.equal(readBatchHeader(buf).partitionLeaderEpoch, 9);
  assert.ok(isBatchCrcValid(buf, 0, buf.length));
});

test('LogAppendTime sets maxTimestamp and the attribute bit and recomputes the CRC', () => {
  const buf = simpleBatch(2, 4);
  const crcBefore = buf.readUInt32BE(17);
  setLogAppendTime(buf, 0, buf.length, 5555);
  const h = readBatchHeader(buf);
  assert.equal(h.maxTimestamp, 5555);
  assert.equal(h.timestampType, 'LogAppendTime');
  assert.notEqual(h.crc, crcBefore);
  assert.ok(isBatchCrcValid(buf, 0, buf.length));
});

test('split accepts several whole batches and rejects trailing bytes, bad magic, bad CRC, bad counts', () => {
  const a = simpleBatch(2, 3);
  const b = simpleBatch(1, 100);
  assert.deepEqual(splitAndValidateBatches(Buffer.concat([a, b]), 1 << 20, 10).map((s) => s.size), [a.length, b.length]);
  const expectCode = (buf: Buffer, code: number): void => {
    assert.throws(() => splitAndValidateBatches(buf, 1 << 20, 10), (e: unknown) => e instanceof RecordBatchError && e.errorCode === code);
  };
  expectCode(Buffer.concat([a, b.subarray(0, 70)]), ErrorCode.CORRUPT_MESSAGE);
  expectCode(Buffer.alloc(0), ErrorCode.CORRUPT_MESSAGE);
  const badMagic = Buffer.from(a);
  badMagic.writeInt8(1, 16);
  expectCode(badMagic, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
  const badCrc = Buffer.from(a);
  badCrc[badCrc.length - 1] ^= 1;
  expectCode(badCrc, ErrorCode.CORRUPT_MESSAGE);
  const badCount = buildBatch({ records: [{ value: null }, { value: null }] });
  badCount.writeInt32BE(5, 23);
  badCount.writeUInt32BE(crc32c(badCount.subarray(21)), 17);
  expectCode(badCount, ErrorCode.INVALID_RECORD);
  const longLength = Buffer.from(a);
  longLength.writeInt32BE(a.length, 8);
  expectCode(longLength, ErrorCode.CORRUPT_MESSAGE);
});

test('probe reports short, bad magic and bad length', () => {
  const a = simpleBatch(1, 1);
  assert.equal(probeBatch(a, 0, 30, 1 << 20), PROBE_SHORT);
  assert.equal(probeBatch(a, 0, a.length, 1 << 20), a.length);
  assert.equal(probeBatch(a, 0, a.length, 10), PROBE_BAD_LENGTH);
  const m = Buffer.from(a);
  m.writeInt8(0, 16);
  assert.equal(probeBatch(m, 0, m.length, 1 << 20), PROBE_BAD_MAGIC);
});

test('record timestamps of an uncompressed batch are visited with their offsets', () => {
  const buf = buildBatch({ baseOffset: 10, baseTimestamp: 100, records: [{ value: null, timestampDelta: 0 }, { value: Buffer.from('x'), timestampDelta: 7 }, { value: null, timestampDelta: 3 }] });
  const seen: Array<[number, number]> = [];
  assert.equal(forEachRecordTimestamp(buf, 0, buf.length, (o, t) => { seen.push([o, t]); return false; }), true);
  assert.deepEqual(seen, [[10, 100], [11, 107], [12, 103]]);
  const compressed = buildBatch({ records: [{ value: null }], compression: 1 });
  assert.equal(forEachRecordTimestamp(compressed, 0, compressed.length, () => true), false);
});

test('setCreateTime clears a client LogAppendTime flag and keeps the CRC valid', () => {
  const buf = buildBatch({ records: [{ value: null }], logAppendTime: true });
  setCreateTime(buf, 0, buf.length);
  assert.equal(readBatchHeader(buf).timestampType, 'CreateTime');
  assert.ok(isBatchCrcValid(buf, 0, buf.length));
});

test('record timestamps of a compressed batch are visited through the injected decompressor', () => {
  const buf = buildBatch({
    baseOffset: 5, baseTimestamp: 50, compression: 1, compressRecords: (r) => gzipSync(r),
    records: [{ value: Buffer.from('a') }, { value: Buffer.from('b'), timestampDelta: 9 }],
  });
  assert.equal(forEachRecordTimestamp(buf, 0, buf.length, () => false), false);
  const seen: Array<[number, number]> = [];
  const decompress = (codec: number, data: Buffer): Buffer => (codec === 1 ? gunzipSync(data) : Buffer.alloc(0));
  assert.equal(forEachRecordTimestamp(buf, 0, buf.length, (o, t) => { seen.push([o, t]); return false; }, decompress), true);
  assert.deepEqual(seen, [[5, 50], [6, 59]]);
  assert.equal(forEachRecordTimestamp(buf, 0, buf.length, () => false, () => { throw new Error('bad data'); }), false);
});

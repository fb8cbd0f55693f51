import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateBatchRecords, walkRecords, KEYLESS_RECORDS_MAX } from '../../src/protocol/records.js';
import { decompressRecords, DecompressionError, DECOMPRESSED_BYTES_MAX } from '../../src/protocol/compression.js';
import { compress, frameBatch, recordBatch } from '../replication/batches.js';
import { poisonBatches } from './poison-batches.js';

const CODECS = [0, 1, 2, 3, 4];

test('every poison batch (CRC right, records wrong) is refused, in every codec', () => {
  const cases = poisonBatches();
  assert.ok(cases.length >= 70, `${cases.length} cases`);
  for (const { name, batch } of cases) {
    const problem = validateBatchRecords(batch, 0, batch.length, { origin: 'client' });
    assert.ok(problem !== undefined, `${name}: accepted`);
  }
});

test('well-formed batches pass in every codec, xerial snappy too, and are not modified', () => {
  const records = [
    { key: Buffer.from('k'), value: Buffer.from('v'), timestampDelta: 3 },
    { key: null, value: null },
    { key: Buffer.alloc(0), value: Buffer.alloc(300, 7) },
  ];
  for (const compression of CODECS) {
    for (const xerial of compression === 2 ? [false, true] : [false]) {
      const batch = recordBatch(records, { compression, xerial });
      const copy = Buffer.from(batch);
      assert.equal(validateBatchRecords(batch, 0, batch.length, { origin: 'client' }), undefined, `codec ${compression}`);
      assert.ok(batch.equals(copy));
    }
  }
});

test('keyless records are collected (bounded) for compacted topics', () => {
  const many = Array.from({ length: KEYLESS_RECORDS_MAX + 20 }, (_, i) => ({ key: i === 0 ? Buffer.from('k') : null, value: Buffer.from('v') }));
  for (const compression of CODECS) {
    const keyless: number[] = [];
    const batch = recordBatch(many, { compression });
    assert.equal(validateBatchRecords(batch, 0, batch.length, { origin: 'client', keyless }), undefined);
    assert.equal(keyless.length, KEYLESS_RECORDS_MAX);
    assert.deepEqual(keyless.slice(0, 3), [1, 2, 3]);
  }
});

test('replication origin accepts offsetDelta gaps (compacted leaders) but not beyond lastOffsetDelta', () => {
  // One record (8 bytes after its length) at offsetDelta 4 of a batch whose lastOffsetDelta is 4.
  const body = Buffer.from([16, 0, 0, 8, 2, 0x31, 2, 0x31, 0]);
  assert.equal(walkRecords(body, 0, body.length, 1, 4, { origin: 'replication' }), undefined);
  assert.match(walkRecords(body, 0, body.length, 1, 3, { origin: 'replication' }) ?? '', /offsetDelta 4/);
  assert.match(walkRecords(body, 0, body.length, 1, 4, { origin: 'client' }) ?? '', /offsetDelta 4/);
});

test('decompression is bounded: a zstd or gzip bomb stops at DECOMPRESSED_BYTES_MAX', () => {
  const bomb = Buffer.alloc(DECOMPRESSED_BYTES_MAX + 1024);
  for (const codec of [1, 3, 4]) {
    const packed = compress(codec, bomb, false);
    assert.throws(() => decompressRecords(codec, packed), DecompressionError, `codec ${codec}`);
    const batch = frameBatch(packed, 1, { compression: codec });
    assert.match(validateBatchRecords(batch, 0, batch.length, { origin: 'client' }) ?? '', /do not decompress/);
  }
});

test('the zstd context recovers after a failed frame', () => {
  const good = recordBatch([{ key: null, value: Buffer.alloc(5000, 1) }], { compression: 4 });
  const bad = frameBatch(compress(4, Buffer.alloc(5000, 1), false).subarray(0, 20), 1, { compression: 4 });
  assert.ok(validateBatchRecords(bad, 0, bad.length, { origin: 'client' }) !== undefined);
  assert.equal(validateBatchRecords(good, 0, good.length, { origin: 'client' }), undefined);
});

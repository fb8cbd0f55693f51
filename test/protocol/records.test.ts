import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { validateBatchRecords, walkRecords, KEYLESS_RECORDS_MAX } from '../../src/protocol/records.js';
import { decompressRecords, DecompressionError, DECOMPRESSED_BYTES_MAX } from '../../src/protocol/compression.js';
import { compress, frameBatch, recordBatch, varint } from '../replication/batches.js';
import { walkRecordsReference } from './records-reference.js';
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

test('the record walk answers as its first version (records-reference.ts) on random and mutated sections', () => {
  const bytes = (max: number) => fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a)));
  const record = fc.record({
    key: bytes(200),
    // Up to 20,000 bytes: lengths of one, two and three varint bytes.
    value: fc.oneof(bytes(100), fc.integer({ min: 0, max: 20_000 }).map((n) => Buffer.alloc(n, 7))),
    timestampDelta: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.maxSafeInteger()),
    headers: fc.array(fc.tuple(fc.uint8Array({ maxLength: 20 }), bytes(20)), { maxLength: 3 }),
  });
  const field = (b: Buffer | null): Buffer[] => (b === null ? [Buffer.from(varint(-1))] : [Buffer.from(varint(b.length)), b]);
  const encode = (r: { key: Buffer | null; value: Buffer | null; timestampDelta: number; headers: Array<[Uint8Array, Buffer | null]> }, i: number) => {
    const ts = Buffer.from(varlong(r.timestampDelta));
    const parts = [Buffer.from([0]), ts, Buffer.from(varint(i)), ...field(r.key), ...field(r.value), Buffer.from(varint(r.headers.length))];
    for (const [k, v] of r.headers) parts.push(...field(Buffer.from(k)), ...field(v));
    const body = Buffer.concat(parts);
    return Buffer.concat([Buffer.from(varint(body.length)), body]);
  };
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), byte: fc.constant(0) }),
    fc.record({ kind: fc.constant('add' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  );
  fc.assert(fc.property(
    fc.array(record, { maxLength: 12 }), fc.array(mutation, { maxLength: 3 }), fc.integer({ min: -2, max: 2 }),
    fc.integer({ min: -1, max: 3 }), fc.boolean(), fc.boolean(),
    (records, mutations, countSkew, deltaSkew, client, compacted) => {
      let section = Buffer.concat(records.map(encode));
      for (const m of mutations) {
        const at = section.length === 0 ? 0 : m.at % section.length;
        if (m.kind === 'set' && section.length > 0) section[at] = m.byte;
        else if (m.kind === 'cut') section = section.subarray(0, at);
        else if (m.kind === 'add') section = Buffer.concat([section.subarray(0, at), Buffer.from([m.byte]), section.subarray(at)]);
      }
      const count = records.length + countSkew;
      const lastOffsetDelta = records.length - 1 + deltaSkew;
      const keylessA: number[] = [];
      const keylessB: number[] = [];
      const origin = client ? 'client' : 'replication';
      const a = walkRecords(section, 0, section.length, count, lastOffsetDelta, { origin, keyless: compacted ? keylessA : undefined });
      const b = walkRecordsReference(section, 0, section.length, count, lastOffsetDelta, { origin, keyless: compacted ? keylessB : undefined });
      assert.equal(a, b);
      assert.deepEqual(keylessA, keylessB);
    },
  ), { numRuns: 3_000, seed: Number(process.env.RECORDS_PROPERTY_SEED ?? 42) });
});

/** A zig-zag varlong of a non-negative safe integer (the timestamp delta). */
function varlong(value: number): number[] {
  let u = BigInt(value) * 2n;
  const out: number[] = [];
  while (u >= 0x80n) { out.push(Number(u & 0x7fn) | 0x80); u >>= 7n; }
  out.push(Number(u));
  return out;
}

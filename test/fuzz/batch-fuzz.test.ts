/**
 * Batch fuzz (issue 26, defect 1): CRC-valid record batches whose records are mutated — before the
 * codec (record structure) or after it (the compressed payload), in every codec (none, gzip, snappy,
 * lz4, zstd) — appended to a real PartitionLog as a leader append. Every batch must be either refused
 * with INVALID_RECORD (nothing written) or stored byte for byte, and the verdict must match an
 * independent reference decoder written from DefaultRecord's layout (allocating, no shared code). At the
 * end every stored batch is read back and must decode: no mutation may make the partition unreadable.
 * FUZZ_BATCHES (default 3000: the CI run) and FUZZ_SEED; the test name shows both, the diagnostics the
 * verdict counts and peak RSS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { uncompressSync as snappyUncompress } from 'snappy';
import { decompressFrameSync as lz4DecompressFrame } from 'lz4-napi';
import { createRequire } from 'node:module';
import { Prng } from '../../src/common/prng.js';
import { RecordBatchError } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { compress, frameBatch, varint } from '../replication/batches.js';
import { openLog, readAll, tempDir } from '../storage/helpers.js';

const batchCount = Number(process.env.FUZZ_BATCHES ?? 3000);
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CODECS = [0, 1, 2, 3, 4];

// ---- generation ------------------------------------------------------------------------------------

/** An integer in [0, n). */
function below(prng: Prng, n: number): number {
  return prng.int(0, n - 1);
}

function bytes(prng: Prng, max: number): Buffer {
  const out = Buffer.alloc(below(prng, max + 1));
  for (let i = 0; i < out.length; i++) out[i] = below(prng, 4) === 0 ? below(prng, 256) : 0x41 + below(prng, 26);
  return out;
}

function nullable(prng: Prng, max: number): Buffer | null {
  return below(prng, 5) === 0 ? null : bytes(prng, max);
}

function field(value: Buffer | null): Buffer {
  return value === null ? Buffer.from(varint(-1)) : Buffer.concat([Buffer.from(varint(value.length)), value]);
}

/** One well-formed DefaultRecord at offsetDelta `index`, with headers. */
function record(prng: Prng, index: number): Buffer {
  const headers: Buffer[] = [];
  const headerCount = below(prng, 4) === 0 ? below(prng, 3) + 1 : 0;
  for (let h = 0; h < headerCount; h++) headers.push(field(bytes(prng, 6)), field(nullable(prng, 6)));
  const body = Buffer.concat([
    Buffer.from([0]), Buffer.from(varint(below(prng, 1000))), Buffer.from(varint(index)),
    field(nullable(prng, 12)), field(nullable(prng, 60)), Buffer.from(varint(headerCount)), ...headers,
  ]);
  return Buffer.concat([Buffer.from(varint(body.length)), body]);
}

const EXTREME_VARINTS = [-1, -2, -100, 0x7fffffff, -0x80000000, 1 << 20, 255, 0];

/** One mutation of a byte string; `name` says which, for the failure message. */
function mutate(prng: Prng, input: Buffer): { out: Buffer; name: string } {
  const buf = Buffer.from(input);
  const at = buf.length === 0 ? 0 : below(prng, buf.length);
  switch (below(prng, 8)) {
    case 0: {
      if (buf.length > 0) buf[at] = (buf[at] as number) ^ (1 << below(prng, 8));
      return { out: buf, name: `flip bit at ${at}` };
    }
    case 1: {
      if (buf.length > 0) buf[at] = below(prng, 256);
      return { out: buf, name: `byte at ${at}` };
    }
    case 2: return { out: buf.subarray(0, at), name: `truncate to ${at}` };
    case 3: return { out: Buffer.concat([buf, bytes(prng, 5)]), name: 'append bytes' };
    case 4: {
      const n = Math.min(buf.length - at, 1 + below(prng, 4));
      return { out: Buffer.concat([buf.subarray(0, at), buf.subarray(at + n)]), name: `delete ${n} at ${at}` };
    }
    case 5: return { out: Buffer.concat([buf.subarray(0, at), bytes(prng, 4), buf.subarray(at)]), name: `insert at ${at}` };
    case 6: {
      const value = EXTREME_VARINTS[below(prng, EXTREME_VARINTS.length)] as number;
      return { out: Buffer.concat([buf.subarray(0, at), Buffer.from(varint(value)), buf.subarray(at + 1)]), name: `varint ${value} at ${at}` };
    }
    default: {
      const n = 1 + below(prng, 6);
      for (let i = 0; i < n && buf.length > 0; i++) buf[below(prng, buf.length)] = below(prng, 256);
      return { out: buf, name: `${n} random bytes` };
    }
  }
}

interface Candidate { batch: Buffer; description: string }

function candidate(prng: Prng, i: number): Candidate {
  const codec = CODECS[below(prng, CODECS.length)] as number;
  const count = 1 + below(prng, 12);
  let raw: Buffer = Buffer.concat(Array.from({ length: count }, (_, index) => record(prng, index)));
  let declared = count;
  const steps: string[] = [`codec ${codec}`, `${count} records`];
  const where = below(prng, 10);
  if (where < 5) {
    const m = mutate(prng, raw);
    raw = m.out;
    steps.push(`records: ${m.name}`);
  } else if (where === 5) {
    declared = Math.max(1, count + (below(prng, 2) === 0 ? -1 : 1) * (1 + below(prng, 2)));
    steps.push(`count ${declared}`);
  }
  let payload: Buffer = compress(codec, raw, codec === 2 && below(prng, 2) === 0);
  if (where === 6 || where === 7) {
    const m = mutate(prng, payload);
    payload = m.out;
    steps.push(`payload: ${m.name}`);
  }
  let claimed = codec;
  if (where === 8) {
    claimed = CODECS[below(prng, CODECS.length)] as number;
    steps.push(`attributes claim codec ${claimed}`);
  }
  // where === 9: unmutated, must be stored.
  return { batch: frameBatch(payload, declared, { compression: claimed, baseTimestamp: 1_700_000_000_000 }), description: `#${i} ${steps.join(', ')}` };
}

// ---- reference decoder (independent of src/protocol/records.ts) --------------------------------------

class Bad extends Error {}

interface ZstdContext { decompressStream(out: Uint8Array, input: Uint8Array): [number, number, number]; reset(directive: number): void }
const zstd = createRequire(import.meta.url)('zstd-napi/binding') as { DCtx: new () => ZstdContext; ResetDirective: { sessionOnly: number } };
const zstdContext = new zstd.DCtx();

function refDecompress(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case 0: return data;
    case 1: return gunzipSync(data);
    case 2: {
      const xerial = data.length >= 16 && data.subarray(0, 8).equals(Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0]));
      if (!xerial) return snappyUncompress(data, { asBuffer: true }) as Buffer;
      const parts: Buffer[] = [];
      for (let p = 16; p < data.length;) {
        if (p + 4 > data.length) throw new Bad('xerial');
        const n = data.readInt32BE(p);
        if (n < 0 || p + 4 + n > data.length) throw new Bad('xerial');
        parts.push(snappyUncompress(data.subarray(p + 4, p + 4 + n), { asBuffer: true }) as Buffer);
        p += 4 + n;
      }
      return Buffer.concat(parts);
    }
    case 3: {
      // A whole frame and nothing after it: blocks up to the 4-byte end mark, then the content checksum.
      const flg = data[4] ?? 0;
      let p = 7 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0);
      for (;;) {
        if (p + 4 > data.length) throw new Bad('lz4 frame cut short');
        const word = data.readUInt32LE(p);
        p += 4;
        if ((word & 0x7fffffff) === 0) break; // end mark (Kafka's KafkaLZ4BlockInputStream and LZ4F ignore the high bit)
        p += (word & 0x7fffffff) + (flg & 0x10 ? 4 : 0);
      }
      if (p + (flg & 0x04 ? 4 : 0) !== data.length) throw new Bad('lz4 trailing bytes');
      return lz4DecompressFrame(data);
    }
    case 4: {
      // A fresh session per call (zstd-napi's decompress() shares a context, which a bad frame leaves
      // mid-frame), and the last frame must be complete (its streaming fallback returns partial output).
      const context = zstdContext;
      context.reset(zstd.ResetDirective.sessionOnly);
      const parts: Buffer[] = [];
      let input = data;
      let remaining = 1;
      for (let round = 0; input.length > 0 && round < 10_000; round++) {
        const out = Buffer.alloc(64 * 1024);
        const [left, produced, consumed] = context.decompressStream(out, input);
        parts.push(out.subarray(0, produced));
        input = input.subarray(consumed);
        remaining = left;
        if (produced === 0 && consumed === 0) throw new Bad('zstd stuck');
      }
      while (remaining !== 0) {
        const out = Buffer.alloc(64 * 1024);
        const [left, produced] = context.decompressStream(out, Buffer.alloc(0));
        if (produced === 0) throw new Bad('zstd frame incomplete');
        parts.push(out.subarray(0, produced));
        remaining = left;
      }
      return Buffer.concat(parts);
    }
    default: throw new Bad('codec');
  }
}

/**
 * A zig-zag varint of at most `maxBytes` bytes (5: int, 10: long), as Kafka's ByteUtils reads it; an
 * int keeps its low 32 bits. Long values are not needed here (0 is returned).
 */
function refVarint(data: Buffer, at: { p: number }, limit: number, maxBytes: number): number {
  let result = 0;
  for (let i = 0; i < maxBytes; i++) {
    if (at.p >= limit) throw new Bad('eof');
    const b = data[at.p++] as number;
    if (i < 5) result += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (maxBytes !== 5) return 0;
      const low = result % 2 ** 32;
      return low % 2 === 0 ? low / 2 - (low / 2 >= 2 ** 31 ? 2 ** 32 : 0) : -((low + 1) / 2);
    }
  }
  throw new Bad('varint too long');
}

/** Returns the number of records, or throws Bad. */
function refDecode(batch: Buffer): number {
  const codec = batch.readInt16BE(21) & 7;
  const count = batch.readInt32BE(57);
  const lastOffsetDelta = batch.readInt32BE(23);
  if (lastOffsetDelta !== count - 1) throw new Bad('count');
  let data: Buffer;
  try {
    data = refDecompress(codec, batch.subarray(61));
  } catch (err) {
    throw new Bad(`decompress: ${(err as Error).message}`);
  }
  const at = { p: 0 };
  for (let index = 0; index < count; index++) {
    const length = refVarint(data, at, data.length, 5);
    if (length < 0 || at.p + length > data.length) throw new Bad('length');
    const end = at.p + length;
    if (at.p + 1 > end) throw new Bad('attributes');
    at.p += 1;
    refVarint(data, at, end, 10);
    if (refVarint(data, at, end, 5) !== index) throw new Bad('offsetDelta');
    const lengths = (headers: boolean): void => {
      const n = refVarint(data, at, end, 5);
      if (n < -1 || (headers && n < 0) || at.p + Math.max(n, 0) > end) throw new Bad('field');
      at.p += Math.max(n, 0);
    };
    lengths(false); // key
    lengths(false); // value
    const headerCount = refVarint(data, at, end, 5);
    if (headerCount < 0) throw new Bad('headers');
    for (let h = 0; h < headerCount; h++) {
      lengths(true);
      lengths(false);
    }
    if (at.p !== end) throw new Bad('record size');
  }
  if (at.p !== data.length) throw new Bad('trailing');
  return count;
}

function refVerdict(batch: Buffer): boolean {
  try {
    refDecode(batch);
    return true;
  } catch (err) {
    if (err instanceof Bad) return false;
    throw err;
  }
}

// ---- the run ---------------------------------------------------------------------------------------

test(`batch fuzz: ${batchCount} CRC-valid batches with mutated records, every codec, stored only if they parse (seed ${seed})`, async (t) => {
  const { dir, cleanup } = tempDir('runnel-batch-fuzz-');
  const log = await openLog(dir, { 'durability.mode': 'none', 'segment.bytes': 8 * 1024 * 1024 });
  t.after(async () => {
    await log.close();
    cleanup();
  });
  const prng = new Prng(seed);
  let stored = 0;
  let refused = 0;
  const refusedByCodec = new Map<number, number>();
  for (let i = 0; i < batchCount; i++) {
    const { batch, description } = candidate(prng, i);
    const expected = refVerdict(batch);
    const sent = Buffer.from(batch);
    const endBefore = log.logEndOffset;
    let accepted: boolean;
    try {
      log.append(batch, 0);
      accepted = true;
    } catch (err) {
      if (!(err instanceof RecordBatchError)) assert.fail(`seed ${seed} ${description}: ${(err as Error).stack}`);
      // A mutated count can break recordsCount vs lastOffsetDelta: the header check answers that.
      assert.ok(err.errorCode === ErrorCode.INVALID_RECORD, `seed ${seed} ${description}: error ${err.errorCode} ${err.message}`);
      assert.equal(log.logEndOffset, endBefore, `seed ${seed} ${description}: refused but written`);
      accepted = false;
    }
    assert.equal(accepted, expected, `seed ${seed} ${description}: broker ${accepted ? 'stored' : 'refused'}, reference says ${expected ? 'valid' : 'invalid'} (${sent.toString('hex')})`);
    if (accepted) {
      stored++;
      // The stored bytes are the bytes sent, but for the broker's offset and leader epoch stamps.
      assert.ok(batch.subarray(16).equals(sent.subarray(16)), `seed ${seed} ${description}: bytes changed`);
    } else {
      refused++;
      const codec = sent.readInt16BE(21) & 7;
      refusedByCodec.set(codec, (refusedByCodec.get(codec) ?? 0) + 1);
    }
    if (i % 2000 === 1999) await log.flush();
  }
  await log.flush();
  let readBack = 0;
  for (const batch of await readAll(log)) {
    readBack += refDecode(batch);
  }
  assert.equal(readBack, log.logEndOffset, 'every stored record reads back');
  const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  t.diagnostic(`seed ${seed}: ${batchCount} batches, ${stored} stored, ${refused} refused (by codec ${JSON.stringify(Object.fromEntries(refusedByCodec))}), ${readBack} records read back, peak RSS ${rssMb} MB`);
  assert.ok(stored > batchCount / 20 && refused > batchCount / 5, `both verdicts exercised: ${stored} stored, ${refused} refused`);
});

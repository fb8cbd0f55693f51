/**
 * Property test (fast-check): random sequences of append / read / truncate / deleteRecords / high
 * watermark / retention / reopen (clean and unclean) against a simple in-memory model of the batches.
 * Small segments make rolls frequent. The seed is printed by fast-check on failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { join } from 'node:path';
import { ManualClock } from '../../src/common/clock.js';
import { readBatchHeader } from '../../src/protocol/record-batch.js';
import { applyLogConfigOverrides, defaultLogConfig } from '../../src/storage/config.js';
import { FilePool } from '../../src/storage/file-pool.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { simpleBatch } from './batch-builder.js';
import { readAll, tempDir } from './helpers.js';

interface ModelBatch {
  base: number;
  last: number;
  bytes: Buffer;
}

class Model {
  batches: ModelBatch[] = [];
  logStartOffset = 0;
  logEndOffset = 0;
  highWatermark = 0;

  visible(): ModelBatch[] {
    return this.batches.filter((b) => b.last >= this.logStartOffset);
  }

  read(offset: number, maxBytes: number, bound: number): Buffer[] {
    const out: Buffer[] = [];
    let total = 0;
    for (const b of this.batches) {
      if (b.last < offset) continue;
      if (b.last >= bound) break;
      if (out.length > 0 && total + b.bytes.length > maxBytes) break;
      out.push(b.bytes);
      total += b.bytes.length;
    }
    return out;
  }
}

type Op =
  | { kind: 'append'; counts: number[]; valueBytes: number }
  | { kind: 'read'; at: number; maxBytes: number; boundAt: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'highWatermark'; at: number }
  | { kind: 'deleteRecords'; at: number }
  | { kind: 'retention'; bytes: number }
  | { kind: 'reopen'; clean: boolean };

const fraction = fc.double({ min: 0, max: 1, noNaN: true });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), counts: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }), valueBytes: fc.integer({ min: 0, max: 400 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), at: fraction, maxBytes: fc.integer({ min: 0, max: 3000 }), boundAt: fraction }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fraction }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('highWatermark' as const), at: fraction }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteRecords' as const), at: fraction }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retention' as const), bytes: fc.integer({ min: 0, max: 15000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const), clean: fc.boolean() }) },
);

const CONFIG = { 'segment.bytes': 5000, 'index.interval.bytes': 200, 'tail.cache.bytes': 1000, 'durability.mode': 'none' };

class Harness {
  model = new Model();
  pool = new FilePool(4);
  seq = 0;
  constructor(readonly dir: string, public log: PartitionLog) {}

  static async open(dir: string): Promise<Harness> {
    const pool = new FilePool(4);
    const log = await PartitionLog.open({ dir, topic: 'p', partition: 0, config: applyLogConfigOverrides(defaultLogConfig, CONFIG), filePool: pool, clock: new ManualClock(0) });
    const h = new Harness(dir, log);
    h.pool = pool;
    return h;
  }

  pick(fractionAt: number, lo: number, hi: number): number {
    return lo + Math.floor(fractionAt * (hi - lo + 1 - 1e-9));
  }

  async apply(op: Op): Promise<void> {
    const m = this.model;
    switch (op.kind) {
      case 'append': {
        const parts = op.counts.map((c) => simpleBatch(c, op.valueBytes, this.seq++));
        const stored = Buffer.concat(parts);
        if (stored.length > CONFIG['segment.bytes']) {
          // Kafka's rule (and the log's): a produce larger than a segment is refused whole, nothing written.
          assert.throws(() => this.log.append(stored, 0), /segment\.bytes/);
          break;
        }
        const result = this.log.append(stored, 0);
        assert.equal(result.baseOffset, m.logEndOffset);
        let at = m.logEndOffset;
        let pos = 0;
        for (const p of parts) {
          const count = p.readInt32BE(57);
          m.batches.push({ base: at, last: at + count - 1, bytes: Buffer.from(stored.subarray(pos, pos + p.length)) });
          at += count;
          pos += p.length;
        }
        m.logEndOffset = at;
        break;
      }
      case 'read': {
        const offset = this.pick(op.at, m.logStartOffset, m.logEndOffset);
        const bound = this.pick(op.boundAt, offset, m.logEndOffset);
        const result = await this.log.read(offset, op.maxBytes, bound);
        const expected = m.read(offset, op.maxBytes, bound);
        assert.deepEqual(Buffer.concat(result.records), Buffer.concat(expected), `read ${offset} ${op.maxBytes} ${bound}`);
        assert.equal(result.nextOffset, expected.length === 0 ? offset : readBatchHeader(expected[expected.length - 1] as Buffer).lastOffset + 1);
        break;
      }
      case 'truncate': {
        const boundaries = [...m.visible().map((b) => b.base).filter((b) => b >= m.logStartOffset), m.logEndOffset];
        const target = boundaries[Math.min(boundaries.length - 1, Math.floor(op.at * boundaries.length))] as number;
        await this.log.truncateTo(target);
        if (target <= m.logStartOffset) {
          m.batches = [];
          m.logStartOffset = target;
        } else {
          m.batches = m.batches.filter((b) => b.last < target);
        }
        m.logEndOffset = Math.min(m.logEndOffset, target);
        m.highWatermark = Math.min(m.highWatermark, m.logEndOffset);
        m.logStartOffset = Math.min(m.logStartOffset, m.logEndOffset);
        break;
      }
      case 'highWatermark':
        m.highWatermark = this.pick(op.at, m.logStartOffset, m.logEndOffset);
        assert.equal(this.log.updateHighWatermark(m.highWatermark), m.highWatermark);
        break;
      case 'deleteRecords': {
        const target = this.pick(op.at, m.logStartOffset, m.highWatermark);
        assert.equal(await this.log.deleteRecords(target), Math.max(target, m.logStartOffset));
        m.logStartOffset = Math.max(target, m.logStartOffset);
        break;
      }
      case 'retention': {
        this.log.updateConfig(applyLogConfigOverrides(defaultLogConfig, { ...CONFIG, 'retention.bytes': op.bytes, 'retention.ms': -1 }));
        await this.log.applyRetention(0);
        const lso = this.log.logStartOffset;
        assert.ok(lso >= m.logStartOffset && lso <= m.highWatermark, `retention moved logStartOffset to ${lso}`);
        m.logStartOffset = lso;
        break;
      }
      case 'reopen':
        await this.reopen(op.clean);
        break;
    }
    await this.check();
  }

  async reopen(clean: boolean): Promise<void> {
    const { logStartOffset, highWatermark } = this.log;
    let recoveryPoint = this.log.recoveryPoint;
    if (clean) {
      await this.log.close();
      recoveryPoint = this.log.recoveryPoint;
    } else {
      await this.log.flush();
    }
    await this.pool.closeAll();
    this.pool = new FilePool(4);
    this.log = await PartitionLog.open({
      dir: this.dir, topic: 'p', partition: 0, config: applyLogConfigOverrides(defaultLogConfig, CONFIG), filePool: this.pool,
      clock: new ManualClock(0), recoveryPoint, logStartOffset, highWatermark, cleanShutdown: clean,
    });
  }

  async check(): Promise<void> {
    const m = this.model;
    assert.equal(this.log.logEndOffset, m.logEndOffset, 'logEndOffset');
    assert.equal(this.log.logStartOffset, m.logStartOffset, 'logStartOffset');
    assert.equal(this.log.highWatermark, m.highWatermark, 'highWatermark');
    const all = await readAll(this.log);
    assert.deepEqual(all, m.visible().map((b) => b.bytes), 'contents');
    for (const b of all) assert.ok(readBatchHeader(b).lastOffset < m.logEndOffset);
  }
}

test('partition log matches an in-memory model under random operations', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = tempDir('runnel-prop-');
  let run = 0;
  try {
    const out = await fc.check(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const h = await Harness.open(join(dir, String(run++)));
        try {
          for (const op of ops) {
            try {
              await h.apply(op);
            } catch (err) {
              throw new Error(`${JSON.stringify(op)}: ${(err as Error).message}`);
            }
          }
        } finally {
          await h.log.close().catch(() => undefined);
          await h.pool.closeAll();
        }
      }),
      { numRuns: Number(process.env.STORAGE_PROPERTY_RUNS ?? 40), seed: process.env.STORAGE_PROPERTY_SEED === undefined ? undefined : Number(process.env.STORAGE_PROPERTY_SEED) },
    );
    if (out.failed) {
      assert.fail(`seed ${out.seed}: ${String((out.errorInstance as Error)?.message)}\n${JSON.stringify(out.counterexample)}`);
    }
  } finally {
    cleanup();
  }
});

/**
 * Property test (fast-check) of reads racing writes: appends are not awaited, reads are issued while
 * group-commit writes are in flight and the tail cache evicts, and each read must equal the model at the
 * moment it was issued (offsets below the log end never change until a truncation, which waits for the
 * reads in flight first). Both durability modes; tiny segments and caches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { join } from 'node:path';
import { ManualClock } from '../../src/common/clock.js';
import { applyLogConfigOverrides, defaultLogConfig } from '../../src/storage/config.js';
import { FilePool } from '../../src/storage/file-pool.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { simpleBatch } from './batch-builder.js';
import { tempDir } from './helpers.js';

type Op =
  | { kind: 'append'; count: number; valueBytes: number }
  | { kind: 'read'; at: number; maxBytes: number }
  | { kind: 'yield'; ms: number }
  | { kind: 'truncate'; at: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 3 }), valueBytes: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('read' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), maxBytes: fc.integer({ min: 0, max: 2000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('yield' as const), ms: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
);

interface Batch { base: number; last: number; bytes: Buffer }

function expectedRead(batches: Batch[], offset: number, maxBytes: number): Buffer {
  const out: Buffer[] = [];
  let total = 0;
  for (const b of batches) {
    if (b.last < offset) continue;
    if (out.length > 0 && total + b.bytes.length > maxBytes) break;
    out.push(b.bytes);
    total += b.bytes.length;
  }
  return Buffer.concat(out);
}

async function runOps(dir: string, mode: string, ops: Op[]): Promise<void> {
  const pool = new FilePool(3);
  const config = applyLogConfigOverrides(defaultLogConfig, {
    'segment.bytes': 2000, 'index.interval.bytes': 150, 'tail.cache.bytes': 700, 'durability.mode': mode, 'flush.window.ms': 1,
  });
  const log = await PartitionLog.open({ dir, topic: 'c', partition: 0, config, filePool: pool, clock: new ManualClock(0) });
  let batches: Batch[] = [];
  let reads: Array<Promise<void>> = [];
  const durables: Array<Promise<void>> = [];
  let seq = 0;
  try {
    for (const op of ops) {
      if (op.kind === 'append') {
        const bytes = simpleBatch(op.count, op.valueBytes, seq++);
        const result = log.append(bytes, 0);
        batches.push({ base: result.baseOffset, last: result.lastOffset, bytes });
        durables.push(result.durable);
      } else if (op.kind === 'read') {
        const offset = Math.floor(op.at * (log.logEndOffset + 1 - 1e-9));
        const expected = expectedRead(batches, offset, op.maxBytes);
        reads.push(log.read(offset, op.maxBytes).then((r) => {
          assert.deepEqual(Buffer.concat(r.records), expected, `read ${offset} ${op.maxBytes}`);
        }));
      } else if (op.kind === 'yield') {
        await new Promise((resolve) => setTimeout(resolve, op.ms));
      } else {
        await Promise.all(reads);
        reads = [];
        const boundaries = [...batches.map((b) => b.base), log.logEndOffset];
        const target = boundaries[Math.min(boundaries.length - 1, Math.floor(op.at * boundaries.length))] as number;
        await log.truncateTo(target);
        batches = batches.filter((b) => b.last < target);
        assert.equal(log.logEndOffset, target);
      }
    }
    await Promise.all(reads);
    await Promise.all(durables.map((d) => d.catch(() => undefined)));
  } finally {
    await log.close();
    await pool.closeAll();
  }
}

test('reads racing unawaited appends, flushes and cache eviction match the model', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = tempDir('runnel-conc-');
  let run = 0;
  try {
    const out = await fc.check(
      fc.asyncProperty(fc.constantFrom('fsync', 'none'), fc.array(opArb, { minLength: 1, maxLength: 60 }), async (mode, ops) => {
        await runOps(join(dir, String(run++)), mode, ops);
      }),
      { numRuns: Number(process.env.STORAGE_PROPERTY_RUNS ?? 40) },
    );
    if (out.failed) assert.fail(`seed ${out.seed}: ${String((out.errorInstance as Error)?.message)}\n${JSON.stringify(out.counterexample)}`);
  } finally {
    cleanup();
  }
});

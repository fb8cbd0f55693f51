/**
 * Deterministic batches for the crash test: the bytes of the batch a child appended at baseOffset in
 * run `run` can be regenerated exactly by the verifier (offset and leader epoch patched as append does).
 */
import { Prng } from '../../src/common/prng.js';
import { assignOffsetAndEpoch } from '../../src/protocol/record-batch.js';
import { buildBatch, type TestRecord } from '../storage/batch-builder.js';

export const CRASH_BASE_TIMESTAMP = 1_700_000_000_000;

/** The batch as the client would send it (offset 0, epoch -1). */
export function crashBatch(run: number, baseOffset: number): Buffer {
  const prng = new Prng((Math.imul(run + 1, 0x9e3779b1) ^ Math.imul(baseOffset + 7, 0x85ebca6b)) >>> 0);
  const count = prng.int(1, 5);
  const records: TestRecord[] = [];
  for (let i = 0; i < count; i++) {
    const size = prng.chance(0.05) ? prng.int(8_000, 20_000) : prng.int(0, 2_000);
    const value = Buffer.alloc(size);
    for (let j = 0; j < size; j += 64) value[j] = prng.int(0, 255);
    records.push({ key: Buffer.from(`k${baseOffset}-${i}`), value, timestampDelta: i });
  }
  return buildBatch({ records, baseTimestamp: CRASH_BASE_TIMESTAMP + baseOffset });
}

/** The bytes the log must hold for that batch. */
export function expectedStoredBatch(run: number, baseOffset: number): Buffer {
  const batch = crashBatch(run, baseOffset);
  assignOffsetAndEpoch(batch, 0, baseOffset, run);
  return batch;
}

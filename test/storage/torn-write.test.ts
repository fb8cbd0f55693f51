/**
 * Torn and corrupt files: a log is damaged at random byte positions (truncated, bytes flipped, garbage
 * appended, indexes and the epoch checkpoint mangled), reopened, and must serve exactly an intact prefix
 * of what was written, never a partial or altered batch. baseOffset and partitionLeaderEpoch lie outside
 * the CRC (as in Kafka), so flips are aimed at CRC-covered bytes and the header fields the scan checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Prng } from '../../src/common/prng.js';
import { isBatchCrcValid, readBatchHeader } from '../../src/protocol/record-batch.js';
import { simpleBatch } from './batch-builder.js';
import { openLog, readAll, tempDir } from './helpers.js';

const CONFIG = { 'segment.bytes': 6000, 'index.interval.bytes': 300 };
const ITERATIONS = Number(process.env.STORAGE_TORN_ITERATIONS ?? 60);

interface Placed {
  base: number;
  bytes: Buffer;
  segment: number;
  position: number;
  globalIndex: number;
}

async function buildLog(dir: string, prng: Prng): Promise<{ placed: Placed[]; epochs: Array<[number, number]> }> {
  const log = await openLog(dir, CONFIG);
  const appended: Buffer[] = [];
  for (let i = 0; i < 60; i++) {
    const b = simpleBatch(prng.int(1, 4), prng.int(10, 600), i);
    log.append(b, Math.floor(i / 20));
    appended.push(b);
  }
  const epochs = [0, 1, 2].map((e): [number, number] => [e, log.endOffsetForEpoch(e).endOffset]);
  await log.close();
  const placed: Placed[] = [];
  const segments = log.segmentBaseOffsets();
  let segmentIndex = 0;
  let position = 0;
  appended.forEach((bytes, globalIndex) => {
    const base = readBatchHeader(bytes).baseOffset;
    while (segmentIndex + 1 < segments.length && (segments[segmentIndex + 1] as number) <= base) {
      segmentIndex++;
      position = 0;
    }
    placed.push({ base, bytes, segment: segments[segmentIndex] as number, position, globalIndex });
    position += bytes.length;
  });
  return { placed, epochs };
}

function logFile(dir: string, segment: number, suffix = '.log'): string {
  return join(dir, `${String(segment).padStart(20, '0')}${suffix}`);
}

/** Aims a flip inside a batch at bytes the scan verifies (length, magic, CRC, CRC-covered body). */
function checkedByte(placed: Placed[], segment: number, position: number): number {
  const batch = placed.find((p) => p.segment === segment && p.position <= position && position < p.position + p.bytes.length);
  if (batch === undefined) return position;
  const inBatch = position - batch.position;
  return inBatch < 8 || (inBatch >= 12 && inBatch < 16) ? batch.position + 21 : position;
}

async function verifyPrefix(dir: string, placed: Placed[], survivorsMax: number, survivorsMin: number, clean: boolean): Promise<void> {
  const log = await openLog(dir, CONFIG, clean ? { cleanShutdown: true, recoveryPoint: Number.MAX_SAFE_INTEGER } : { recoveryPoint: 0 });
  const served = await readAll(log);
  assert.ok(served.length >= survivorsMin && served.length <= survivorsMax, `served ${served.length} not in [${survivorsMin}, ${survivorsMax}]`);
  served.forEach((b, i) => {
    assert.ok(isBatchCrcValid(b, 0, b.length));
    assert.deepEqual(b, (placed[i] as Placed).bytes, `batch ${i}`);
  });
  assert.equal(log.logEndOffset, served.length === 0 ? 0 : readBatchHeader(served[served.length - 1] as Buffer).lastOffset + 1);
  const next = log.append(simpleBatch(1, 5), 9);
  assert.equal(next.baseOffset, log.logEndOffset - 1);
  await log.close();
}

test('random truncation, flips, garbage and damaged indexes leave an intact, servable prefix', async () => {
  const seed = Number(process.env.STORAGE_TORN_SEED ?? Date.now() % 100_000);
  const prng = new Prng(seed);
  const { dir, cleanup } = tempDir('runnel-torn-');
  try {
    const original = join(dir, 'original');
    const { placed, epochs } = await buildLog(original, prng);
    const segments = [...new Set(placed.map((p) => p.segment))];
    const last = segments[segments.length - 1] as number;
    for (let i = 0; i < ITERATIONS; i++) {
      const work = join(dir, `w${i}`);
      cpSync(original, work, { recursive: true });
      const kind = prng.pick(['truncate-tail', 'garbage-tail', 'flip', 'index', 'epochs'] as const);
      const context = `seed ${seed} iteration ${i} ${kind}`;
      try {
        await damageAndVerify(kind, work, placed, segments, last, prng, epochs);
      } catch (err) {
        throw new Error(`${context}: ${String(err)}`, { cause: err });
      }
      rmSync(work, { recursive: true, force: true });
    }
  } finally {
    cleanup();
  }
});

async function damageAndVerify(
  kind: 'truncate-tail' | 'garbage-tail' | 'flip' | 'index' | 'epochs', work: string, placed: Placed[], segments: number[],
  last: number, prng: Prng, epochs: Array<[number, number]>,
): Promise<void> {
  const inLast = placed.filter((p) => p.segment === last);
  const beforeLast = placed.length - inLast.length;
  if (kind === 'truncate-tail') {
    const size = statSync(logFile(work, last)).size;
    const cut = prng.int(0, size - 1);
    truncateSync(logFile(work, last), cut);
    const whole = inLast.filter((p) => p.position + p.bytes.length <= cut).length;
    await verifyPrefix(work, placed, beforeLast + whole, beforeLast + whole, prng.chance(0.5));
  } else if (kind === 'garbage-tail') {
    const garbage = Buffer.alloc(prng.int(1, 200));
    for (let j = 0; j < garbage.length; j++) garbage[j] = prng.int(0, 255);
    appendFileSync(logFile(work, last), garbage);
    await verifyPrefix(work, placed, placed.length, placed.length, prng.chance(0.5));
  } else if (kind === 'flip') {
    const segment = prng.pick(segments);
    const path = logFile(work, segment);
    const bytes = readFileSync(path);
    const at = checkedByte(placed, segment, prng.int(0, bytes.length - 1));
    bytes[at] = (bytes[at] as number) ^ (1 << prng.int(0, 7));
    writeFileSync(path, bytes);
    const damaged = placed.find((p) => p.segment === segment && p.position <= at && at < p.position + p.bytes.length) as Placed;
    await verifyPrefix(work, placed, damaged.globalIndex, damaged.globalIndex, false);
  } else if (kind === 'index') {
    const names = readdirSync(work).filter((n) => n.endsWith('.index') || n.endsWith('.timeindex'));
    const path = join(work, prng.pick(names));
    const bytes = readFileSync(path);
    if (prng.chance(0.5) || bytes.length === 0) {
      truncateSync(path, bytes.length === 0 ? 0 : prng.int(0, bytes.length - 1));
      if (prng.chance(0.3)) rmSync(path);
    } else {
      const at = prng.int(0, bytes.length - 1);
      bytes[at] = (bytes[at] as number) ^ 0xff;
      writeFileSync(path, bytes);
    }
    await verifyPrefix(work, placed, placed.length, placed.length, prng.chance(0.5));
    await verifyLookups(work, placed);
  } else {
    writeFileSync(join(work, 'leader-epoch-checkpoint'), prng.chance(0.5) ? 'garbage' : '0\n5\n1 2\n');
    const log = await openLog(work, CONFIG, { recoveryPoint: Number.MAX_SAFE_INTEGER });
    for (const [epoch, endOffset] of epochs) assert.equal(log.endOffsetForEpoch(epoch).endOffset, endOffset);
    assert.equal((await readAll(log)).length, placed.length);
    await log.close();
  }
}

async function verifyLookups(work: string, placed: Placed[]): Promise<void> {
  const log = await openLog(work, { ...CONFIG, 'tail.cache.bytes': 0 }, { recoveryPoint: Number.MAX_SAFE_INTEGER });
  for (const p of placed) {
    const lastOffset = readBatchHeader(p.bytes).lastOffset;
    const r = await log.read(lastOffset, 1);
    assert.deepEqual(r.records[0], p.bytes, `lookup of ${lastOffset}`);
  }
  assert.ok((await log.offsetForTimestamp(0)) !== undefined);
  await log.close();
}

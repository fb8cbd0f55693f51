import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readBatchHeader, RecordBatchError, isBatchCrcValid } from '../../src/protocol/record-batch.js';
import { StorageError, StorageErrorCode } from '../../src/storage/errors.js';
import { ManualClock } from '../../src/common/clock.js';
import { FilePool } from '../../src/storage/file-pool.js';
import { buildBatch, simpleBatch } from './batch-builder.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { openLog, readAll, tempDir } from './helpers.js';

const NOW = 1_700_000_000_000;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  try {
    await fn(dir);
  } finally {
    cleanup();
  }
}

test('append assigns offsets synchronously in call order and read returns the same bytes', () => withDir(async (dir) => {
  const log = await openLog(dir);
  const hooked: number[] = [];
  log.onAppend = (end) => hooked.push(end);
  const a = log.append(simpleBatch(3, 10, 1), 0);
  const b = log.append(simpleBatch(2, 10, 2), 0);
  assert.deepEqual([a.baseOffset, a.lastOffset, b.baseOffset, b.lastOffset], [0, 2, 3, 4]);
  assert.equal(log.logEndOffset, 5);
  assert.deepEqual(hooked, [3, 5]);
  await Promise.all([a.durable, b.durable]);
  const read = await log.read(0, 1 << 20);
  assert.equal(read.records.length, 2);
  assert.equal(read.nextOffset, 5);
  assert.equal(readBatchHeader(read.records[1] as Buffer).baseOffset, 3);
  assert.ok(isBatchCrcValid(read.records[0] as Buffer, 0, (read.records[0] as Buffer).length));
  await log.close();
}));

test('read from disk (no tail cache) starts at the batch containing the offset', () => withDir(async (dir) => {
  const log = await openLog(dir, { 'tail.cache.bytes': 0, 'index.interval.bytes': 100 });
  const batches: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    const b = simpleBatch(4, 30, i);
    log.append(b, 0);
    batches.push(b);
  }
  await log.flush();
  for (const offset of [0, 1, 3, 4, 101, 199]) {
    const r = await log.read(offset, 1);
    assert.equal(r.records.length, 1, `offset ${offset}`);
    assert.deepEqual(r.records[0], batches[Math.floor(offset / 4)]);
  }
  const r = await log.read(10, 3 * (batches[0] as Buffer).length);
  assert.equal(Buffer.concat(r.records).length, 3 * (batches[0] as Buffer).length);
  assert.equal(r.nextOffset, 20);
  await log.close();
}));

test('KIP-74: at least one whole batch even past maxBytes; never a partial batch; minOneBatch=false gives none', () => withDir(async (dir) => {
  for (const cache of [0, 1 << 20]) {
    const log = await openLog(join(dir, String(cache)), { 'tail.cache.bytes': cache });
    const big = simpleBatch(1, 5000);
    log.append(big, 0);
    log.append(simpleBatch(1, 10), 0);
    await log.flush();
    const r = await log.read(0, 100);
    assert.deepEqual(r.records, [big]);
    assert.equal((await log.read(0, 100, undefined, false)).records.length, 0);
    await log.close();
  }
}));

test('reads never pass the upper bound (high watermark)', () => withDir(async (dir) => {
  const log = await openLog(dir, { 'tail.cache.bytes': 0 });
  for (let i = 0; i < 5; i++) log.append(simpleBatch(2, 10), 0);
  await log.flush();
  log.updateHighWatermark(4);
  const r = await log.read(0, 1 << 20, log.highWatermark);
  assert.equal(r.nextOffset, 4);
  assert.equal((await log.read(4, 1 << 20, log.highWatermark)).records.length, 0);
  // An upper bound inside a batch excludes that batch.
  assert.equal((await log.read(0, 1 << 20, 5)).nextOffset, 4);
  await log.close();
}));

test('offsets outside [logStartOffset, logEndOffset] are OFFSET_OUT_OF_RANGE; the end is empty', () => withDir(async (dir) => {
  const log = await openLog(dir);
  log.append(simpleBatch(2, 1), 0);
  assert.equal((await log.read(2, 100)).records.length, 0);
  await assert.rejects(log.read(3, 100), (e: unknown) => e instanceof StorageError && e.errorCode === StorageErrorCode.OFFSET_OUT_OF_RANGE);
  await assert.rejects(log.read(-1, 100), (e: unknown) => e instanceof StorageError && e.errorCode === StorageErrorCode.OFFSET_OUT_OF_RANGE);
  await log.close();
}));

test('a multi-batch append with one bad batch writes nothing and leaves the buffer untouched', () => withDir(async (dir) => {
  const log = await openLog(dir);
  log.append(simpleBatch(1, 1), 0);
  const good = simpleBatch(2, 5);
  const bad = simpleBatch(2, 5);
  bad[bad.length - 1] ^= 0xff;
  const records = Buffer.concat([good, bad]);
  const copy = Buffer.from(records);
  assert.throws(() => log.append(records, 0), RecordBatchError);
  assert.deepEqual(records, copy);
  assert.equal(log.logEndOffset, 1);
  const tooBig = simpleBatch(1, 2000);
  const small = await openLog(join(dir, 'small'), { 'max.message.bytes': 1000 });
  assert.throws(() => small.append(tooBig, 0), (e: unknown) => e instanceof StorageError && e.errorCode === StorageErrorCode.MESSAGE_TOO_LARGE);
  await small.close();
  await log.flush();
  assert.equal((await readAll(log)).length, 1);
  await log.close();
}));

test('CreateTime bounds reject out-of-range timestamps; LogAppendTime stamps the broker time', () => withDir(async (dir) => {
  const clock = new ManualClock(NOW);
  const log = await openLog(dir, { 'message.timestamp.before.max.ms': 1000, 'message.timestamp.after.max.ms': 1000 }, { clock });
  assert.throws(() => log.append(simpleBatch(1, 1, 0, NOW - 5000), 0), (e: unknown) => e instanceof RecordBatchError && e.errorCode === 32);
  assert.throws(() => log.append(simpleBatch(1, 1, 0, NOW + 5000), 0), (e: unknown) => e instanceof RecordBatchError && e.errorCode === 32);
  log.append(simpleBatch(1, 1, 0, NOW), 0);
  const lat = await openLog(join(dir, 'lat'), { 'message.timestamp.type': 'LogAppendTime' }, { clock });
  const batch = simpleBatch(2, 1, 0, 5);
  const result = lat.append(batch, 0);
  assert.equal(result.logAppendTimeMs, NOW);
  const h = readBatchHeader(batch);
  assert.equal(h.maxTimestamp, NOW);
  assert.equal(h.timestampType, 'LogAppendTime');
  assert.ok(isBatchCrcValid(batch, 0, batch.length));
  await lat.close();
  await log.close();
}));

test('segments roll by size and by time; reads span segments', () => withDir(async (dir) => {
  const log = await openLog(dir, { 'segment.bytes': 1000, 'segment.ms': 60_000, 'tail.cache.bytes': 0 });
  for (let i = 0; i < 20; i++) log.append(simpleBatch(1, 200, i, NOW), 0);
  await log.flush();
  const bases = log.segmentBaseOffsets();
  assert.ok(bases.length >= 5, `${bases}`);
  assert.equal((await readAll(log)).length, 20);
  const before = log.segmentBaseOffsets().length;
  log.append(simpleBatch(1, 1, 0, NOW + 120_000), 0);
  assert.equal(log.segmentBaseOffsets().length, before + 1);
  const files = readdirSync(dir).filter((f) => f.endsWith('.log'));
  assert.equal(files[0], '00000000000000000000.log');
  await log.close();
}));

test('clean close and reopen keeps everything and needs no scan; unclean reopen recovers', () => withDir(async (dir) => {
  const log = await openLog(dir, { 'segment.bytes': 2000 });
  const batches: Buffer[] = [];
  for (let i = 0; i < 30; i++) {
    const b = simpleBatch(1 + (i % 4), 40, i);
    log.append(b, i < 15 ? 1 : 2);
    batches.push(b);
  }
  await log.close();
  const again = await openLog(dir, { 'segment.bytes': 2000 }, { cleanShutdown: true, recoveryPoint: log.logEndOffset });
  assert.equal(again.logEndOffset, log.logEndOffset);
  assert.deepEqual(await readAll(again), batches);
  assert.deepEqual(again.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: log.endOffsetForEpoch(1).endOffset });
  again.append(simpleBatch(1, 1), 3);
  await again.flush();
  const third = await openLog(dir, { 'segment.bytes': 2000 }, { recoveryPoint: 0 });
  assert.equal(third.logEndOffset, again.logEndOffset);
  assert.equal(third.latestEpoch(), 3);
  await third.close();
  await again.close();
}));

test('a torn tail is cut at recovery and never served', () => withDir(async (dir) => {
  const log = await openLog(dir);
  const batches = [simpleBatch(2, 100, 1), simpleBatch(2, 100, 2), simpleBatch(2, 100, 3)];
  for (const b of batches) log.append(b, 0);
  await log.flush();
  const path = join(dir, '00000000000000000000.log');
  const size = (await fsp.stat(path)).size;
  await fsp.truncate(path, size - 10);
  const messages: string[] = [];
  const logger = { info: (_: object, m: string) => messages.push(m), warn: (_: object, m: string) => messages.push(m), error: (_: object, m: string) => messages.push(m) };
  const recovered = await openLog(dir, {}, { recoveryPoint: 0, logger });
  assert.ok(messages.includes('recovered segment') && messages.some((m) => m.startsWith(`recovery cut a torn log tail (torn) of t-0: ${batches[2]!.length - 10} bytes`)), messages.join());
  assert.equal(recovered.logEndOffset, 4);
  assert.deepEqual(await readAll(recovered), batches.slice(0, 2));
  assert.equal((await fsp.stat(path)).size, batches[0]!.length * 2);
  recovered.append(simpleBatch(1, 1), 0);
  await recovered.close();
  await log.close();
}));

test('truncateTo removes whole batches and the leader epochs past the new end', () => withDir(async (dir) => {
  const log = await openLog(dir, { 'segment.bytes': 500, 'tail.cache.bytes': 0 });
  for (let i = 0; i < 10; i++) log.append(simpleBatch(2, 50, i), i < 5 ? 1 : 2);
  await log.flush();
  assert.equal(log.endOffsetForEpoch(1).endOffset, 10);
  await log.truncateTo(7);
  assert.equal(log.logEndOffset, 6);
  assert.equal(log.latestEpoch(), 1);
  assert.equal((await readAll(log)).length, 3);
  const r = log.append(simpleBatch(1, 1), 3);
  assert.equal(r.baseOffset, 6);
  await log.truncateTo(1);
  assert.equal(log.logEndOffset, 0);
  await log.truncateFullyAndStartAt(100);
  assert.equal(log.logStartOffset, 100);
  assert.equal(log.logEndOffset, 100);
  assert.equal(log.append(simpleBatch(1, 1), 4).baseOffset, 100);
  await log.close();
  const reopened = await openLog(dir, {}, { recoveryPoint: 0, logStartOffset: 100 });
  assert.equal(reopened.logEndOffset, 101);
  assert.deepEqual(reopened.segmentBaseOffsets(), [100]);
  await reopened.close();
}));

test('appendAsFollower keeps leader offsets and rejects overlaps', () => withDir(async (dir) => {
  const log = await openLog(dir);
  const b = buildBatch({ baseOffset: 10, partitionLeaderEpoch: 4, records: [{ value: null }, { value: null }] });
  const r = log.appendAsFollower(b);
  assert.deepEqual([r.baseOffset, r.lastOffset, log.logEndOffset, log.latestEpoch()], [10, 11, 12, 4]);
  const overlap = buildBatch({ baseOffset: 11, partitionLeaderEpoch: 4, records: [{ value: null }] });
  assert.throws(() => log.appendAsFollower(overlap), StorageError);
  await log.close();
}));

test('deleteRecords and retention delete whole segments only below the high watermark', () => withDir(async (dir) => {
  const clock = new ManualClock(NOW);
  const log = await openLog(dir, { 'segment.bytes': 300, 'retention.ms': 10_000 }, { clock });
  for (let i = 0; i < 10; i++) log.append(simpleBatch(1, 150, i, NOW + i * 1000), 0);
  await log.flush();
  const segments = log.segmentBaseOffsets().length;
  assert.ok(segments >= 5);
  assert.equal(await log.applyRetention(NOW + 100_000), 0, 'nothing below HW 0');
  log.updateHighWatermark(log.logEndOffset);
  await assert.rejects(log.deleteRecords(log.logEndOffset + 1), StorageError);
  assert.equal(await log.deleteRecords(3), 3);
  assert.equal(log.logStartOffset, 3);
  await assert.rejects(log.read(2, 100), StorageError);
  assert.ok(log.segmentBaseOffsets()[0]! <= 3);
  const deleted = await log.applyRetention(NOW + 15_500);
  assert.ok(deleted > 0);
  for (const base of log.segmentBaseOffsets()) assert.ok(base >= 4);
  const sized = await openLog(join(dir, 's'), { 'segment.bytes': 300, 'retention.bytes': 600 }, { clock });
  for (let i = 0; i < 10; i++) sized.append(simpleBatch(1, 150, i, NOW), 0);
  sized.updateHighWatermark(sized.logEndOffset);
  await sized.applyRetention(NOW);
  assert.ok(sized.size() <= 600 + 300, `${sized.size()}`);
  assert.equal((await readAll(sized)).length, sized.logEndOffset - sized.logStartOffset);
  await sized.close();
  await log.close();
}));

test('a compact-only topic is not retained by time or size (cleanup.policy without delete)', () => withDir(async (dir) => {
  const clock = new ManualClock(NOW);
  const log = await openLog(dir, { 'segment.bytes': 300, 'retention.ms': 1000, 'retention.bytes': 300, 'cleanup.policy': 'compact' }, { clock });
  // Compacted topics need keys (the record walk refuses keyless records there).
  for (let i = 0; i < 10; i++) log.append(buildBatch({ records: [{ key: Buffer.from(`k${i}`), value: Buffer.alloc(150, i) }], baseTimestamp: NOW }), 0);
  await log.flush();
  log.updateHighWatermark(log.logEndOffset);
  assert.equal(await log.applyRetention(NOW + 100_000), 0);
  assert.equal(log.logStartOffset, 0);
  log.updateConfig({ ...log.config, retentionDeletes: true });
  assert.ok(await log.applyRetention(NOW + 100_000) > 0, 'compact,delete retains');
  await log.close();
}));

test('offsetForTimestamp finds the first record at or after a timestamp; max timestamp lookup', () => withDir(async (dir) => {
  const log = await openLog(dir, { 'segment.bytes': 400, 'index.interval.bytes': 50, 'tail.cache.bytes': 0 });
  for (let i = 0; i < 20; i++) {
    log.append(buildBatch({ baseTimestamp: NOW + i * 100, records: [{ value: Buffer.alloc(50), timestampDelta: 0 }, { value: Buffer.alloc(50), timestampDelta: 50 }] }), 0);
  }
  await log.flush();
  assert.deepEqual(await log.offsetForTimestamp(NOW), { offset: 0, timestamp: NOW, leaderEpoch: 0 });
  assert.deepEqual(await log.offsetForTimestamp(NOW + 520), { offset: 11, timestamp: NOW + 550, leaderEpoch: 0 });
  assert.deepEqual(await log.offsetForTimestamp(NOW + 560), { offset: 12, timestamp: NOW + 600, leaderEpoch: 0 });
  assert.deepEqual(await log.offsetForTimestamp(NOW + 550), { offset: 11, timestamp: NOW + 550, leaderEpoch: 0 });
  assert.equal(await log.offsetForTimestamp(NOW + 10_000), undefined);
  assert.deepEqual(await log.maxTimestampAndOffset(), { offset: 39, timestamp: NOW + 1950, leaderEpoch: 0 });
  await log.close();
}));

test('batch headers iterate from an offset; producer snapshots round-trip and vanish past the end', () => withDir(async (dir) => {
  const log = await openLog(dir);
  log.append(buildBatch({ producerId: 7, producerEpoch: 1, baseSequence: 0, records: [{ value: null }, { value: null }] }), 0);
  log.append(buildBatch({ producerId: 7, producerEpoch: 1, baseSequence: 2, transactional: true, records: [{ value: null }] }), 0);
  const headers = [];
  for await (const h of log.batchHeaders(1)) headers.push(h);
  assert.deepEqual(headers.map((h) => [h.baseOffset, h.producerId, h.baseSequence, h.lastOffsetDelta, h.isTransactional]), [[0, 7, 0, 1, false], [2, 7, 2, 0, true]]);
  await log.writeProducerSnapshot(3, Buffer.from('state'));
  assert.deepEqual(await log.latestProducerSnapshot(), { offset: 3, data: Buffer.from('state') });
  await log.truncateTo(2);
  assert.equal(await log.latestProducerSnapshot(), undefined);
  await log.close();
}));

test('durable promises resolve in append order in both modes', () => withDir(async (dir) => {
  for (const mode of ['fsync', 'none']) {
    const log = await openLog(join(dir, mode), { 'durability.mode': mode, 'flush.window.ms': 1 });
    const order: number[] = [];
    const all = [];
    for (let i = 0; i < 50; i++) {
      const r = log.append(simpleBatch(1, 100, i), 0);
      all.push(r.durable.then(() => order.push(i)));
    }
    await Promise.all(all);
    assert.deepEqual(order, [...Array(50).keys()]);
    await log.close();
  }
}));

test('a damaged index entry that passes the load checks is detected on use and rebuilt (active segment too)', () => withDir(async (dir) => {
  const config = { 'index.interval.bytes': 100, 'tail.cache.bytes': 0 };
  const log = await openLog(dir, config);
  const batches: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    const b = simpleBatch(2, 60, i);
    log.append(b, 0);
    batches.push(b);
  }
  await log.close();
  const indexPath = join(dir, '00000000000000000000.index');
  const index = await fsp.readFile(indexPath);
  assert.ok(index.length >= 24);
  // Entry 1 now points one byte before entry 2's batch: monotonic, in range, but not a batch start.
  index.writeInt32BE(index.readInt32BE(20) - 1, 12);
  await fsp.writeFile(indexPath, index);
  const messages: string[] = [];
  const logger = { info: () => undefined, warn: (_: object, m: string) => messages.push(m), error: (_: object, m: string) => messages.push(m) };
  const reopened = await openLog(dir, config, { cleanShutdown: true, recoveryPoint: log.logEndOffset, logger });
  const extra = simpleBatch(1, 5);
  reopened.append(extra, 0);
  for (let i = 0; i < batches.length; i++) {
    const r = await reopened.read(i * 2 + 1, 1);
    assert.deepEqual(r.records[0], batches[i], `batch ${i} ${messages.join()}`);
  }
  assert.deepEqual((await reopened.read(80, 1000)).records, [extra]);
  assert.equal(reopened.logEndOffset, 81);
  assert.ok(messages.includes('offset index does not match the log: rebuilding it'), messages.join());
  await reopened.close();
}));

test('a damaged time-index entry is detected by the timestamp search and rebuilt', () => withDir(async (dir) => {
  const config = { 'index.interval.bytes': 100, 'tail.cache.bytes': 0 };
  const log = await openLog(dir, config);
  for (let i = 0; i < 40; i++) log.append(buildBatch({ baseTimestamp: NOW + i * 10, records: [{ value: Buffer.alloc(60) }, { value: null, timestampDelta: 5 }] }), 0);
  await log.close();
  const path = join(dir, '00000000000000000000.timeindex');
  const index = await fsp.readFile(path);
  assert.ok(index.length >= 36);
  // Entry 1 names the next offset (still below entry 2's): a search from it would start a batch late.
  index.writeInt32BE(index.readInt32BE(20) + 1, 20);
  await fsp.writeFile(path, index);
  const reopened = await openLog(dir, config, { cleanShutdown: true, recoveryPoint: log.logEndOffset });
  for (let i = 0; i < 40; i++) {
    assert.deepEqual(await reopened.offsetForTimestamp(NOW + i * 10), { offset: i * 2, timestamp: NOW + i * 10, leaderEpoch: 0 }, `batch ${i}`);
    assert.deepEqual(await reopened.offsetForTimestamp(NOW + i * 10 + 5), { offset: i * 2 + 1, timestamp: NOW + i * 10 + 5, leaderEpoch: 0 }, `record ${i}`);
  }
  await reopened.close();
}));

/**
 * Holds each O_DSYNC write's completion until the test releases it. A write counts as held from the
 * call on (before its bytes are written), so heldCount is the number of synced writes started.
 */
class GatedPool extends FilePool {
  gate = false;
  private readonly held: { release: (err?: Error) => void }[] = [];
  get heldCount(): number {
    return this.held.length;
  }
  override async withFile<T>(path: string, create: boolean, fn: (fd: number) => Promise<T>, dsync = false): Promise<T> {
    if (!this.gate || !dsync) return super.withFile(path, create, fn, dsync);
    const released = new Promise<void>((resolve, reject) => this.held.push({ release: (err) => (err ? reject(err) : resolve()) }));
    released.catch(() => undefined); // may be failed before the write itself ends; awaited below
    const result = await super.withFile(path, create, fn, dsync);
    await released;
    return result;
  }
  /** Ends the i-th held write, with err as its failure if given. */
  endHeld(i: number, err?: Error): void {
    (this.held[i] as { release: (err?: Error) => void }).release(err);
  }
}

/** A log on a GatedPool with one batch already durable (so its segment file exists) and the gate closed. */
async function openGated(dir: string): Promise<{ pool: GatedPool; log: PartitionLog }> {
  const pool = new GatedPool(8);
  const log = await openLog(dir, {}, { filePool: pool });
  await log.append(simpleBatch(1, 10), 0).durable;
  pool.gate = true;
  return { pool, log };
}

const eio = (): Error => Object.assign(new Error('EIO: simulated'), { code: 'EIO' });
const isStorageError = (e: unknown): boolean => e instanceof StorageError && e.errorCode === StorageErrorCode.KAFKA_STORAGE_ERROR;

async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.ok(cond(), 'condition not reached');
}

test('fsync mode: two group commits of a partition are in flight at once, a third waits; batches become durable in offset order', () => withDir(async (dir) => {
  const { pool, log } = await openGated(dir);
  const order: string[] = [];
  const a = log.append(simpleBatch(2, 10), 0).durable.then(() => order.push('a'));
  await until(() => pool.heldCount === 1);
  const b = log.append(simpleBatch(3, 10), 0).durable.then(() => order.push('b'));
  await until(() => pool.heldCount === 2);
  const c = log.append(simpleBatch(1, 10), 0).durable.then(() => order.push('c'));
  await turns();
  assert.equal(pool.heldCount, 2, 'the third group commit waits for a slot');
  pool.endHeld(1);
  await turns();
  assert.deepEqual(order, [], 'the later write ended first: nothing is durable before the earlier one');
  pool.endHeld(0);
  await Promise.all([a, b]);
  assert.deepEqual(order, ['a', 'b']);
  await until(() => pool.heldCount === 3);
  pool.endHeld(2);
  await c;
  pool.gate = false;
  assert.deepEqual((await readAll(log)).map((x) => readBatchHeader(x).baseOffset), [0, 1, 3, 6]);
  await log.close();
  const reopened = await openLog(dir);
  assert.equal(reopened.logEndOffset, 7);
  assert.equal((await readAll(reopened)).length, 4);
  await reopened.close();
  await pool.closeAll();
}));

test('fsync mode: a failed write in flight fails the later one in flight too, and close waits for writes in flight', () => withDir(async (dir) => {
  const { pool, log } = await openGated(dir);
  const a = log.append(simpleBatch(1, 10), 0).durable;
  await until(() => pool.heldCount === 1);
  const b = log.append(simpleBatch(1, 10), 0).durable;
  await until(() => pool.heldCount === 2);
  pool.endHeld(1);
  pool.endHeld(0, eio());
  await assert.rejects(a, isStorageError);
  await assert.rejects(b, isStorageError);
  assert.ok(log.isFailed());
  await log.close();

  const dir2 = join(dir, 'second');
  await fsp.mkdir(dir2);
  const second = await openGated(dir2);
  const pending = second.log.append(simpleBatch(1, 10), 0).durable;
  await until(() => second.pool.heldCount === 1);
  let closed = false;
  const closing = second.log.close().then(() => { closed = true; });
  await turns();
  assert.equal(closed, false, 'close waits for the write in flight');
  second.pool.endHeld(0);
  second.pool.gate = false;
  await Promise.all([pending, closing]);
  const reopened = await openLog(dir2);
  assert.equal(reopened.logEndOffset, 2);
  await reopened.close();
  await pool.closeAll();
  await second.pool.closeAll();
}));

test('fsync mode: batches whose flush waits behind a write in flight that fails are rejected, never durable', () => withDir(async (dir) => {
  // The second append starts a new leader epoch (a checkpoint to write first), so its flush cannot be
  // pipelined: it waits for the first write, which fails.
  const { pool, log } = await openGated(dir);
  const a = log.append(simpleBatch(1, 10), 0).durable;
  await until(() => pool.heldCount === 1);
  const b = log.append(simpleBatch(1, 10), 1).durable;
  await turns();
  pool.endHeld(0, eio());
  pool.gate = false;
  await assert.rejects(a, isStorageError);
  await assert.rejects(b, isStorageError);
  await log.close();
  await pool.closeAll();
}));

test('an IO error fails the log: pending appends reject with KAFKA_STORAGE_ERROR, later appends throw', () => withDir(async (dir) => {
  class FailingPool extends FilePool {
    failWrites = false;
    override withFile<T>(path: string, create: boolean, fn: (fd: number) => Promise<T>): Promise<T> {
      if (this.failWrites && create) return Promise.reject(Object.assign(new Error('EIO: simulated'), { code: 'EIO' }));
      return super.withFile(path, create, fn);
    }
  }
  const pool = new FailingPool(4);
  const log = await openLog(dir, {}, { filePool: pool });
  await log.append(simpleBatch(1, 1), 0).durable;
  pool.failWrites = true;
  const pending = log.append(simpleBatch(1, 1), 0);
  await assert.rejects(pending.durable, (e: unknown) => e instanceof StorageError && e.errorCode === StorageErrorCode.KAFKA_STORAGE_ERROR);
  assert.ok(log.isFailed());
  assert.throws(() => log.append(simpleBatch(1, 1), 0), (e: unknown) => e instanceof StorageError && e.errorCode === StorageErrorCode.KAFKA_STORAGE_ERROR);
  await log.close();
  await pool.closeAll();
}));

test('truncating inside the batch that holds logStartOffset restarts the log at the target', () => withDir(async (dir) => {
  const log = await openLog(dir);
  log.append(simpleBatch(5, 10), 0);
  log.updateHighWatermark(5);
  await log.deleteRecords(2);
  await log.truncateTo(3);
  assert.deepEqual([log.logStartOffset, log.logEndOffset], [3, 3]);
  assert.equal(log.append(simpleBatch(1, 1), 0).baseOffset, 3);
  await log.close();
}));

test('timestamp lookups are record-exact in compressed batches when a decompressor is given', () => withDir(async (dir) => {
  const log = await openLog(dir, {}, { decompressRecords: (_codec, data) => gunzipSync(data) });
  log.append(buildBatch({
    baseTimestamp: NOW, compression: 1, compressRecords: (r) => gzipSync(r),
    records: [{ value: null }, { value: null, timestampDelta: 10 }, { value: null, timestampDelta: 20 }],
  }), 0);
  assert.deepEqual(await log.offsetForTimestamp(NOW + 5), { offset: 1, timestamp: NOW + 10, leaderEpoch: 0 });
  assert.deepEqual(await log.maxTimestampAndOffset(), { offset: 2, timestamp: NOW + 20, leaderEpoch: 0 });
  await log.close();
}));

test('a cached batch that is a small share of a large frame does not pin the frame; a large share is kept as a view', () => withDir(async (dir) => {
  // A 1 KiB batch inside a 4 MiB request frame (the rest went to other partitions or was refused):
  // caching a view of it would keep all 4 MiB alive for as long as the batch stays cached.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const log = await openLog(dir, { 'tail.cache.bytes': 1024 * 1024 });
  const batch = simpleBatch(2, 512, 7);
  let frame: Buffer | undefined = Buffer.alloc(4 * 1024 * 1024);
  batch.copy(frame, 1000);
  const frameRef = new WeakRef(frame.buffer);
  await log.append(frame.subarray(1000, 1000 + batch.length), 0).durable;
  frame = undefined;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(frameRef.deref(), undefined, 'the 4 MiB frame is still reachable through the tail cache');
  const cached = (await log.read(0, 1 << 20)).records;
  assert.equal(cached.length, 1);
  const copy = cached[0] as Buffer;
  assert.equal(copy.length, batch.length);
  assert.equal(readBatchHeader(copy, 0).baseOffset, 0);
  assert.ok(isBatchCrcValid(copy, 0, copy.length));
  assert.ok(copy.buffer.byteLength < 64 * 1024, `the cached batch is a view of a ${copy.buffer.byteLength}-byte buffer`);

  // Half of a 1 MiB frame: cached as a view (no copy on the hot path), so it pins at most 2× itself.
  const big = simpleBatch(1, 512 * 1024, 3);
  const frame2 = Buffer.alloc(1024 * 1024);
  big.copy(frame2, 0);
  await log.append(frame2.subarray(0, big.length), 0).durable;
  const view = (await log.read(2, 1 << 20)).records;
  assert.equal(view.length, 1);
  assert.equal((view[0] as Buffer).buffer, frame2.buffer);
  await log.close();
}));

test('evicted tail-cache entries release their buffers (1 MB batches once kept every appended byte alive)', () => withDir(async (dir) => {
  // Large batches evict few entries; the evicted slots used to stay referenced until 1,024 had
  // accumulated, which held ~550 MB per 5M 100-byte records in the broker (franz-go bench).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const batchBytes = 256 * 1024;
  const log = await openLog(dir, { 'tail.cache.bytes': 1024 * 1024 });
  // WeakRefs to the ArrayBuffers: the log keeps views (subarrays) of them, not the Buffer objects.
  const refs: Array<WeakRef<ArrayBufferLike>> = [];
  for (let i = 0; i < 40; i++) {
    const batch = simpleBatch(1, batchBytes, i);
    refs.push(new WeakRef(batch.buffer));
    await log.append(batch, 0).durable;
  }
  await log.flush();
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const alive = refs.filter((r) => r.deref() !== undefined).length;
  // The cache keeps ~1 MB (4–5 batches of 256 KiB) plus the newest; everything older is collectable.
  assert.ok(alive >= 1 && alive <= 6, `${alive} of 40 appended buffers still reachable`);
  const tail = await log.read(log.logEndOffset - 1, 1 << 20);
  assert.equal(tail.records.length, 1);
  await log.close();
}));

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogManager } from '../../src/storage/log-manager.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { readBatchHeader } from '../../src/protocol/record-batch.js';
import { ManualClock } from '../../src/common/clock.js';
import { PartitionProducerStateStore } from '../../src/replication/producer-state-store.js';
import { simpleBatch } from './batches.js';

const T0 = Date.now();

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-producer-state-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function openLog(dir: string, defaults: Record<string, string | number> = {}): Promise<{ logs: LogManager; log: PartitionLog }> {
  const logs = await LogManager.open({ dataDir: dir, defaults: { 'durability.mode': 'none', ...defaults } });
  const log = logs.getLog('t', 0) ?? await logs.createLog('t', 0);
  return { logs, log };
}

/** Check + append + onAppend, as the Produce path does; returns the verdict kind and base offset. */
function produce(
  store: PartitionProducerStateStore, log: PartitionLog, producerId: number, epoch: number, sequence: number, count = 2, timestamp = T0,
): { kind: string; baseOffset: number } {
  const batch = simpleBatch(count, { producerId, producerEpoch: epoch, baseSequence: sequence, baseTimestamp: timestamp });
  const header = readBatchHeader(batch);
  const verdict = store.checkBatch(header);
  if (verdict.kind === 'duplicate') return { kind: 'duplicate', baseOffset: verdict.baseOffset };
  if (verdict.kind === 'error') return { kind: `error ${verdict.errorCode}`, baseOffset: -1 };
  const result = log.append(batch, 0);
  store.onAppend(header, result.baseOffset, result.lastOffset, result.logAppendTimeMs);
  return { kind: 'append', baseOffset: result.baseOffset };
}

async function snapshotFiles(log: PartitionLog): Promise<string[]> {
  return (await readdir(log.dir)).filter((name) => name.endsWith('.snapshot')).sort();
}

test('clean close writes a snapshot at the log end; reopening finds duplicates without replaying', async () => {
  await withDir(async (dir) => {
    let { logs, log } = await openLog(dir);
    let store = await PartitionProducerStateStore.open(log);
    for (let seq = 0; seq < 10; seq += 2) assert.equal(produce(store, log, 11, 0, seq).kind, 'append');
    await store.close();
    await logs.close();
    assert.deepEqual(await snapshotFiles(log), ['00000000000000000010.snapshot']);
    ({ logs, log } = await openLog(dir));
    store = await PartitionProducerStateStore.open(log);
    assert.deepEqual(produce(store, log, 11, 0, 8), { kind: 'duplicate', baseOffset: 8 });
    assert.deepEqual(produce(store, log, 11, 0, 0), { kind: 'duplicate', baseOffset: 0 });
    assert.equal(produce(store, log, 11, 0, 10).kind, 'append');
    assert.equal(log.logEndOffset, 12);
    await store.close();
    await logs.close();
  });
});

test('after a crash without any snapshot the state is rebuilt from the log (and snapshotted)', async () => {
  await withDir(async (dir) => {
    let { logs, log } = await openLog(dir);
    let store = await PartitionProducerStateStore.open(log);
    for (let seq = 0; seq < 6; seq += 2) produce(store, log, 11, 0, seq);
    produce(store, log, 12, 3, 0);
    // Kill-like: the producer state is never closed; the snapshot files are gone too.
    await logs.close();
    for (const name of await snapshotFiles(log)) await unlink(join(log.dir, name));
    ({ logs, log } = await openLog(dir));
    store = await PartitionProducerStateStore.open(log);
    assert.deepEqual(produce(store, log, 11, 0, 4), { kind: 'duplicate', baseOffset: 4 });
    assert.deepEqual(produce(store, log, 12, 3, 0), { kind: 'duplicate', baseOffset: 6 });
    assert.equal(produce(store, log, 12, 2, 2).kind, 'error 47');
    assert.equal(produce(store, log, 11, 0, 8).kind, 'error 45');
    assert.deepEqual(await snapshotFiles(log), ['00000000000000000008.snapshot']);
    await logs.close();
  });
});

test('an older snapshot plus the log tail after it rebuild the state; a damaged snapshot falls back to the log', async () => {
  await withDir(async (dir) => {
    let { logs, log } = await openLog(dir);
    let store = await PartitionProducerStateStore.open(log);
    produce(store, log, 11, 0, 0);
    await store.takeSnapshot();
    produce(store, log, 11, 0, 2);
    produce(store, log, 13, 0, 0);
    await logs.close();
    assert.deepEqual(await snapshotFiles(log), ['00000000000000000002.snapshot']);
    ({ logs, log } = await openLog(dir));
    store = await PartitionProducerStateStore.open(log);
    assert.deepEqual(produce(store, log, 11, 0, 0), { kind: 'duplicate', baseOffset: 0 });
    assert.deepEqual(produce(store, log, 11, 0, 2), { kind: 'duplicate', baseOffset: 2 });
    assert.deepEqual(produce(store, log, 13, 0, 0), { kind: 'duplicate', baseOffset: 4 });
    await logs.close();
  });
});

test('a segment roll snapshots the state; only the two latest snapshots are kept', async () => {
  await withDir(async (dir) => {
    const { logs, log } = await openLog(dir, { 'segment.bytes': 300 });
    const store = await PartitionProducerStateStore.open(log);
    for (let seq = 0; seq < 40; seq += 2) produce(store, log, 11, 0, seq);
    assert.ok(log.segmentBaseOffsets().length >= 4, `segments ${log.segmentBaseOffsets()}`);
    await store.close();
    const files = await snapshotFiles(log);
    assert.equal(files.length, 2);
    assert.equal(files[1], '00000000000000000040.snapshot');
    await logs.close();
  });
});

test('idle producers are expired at the check interval', async () => {
  await withDir(async (dir) => {
    const { logs, log } = await openLog(dir);
    const clock = new ManualClock(T0);
    const store = await PartitionProducerStateStore.open(log, { clock, producerIdExpirationMs: 1000, producerIdExpirationCheckIntervalMs: 100 });
    produce(store, log, 11, 0, 0);
    clock.advance(2000);
    // Kafka expires by the last batch's timestamp, not by when the broker saw it.
    produce(store, log, 12, 0, 0, 2, T0 + 2000);
    assert.equal(store.state.lastEntry(11), undefined);
    assert.equal(store.state.producerCount, 1);
    await store.close();
    await logs.close();
  });
});

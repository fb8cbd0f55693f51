/**
 * The aborted-transactions index seen from the producer state that feeds it (producer-state-store.ts →
 * PartitionLog.addAbortedTransaction → storage/transaction-index.ts): per-segment `.txnindex` files,
 * recovery, truncation, retention, followers, and the bound on memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '@node-rs/crc32';
import { readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildEndTxnMarkerBatch } from '../../src/protocol/control-batch.js';
import { readBatchHeader } from '../../src/protocol/record-batch.js';
import { PartitionProducerStateStore } from '../../src/replication/producer-state-store.js';
import type { PartitionLog, PartitionLogOptions } from '../../src/storage/partition-log.js';
import { ABORTED_TXN_BYTES } from '../../src/storage/transaction-index.js';
import { openLog, tempDir } from '../storage/helpers.js';
import { simpleBatch } from './batches.js';

const T0 = 1_700_000_000_000;
/** Small segments: a few transactions each, so transactions span segments. */
const CONFIG = { 'durability.mode': 'none', 'segment.bytes': 600 };

interface Aborted { producerId: number; firstOffset: number; lastOffset: number }

/** A leader partition: transactional batches and markers as Produce and WriteTxnMarkers append them. */
class Partition {
  private readonly sequences = new Map<number, number>();
  constructor(readonly log: PartitionLog, readonly store: PartitionProducerStateStore) {}

  static async open(dir: string, extra: Partial<PartitionLogOptions> = {}, config: Record<string, string | number> = CONFIG): Promise<Partition> {
    const log = await openLog(dir, config, extra);
    return new Partition(log, await PartitionProducerStateStore.open(log));
  }

  data(producerId: number, records = 2): number {
    const sequence = this.sequences.get(producerId) ?? 0;
    const batch = simpleBatch(records, { producerId, producerEpoch: 0, baseSequence: sequence, transactional: true, baseTimestamp: T0 });
    const header = readBatchHeader(batch);
    assert.equal(this.store.checkBatch(header).kind, 'append');
    const result = this.log.append(batch, 0);
    this.store.onAppend(header, result.baseOffset, result.lastOffset, result.logAppendTimeMs);
    this.sequences.set(producerId, sequence + records);
    this.log.updateHighWatermark(this.log.logEndOffset);
    return result.baseOffset;
  }

  marker(producerId: number, commit: boolean): number {
    const result = this.log.append(buildEndTxnMarkerBatch({ producerId, producerEpoch: 0, coordinatorEpoch: 0, commit }, T0), 0);
    this.store.onMarker(producerId, 0, 0, commit, result.baseOffset, T0);
    this.log.updateHighWatermark(this.log.logEndOffset);
    return result.baseOffset;
  }

  /** Everything written: log flushed, index entries on their files. */
  async settle(): Promise<void> {
    await this.log.flush();
    for (let i = 0; i < 2000 && this.log.pendingAbortedTransactionCount() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(this.log.pendingAbortedTransactionCount(), 0);
  }

  async aborted(from = this.log.logStartOffset, to = this.log.logEndOffset): Promise<Aborted[]> {
    return this.store.abortedTransactions(from, to);
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.log.close();
  }
}

/** Fetch answers list aborted transactions by first offset (producer-state-store.ts). */
function byFirstOffset(txns: readonly (Aborted | undefined)[]): Aborted[] {
  return (txns as Aborted[]).slice().sort((a, b) => a.firstOffset - b.firstOffset);
}

function files(dir: string, suffix: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith(suffix)).sort();
}

/**
 * Producer 1 aborts 3 transactions, producer 2 commits 2 around them, and producer 3's first transaction
 * starts in the first segment and is aborted segments later. Returns the aborted ones, in marker order.
 */
function writeMix(p: Partition): Aborted[] {
  const aborted: Aborted[] = [];
  const long = p.data(3, 1);
  for (let i = 0; i < 3; i++) {
    const first = p.data(1, 3);
    p.data(2, 2);
    aborted.push({ producerId: 1, firstOffset: first, lastOffset: p.marker(1, false) });
    p.marker(2, true);
  }
  aborted.push({ producerId: 3, firstOffset: long, lastOffset: p.marker(3, false) });
  const last = p.data(1, 1);
  aborted.push({ producerId: 1, firstOffset: last, lastOffset: p.marker(1, false) });
  // Committed only: a segment or more with no aborted transaction.
  for (let i = 0; i < 6; i++) {
    p.data(2, 3);
    p.marker(2, true);
  }
  return aborted;
}

test('each aborted transaction is indexed in the segment of its marker; a fetch gets those overlapping its range, across segments', async () => {
  const { dir, cleanup } = tempDir('runnel-txnindex-');
  try {
    const p = await Partition.open(dir);
    const aborted = writeMix(p);
    await p.settle();
    assert.ok(p.log.segmentBaseOffsets().length >= 3, `segments ${p.log.segmentBaseOffsets().join(', ')}`);
    const indexed = files(dir, '.txnindex');
    let entries = 0;
    for (const name of indexed) entries += statSync(join(dir, name)).size / ABORTED_TXN_BYTES;
    assert.equal(entries, aborted.length, `one entry per aborted transaction in ${indexed.join(', ')}`);
    assert.ok(indexed.length < p.log.segmentBaseOffsets().length, 'segments without an abort have no file (as Kafka)');
    assert.deepEqual(await p.aborted(), byFirstOffset(aborted));
    // A fetch of the first batch only: the transaction of producer 3 started there, its marker is segments later.
    assert.deepEqual(await p.aborted(0, 1), [aborted[3]]);
    const second = aborted[1] as Aborted;
    assert.deepEqual(await p.aborted(second.firstOffset, second.firstOffset + 1), byFirstOffset([second, aborted[3]]));
    const fifth = aborted[4] as Aborted;
    assert.deepEqual(await p.aborted(fifth.lastOffset, p.log.logEndOffset), [fifth]);
    assert.deepEqual(await p.aborted(fifth.lastOffset + 1, p.log.logEndOffset), []);
    await p.close();

    const again = await Partition.open(dir, { cleanShutdown: true, recoveryPoint: Number.MAX_SAFE_INTEGER });
    assert.deepEqual(await again.aborted(), byFirstOffset(aborted), 'a clean restart reads the files');
    await again.close();
  } finally {
    cleanup();
  }
});

test('after a crash a torn .txnindex tail is cut and the markers after the producer snapshot are indexed again from the log', async () => {
  const { dir, cleanup } = tempDir('runnel-txnindex-');
  try {
    const p = await Partition.open(dir);
    const aborted = writeMix(p);
    const first = p.data(1, 1);
    const marker = p.marker(1, false);
    aborted.push({ producerId: 1, firstOffset: first, lastOffset: marker });
    await p.settle();
    // Only an entry at or after the latest snapshot can be torn: the log syncs the index before each snapshot.
    const snapshotOffset = Number((files(dir, '.snapshot').at(-1) as string).slice(0, 20));
    assert.ok(snapshotOffset <= marker, `snapshot at ${snapshotOffset}, marker at ${marker}`);
    // Kill-like: nothing closed. The last entry written is torn (its last 10 bytes never reached the disk).
    const last = files(dir, '.txnindex').at(-1) as string;
    const size = statSync(join(dir, last)).size;
    truncateSync(join(dir, last), size - 10);
    const again = await Partition.open(dir, { recoveryPoint: 0 });
    assert.deepEqual(await again.aborted(), byFirstOffset(aborted));
    assert.equal(statSync(join(dir, last)).size, size, 'the entry is whole again');
    await again.close();
  } finally {
    cleanup();
  }
});

test('an unclean start cuts zeros a crash left in the .txnindex of a segment below the recovery point', async () => {
  const { dir, cleanup } = tempDir('runnel-txnindex-');
  try {
    const p = await Partition.open(dir);
    const aborted = writeMix(p);
    await p.settle();
    const first = files(dir, '.txnindex')[0] as string;
    const size = statSync(join(dir, first)).size;
    // Read as entries, zeros would say producer 0 aborted a transaction from offset 0.
    writeFileSync(join(dir, first), Buffer.alloc(2 * ABORTED_TXN_BYTES), { flag: 'a' });
    const again = await Partition.open(dir, { recoveryPoint: p.log.activeSegment.baseOffset });
    assert.equal(statSync(join(dir, first)).size, size);
    assert.deepEqual(await again.aborted(), byFirstOffset(aborted));
    await again.close();
  } finally {
    cleanup();
  }
});

test('segments that lack their .txnindex, with no producer snapshot either, are indexed by the rebuild from the log', async () => {
  const { dir, cleanup } = tempDir('runnel-txnindex-');
  try {
    const p = await Partition.open(dir);
    const aborted = writeMix(p);
    await p.close();
    const before = Object.fromEntries(files(dir, '.txnindex').map((name) => [name, readFileSync(join(dir, name))]));
    for (const name of [...files(dir, '.txnindex'), ...files(dir, '.snapshot')]) unlinkSync(join(dir, name));
    const again = await Partition.open(dir, { recoveryPoint: 0 });
    await again.settle();
    assert.deepEqual(await again.aborted(), byFirstOffset(aborted));
    const after = Object.fromEntries(files(dir, '.txnindex').map((name) => [name, readFileSync(join(dir, name))]));
    assert.deepEqual(after, before, 'the same files, byte for byte (same last stable offsets too)');
    await again.close();
  } finally {
    cleanup();
  }
});

test('a version-2 producer snapshot (aborted list inside, no .txnindex yet) is indexed at load and rewritten as version 3', async () => {
  const { dir, cleanup } = tempDir('runnel-txnindex-');
  try {
    const p = await Partition.open(dir);
    const aborted = writeMix(p);
    await p.close();
    for (const name of files(dir, '.txnindex')) unlinkSync(join(dir, name));
    const snapshot = files(dir, '.snapshot').at(-1) as string;
    const framed = readFileSync(join(dir, snapshot));
    // What the previous version wrote: the version-3 body with version 2 and the aborted list appended.
    const list = Buffer.alloc(4 + 24 * aborted.length);
    list.writeUInt32BE(aborted.length, 0);
    aborted.forEach((txn, i) => {
      list.writeBigInt64BE(BigInt(txn.producerId), 4 + 24 * i);
      list.writeBigInt64BE(BigInt(txn.firstOffset), 12 + 24 * i);
      list.writeBigInt64BE(BigInt(txn.lastOffset), 20 + 24 * i);
    });
    const body = Buffer.concat([framed.subarray(4), list]);
    body.writeUInt16BE(2, 0);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32c(body), 0);
    writeFileSync(join(dir, snapshot), Buffer.concat([crc, body]));

    const again = await Partition.open(dir, { cleanShutdown: true, recoveryPoint: Number.MAX_SAFE_INTEGER });
    await again.settle();
    assert.deepEqual(await again.aborted(), byFirstOffset(aborted));
    assert.ok(files(dir, '.txnindex').length > 0);
    assert.equal(readFileSync(join(dir, snapshot)).readUInt16BE(4), 3, 'the snapshot no longer carries the list');
    await again.close();
  } finally {
    cleanup();
  }
});

test('truncation (a follower diverging) cuts the entries of the markers it removes, and the rebuild does not add them back', async () => {
  const { dir, cleanup } = tempDir('runnel-txnindex-');
  try {
    const p = await Partition.open(dir);
    const aborted = writeMix(p);
    await p.settle();
    const cut = aborted[3] as Aborted;
    await p.log.truncateTo(cut.lastOffset); // the marker of producer 3 and everything after it go
    await p.store.reload(); // as the replica manager does after truncating
    assert.deepEqual(await p.aborted(), byFirstOffset(aborted.slice(0, 3)));
    assert.equal(p.store.hasOngoingTransaction(3, 0), true, 'producer 3\'s transaction is open again');
    const total = files(dir, '.txnindex').reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    assert.equal(total, 3 * ABORTED_TXN_BYTES);

    await p.log.truncateFullyAndStartAt(1000);
    await p.store.reload();
    assert.deepEqual(files(dir, '.txnindex'), []);
    assert.deepEqual(await p.aborted(), []);
    await p.close();
  } finally {
    cleanup();
  }
});

test('retention and DeleteRecords delete a segment\'s .txnindex with it', async () => {
  const { dir, cleanup } = tempDir('runnel-txnindex-');
  try {
    const p = await Partition.open(dir, {}, { ...CONFIG, 'retention.bytes': 1 });
    const aborted = writeMix(p);
    await p.settle();
    const first = aborted[0] as Aborted;
    await p.log.deleteRecords(first.lastOffset + 1);
    await p.settle();
    assert.deepEqual(await p.aborted(), byFirstOffset(aborted.slice(1)), 'nothing below the log start is reported');
    await p.log.applyRetention(T0 + 1);
    assert.equal(p.log.segmentBaseOffsets().length, 1);
    const kept = p.log.segmentBaseOffsets()[0] as number;
    for (const name of files(dir, '.txnindex')) assert.ok(Number(name.slice(0, 20)) >= kept, `${name} outlived its segment`);
    await p.close();
  } finally {
    cleanup();
  }
});

test('a follower indexes the aborted transactions of the batches it copies; its .log files stay byte-identical', async () => {
  const leaderDir = tempDir('runnel-txnindex-leader-');
  const followerDir = tempDir('runnel-txnindex-follower-');
  try {
    const leader = await Partition.open(leaderDir.dir);
    const aborted = writeMix(leader);
    await leader.settle();
    const follower = await Partition.open(followerDir.dir);
    for await (const batch of leader.log.batches(0, leader.log.logEndOffset)) {
      const copy = Buffer.from(batch);
      follower.log.appendAsFollower(copy);
      follower.store.onReplicatedAppend(readBatchHeader(copy), copy);
    }
    await follower.settle();
    assert.deepEqual(await follower.aborted(), byFirstOffset(aborted));
    assert.deepEqual(files(followerDir.dir, '.log'), files(leaderDir.dir, '.log'));
    for (const name of files(leaderDir.dir, '.log')) {
      assert.ok(readFileSync(join(leaderDir.dir, name)).equals(readFileSync(join(followerDir.dir, name))), name);
    }
    await leader.close();
    await follower.close();
  } finally {
    leaderDir.cleanup();
    followerDir.cleanup();
  }
});

test('regression: 100,000 aborted transactions keep nothing per transaction in memory (the old list grew 24 bytes each, in the snapshot too)', { timeout: 600_000 }, async (t) => {
  const { dir, cleanup } = tempDir('runnel-txnindex-');
  try {
    const p = await Partition.open(dir, {}, { 'durability.mode': 'none', 'segment.bytes': 1024 * 1024 });
    const count = 100_000;
    const started = performance.now();
    const firstOffsets: number[] = [];
    for (let i = 0; i < count; i++) {
      firstOffsets.push(p.data(1, 1));
      p.marker(1, false);
      // Entries wait in memory only until their markers are flushed: at most what was appended since.
      if (i % 1000 === 999) {
        assert.ok(p.log.pendingAbortedTransactionCount() <= 1000, `pending ${p.log.pendingAbortedTransactionCount()}`);
        await p.settle();
      }
    }
    await p.settle();
    const appendMs = performance.now() - started;
    const total = files(dir, '.txnindex').reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    assert.equal(total, count * ABORTED_TXN_BYTES, 'every aborted transaction is on disk');
    assert.equal(p.log.pendingAbortedTransactionCount(), 0, 'and none is held in memory');
    const snapshot = p.store.state.serialize();
    assert.ok(snapshot.length < 1024, `the producer snapshot is ${snapshot.length} bytes (was ${count * 24} more before)`);
    // Fetches read only their range from the files.
    const readStarted = performance.now();
    for (const i of [0, 1, 50_000, 99_999]) {
      const first = firstOffsets[i] as number;
      assert.deepEqual(await p.aborted(first, first + 1), [{ producerId: 1, firstOffset: first, lastOffset: first + 1 }]);
    }
    const readMs = (performance.now() - readStarted) / 4;
    t.diagnostic(`${count} aborted transactions in ${p.log.segmentBaseOffsets().length} segments: appended in ${Math.round(appendMs)} ms, `
      + `${total} bytes of .txnindex, producer snapshot ${snapshot.length} bytes, a one-batch read_committed lookup ${readMs.toFixed(2)} ms`);
    await p.close();
  } finally {
    cleanup();
  }
});

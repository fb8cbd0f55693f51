import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';
import {
  DelayedFetchPurgatory,
  mustRespondNow,
  readPartitions,
  watchesOf,
  type FetchReadParams,
} from '../../src/replication/delayed-fetch.js';
import type { FetchPartition } from '../../src/replication/fetch-session.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { openLog, tempDir } from '../storage/helpers.js';
import { simpleBatch } from '../storage/batch-builder.js';
import { FakePartition, FakeReplicaManager } from './delayed-fetch-fakes.js';

const TOPIC_ID = '0a0a0a0a-0000-4000-8000-000000000001';

interface Fixture {
  rm: FakeReplicaManager;
  p0: FakePartition;
  p1: FakePartition;
  cleanup: () => Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const { dir, cleanup } = tempDir('runnel-delayed-fetch-');
  const rm = new FakeReplicaManager();
  const logs: PartitionLog[] = [];
  for (const index of [0, 1]) {
    const logDir = join(dir, `t-${index}`);
    mkdirSync(logDir);
    logs.push(await openLog(logDir, { 'flush.window.ms': 0 }));
  }
  const p0 = rm.add(new FakePartition('t', TOPIC_ID, 0, logs[0]!));
  const p1 = rm.add(new FakePartition('t', TOPIC_ID, 1, logs[1]!));
  return {
    rm, p0, p1,
    cleanup: async () => {
      for (const log of logs) await log.close();
      cleanup();
    },
  };
}

function fetchPartition(partition: number, fetchOffset: number, overrides: Partial<FetchPartition> = {}): FetchPartition {
  return {
    topic: 't', topicId: ZERO_UUID, partition, fetchOffset, logStartOffset: -1,
    partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1, ...overrides,
  };
}

function params(overrides: Partial<FetchReadParams> = {}): FetchReadParams {
  return {
    isFollower: false, isolationLevel: 0, maxBytes: 50 << 20,
    topicName: (topicId) => (topicId === TOPIC_ID ? 't' : undefined),
    ...overrides,
  };
}

test('a read returns the exact bytes appended, as the log\'s own Buffers, with HW, LSO and log start', async () => {
  const f = await fixture();
  try {
    const batches = [simpleBatch(3, 100, 1), simpleBatch(2, 50, 2)];
    for (const b of batches) f.rm.append(f.p0, Buffer.from(b));
    const [read] = await readPartitions(f.rm, params(), [fetchPartition(0, 0)]);
    assert.equal(read!.errorCode, ErrorCode.NONE);
    assert.equal(read!.highWatermark, 5);
    assert.equal(read!.lastStableOffset, 5);
    assert.equal(read!.logStartOffset, 0);
    const got = Buffer.concat(read!.records as Buffer[]);
    assert.equal(read!.recordsBytes, got.length);
    // Offsets and leader epoch are patched by the log; everything after them is what was produced.
    assert.equal(got.length, batches[0]!.length + batches[1]!.length);
    assert.deepEqual(got.subarray(61, batches[0]!.length), batches[0]!.subarray(61));
    assert.equal(got.readBigInt64BE(batches[0]!.length), 3n);
  } finally {
    await f.cleanup();
  }
});

test('consumers read below the high watermark only; an offset between HW and log end is empty, past it out of range', async () => {
  const f = await fixture();
  try {
    f.rm.append(f.p0, simpleBatch(2, 10));
    f.rm.append(f.p0, simpleBatch(2, 10), false);
    assert.equal(f.p0.highWatermark, 2);
    assert.equal(f.p0.logEndOffset, 4);
    for (const isolationLevel of [0, 1]) {
      const [read] = await readPartitions(f.rm, params({ isolationLevel }), [fetchPartition(0, 0)]);
      assert.equal(read!.recordsBytes, simpleBatch(2, 10).length, `isolation ${isolationLevel}`);
    }
    const [between] = await readPartitions(f.rm, params(), [fetchPartition(0, 3)]);
    assert.equal(between!.errorCode, ErrorCode.NONE);
    assert.equal(between!.recordsBytes, 0);
    const [past] = await readPartitions(f.rm, params(), [fetchPartition(0, 5)]);
    assert.equal(past!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(past!.highWatermark, -1);
    const [negative] = await readPartitions(f.rm, params(), [fetchPartition(0, -1)]);
    assert.equal(negative!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  } finally {
    await f.cleanup();
  }
});

test('KIP-74: the first partition with data returns a whole batch past both limits; later ones respect them', async () => {
  const f = await fixture();
  try {
    const big = simpleBatch(1, 3000);
    f.rm.append(f.p0, big);
    f.rm.append(f.p0, simpleBatch(1, 3000));
    f.rm.append(f.p1, simpleBatch(1, 100));
    const reads = await readPartitions(f.rm, params({ maxBytes: 1000 }), [
      fetchPartition(0, 0, { partitionMaxBytes: 10 }),
      fetchPartition(1, 0),
    ]);
    assert.equal(reads[0]!.recordsBytes, big.length, 'one whole batch, not two');
    assert.equal(reads[1]!.recordsBytes, 0, 'max_bytes is spent');
    assert.equal(reads[1]!.errorCode, ErrorCode.NONE);
    // An empty first partition does not use up the "at least one batch" allowance.
    const second = await readPartitions(f.rm, params({ maxBytes: 10 }), [fetchPartition(1, 1), fetchPartition(0, 0, { partitionMaxBytes: 10 })]);
    assert.equal(second[0]!.recordsBytes, 0);
    assert.equal(second[1]!.recordsBytes, big.length);
    // partition_max_bytes bounds a later partition.
    const third = await readPartitions(f.rm, params(), [fetchPartition(1, 0), fetchPartition(0, 0, { partitionMaxBytes: big.length + 10 })]);
    assert.ok(third[0]!.recordsBytes > 0);
    assert.equal(third[1]!.recordsBytes, big.length);
    // Out of range is still reported when no bytes are left to read.
    const fourth = await readPartitions(f.rm, params({ maxBytes: 10 }), [fetchPartition(1, 0), fetchPartition(0, 99)]);
    assert.equal(fourth[1]!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  } finally {
    await f.cleanup();
  }
});

test('lookups: epoch fencing, not leader, unknown partition, topic ids, followers', async () => {
  const f = await fixture();
  try {
    f.p0.leaderEpoch = 5;
    const codes = async (partition: FetchPartition, extra: Partial<FetchReadParams> = {}) =>
      (await readPartitions(f.rm, params(extra), [partition]))[0]!.errorCode;
    assert.equal(await codes(fetchPartition(0, 0, { currentLeaderEpoch: 4 })), ErrorCode.FENCED_LEADER_EPOCH);
    assert.equal(await codes(fetchPartition(0, 0, { currentLeaderEpoch: 6 })), ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.equal(await codes(fetchPartition(0, 0, { currentLeaderEpoch: 5 })), ErrorCode.NONE);
    assert.equal(await codes(fetchPartition(0, 0)), ErrorCode.NONE);
    assert.equal(await codes(fetchPartition(7, 0)), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(await codes(fetchPartition(0, 0, { topic: null, topicId: TOPIC_ID })), ErrorCode.NONE);
    assert.equal(await codes(fetchPartition(0, 0, { topic: null, topicId: '0a0a0a0a-0000-4000-8000-000000000009' })), ErrorCode.UNKNOWN_TOPIC_ID);
    assert.equal(await codes(fetchPartition(0, 0, { topic: null })), ErrorCode.UNKNOWN_TOPIC_ID);
    const other = '0a0a0a0a-0000-4000-8000-000000000002';
    assert.equal(
      await codes(fetchPartition(0, 0, { topic: null, topicId: other }), { topicName: () => 't' }),
      ErrorCode.INCONSISTENT_TOPIC_ID,
    );
    assert.equal(await codes(fetchPartition(0, 0, { currentLeaderEpoch: 5 }), { isFollower: true }), ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.equal(await codes(fetchPartition(0, 0), { isFollower: true }), ErrorCode.NOT_LEADER_OR_FOLLOWER);
    f.p0.leaderId = 2;
    assert.equal(await codes(fetchPartition(0, 0)), ErrorCode.NOT_LEADER_OR_FOLLOWER);
  } finally {
    await f.cleanup();
  }
});

test('mustRespondNow: no wait, nothing asked, min_bytes reached, or an error', async () => {
  const f = await fixture();
  try {
    f.rm.append(f.p0, simpleBatch(1, 10));
    const empty = await readPartitions(f.rm, params(), [fetchPartition(0, 1)]);
    const some = await readPartitions(f.rm, params(), [fetchPartition(0, 0)]);
    const error = await readPartitions(f.rm, params(), [fetchPartition(0, 1), fetchPartition(9, 0)]);
    assert.equal(mustRespondNow(empty, 500, 1), false);
    assert.equal(mustRespondNow(empty, 0, 1), true);
    assert.equal(mustRespondNow([], 500, 1), true);
    assert.equal(mustRespondNow(some, 500, 1), true);
    assert.equal(mustRespondNow(some, 500, 1 << 20), false);
    assert.equal(mustRespondNow(error, 500, 1), true);
  } finally {
    await f.cleanup();
  }
});

test('purgatory: a high-watermark move wakes a parked fetch; a log-end move alone does not', async () => {
  const f = await fixture();
  const purgatory = new DelayedFetchPurgatory(f.rm);
  try {
    const reads = await readPartitions(f.rm, params(), [fetchPartition(0, 0), fetchPartition(1, 0)]);
    const parked = purgatory.park(watchesOf(reads), 60_000, 1);
    assert.ok(parked);
    assert.equal(purgatory.size, 1);
    let outcome: string | undefined;
    void parked.then((o) => { outcome = o; });
    f.rm.append(f.p1, simpleBatch(1, 10), false);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(outcome, undefined, 'log end moved, high watermark did not');
    f.p1.log.updateHighWatermark(1);
    f.rm.publish(f.p1);
    assert.equal(await parked, 'advanced');
    assert.equal(purgatory.size, 0);
  } finally {
    purgatory.close();
    await f.cleanup();
  }
});

test('purgatory: leadership loss, epoch change and a dropped partition wake parked fetches', async () => {
  const f = await fixture();
  const purgatory = new DelayedFetchPurgatory(f.rm);
  try {
    const watches = watchesOf(await readPartitions(f.rm, params(), [fetchPartition(0, 0)]));
    const first = purgatory.park(watches, 60_000)!;
    f.p0.leaderEpoch = 1;
    f.rm.publish(f.p0);
    assert.equal(await first, 'advanced');
    const second = purgatory.park(watchesOf(await readPartitions(f.rm, params(), [fetchPartition(0, 0)])), 60_000)!;
    f.rm.drop(f.p0);
    assert.equal(await second, 'advanced');
    const after = await readPartitions(f.rm, params(), [fetchPartition(0, 0)]);
    assert.equal(after[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    purgatory.close();
    await f.cleanup();
  }
});

test('purgatory: timeout, release by owner, close, bound, and a watch already stale', async () => {
  const f = await fixture();
  const purgatory = new DelayedFetchPurgatory(f.rm, 2);
  try {
    const watches = watchesOf(await readPartitions(f.rm, params(), [fetchPartition(0, 0)]));
    const startedMs = performance.now();
    assert.equal(await purgatory.park(watches, 30, 1), 'expired');
    assert.ok(performance.now() - startedMs >= 25, 'waited for the timeout');
    const a = purgatory.park(watches, 60_000, 7)!;
    const b = purgatory.park(watches, 60_000, 8)!;
    assert.equal(purgatory.park(watches, 60_000, 9), undefined, 'full');
    purgatory.release(7);
    assert.equal(await a, 'released');
    assert.equal(purgatory.size, 1);
    f.rm.append(f.p0, simpleBatch(1, 10));
    assert.equal(await b, 'advanced');
    // The watch saw HW 0; the partition is at 1 now: no parking at all.
    assert.equal(await purgatory.park(watches, 60_000, 1), 'advanced');
    assert.equal(purgatory.size, 0);
    const c = purgatory.park(watchesOf(await readPartitions(f.rm, params(), [fetchPartition(0, 1)])), 60_000)!;
    purgatory.close();
    assert.equal(await c, 'released');
    assert.equal(purgatory.park(watches, 60_000), undefined, 'closed');
    assert.equal(f.rm.listenerCount, 0);
  } finally {
    purgatory.close();
    await f.cleanup();
  }
});

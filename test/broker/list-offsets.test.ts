import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { call } from './kafka-test-client.js';
import { createTopic, listOffset, produce, startHarness } from './standalone-harness.js';
import { simpleBatch } from '../replication/batches.js';

test('ListOffsets: earliest, latest, max timestamp, by timestamp, earliest-local, latest-tiered, v0', async () => {
  const h = await startHarness();
  try {
    await createTopic(h, 'times');
    const empty = await listOffset(h, 'times', 0, -1n);
    assert.deepEqual([empty.errorCode, empty.offset, empty.timestamp, empty.leaderEpoch], [ErrorCode.NONE, 0n, -1n, 0]);
    assert.equal((await listOffset(h, 'times', 0, -3n)).offset, -1n, 'max timestamp of an empty log');
    // Three batches: timestamps 1000..1002, 5000..5001, 3000.
    await produce(h, 'times', 0, simpleBatch(3, { baseTimestamp: 1000 }));
    await produce(h, 'times', 0, simpleBatch(2, { baseTimestamp: 5000 }));
    await produce(h, 'times', 0, simpleBatch(1, { baseTimestamp: 3000 }));
    const expectations: Array<[bigint, bigint, bigint]> = [
      [-2n, 0n, -1n],
      [-4n, 0n, -1n],
      [-1n, 6n, -1n],
      [-3n, 4n, 5001n],
      [-5n, -1n, -1n],
      [1001n, 1n, 1001n],
      [2000n, 3n, 5000n],
      [5001n, 4n, 5001n],
      [9999n, -1n, -1n],
    ];
    for (const [timestamp, offset, found] of expectations) {
      const p = await listOffset(h, 'times', 0, timestamp);
      assert.equal(p.errorCode, ErrorCode.NONE, `ts ${timestamp}`);
      assert.deepEqual([p.offset, p.timestamp], [offset, found], `ts ${timestamp}`);
    }
    assert.equal((await listOffset(h, 'times', 0, -2n)).leaderEpoch, 0);
    assert.equal((await listOffset(h, 'times', 0, -5n)).leaderEpoch, -1);
    for (const version of [1, 4, 7]) assert.equal((await listOffset(h, 'times', 0, -1n, version)).offset, 6n, `v${version}`);
    const v0 = await listOffset(h, 'times', 0, -1n, 0);
    assert.deepEqual(v0.oldStyleOffsets, [6n]);
    assert.deepEqual((await listOffset(h, 'times', 0, 9999n, 0)).oldStyleOffsets, []);
  } finally {
    await h.close();
  }
});

test('ListOffsets: leader epoch fencing, unknown partitions, duplicates (v1+)', async () => {
  const h = await startHarness();
  try {
    await createTopic(h, 'fence', 2);
    assert.equal((await listOffset(h, 'fence', 0, -1n, 10, 0)).errorCode, ErrorCode.NONE);
    assert.equal((await listOffset(h, 'fence', 0, -1n, 10, 1)).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.equal((await listOffset(h, 'fence', 5, -1n)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await listOffset(h, 'nope', 0, -1n)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const partition = (partitionIndex: number) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 });
    const response = await call(h.client, ApiKey.ListOffsets, 5, {
      replicaId: -1, isolationLevel: 1, timeoutMs: 0,
      topics: [{ name: 'fence', partitions: [partition(0), partition(1), partition(0)] }],
    });
    assert.deepEqual(response.body.topics[0]?.partitions.map((p) => [p.partitionIndex, p.errorCode]), [
      [0, ErrorCode.INVALID_REQUEST], [1, ErrorCode.NONE], [0, ErrorCode.INVALID_REQUEST],
    ]);
  } finally {
    await h.close();
  }
});

test('OffsetForLeaderEpoch: end offsets per epoch, UNDEFINED for older epochs, fencing', async () => {
  const h = await startHarness();
  try {
    await createTopic(h, 'epochs');
    await produce(h, 'epochs', 0, simpleBatch(4));
    const ask = async (version: number, leaderEpoch: number, currentLeaderEpoch = -1, topic = 'epochs', replicaId = -1) => {
      const response = await call(h.client, ApiKey.OffsetForLeaderEpoch, version, {
        replicaId, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }],
      });
      return response.body.topics[0]?.partitions[0];
    };
    for (const version of [0, 2, 3, 4]) {
      const p = await ask(version, 0);
      // v0 responses carry no leader epoch.
      assert.deepEqual([p?.errorCode, p?.leaderEpoch, p?.endOffset], [ErrorCode.NONE, version === 0 ? -1 : 0, 4n], `v${version}`);
    }
    const future = await ask(4, 3);
    // LeaderEpochFileCache.endOffsetFor: an epoch above every known one is UNDEFINED.
    assert.deepEqual([future?.errorCode, future?.leaderEpoch, future?.endOffset], [ErrorCode.NONE, -1, -1n]);
    const undefinedEpoch = await ask(4, -1);
    assert.deepEqual([undefinedEpoch?.errorCode, undefinedEpoch?.leaderEpoch, undefinedEpoch?.endOffset], [ErrorCode.NONE, -1, -1n]);
    assert.equal((await ask(4, 0, 1))?.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.equal((await ask(4, 0, 0))?.errorCode, ErrorCode.NONE);
    const unknown = await ask(4, 0, -1, 'missing');
    assert.deepEqual([unknown?.errorCode, unknown?.leaderEpoch, unknown?.endOffset], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1n]);
  } finally {
    await h.close();
  }
});

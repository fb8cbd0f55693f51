import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';
import { readBatchHeader } from '../../src/protocol/record-batch.js';
import { writeTxnMarker } from '../../src/replication/txn-markers.js';
import type { HostedPartition } from '../../src/replication/types.js';
import { call } from './kafka-test-client.js';
import { createTopic, startHarness, type Harness } from './standalone-harness.js';
import { simpleBatch } from '../replication/batches.js';

const TOPIC = 'txn-topic';

/** Appends a transactional batch as the Produce path does once the transaction is verified. */
function appendTransactional(h: Harness, producerId: number, epoch: number, seq: number, count: number): number {
  const rm = h.broker.services.replicaManager;
  const hosted = rm.partition(TOPIC, 0) as HostedPartition;
  const batch = simpleBatch(count, { producerId, producerEpoch: epoch, baseSequence: seq, transactional: true });
  const header = readBatchHeader(batch);
  const store = rm.producerStateStore(hosted);
  assert.equal(store.checkBatch(header).kind, 'append');
  const result = rm.appendRecordsToLeader(hosted, batch);
  store.onAppend(header, result.baseOffset, result.lastOffset, result.logAppendTimeMs);
  return result.baseOffset;
}

async function marker(h: Harness, producerId: number, epoch: number, commit: boolean): Promise<number> {
  const written = writeTxnMarker(h.broker.services.replicaManager, TOPIC, 0, { producerId, producerEpoch: epoch, coordinatorEpoch: 0, commit }, Date.now());
  assert.equal(written.errorCode, ErrorCode.NONE);
  assert.ok('result' in written);
  await written.result.durable;
  return written.result.baseOffset;
}

async function fetchAt(h: Harness, isolationLevel: number, fetchOffset = 0) {
  const response = await call(h.client, ApiKey.Fetch, 12, {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs: 0, minBytes: 1,
    maxBytes: 1 << 20, isolationLevel, sessionId: 0, sessionEpoch: -1, rackId: '', forgottenTopicsData: [],
    topics: [{ topic: TOPIC, topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt(fetchOffset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID, highWatermark: -1n }] }],
  });
  const p = response.body.responses[0]?.partitions[0];
  assert.ok(p);
  return p;
}

/** Offsets of every batch in a fetch's records. */
function batchOffsets(records: Buffer | null): number[] {
  const out: number[] = [];
  for (let pos = 0; records !== null && pos < records.length;) {
    const header = readBatchHeader(records, pos);
    out.push(header.baseOffset);
    pos += header.sizeInBytes;
  }
  return out;
}

async function latest(h: Harness, isolationLevel: number): Promise<bigint> {
  const response = await call(h.client, ApiKey.ListOffsets, 7, {
    replicaId: -1, isolationLevel, timeoutMs: 0,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }],
  });
  return response.body.topics[0]?.partitions[0]?.offset as bigint;
}

test('read_committed stops at the last stable offset, reports aborted transactions; ListOffsets follows the isolation level', async () => {
  const h = await startHarness();
  try {
    await createTopic(h, TOPIC);
    appendTransactional(h, 1, 0, 0, 3); // 0-2: will abort
    appendTransactional(h, 2, 0, 0, 2); // 3-4: will commit
    const hosted = h.broker.services.replicaManager.partition(TOPIC, 0) as HostedPartition;
    await (h.broker.services.replicaManager.partition(TOPIC, 0) as HostedPartition).log.flush();
    assert.equal(hosted.lastStableOffset, 0);
    let committed = await fetchAt(h, 1);
    assert.equal(committed.lastStableOffset, 0n);
    assert.equal(committed.highWatermark, 5n);
    assert.deepEqual(batchOffsets(committed.records), [], 'nothing is stable yet');
    assert.equal(await latest(h, 1), 0n);
    assert.equal(await latest(h, 0), 5n);

    assert.equal(await marker(h, 1, 0, false), 5);
    assert.equal(hosted.lastStableOffset, 3, 'producer 2 is still open');
    assert.equal(await marker(h, 2, 0, true), 6);
    assert.equal(hosted.lastStableOffset, 7);
    committed = await fetchAt(h, 1);
    assert.equal(committed.lastStableOffset, 7n);
    assert.deepEqual(batchOffsets(committed.records), [0, 3, 5, 6]);
    assert.deepEqual(committed.abortedTransactions, [{ producerId: 1n, firstOffset: 0n }]);
    const uncommitted = await fetchAt(h, 0);
    assert.equal(uncommitted.abortedTransactions, null);
    assert.equal(await latest(h, 1), 7n);

    // Past the aborted transaction, none is reported.
    assert.deepEqual((await fetchAt(h, 1, 6)).abortedTransactions, []);

    // A restart (clean) rebuilds the aborted list and the stable offset from the snapshot.
    appendTransactional(h, 3, 0, 0, 1); // 7: open across the restart
    await hosted.log.flush();
    const again = await h.restart();
    try {
      const reopened = again.broker.services.replicaManager.partition(TOPIC, 0) as HostedPartition;
      assert.equal(reopened.lastStableOffset, 7);
      assert.deepEqual(await reopened.abortedTransactions(0, 8), [{ producerId: 1, firstOffset: 0, lastOffset: 5 }]);
    } finally {
      await again.close();
    }
  } catch (err) {
    await h.close();
    throw err;
  }
});

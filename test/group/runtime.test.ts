import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitAndValidateBatches, readBatchHeader } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { buildCoordinatorBatch, coordinatorRecordsOf, coordinatorRecordsOfChunk } from '../../src/group/coordinator-runtime-batch.js';
import { GROUP_METADATA_TOPIC_NAME } from '../../src/group/coordinator-runtime.js';
import { encodeOffsetCommitKey, encodeGroupMetadataKey, RecordFormatError } from '../../src/group/records.js';
import { encodeSubscription } from '../../src/group/index.js';
import { call } from '../broker/kafka-test-client.js';
import { createTopic, startHarness } from '../broker/standalone-harness.js';

test('coordinator batches: valid v2 batches (CRC, counts) that read back record for record, tombstones included', () => {
  const records = [
    { key: encodeOffsetCommitKey('g', 't', 0), value: Buffer.from('value-0') },
    { key: encodeGroupMetadataKey('g'), value: null },
    { key: encodeOffsetCommitKey('g', 't', 1), value: Buffer.alloc(300, 7) },
  ];
  const batch = buildCoordinatorBatch(records, 1_700_000_000_123);
  assert.equal(splitAndValidateBatches(batch, 1 << 20, 10).length, 1);
  const header = readBatchHeader(batch);
  assert.deepEqual([header.recordsCount, header.lastOffsetDelta, header.compression, header.producerId, header.maxTimestamp], [3, 2, 0, -1, 1_700_000_000_123]);
  assert.deepEqual(coordinatorRecordsOf(batch), records);
  // A disk read returns several batches in one buffer.
  const second = buildCoordinatorBatch([records[0]!], 5);
  assert.deepEqual(coordinatorRecordsOfChunk(Buffer.concat([batch, second])), [...records, records[0]]);
  assert.throws(() => coordinatorRecordsOfChunk(batch.subarray(0, batch.length - 1)), RecordFormatError);
  assert.throws(() => buildCoordinatorBatch([], 0), RangeError);
  const compressed = Buffer.from(batch);
  compressed.writeInt16BE(1, 21);
  assert.throws(() => coordinatorRecordsOf(compressed), RecordFormatError);
});

test('runtime: durability none commits at once; deleting __consumer_offsets unloads its groups; close answers waiting joins', async () => {
  const h = await startHarness({ 'log.durability.mode': 'none', 'offsets.topic.num.partitions': '3', 'group.initial.rebalance.delay.ms': '60000' });
  try {
    await createTopic(h, 't', 1);
    const runtime = h.broker.services.groupCoordinator;
    const [found] = await runtime.findGroupCoordinators(['g']);
    assert.equal(found?.errorCode, ErrorCode.NONE);
    for (let i = 0; i < 100 && runtime.ownedPartitions().some((p) => p.status !== 'active'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(runtime.ownedPartitions().map((p) => p.status), ['active', 'active', 'active']);
    const commit = await runtime.offsetCommit({
      groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    assert.equal(commit.topics[0]?.partitions[0]?.errorCode, ErrorCode.NONE);
    const unknownTopic = await runtime.offsetCommit({
      groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: 'nope', partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    assert.equal(unknownTopic.topics[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

    // A join that waits for the (long) initial rebalance delay is answered NOT_COORDINATOR on close.
    const waiting = runtime.joinGroup({
      groupId: 'g2', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: encodeSubscription(['t']) }], reason: null, requireKnownMemberId: false,
      supportSkippingAssignment: false, clientId: 'c', clientHost: '/127.0.0.1',
    });

    const deleted = await call(h.client, ApiKey.DeleteTopics, 6, { topics: [{ name: GROUP_METADATA_TOPIC_NAME, topicId: '00000000-0000-0000-0000-000000000000' }], topicNames: [], timeoutMs: 5000 });
    assert.equal(deleted.body.responses[0]?.errorCode, ErrorCode.NONE);
    await h.broker.services.replicaManager.whenIdle();
    assert.deepEqual(runtime.ownedPartitions(), []);
    assert.equal((await waiting).errorCode, ErrorCode.NOT_COORDINATOR);
    const fetched = runtime.offsetFetch({ groups: [{ groupId: 'g', topics: null }], requireStable: false });
    assert.equal(fetched.groups[0]?.errorCode, ErrorCode.NOT_COORDINATOR);

    // Recreated on the next FindCoordinator, empty.
    const [again] = await runtime.findGroupCoordinators(['g']);
    assert.equal(again?.errorCode, ErrorCode.NONE);
    const waiting2 = runtime.joinGroup({
      groupId: 'g2', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: encodeSubscription(['t']) }], reason: null, requireKnownMemberId: false,
      supportSkippingAssignment: false, clientId: 'c', clientHost: '/127.0.0.1',
    });
    runtime.close();
    assert.equal((await waiting2).errorCode, ErrorCode.NOT_COORDINATOR);
  } finally {
    await h.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { call } from './kafka-test-client.js';
import { createTopic, startHarness } from './standalone-harness.js';

test('DescribeTopicPartitions: all topics in name order, unknown names, pagination by partition limit and cursor (KIP-966)', async () => {
  const h = await startHarness();
  try {
    await createTopic(h, 'b-topic', 3);
    await createTopic(h, 'a-topic', 2);
    const all = (await call(h.client, ApiKey.DescribeTopicPartitions, 0, { topics: [], responsePartitionLimit: 2000, cursor: null })).body;
    const names = all.topics.map((t: { name: string | null }) => t.name).filter((n: string | null) => !n!.startsWith('__'));
    assert.deepEqual(names, ['a-topic', 'b-topic']);
    assert.equal(all.nextCursor, null);
    const b = all.topics.find((t: { name: string | null }) => t.name === 'b-topic')!;
    assert.deepEqual(b.partitions.map((p: { partitionIndex: number; leaderId: number }) => [p.partitionIndex, p.leaderId]), [[0, 1], [1, 1], [2, 1]]);

    const first = (await call(h.client, ApiKey.DescribeTopicPartitions, 0, {
      topics: [{ name: 'b-topic' }, { name: 'a-topic' }, { name: 'missing' }], responsePartitionLimit: 3, cursor: null,
    })).body;
    assert.deepEqual(first.topics.map((t: { name: string | null; partitions: unknown[] }) => [t.name, t.partitions.length]), [['a-topic', 2], ['b-topic', 1]]);
    assert.deepEqual(first.nextCursor, { topicName: 'b-topic', partitionIndex: 1 });
    const second = (await call(h.client, ApiKey.DescribeTopicPartitions, 0, {
      topics: [{ name: 'b-topic' }, { name: 'a-topic' }, { name: 'missing' }], responsePartitionLimit: 3, cursor: first.nextCursor,
    })).body;
    assert.deepEqual(second.topics.map((t: { name: string | null; errorCode: number; partitions: { partitionIndex: number }[] }) => [t.name, t.errorCode, t.partitions.map((p) => p.partitionIndex)]),
      [['b-topic', ErrorCode.NONE, [1, 2]], ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []]]);
    assert.equal(second.nextCursor, null);
  } finally {
    await h.close();
  }
});

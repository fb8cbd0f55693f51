import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { call } from './kafka-test-client.js';
import { createTopic, startHarness, type Harness } from './standalone-harness.js';

const ZERO = '00000000-0000-0000-0000-000000000000';

async function metadata(h: Harness, version: number, names: string[] | null, allowAutoTopicCreation = true) {
  const response = await call(h.client, ApiKey.Metadata, version, {
    topics: names === null ? null : names.map((name) => ({ topicId: ZERO, name })),
    allowAutoTopicCreation,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  return response.body;
}

test('Metadata auto-creates unknown topics (LEADER_NOT_AVAILABLE first), then serves them from the image', async () => {
  const h = await startHarness({ 'num.partitions': '3' });
  try {
    const first = await metadata(h, 12, ['auto']);
    assert.deepEqual(first.topics.map((t) => [t.name, t.errorCode]), [['auto', ErrorCode.LEADER_NOT_AVAILABLE]]);
    await h.broker.services.replicaManager.whenIdle();
    const second = await metadata(h, 12, ['auto']);
    const topic = second.topics[0];
    assert.equal(topic?.errorCode, ErrorCode.NONE);
    assert.notEqual(topic?.topicId, ZERO);
    assert.deepEqual(topic?.partitions.map((p) => [p.partitionIndex, p.leaderId, p.leaderEpoch, p.replicaNodes, p.isrNodes]), [
      [0, 1, 0, [1], [1]], [1, 1, 0, [1], [1]], [2, 1, 0, [1], [1]],
    ]);
    assert.deepEqual(second.brokers.map((b) => [b.nodeId, b.port]), [[1, h.broker.port]]);
    // v12 lookup by topic id.
    const byId = await call(h.client, ApiKey.Metadata, 12, {
      topics: [{ topicId: topic?.topicId as string, name: null }],
      allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    });
    assert.equal(byId.body.topics[0]?.name, 'auto');
    // Old versions (no allow_auto_topic_creation field) also auto-create.
    assert.equal((await metadata(h, 1, ['old-client'])).topics[0]?.errorCode, ErrorCode.LEADER_NOT_AVAILABLE);
    assert.ok(h.broker.services.metadataLoader.image.topicIdsByName.has('old-client'));
  } finally {
    await h.close();
  }
});

test('Metadata: no auto-creation when the request or the broker forbids it; illegal names; internal topics flagged', async () => {
  const h = await startHarness();
  try {
    assert.equal((await metadata(h, 9, ['quiet'], false)).topics[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await metadata(h, 9, ['bad name!'])).topics[0]?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal((await metadata(h, 9, ['x'.repeat(250)])).topics[0]?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal((await metadata(h, 9, ['__consumer_offsets'])).topics[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(h.broker.services.metadataLoader.image.topicsById.size, 0);
    await createTopic(h, '__consumer_offsets', 2);
    await createTopic(h, 'plain');
    const all = await metadata(h, 12, null);
    assert.deepEqual(all.topics.map((t) => [t.name, t.isInternal]), [['__consumer_offsets', true], ['plain', false]]);
  } finally {
    await h.close();
  }
  const off = await startHarness({ 'auto.create.topics.enable': 'false' });
  try {
    assert.equal((await metadata(off, 12, ['nope'])).topics[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    await off.close();
  }
});

test('concurrent auto-creation of one name creates one topic', async () => {
  const h = await startHarness();
  try {
    const creator = h.broker.services.topicCreator;
    const results = await Promise.all(Array.from({ length: 5 }, () => creator.create({ name: 'race', numPartitions: 1, replicationFactor: 1 })));
    assert.deepEqual(results.map((r) => r.errorCode).sort(), [0, 36, 36, 36, 36]);
    assert.equal(new Set(results.map((r) => r.topicId)).size, 1);
    const tooMany = await creator.create({ name: 'wide', numPartitions: 1, replicationFactor: 3 });
    assert.equal(tooMany.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  } finally {
    await h.close();
  }
});

test('DescribeCluster answers from the image', async () => {
  const h = await startHarness();
  try {
    const response = await call(h.client, ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers: false });
    assert.equal(response.body.errorCode, ErrorCode.NONE);
    assert.equal(response.body.controllerId, 1);
    assert.deepEqual(response.body.brokers.map((b) => [b.brokerId, b.host, b.port]), [[1, '127.0.0.1', h.broker.port]]);
  } finally {
    await h.close();
  }
});

test('CreateTopics racing auto-creation of the same name makes one topic (one serial metadata writer)', async () => {
  const h = await startHarness();
  try {
    for (let round = 0; round < 10; round++) {
      const name = `raced-${round}`;
      const [created, auto] = await Promise.all([
        call(h.client, ApiKey.CreateTopics, 7, {
          topics: [{ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
          timeoutMs: 5000, validateOnly: false,
        }),
        h.broker.services.topicCreator.create({ name, numPartitions: 1, replicationFactor: 1 }),
      ]);
      const codes = [created.body.topics[0]!.errorCode, auto.errorCode].sort();
      assert.deepEqual(codes, [ErrorCode.NONE, ErrorCode.TOPIC_ALREADY_EXISTS], `round ${round}`);
      const topicIds = [...h.broker.services.metadataLoader.image.topicIdsByName.entries()].filter(([n]) => n === name);
      assert.equal(topicIds.length, 1);
      assert.equal(auto.topicId, topicIds[0]![1], 'the loser learns the winner topic id');
    }
  } finally {
    await h.close();
  }
});

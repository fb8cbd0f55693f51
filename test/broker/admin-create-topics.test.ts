import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ConfigSource } from '../../src/metadata/topic-configs.js';
import { RawClient } from '../network/raw-client.js';
import { call } from './kafka-test-client.js';

async function withBroker(body: (broker: RunningBroker, client: RawClient, dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-admin-'));
  const broker = await startBroker({ dataDir, port: 0 });
  const client = await RawClient.connect(broker.port);
  try {
    await body(broker, client, dataDir);
  } finally {
    client.destroy();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function topic(name: string, numPartitions = 1, replicationFactor = -1, configs: { name: string; value: string | null }[] = []) {
  return { name, numPartitions, replicationFactor, assignments: [], configs };
}

test('CreateTopics v7 creates, reports configs with sources and the topic id; errors per topic', () => withBroker(async (_b, client) => {
  const { body } = await call(client, ApiKey.CreateTopics, 7, {
    topics: [
      topic('orders', 3, -1, [{ name: 'retention.ms', value: '1000' }]),
      topic('bad/name'),
      topic('dup'), topic('dup'),
      topic('cfg', 1, -1, [{ name: 'no.such', value: '1' }]),
      topic('parts', 0),
      topic('rf', 1, 2),
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  const byName = new Map(body.topics.map((t) => [t.name, t]));
  const orders = body.topics[0]!;
  assert.equal(orders.errorCode, ErrorCode.NONE);
  assert.equal(orders.numPartitions, 3);
  assert.equal(orders.replicationFactor, 1);
  assert.notEqual(orders.topicId, '00000000-0000-0000-0000-000000000000');
  const retention = orders.configs?.find((c) => c.name === 'retention.ms');
  assert.deepEqual([retention?.value, retention?.configSource], ['1000', ConfigSource.DYNAMIC_TOPIC_CONFIG]);
  assert.equal(byName.get('bad/name')?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  assert.deepEqual(body.topics.filter((t) => t.name === 'dup').map((t) => t.errorCode), [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
  assert.equal(byName.get('cfg')?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(byName.get('parts')?.errorCode, ErrorCode.INVALID_PARTITIONS);
  assert.equal(byName.get('rf')?.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);

  const again = await call(client, ApiKey.CreateTopics, 7, { topics: [topic('orders'), topic('orders_x'), topic('a.b')], timeoutMs: 5000, validateOnly: false });
  assert.equal(again.body.topics[0]!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  assert.equal(again.body.topics[1]!.errorCode, ErrorCode.NONE);
  assert.equal(again.body.topics[2]!.errorCode, ErrorCode.NONE);
  const collide = await call(client, ApiKey.CreateTopics, 7, { topics: [topic('a_b')], timeoutMs: 5000, validateOnly: false });
  assert.equal(collide.body.topics[0]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  assert.match(collide.body.topics[0]!.errorMessage ?? '', /collides with existing topic: a.b/);

  const metadata = await call(client, ApiKey.Metadata, 12, {
    topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  });
  const names = metadata.body.topics.map((t) => t.name).sort();
  assert.deepEqual(names, ['a.b', 'orders', 'orders_x']);
  assert.equal(metadata.body.topics.find((t) => t.name === 'orders')?.partitions.length, 3);
}));

test('CreateTopics validate_only writes nothing; manual assignments are checked', () => withBroker(async (_b, client) => {
  const { body } = await call(client, ApiKey.CreateTopics, 5, { topics: [topic('dry', 2)], timeoutMs: 0, validateOnly: true });
  assert.equal(body.topics[0]!.errorCode, ErrorCode.NONE);
  assert.equal(body.topics[0]!.numPartitions, 2);
  const manual = await call(client, ApiKey.CreateTopics, 7, {
    topics: [
      { name: 'm1', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 1, brokerIds: [1] }], configs: [] },
      { name: 'm2', numPartitions: 2, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1] }], configs: [] },
      { name: 'm3', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [7] }], configs: [] },
      { name: 'm4', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 1, brokerIds: [1] }], configs: [] },
      { name: 'm5', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 1] }], configs: [] },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.deepEqual(manual.body.topics.map((t) => t.errorCode), [
    ErrorCode.NONE, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REPLICA_ASSIGNMENT, ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
  ]);
  const metadata = await call(client, ApiKey.Metadata, 12, {
    topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  });
  assert.deepEqual(metadata.body.topics.map((t) => t.name), ['m1']);
}));

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestPipeline } from '../../src/broker/pipeline.js';
import type { BrokerServices } from '../../src/broker/api-handler.js';
import { BrokerMetrics } from '../../src/broker/metrics.js';
import { HandlerRegistry } from '../../src/broker/handler-registry.js';
import { BUILTIN_HANDLERS } from '../../src/broker/handlers/index.js';
import type { MetadataView, TopicMetadata } from '../../src/broker/metadata-view.js';
import { resolveConfig } from '../../src/config/config.js';
import { ManualClock } from '../../src/common/clock.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { decodeResponseFrame, requestFrame } from './kafka-test-client.js';

const orders: TopicMetadata = {
  name: 'orders',
  topicId: '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b',
  isInternal: false,
  partitions: [0, 1, 2].map((partitionIndex) => ({
    partitionIndex,
    errorCode: 0,
    leaderId: 1 + (partitionIndex % 2),
    leaderEpoch: 5,
    replicaNodes: [1, 2],
    isrNodes: [1, 2],
    offlineReplicas: [],
  })),
};

const view: MetadataView = {
  clusterId: 'q1Sh-9_ISia_zwGINzRvyQ',
  controllerId: 2,
  brokers: () => [
    { nodeId: 1, host: 'a.example', port: 9092, rack: 'r1' },
    { nodeId: 2, host: 'b.example', port: 9093, rack: null },
  ],
  registeredBrokers: () => [
    { nodeId: 1, host: 'a.example', port: 9092, rack: 'r1', fenced: false },
    { nodeId: 2, host: 'b.example', port: 9093, rack: null, fenced: false },
    { nodeId: 3, host: 'c.example', port: 9094, rack: 'r3', fenced: true },
  ],
  topics: () => [orders],
  topicByName: (name) => (name === orders.name ? orders : undefined),
  topicById: (id) => (id === orders.topicId ? orders : undefined),
};

function pipeline(): RequestPipeline {
  const registry = new HandlerRegistry();
  for (const handler of BUILTIN_HANDLERS) registry.register(handler);
  return new RequestPipeline(registry, {
    nodeId: 1,
    config: resolveConfig({}).config,
    clock: new ManualClock(0),
    metadata: view,
    metrics: new BrokerMetrics({ nodeId: 1, clusterId: 'test', version: 'test' }),
  } as unknown as BrokerServices);
}

const connection = { id: 1, remoteAddress: '127.0.0.1', remotePort: 1, localPort: 2 };

async function metadata(version: number, topics: Array<{ topicId: string; name: string | null }> | null, includeTopicOps = false) {
  const frame = requestFrame(ApiKey.Metadata, version, 77, {
    topics,
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: includeTopicOps,
  });
  const chunks = await pipeline().handleFrame(connection, frame.subarray(4));
  assert.ok(chunks);
  const response = Buffer.concat(chunks);
  assert.equal(response.readInt32BE(0), response.length - 4, 'size prefix');
  return decodeResponseFrame(ApiKey.Metadata, version, response.subarray(4));
}

test('Metadata v0-v13 serves topics and partitions from the MetadataView', async () => {
  for (let version = 0; version <= 13; version++) {
    const { body, correlationId } = await metadata(version, version === 0 ? [] : null);
    assert.equal(correlationId, 77);
    assert.equal(body.brokers.length, 2);
    assert.equal(body.topics.length, 1);
    const topic = body.topics[0]!;
    assert.equal(topic.name, 'orders');
    assert.equal(topic.partitions.length, 3);
    assert.deepEqual(topic.partitions[1]?.replicaNodes, [1, 2]);
    assert.equal(topic.partitions[1]?.leaderId, 2);
    if (version >= 1) assert.equal(body.brokers[0]?.rack, 'r1');
    if (version >= 1) assert.equal(body.controllerId, 2);
    if (version >= 7) assert.equal(topic.partitions[0]?.leaderEpoch, 5);
    if (version >= 10) assert.equal(topic.topicId, orders.topicId);
    // v13's top-level error code (KIP-1102): Kafka's broker never sets it, a fenced broker is not listed.
    if (version >= 13) assert.equal(body.errorCode, ErrorCode.NONE);
    assert.ok(body.brokers.every((b) => b.nodeId !== 3));
  }
});

test('Metadata v13 answers by topic id like v12 (unknown ids: UNKNOWN_TOPIC_ID, name null)', async () => {
  const unknown = '0f0e0d0c-0b0a-0908-0706-050403020100';
  const { body } = await metadata(13, [{ topicId: orders.topicId, name: null }, { topicId: unknown, name: null }]);
  assert.deepEqual(body.topics.map((t) => [t.name, t.topicId, t.errorCode]), [
    ['orders', orders.topicId, ErrorCode.NONE], [null, unknown, ErrorCode.UNKNOWN_TOPIC_ID],
  ]);
});

async function describeCluster(version: number, includeFencedBrokers: boolean) {
  const frame = requestFrame(ApiKey.DescribeCluster, version, 78, { includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers });
  const chunks = await pipeline().handleFrame(connection, frame.subarray(4));
  assert.ok(chunks);
  return decodeResponseFrame(ApiKey.DescribeCluster, version, Buffer.concat(chunks).subarray(4)).body;
}

test('DescribeCluster v2 lists fenced brokers only when IncludeFencedBrokers is set, each with IsFenced (KIP-1073)', async () => {
  const unfenced = [[1, 'a.example', 9092, 'r1', false], [2, 'b.example', 9093, null, false]];
  const rows = (body: Awaited<ReturnType<typeof describeCluster>>) => body.brokers.map((b) => [b.brokerId, b.host, b.port, b.rack, b.isFenced]);
  assert.deepEqual(rows(await describeCluster(2, false)), unfenced);
  assert.deepEqual(rows(await describeCluster(2, true)), [...unfenced, [3, 'c.example', 9094, 'r3', true]]);
  // Before v2 the field does not exist: fenced brokers are never listed.
  for (const version of [0, 1]) assert.deepEqual(rows(await describeCluster(version, false)), unfenced);
});

test('Metadata by name and (v12) by id; topic authorized operations when asked (v8+)', async () => {
  const byName = await metadata(9, [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'orders' }], true);
  assert.equal(byName.body.topics[0]?.errorCode, ErrorCode.NONE);
  assert.ok((byName.body.topics[0]?.topicAuthorizedOperations ?? 0) > 0);
  const byId = await metadata(12, [{ topicId: orders.topicId, name: null }]);
  assert.equal(byId.body.topics[0]?.name, 'orders');
  assert.equal(byId.body.topics[0]?.topicAuthorizedOperations, -2147483648);
});

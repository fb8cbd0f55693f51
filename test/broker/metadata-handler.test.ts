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

test('Metadata v0-v12 serves topics and partitions from the MetadataView', async () => {
  for (let version = 0; version <= 12; version++) {
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
  }
});

test('Metadata by name and (v12) by id; topic authorized operations when asked (v8+)', async () => {
  const byName = await metadata(9, [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'orders' }], true);
  assert.equal(byName.body.topics[0]?.errorCode, ErrorCode.NONE);
  assert.ok((byName.body.topics[0]?.topicAuthorizedOperations ?? 0) > 0);
  const byId = await metadata(12, [{ topicId: orders.topicId, name: null }]);
  assert.equal(byId.body.topics[0]?.name, 'orders');
  assert.equal(byId.body.topics[0]?.topicAuthorizedOperations, -2147483648);
});

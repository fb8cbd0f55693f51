/** In-process smoke test with a real client (KafkaJS): handshake, DescribeCluster-equivalent, topic list. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../../src/index.js';

test('KafkaJS admin connects, describes the cluster and lists no topics', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-kafkajs-'));
  const broker = await startBroker({ dataDir, port: 0 });
  const admin = new Kafka({ brokers: [broker.bootstrapServers], clientId: 'runnel-smoke', logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    assert.equal(cluster.clusterId, broker.clusterId);
    assert.equal(cluster.controller, 1);
    assert.deepEqual(cluster.brokers, [{ nodeId: 1, host: '127.0.0.1', port: broker.port }]);
    assert.deepEqual(await admin.listTopics(), []);
  } finally {
    await admin.disconnect();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

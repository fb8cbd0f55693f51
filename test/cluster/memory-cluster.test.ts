import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMemoryCluster } from './memory-cluster.js';

test('memory cluster: three brokers register through the shared controller and host an RF 3 topic', async () => {
  const cluster = await startMemoryCluster(3);
  try {
    const outcome = await cluster.controller.send({
      type: 'createTopic', validateOnly: false,
      topic: { name: 't', numPartitions: 3, replicationFactor: 3, assignments: [], configs: [] },
    }, 5000);
    assert.ok(outcome.ok, JSON.stringify(outcome));
    for (const broker of cluster.brokers) {
      assert.equal(broker.services.metadataLoader.image.brokers.size, 3);
      await broker.services.replicaManager.whenIdle();
      assert.equal(broker.services.replicaManager.partitions().length, 3);
    }
  } finally {
    await cluster.close();
  }
});

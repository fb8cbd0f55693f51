import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';

const METADATA = { allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };

async function connect(bootstrap: string): Promise<RawClient> {
  const port = Number(bootstrap.split(',')[0]!.split(':')[1]);
  return RawClient.connect(port);
}

async function createTopic(client: RawClient, name: string, numPartitions: number, replicationFactor: number): Promise<number> {
  const { body } = await call(client, ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions, replicationFactor, assignments: [], configs: [] }], timeoutMs: 15000, validateOnly: false,
  });
  return body.topics[0]!.errorCode;
}

test('startCluster: three nodes form one quorum, list three brokers, spread 12 leaders 4/4/4, survive the loss of the active controller', async () => {
  const cluster = await startCluster({ nodes: 3 });
  let client: RawClient | undefined;
  try {
    client = await connect(cluster.bootstrapServers);
    const deadline = Date.now() + 20_000;
    let brokers = 0;
    while (Date.now() < deadline) {
      const { body } = await call(client, ApiKey.Metadata, 12, { ...METADATA, topics: [] });
      brokers = body.brokers.length;
      if (brokers === 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(brokers, 3);
    assert.equal(await createTopic(client, 'spread', 12, 3), ErrorCode.NONE);
    const { body } = await call(client, ApiKey.Metadata, 12, { ...METADATA, topics: [{ name: 'spread', topicId: '00000000-0000-0000-0000-000000000000' }] });
    const leaders = new Map<number, number>();
    for (const p of body.topics[0]!.partitions) {
      assert.equal(p.replicaNodes.length, 3);
      leaders.set(p.leaderId, (leaders.get(p.leaderId) ?? 0) + 1);
    }
    assert.deepEqual([...leaders.values()].sort(), [4, 4, 4]);

    const active = cluster.nodeIds.find((id) => cluster.node(id)?.controller?.isActive === true);
    assert.ok(active !== undefined, 'one node is the active controller');
    const survivor = cluster.nodeIds.find((id) => id !== active)!;
    client.destroy();
    await cluster.killNode(active);
    client = await RawClient.connect(cluster.node(survivor)!.broker!.port);
    const started = Date.now();
    let code = -1;
    while (Date.now() - started < 15_000) {
      code = await createTopic(client, 'after-failover', 3, 2);
      if (code === ErrorCode.NONE) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(code, ErrorCode.NONE, 'topic creation works again after the active controller is killed');
    // DescribeCluster v2 (KIP-1073): the killed broker is fenced once its session times out; it is listed,
    // with IsFenced, only when the request includes fenced brokers.
    const describe = async (includeFencedBrokers: boolean) => (await call(client!, ApiKey.DescribeCluster, 2, {
      includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers,
    })).body.brokers.map((b) => [b.brokerId, b.isFenced]);
    const fencedBy = Date.now() + 30_000;
    let withFenced = await describe(true);
    while (Date.now() < fencedBy && !withFenced.some(([id, fenced]) => id === active && fenced === true)) {
      await new Promise((r) => setTimeout(r, 200));
      withFenced = await describe(true);
    }
    assert.deepEqual(withFenced, cluster.nodeIds.map((id) => [id, id === active]).sort((a, b) => Number(a[0]) - Number(b[0])));
    assert.deepEqual(await describe(false), withFenced.filter(([id]) => id !== active));
    const image = cluster.node(survivor)!.loader.image;
    assert.ok(image.topicIdsByName.has('spread'), 'committed metadata is kept');
    await cluster.startNode(active);
    const rejoined = cluster.node(active)!;
    assert.ok(await rejoined.loader.waitFor(image.offset, 10_000), 'the restarted node catches up');
    assert.ok(rejoined.loader.image.topicIdsByName.has('after-failover'));
  } finally {
    client?.destroy();
    await cluster.close();
  }
});

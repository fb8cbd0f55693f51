import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../network/raw-client.js';
import { call } from './kafka-test-client.js';

const THRESHOLD = 16 * 1024;

async function create(client: RawClient, name: string, configs: { name: string; value: string }[] = []): Promise<void> {
  const { body } = await call(client, ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions: 3, replicationFactor: 1, assignments: [], configs }], timeoutMs: 5000, validateOnly: false,
  });
  assert.equal(body.topics[0]!.errorCode, ErrorCode.NONE, name);
}

test('topic churn snapshots the Raft metadata log (metadata.log.max.record.bytes.between.snapshots); a restart keeps every live topic and config', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-meta-compact-'));
  const path = join(dataDir, 'metadata', 'log');
  let broker: Awaited<ReturnType<typeof startBroker>> | undefined;
  let client: RawClient | undefined;
  try {
    broker = await startBroker({ dataDir, port: 0, 'metadata.log.max.record.bytes.between.snapshots': THRESHOLD });
    const first = await RawClient.connect(broker.port);
    client = first;
    await create(first, 'keep', [{ name: 'retention.ms', value: '123456' }]);
    let largest = 0;
    for (let i = 0; i < 300; i++) {
      await create(first, `churn-${i}`, [{ name: 'segment.bytes', value: String(2_000_000 + i) }]);
      const { body } = await call(first, ApiKey.DeleteTopics, 6, { topics: [{ name: `churn-${i}`, topicId: '00000000-0000-0000-0000-000000000000' }], topicNames: [], timeoutMs: 5000 });
      assert.equal(body.responses[0]!.errorCode, ErrorCode.NONE);
      largest = Math.max(largest, (await stat(path)).size);
    }
    // ~300 B of records per create and delete: 300 rounds append ~100 KiB, the file never holds much more than the threshold.
    assert.ok(largest < 2 * THRESHOLD + 8192, `the Raft metadata log reached ${largest} B`);
    await create(first, 'last');
    first.destroy();
    client = undefined;
    await broker.close();
    broker = undefined;

    broker = await startBroker({ dataDir, port: 0, 'metadata.log.max.record.bytes.between.snapshots': THRESHOLD });
    const second = await RawClient.connect(broker.port);
    client = second;
    const { body } = await call(second, ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    assert.deepEqual(body.topics.map((t: { name: string | null }) => t.name).filter((n: string | null) => n !== '__consumer_offsets').sort(), ['keep', 'last']);
    const described = await call(second, ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: 2, resourceName: 'keep', configurationKeys: ['retention.ms'] }], includeSynonyms: false, includeDocumentation: false,
    });
    assert.equal(described.body.results[0]!.configs[0]!.value, '123456');
  } finally {
    client?.destroy();
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

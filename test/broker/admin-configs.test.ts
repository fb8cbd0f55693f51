import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ConfigSource } from '../../src/metadata/topic-configs.js';
import { RawClient } from '../network/raw-client.js';
import { call } from './kafka-test-client.js';

const TOPIC = 2;
const BROKER = 4;

async function describe(client: RawClient, resourceType: number, resourceName: string, keys: string[] | null = null) {
  const { body } = await call(client, ApiKey.DescribeConfigs, 4, {
    resources: [{ resourceType, resourceName, configurationKeys: keys }], includeSynonyms: true, includeDocumentation: false,
  });
  return body.results[0]!;
}

test('create → describe → alter → describe → restart → describe; broker configs; delete; partitions; records', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-admin-cfg-'));
  try {
    let broker = await startBroker({ dataDir, port: 0 });
    let client = await RawClient.connect(broker.port);
    const created = await call(client, ApiKey.CreateTopics, 7, {
      topics: [{ name: 't1', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '5000' }] }],
      timeoutMs: 5000, validateOnly: false,
    });
    assert.equal(created.body.topics[0]!.errorCode, ErrorCode.NONE);
    let result = await describe(client, TOPIC, 't1', ['retention.ms', 'cleanup.policy']);
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.deepEqual(result.configs.map((c) => [c.name, c.value, c.configSource]).sort(), [
      ['cleanup.policy', 'delete', ConfigSource.DEFAULT_CONFIG], ['retention.ms', '5000', ConfigSource.DYNAMIC_TOPIC_CONFIG],
    ]);

    const incremental = await call(client, ApiKey.IncrementalAlterConfigs, 1, {
      resources: [
        { resourceType: TOPIC, resourceName: 't1', configs: [
          { name: 'cleanup.policy', configOperation: 2, value: 'compact' },
          { name: 'retention.ms', configOperation: 1, value: null },
          { name: 'segment.ms', configOperation: 0, value: '60000' },
        ] },
        { resourceType: TOPIC, resourceName: 'nope', configs: [] },
        { resourceType: TOPIC, resourceName: 't1x', configs: [] },
        { resourceType: BROKER, resourceName: '', configs: [{ name: 'log.retention.ms', configOperation: 0, value: '7000' }] },
        { resourceType: BROKER, resourceName: '1', configs: [{ name: 'num.partitions', configOperation: 0, value: '3' }] },
        { resourceType: BROKER, resourceName: '9', configs: [] },
        { resourceType: 8, resourceName: '1', configs: [] },
      ],
      validateOnly: false,
    });
    assert.deepEqual(incremental.body.responses.map((r) => r.errorCode), [
      ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NONE,
      ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST,
    ]);
    assert.match(incremental.body.responses[4]!.errorMessage ?? '', /Cannot update these configs dynamically: Set\(num.partitions\)/);

    const bad = await call(client, ApiKey.IncrementalAlterConfigs, 1, {
      resources: [{ resourceType: TOPIC, resourceName: 't1', configs: [{ name: 'retention.ms', configOperation: 2, value: '1' }] }],
      validateOnly: false,
    });
    assert.equal(bad.body.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG);
    const dry = await call(client, ApiKey.AlterConfigs, 2, {
      resources: [{ resourceType: TOPIC, resourceName: 't1', configs: [{ name: 'max.message.bytes', value: '100' }] }], validateOnly: true,
    });
    assert.equal(dry.body.responses[0]!.errorCode, ErrorCode.NONE);

    const check = async () => {
      result = await describe(client, TOPIC, 't1', ['retention.ms', 'cleanup.policy', 'segment.ms', 'max.message.bytes']);
      const byName = new Map(result.configs.map((c) => [c.name, c]));
      assert.equal(byName.get('cleanup.policy')?.value, 'delete,compact');
      assert.equal(byName.get('segment.ms')?.value, '60000');
      assert.equal(byName.get('max.message.bytes')?.value, '1048588', 'validate_only wrote nothing');
      assert.equal(byName.get('retention.ms')?.value, '7000');
      assert.equal(byName.get('retention.ms')?.configSource, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
      const brokerDefaults = await describe(client, BROKER, '');
      assert.deepEqual(brokerDefaults.configs.map((c) => [c.name, c.value, c.configSource]), [
        ['log.retention.ms', '7000', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
      ]);
      const self = await describe(client, BROKER, '1', ['log.retention.ms', 'num.partitions', 'log.dirs']);
      const selfByName = new Map(self.configs.map((c) => [c.name, c]));
      assert.equal(selfByName.get('log.retention.ms')?.readOnly, false);
      assert.equal(selfByName.get('num.partitions')?.readOnly, true);
      assert.equal(selfByName.get('log.dirs')?.configSource, ConfigSource.STATIC_BROKER_CONFIG);
    };
    await check();
    client.destroy();
    await broker.close();

    broker = await startBroker({ dataDir, port: 0 });
    client = await RawClient.connect(broker.port);
    await check();

    const replaced = await call(client, ApiKey.AlterConfigs, 2, {
      resources: [{ resourceType: TOPIC, resourceName: 't1', configs: [{ name: 'retention.bytes', value: '1000' }] }], validateOnly: false,
    });
    assert.equal(replaced.body.responses[0]!.errorCode, ErrorCode.NONE);
    result = await describe(client, TOPIC, 't1', ['retention.bytes', 'segment.ms']);
    assert.deepEqual(result.configs.map((c) => [c.name, c.configSource]).sort(), [
      ['retention.bytes', ConfigSource.DYNAMIC_TOPIC_CONFIG], ['segment.ms', ConfigSource.DEFAULT_CONFIG],
    ]);

    const partitions = await call(client, ApiKey.CreatePartitions, 3, {
      topics: [{ name: 't1', count: 4, assignments: null }, { name: 'nope', count: 2, assignments: null }], timeoutMs: 5000, validateOnly: false,
    });
    assert.deepEqual(partitions.body.results.map((r) => r.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const shrink = await call(client, ApiKey.CreatePartitions, 3, {
      topics: [{ name: 't1', count: 2, assignments: null }], timeoutMs: 5000, validateOnly: false,
    });
    assert.equal(shrink.body.results[0]!.errorCode, ErrorCode.INVALID_PARTITIONS);

    const records = await call(client, ApiKey.DeleteRecords, 2, {
      topics: [{ name: 't1', partitions: [{ partitionIndex: 0, offset: -1n }, { partitionIndex: 1, offset: 5n }, { partitionIndex: 9, offset: 0n }] }],
      timeoutMs: 5000,
    });
    assert.deepEqual(records.body.topics[0]!.partitions.map((p) => [p.errorCode, p.lowWatermark]), [
      [ErrorCode.NONE, 0n], [ErrorCode.OFFSET_OUT_OF_RANGE, -1n], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
    ]);

    const deleted = await call(client, ApiKey.DeleteTopics, 6, {
      topics: [{ name: 't1', topicId: '00000000-0000-0000-0000-000000000000' }, { name: 'ghost', topicId: '00000000-0000-0000-0000-000000000000' },
        { name: null, topicId: '11111111-1111-4111-8111-111111111111' }],
      topicNames: [], timeoutMs: 5000,
    });
    assert.deepEqual(deleted.body.responses.map((r) => r.errorCode), [
      ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_ID,
    ]);
    assert.equal((await describe(client, TOPIC, 't1')).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    client.destroy();
    await broker.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

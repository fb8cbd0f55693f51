import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config/config.js';
import { applyRecords, EMPTY_IMAGE, type MetadataImage } from '../../src/metadata/image.js';
import type { MetadataRecord } from '../../src/metadata/records.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  AlterConfigOp, ConfigResourceType, planAlterConfigs, type ConfigResourceInput, planCreatePartitions, planCreateTopic, topicNameError,
} from '../../src/controller/admin.js';

const config = resolveConfig({}).config;
let offset = 0;
function apply(image: MetadataImage, records: MetadataRecord[]): MetadataImage {
  return applyRecords(image, records, ++offset).image;
}
const brokers = apply(EMPTY_IMAGE, [1, 2].map((brokerId) => ({
  type: 'RegisterBroker' as const, brokerId, brokerEpoch: 1, host: 'h', port: 1, rack: null, fenced: false,
})));
const input = (name: string, numPartitions = 1, replicationFactor = -1) => ({ name, numPartitions, replicationFactor, assignments: [], configs: [] });

function code<T>(plan: { ok: boolean; errorCode?: number }): number {
  return plan.ok ? ErrorCode.NONE : (plan.errorCode as number);
}

test('topic names: Kafka Topic.validate', () => {
  assert.equal(topicNameError('ok.name-1_x'), null);
  for (const bad of ['', '.', '..', 'a'.repeat(250), 'sp ace', 'ü']) {
    assert.equal(topicNameError(bad)?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION, bad);
  }
  assert.equal(topicNameError('a'.repeat(249)), null);
});

test('planCreateTopic: defaults, RF vs live brokers, placement, configs', () => {
  const plan = planCreateTopic(brokers, config, input('t', 4, 2), 'id-t');
  assert.ok(plan.ok);
  const partitions = plan.records.filter((r) => r.type === 'Partition');
  assert.deepEqual(partitions.map((p) => (p as { replicas: number[] }).replicas), [[1, 2], [2, 1], [1, 2], [2, 1]]);
  assert.equal(code(planCreateTopic(brokers, config, input('t', 1, 3), 'x')), ErrorCode.INVALID_REPLICATION_FACTOR);
  assert.equal(code(planCreateTopic(brokers, config, input('t', 1, 0), 'x')), ErrorCode.INVALID_REPLICATION_FACTOR);
  assert.equal(code(planCreateTopic(brokers, config, input('t', -2), 'x')), ErrorCode.INVALID_PARTITIONS);
  const defaults = planCreateTopic(brokers, config, input('t', -1, -1), 'x');
  assert.ok(defaults.ok && defaults.value.numPartitions === 1 && defaults.value.replicationFactor === 1);
  const withConfig = planCreateTopic(brokers, config, { ...input('t'), configs: [{ name: 'retention.ms', value: null }] }, 'x');
  assert.equal(code(withConfig), ErrorCode.INVALID_CONFIG);
  const image = apply(brokers, (plan as { records: MetadataRecord[] }).records);
  assert.equal(code(planCreateTopic(image, config, input('t'), 'y')), ErrorCode.TOPIC_ALREADY_EXISTS);
});

test('planCreateTopic: manual assignment errors', () => {
  const manual = (assignments: { partitionIndex: number; brokerIds: number[] }[]) =>
    code(planCreateTopic(brokers, config, { name: 'm', numPartitions: -1, replicationFactor: -1, assignments, configs: [] }, 'id'));
  assert.equal(manual([{ partitionIndex: 0, brokerIds: [1, 2] }, { partitionIndex: 1, brokerIds: [2, 1] }]), ErrorCode.NONE);
  assert.equal(manual([{ partitionIndex: 0, brokerIds: [] }]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(manual([{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 0, brokerIds: [2] }]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(manual([{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 1, brokerIds: [1, 2] }]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(manual([{ partitionIndex: 0, brokerIds: [3] }]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
});

test('planCreatePartitions: increase only, assignment count and size, RF from the topic', () => {
  const created = planCreateTopic(brokers, config, input('p', 2, 2), 'id-p');
  assert.ok(created.ok);
  const image = apply(brokers, created.records);
  assert.equal(code(planCreatePartitions(image, { name: 'p', count: 2, assignments: null })), ErrorCode.INVALID_PARTITIONS);
  assert.equal(code(planCreatePartitions(image, { name: 'p', count: 1, assignments: null })), ErrorCode.INVALID_PARTITIONS);
  assert.equal(code(planCreatePartitions(image, { name: 'q', count: 3, assignments: null })), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(code(planCreatePartitions(image, { name: 'p', count: 4, assignments: [{ brokerIds: [1, 2] }] })), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(code(planCreatePartitions(image, { name: 'p', count: 3, assignments: [{ brokerIds: [1] }] })), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  const grown = planCreatePartitions(image, { name: 'p', count: 3, assignments: null });
  assert.ok(grown.ok);
  assert.deepEqual(grown.records.map((r) => (r as { partitionId: number }).partitionId), [2]);
});

test('planAlterConfigs: operations, LIST-only APPEND/SUBTRACT, duplicates, resource checks', () => {
  const created = planCreateTopic(brokers, config, input('c'), 'id-c');
  assert.ok(created.ok);
  const image = apply(brokers, created.records);
  const topic: ConfigResourceInput = { resourceType: ConfigResourceType.TOPIC, resourceName: 'c' };
  const alter = (configs: { name: string; value: string | null; configOperation?: number }[], resource = topic, mode: 'incremental' | 'replace' = 'incremental') =>
    planAlterConfigs(image, 1, resource, configs, mode);
  const appended = alter([{ name: 'cleanup.policy', value: 'compact', configOperation: AlterConfigOp.APPEND }]);
  assert.ok(appended.ok);
  assert.deepEqual(appended.records, [{ type: 'Config', resourceType: 'topic', resourceName: 'c', name: 'cleanup.policy', value: 'delete,compact' }]);
  assert.equal(code(alter([{ name: 'retention.ms', value: '1', configOperation: AlterConfigOp.APPEND }])), ErrorCode.INVALID_CONFIG);
  assert.equal(code(alter([{ name: 'retention.ms', value: '1', configOperation: 9 }])), ErrorCode.INVALID_REQUEST);
  assert.equal(code(alter([{ name: 'retention.ms', value: '1', configOperation: 0 }, { name: 'retention.ms', value: '2', configOperation: 0 }])), ErrorCode.INVALID_REQUEST);
  assert.equal(code(alter([{ name: 'x.y', value: '1', configOperation: 0 }])), ErrorCode.INVALID_CONFIG);
  assert.equal(code(alter([], { resourceType: ConfigResourceType.TOPIC, resourceName: '' })), ErrorCode.INVALID_REQUEST);
  assert.equal(code(alter([], { resourceType: ConfigResourceType.TOPIC, resourceName: 'a b' })), ErrorCode.INVALID_TOPIC_EXCEPTION);
  assert.equal(code(alter([], { resourceType: ConfigResourceType.BROKER, resourceName: 'x' })), ErrorCode.INVALID_REQUEST);
  assert.equal(code(alter([], { resourceType: ConfigResourceType.CLIENT_METRICS, resourceName: 'm' })), ErrorCode.INVALID_REQUEST);
  // GROUP resources (KIP-848): the two consumer.* configs within their bounds, nothing else.
  const group = { resourceType: ConfigResourceType.GROUP, resourceName: 'g' };
  assert.equal(code(alter([{ name: 'consumer.session.timeout.ms', value: '50000', configOperation: 0 }], group)), ErrorCode.NONE);
  assert.equal(code(alter([{ name: 'consumer.session.timeout.ms', value: '1000', configOperation: 0 }], group)), ErrorCode.INVALID_CONFIG);
  assert.equal(code(alter([{ name: 'share.record.lock.duration.ms', value: '1000', configOperation: 0 }], group)), ErrorCode.INVALID_CONFIG);
  assert.equal(code(alter([], { resourceType: ConfigResourceType.GROUP, resourceName: '' })), ErrorCode.INVALID_REQUEST);
  const broker = { resourceType: ConfigResourceType.BROKER, resourceName: '1' };
  assert.equal(code(alter([{ name: 'log.retention.ms', value: 'abc', configOperation: 0 }], broker)), ErrorCode.INVALID_REQUEST);
  assert.equal(code(alter([{ name: 'log.retention.hours', value: '1', configOperation: 0 }], broker)), ErrorCode.INVALID_REQUEST);
  assert.equal(code(alter([{ name: 'log.cleanup.policy', value: 'compact', configOperation: AlterConfigOp.APPEND }], broker)), ErrorCode.NONE);
  const withOverride = apply(image, [{ type: 'Config', resourceType: 'topic', resourceName: 'c', name: 'retention.ms', value: '5' }]);
  const replaced = planAlterConfigs(withOverride, 1, topic, [{ name: 'segment.ms', value: '100' }], 'replace');
  assert.ok(replaced.ok);
  assert.deepEqual(replaced.records.map((r) => [(r as { name: string }).name, (r as { value: string | null }).value]), [['retention.ms', null], ['segment.ms', '100']]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRecords, EMPTY_IMAGE, imageRecords, topicByName, topicConfigOverrides } from '../../src/metadata/image.js';
import { churn, withoutOffset } from './metadata-churn.js';
import type { MetadataRecord } from '../../src/metadata/records.js';
import { decodeMetadataRecords, encodeMetadataRecordBatches, encodeMetadataRecords, RECOVERED, RECOVERING } from '../../src/metadata/records.js';

const TOPIC_ID = '6f1b0a5e-1d2c-4b3a-8e9f-0a1b2c3d4e5f';

function createTopic(name: string, partitions: number): MetadataRecord[] {
  const records: MetadataRecord[] = [{ type: 'Topic', name, topicId: TOPIC_ID }];
  for (let p = 0; p < partitions; p++) {
    records.push({ type: 'Partition', topicId: TOPIC_ID, partitionId: p, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 });
  }
  return records;
}

test('topic creation yields the topic in the image and in the delta', () => {
  const { image, delta } = applyRecords(EMPTY_IMAGE, createTopic('orders', 3), 0);
  const topic = topicByName(image, 'orders');
  assert.equal(topic?.partitions.length, 3);
  assert.equal(delta.createdTopics.length, 1);
  assert.equal(delta.changedPartitions.length, 3);
  assert.ok(Object.isFrozen(image));
  assert.equal(EMPTY_IMAGE.topicsById.size, 0, 'the base image is untouched');
});

test('a leader change bumps the leader epoch; an ISR change only the partition epoch', () => {
  let { image } = applyRecords(EMPTY_IMAGE, createTopic('t', 1), 0);
  ({ image } = applyRecords(image, [{ type: 'PartitionChange', topicId: TOPIC_ID, partitionId: 0, isr: [1, 2] }], 1));
  let p = image.topicsById.get(TOPIC_ID)!.partitions[0]!;
  assert.deepEqual([p.leaderEpoch, p.partitionEpoch, [...p.isr]], [0, 1, [1, 2]]);
  ({ image } = applyRecords(image, [{ type: 'PartitionChange', topicId: TOPIC_ID, partitionId: 0, leader: 2 }], 2));
  p = image.topicsById.get(TOPIC_ID)!.partitions[0]!;
  assert.deepEqual([p.leader, p.leaderEpoch, p.partitionEpoch], [2, 1, 2]);
});

test('KIP-704: leaderRecoveryState from a Partition record, set and cleared by PartitionChange, kept when absent, and in imageRecords', () => {
  const records = createTopic('t', 2);
  (records[2] as Extract<MetadataRecord, { type: 'Partition' }>).leaderRecoveryState = RECOVERING;
  let { image } = applyRecords(EMPTY_IMAGE, records, 0);
  const state = (id: number) => image.topicsById.get(TOPIC_ID)!.partitions[id]!.leaderRecoveryState;
  assert.deepEqual([state(0), state(1)], [undefined, RECOVERING]);
  ({ image } = applyRecords(image, [{ type: 'PartitionChange', topicId: TOPIC_ID, partitionId: 1, isr: [1] }], 1));
  assert.equal(state(1), RECOVERING, 'a change without the field keeps it');
  assert.deepEqual(withoutOffset(applyRecords(EMPTY_IMAGE, imageRecords(image), 5).image), withoutOffset(image));
  ({ image } = applyRecords(image, [{ type: 'PartitionChange', topicId: TOPIC_ID, partitionId: 1, leaderRecoveryState: RECOVERED }], 2));
  assert.equal(state(1), undefined);
  assert.equal(image.topicsById.get(TOPIC_ID)!.partitions[1]!.partitionEpoch, 2, 'a recovery state change alone bumps the partition epoch');
  ({ image } = applyRecords(image, [{ type: 'PartitionChange', topicId: TOPIC_ID, partitionId: 0, leader: 2, isr: [2], leaderRecoveryState: RECOVERING }], 3));
  assert.equal(state(0), RECOVERING);
  assert.deepEqual(withoutOffset(applyRecords(EMPTY_IMAGE, imageRecords(image), 5).image), withoutOffset(image));
});

test('config overrides set, delete, and vanish with their topic', () => {
  let { image } = applyRecords(EMPTY_IMAGE, createTopic('t', 1), 0);
  ({ image } = applyRecords(image, [{ type: 'Config', resourceType: 'topic', resourceName: 't', name: 'retention.ms', value: '1000' }], 1));
  assert.equal(topicConfigOverrides(image, 't').get('retention.ms'), '1000');
  const removed = applyRecords(image, [{ type: 'RemoveTopic', topicId: TOPIC_ID }], 2);
  assert.equal(topicByName(removed.image, 't'), undefined);
  assert.equal(topicConfigOverrides(removed.image, 't').size, 0);
  assert.equal(removed.delta.deletedTopics[0]?.name, 't');
  const deleted = applyRecords(image, [{ type: 'Config', resourceType: 'topic', resourceName: 't', name: 'retention.ms', value: null }], 2);
  assert.equal(topicConfigOverrides(deleted.image, 't').size, 0);
});

test('a topic created and removed in one batch is in neither created nor deleted', () => {
  const { delta } = applyRecords(EMPTY_IMAGE, [...createTopic('t', 1), { type: 'RemoveTopic', topicId: TOPIC_ID }], 0);
  assert.equal(delta.createdTopics.length, 0);
  assert.equal(delta.deletedTopics.length, 0);
});

test('records that break invariants are refused (bugs, not client errors)', () => {
  assert.throws(() => applyRecords(EMPTY_IMAGE, [{ type: 'RemoveTopic', topicId: TOPIC_ID }], 0));
  assert.throws(() => applyRecords(EMPTY_IMAGE, createTopic('t', 1), -1));
  const once = applyRecords(EMPTY_IMAGE, createTopic('t', 1), 0).image;
  assert.throws(() => applyRecords(once, [{ type: 'Topic', name: 't', topicId: '00000000-0000-0000-0000-0000000000aa' }], 1), /duplicate topic name/);
  const { image } = applyRecords(EMPTY_IMAGE, [{ type: 'ProducerIds', brokerId: 1, nextProducerId: 1000 }], 0);
  assert.equal(image.nextProducerId, 1000);
  assert.throws(() => applyRecords(image, [{ type: 'ProducerIds', brokerId: 1, nextProducerId: 1000 }], 1));
});

test('records round-trip through their byte encoding; junk is refused', () => {
  const records = createTopic('t', 2);
  assert.deepEqual(decodeMetadataRecords(encodeMetadataRecords(records)), records);
  assert.throws(() => decodeMetadataRecords(Buffer.from('[{"type":"Nope"}]')));
  assert.throws(() => decodeMetadataRecords(Buffer.from('{}')));
});

test('imageRecords rebuilds the same image from the empty one, over seeded churn', () => {
  for (const seed of [1, 2, 3, 42, 777]) {
    const next = churn(seed);
    let image = EMPTY_IMAGE;
    for (let i = 0; i < 400; i++) {
      image = applyRecords(image, next(image), i).image;
      if (i % 50 === 49) {
        const rebuilt = applyRecords(EMPTY_IMAGE, imageRecords(image), 0).image;
        assert.deepEqual(withoutOffset(rebuilt), withoutOffset(image), `seed ${seed}, batch ${i}`);
      }
    }
    assert.ok(image.topicsById.size > 0 && image.configs.size > 0 && image.nextProducerId > 0 && image.brokers.size > 0, `seed ${seed} covers every record type`);
  }
});

test('imageRecords of the empty image is empty', () => {
  assert.deepEqual(imageRecords(EMPTY_IMAGE), []);
});

test('encodeMetadataRecordBatches splits records into batches near the target that decode back in order', () => {
  const next = churn(5);
  let image = EMPTY_IMAGE;
  for (let i = 0; i < 300; i++) image = applyRecords(image, next(image), i).image;
  const records = imageRecords(image);
  const batches = encodeMetadataRecordBatches(records, 2048);
  assert.ok(batches.length > 1, `${batches.length} batches`);
  assert.deepEqual(batches.flatMap((b) => decodeMetadataRecords(b)), records);
  for (const b of batches.slice(0, -1)) assert.ok(b.length >= 2048 && b.length < 2048 + 1024, `batch of ${b.length} B`);
  assert.deepEqual(encodeMetadataRecordBatches(records, Number.MAX_SAFE_INTEGER), [encodeMetadataRecords(records)]);
  assert.deepEqual(encodeMetadataRecordBatches([], 2048), []);
});

test('broker registrations keep their incarnation id; BrokerRegistrationChange marks a controlled shutdown; older records still load', () => {
  const legacy: MetadataRecord = { type: 'RegisterBroker', brokerId: 1, brokerEpoch: 0, host: 'h', port: 1, rack: null, fenced: false };
  let { image } = applyRecords(EMPTY_IMAGE, decodeMetadataRecords(encodeMetadataRecords([legacy])), 0);
  assert.deepEqual([image.brokers.get(1)!.incarnationId, image.brokers.get(1)!.inControlledShutdown], [null, false]);
  ({ image } = applyRecords(image, [
    { type: 'RegisterBroker', brokerId: 2, brokerEpoch: 3, host: 'h', port: 2, rack: 'r', fenced: true, incarnationId: 'abc' },
    { type: 'BrokerRegistrationChange', brokerId: 1, brokerEpoch: 0, inControlledShutdown: true },
  ], 1));
  assert.equal(image.brokers.get(2)!.incarnationId, 'abc');
  assert.equal(image.brokers.get(1)!.inControlledShutdown, true);
  assert.deepEqual(withoutOffset(applyRecords(EMPTY_IMAGE, imageRecords(image), 0).image), withoutOffset(image));
  assert.throws(() => applyRecords(image, [{ type: 'BrokerRegistrationChange', brokerId: 1, brokerEpoch: 9, inControlledShutdown: false }], 2),
    /epoch 9/, 'a change for another incarnation is a bug');
});

test('FeatureLevel records: the last level per feature is finalized, 0 removes it, snapshots (imageRecords) keep it and broker ranges', () => {
  let { image } = applyRecords(EMPTY_IMAGE, decodeMetadataRecords(encodeMetadataRecords([
    { type: 'RegisterBroker', brokerId: 1, brokerEpoch: 0, host: 'h', port: 1, rack: null, fenced: false,
      features: [{ name: 'transaction.version', minSupportedVersion: 0, maxSupportedVersion: 2 }] },
    { type: 'FeatureLevel', name: 'transaction.version', featureLevel: 1 },
    { type: 'FeatureLevel', name: 'transaction.version', featureLevel: 2 },
  ])), 0);
  assert.deepEqual([...image.features], [['transaction.version', 2]]);
  assert.deepEqual(image.brokers.get(1)!.supportedFeatures, [{ name: 'transaction.version', minSupportedVersion: 0, maxSupportedVersion: 2 }]);
  const records = imageRecords(image);
  assert.deepEqual(records.filter((r) => r.type === 'FeatureLevel'), [{ type: 'FeatureLevel', name: 'transaction.version', featureLevel: 2 }]);
  assert.deepEqual(withoutOffset(applyRecords(EMPTY_IMAGE, records, 0).image), withoutOffset(image));
  ({ image } = applyRecords(image, [{ type: 'FeatureLevel', name: 'transaction.version', featureLevel: 0 }], 1));
  assert.equal(image.features.size, 0);
  assert.equal(imageRecords(image).some((r) => r.type === 'FeatureLevel'), false);
  assert.throws(() => applyRecords(image, [{ type: 'FeatureLevel', name: 'transaction.version', featureLevel: -1 }], 2), /FeatureLevel/);
});

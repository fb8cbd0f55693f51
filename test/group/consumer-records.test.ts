// KIP-848 records in Kafka's formats: the bytes below were produced by Kafka 4.4.0's own generated classes
// (MessageUtil.toCoordinatorTypePrefixedBytes for keys, toVersionPrefixedBytes(0) for values; see
// scripts/config for how Kafka's jars are assembled), so a partition written here reads as Kafka's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  consumerCurrentMemberAssignmentKey,
  consumerGroupMetadataKey,
  consumerMemberMetadataKey,
  consumerTargetAssignmentMemberKey,
  consumerTargetAssignmentMetadataKey,
  decodeConsumerCurrentMemberAssignmentValue,
  decodeConsumerGroupKey,
  decodeConsumerMemberMetadataValue,
  decodeConsumerTargetAssignmentMemberValue,
  encodeConsumerCurrentMemberAssignmentValue,
  encodeConsumerGroupMetadataValue,
  encodeConsumerMemberMetadataValue,
  encodeConsumerTargetAssignmentMemberValue,
  encodeConsumerTargetAssignmentMetadataValue,
} from '../../src/group/consumer-records.js';
import { RecordFormatError } from '../../src/group/records.js';

const T1 = '00000000-0000-0000-0000-000000000001';
const T2 = '00000000-0000-0000-0000-000000000002';
const hex = (b: Buffer) => b.toString('hex');

test('keys: record type as the version, then group (and member) ids, as Kafka 4.4 writes them', () => {
  assert.equal(hex(consumerGroupMetadataKey('g1')), '000300026731');
  assert.equal(hex(consumerMemberMetadataKey('g1', 'm1')), '00050002673100026d31');
  assert.equal(hex(consumerTargetAssignmentMetadataKey('g1')), '000600026731');
  assert.equal(hex(consumerTargetAssignmentMemberKey('g1', 'm1')), '00070002673100026d31');
  assert.equal(hex(consumerCurrentMemberAssignmentKey('g1', 'm1')), '00080002673100026d31');
  assert.deepEqual(decodeConsumerGroupKey(consumerCurrentMemberAssignmentKey('g1', 'm1')), { type: 'consumerCurrentMemberAssignment', group: 'g1', memberId: 'm1' });
  assert.equal(decodeConsumerGroupKey(Buffer.from('000100026731', 'hex')), null, 'an offset commit key is not one of these');
});

test('values: byte for byte what Kafka 4.4 writes, and back', () => {
  assert.equal(hex(encodeConsumerGroupMetadataValue(7)), '00000000000700');
  assert.equal(hex(encodeConsumerTargetAssignmentMetadataValue(7)), '00000000000700');
  const member = {
    instanceId: null, rackId: 'r1', clientId: 'c', clientHost: '/127.0.0.1', subscribedTopicNames: ['a', 'b'],
    subscribedTopicRegex: null, rebalanceTimeoutMs: 300000, serverAssignor: 'uniform', classicMemberMetadata: null,
  };
  const memberBytes = encodeConsumerMemberMetadataValue(member);
  assert.equal(hex(memberBytes), '00000003723102630b2f3132372e302e302e31030261026200000493e008756e69666f726d00');
  assert.deepEqual(decodeConsumerMemberMetadataValue(memberBytes), member);
  const target = encodeConsumerTargetAssignmentMemberValue(new Map([[T2, [1]], [T1, [0, 2]]]));
  assert.equal(hex(target), '00000300000000000000000000000000000001030000000000000002000000000000000000000000000000000202000000010000');
  assert.deepEqual(decodeConsumerTargetAssignmentMemberValue(target), new Map([[T1, [0, 2]], [T2, [1]]]));
  const current = {
    memberEpoch: 7, previousMemberEpoch: 6, state: 'UNREVOKED_PARTITIONS' as const,
    assignedPartitions: new Map([[T1, [0]]]), partitionsPendingRevocation: new Map([[T2, [3]]]),
  };
  const currentBytes = encodeConsumerCurrentMemberAssignmentValue(current);
  assert.equal(hex(currentBytes), '00000000000700000006010200000000000000000000000000000001020000000000020000000000000000000000000000000202000000030000');
  assert.deepEqual(decodeConsumerCurrentMemberAssignmentValue(currentBytes), current);
});

test('a classic member of a consumer group: ClassicMemberMetadata in tagged field 0, byte for byte as Kafka 4.4 writes it', () => {
  // new ConsumerGroupMemberMetadataValue().setClientId("c").setClientHost("/h").setSubscribedTopicNames(["t"])
  //   .setRebalanceTimeoutMs(300000).setClassicMemberMetadata(sessionTimeoutMs 45000, protocols
  //   [range: 00 03 01, cooperative-sticky: empty]), MessageUtil.toVersionPrefixedByteBuffer(0, ...).
  const kafka = '000000000263032f6802027400000493e000010027010000afc8030672616e6765040003010013636f6f70657261746976652d737469636b79010000';
  const member = {
    instanceId: null, rackId: null, clientId: 'c', clientHost: '/h', subscribedTopicNames: ['t'], subscribedTopicRegex: null,
    rebalanceTimeoutMs: 300000, serverAssignor: null,
    classicMemberMetadata: {
      sessionTimeoutMs: 45000,
      supportedProtocols: [{ name: 'range', metadata: Buffer.from('000301', 'hex') }, { name: 'cooperative-sticky', metadata: Buffer.alloc(0) }],
    },
  };
  assert.equal(hex(encodeConsumerMemberMetadataValue(member)), kafka);
  assert.deepEqual(decodeConsumerMemberMetadataValue(Buffer.from(kafka, 'hex')), member);
  // An unknown tag (5, two bytes) is skipped, as Kafka's readers do.
  const plain = hex(encodeConsumerMemberMetadataValue({ ...member, classicMemberMetadata: null }));
  assert.ok(plain.endsWith('00'));
  const withUnknownTag = Buffer.from(`${plain.slice(0, -2)}010502aabb`, 'hex');
  assert.deepEqual(decodeConsumerMemberMetadataValue(withUnknownTag), { ...member, classicMemberMetadata: null });
});

test('KIP-1251 assignment epochs: TopicPartitions tagged field 0, byte for byte as Kafka 4.4 writes it', () => {
  // ConsumerGroupCurrentMemberAssignmentValue(memberEpoch 7, previous 6, state 1, assigned T1 [0, 2] with
  // assignmentEpochs [5, 7], pending revocation T2 [3] with [4]), MessageUtil.toVersionPrefixedByteBuffer(0).
  const kafka = '0000000000070000000601020000000000000000000000000000000103000000000000000201000903000000050000000702000000000000000000000000000000020200000003010005020000000400';
  const current = {
    memberEpoch: 7, previousMemberEpoch: 6, state: 'UNREVOKED_PARTITIONS' as const,
    assignedPartitions: new Map([[T1, [0, 2]]]), partitionsPendingRevocation: new Map([[T2, [3]]]),
    assignmentEpochs: new Map([[`${T1}:0`, 5], [`${T1}:2`, 7], [`${T2}:3`, 4]]),
  };
  assert.equal(hex(encodeConsumerCurrentMemberAssignmentValue(current)), kafka);
  assert.deepEqual(decodeConsumerCurrentMemberAssignmentValue(Buffer.from(kafka, 'hex')), current);
});

test('a truncated value is one typed error', () => {
  assert.throws(() => decodeConsumerMemberMetadataValue(Buffer.from('0000000372', 'hex')), RecordFormatError);
});

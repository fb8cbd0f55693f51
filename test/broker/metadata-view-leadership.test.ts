import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageMetadataView, type LocalLeadership } from '../../src/broker/metadata-view.js';
import { applyRecords, EMPTY_IMAGE, type MetadataImage } from '../../src/metadata/image.js';
import type { MetadataLoader } from '../../src/metadata/loader.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const TOPIC_ID = '0b7d3c1e-5a6f-4e2d-9c8b-7a6f5e4d3c2b';

function imageWithTopic(): MetadataImage {
  return applyRecords(EMPTY_IMAGE, [
    { type: 'RegisterBroker', brokerId: 1, brokerEpoch: 0, host: '127.0.0.1', port: 9092, rack: null, fenced: false },
    { type: 'Topic', name: 't', topicId: TOPIC_ID },
    { type: 'Partition', topicId: TOPIC_ID, partitionId: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
    { type: 'Partition', topicId: TOPIC_ID, partitionId: 1, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
  ], 0).image;
}

test('a partition led here is LEADER_NOT_AVAILABLE until the replica manager leads it at the image epoch', () => {
  const image = imageWithTopic();
  const hosted = new Map<number, { isLeader: boolean; leaderEpoch: number }>();
  const leadership: LocalLeadership & { leadershipVersion: number } = {
    leadershipVersion: 0,
    partitionByTopicId: (_id, p) => hosted.get(p),
  };
  const view = new ImageMetadataView('cluster', 1, { image } as MetadataLoader, leadership, 1);
  const states = () => view.topicByName('t')!.partitions.map((p) => [p.errorCode, p.leaderId]);

  assert.deepEqual(states(), [[ErrorCode.LEADER_NOT_AVAILABLE, -1], [ErrorCode.LEADER_NOT_AVAILABLE, -1]]);
  hosted.set(0, { isLeader: true, leaderEpoch: 0 });
  assert.deepEqual(states()[0], [ErrorCode.LEADER_NOT_AVAILABLE, -1], 'cached until the leadership version moves');
  leadership.leadershipVersion++;
  assert.deepEqual(states(), [[ErrorCode.NONE, 1], [ErrorCode.LEADER_NOT_AVAILABLE, -1]]);
  hosted.set(1, { isLeader: true, leaderEpoch: 7 });
  leadership.leadershipVersion++;
  assert.deepEqual(states()[1], [ErrorCode.LEADER_NOT_AVAILABLE, -1], 'an older or newer local epoch is not the image leader');
});

test('registeredBrokers lists fenced brokers with their flag; brokers() only the unfenced ones', () => {
  const image = applyRecords(EMPTY_IMAGE, [
    { type: 'RegisterBroker', brokerId: 2, brokerEpoch: 0, host: 'b', port: 9093, rack: 'r2', fenced: false },
    { type: 'RegisterBroker', brokerId: 1, brokerEpoch: 0, host: 'a', port: 9092, rack: null, fenced: false },
    { type: 'FenceBroker', brokerId: 2, brokerEpoch: 0 },
  ], 0).image;
  const view = new ImageMetadataView('cluster', 1, { image } as MetadataLoader, undefined, 1);
  assert.deepEqual(view.registeredBrokers().map((b) => [b.nodeId, b.host, b.port, b.rack, b.fenced]), [
    [1, 'a', 9092, null, false], [2, 'b', 9093, 'r2', true],
  ]);
  assert.deepEqual(view.brokers().map((b) => b.nodeId), [1]);
});

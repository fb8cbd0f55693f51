/**
 * __consumer_offsets replicates like any partition; the group coordinator follows its partition's
 * leadership: committed offsets survive the coordinator's broker going away, loaded by the new leader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import { GROUP_METADATA_TOPIC_NAME } from '../../src/group/coordinator-runtime.js';
import { partitionForGroup } from '../../src/group/index.js';
import { startMemoryCluster } from '../cluster/memory-cluster.js';
import { changePartition, createTopic, hosted, waitFor } from './cluster-helpers.js';

test('committed offsets replicate with __consumer_offsets; the new leader of the group\'s partition loads them and answers OffsetFetch', async () => {
  const cluster = await startMemoryCluster(3, {
    'offsets.topic.replication.factor': '3', 'offsets.topic.num.partitions': '3', 'replica.fetch.wait.max.ms': '100',
    'group.initial.rebalance.delay.ms': '0',
  });
  try {
    await createTopic(cluster, 't', 1, 3);
    const first = cluster.brokers[0]!;
    const found = await first.services.groupCoordinator.findGroupCoordinators(['g']);
    assert.equal(found[0]?.errorCode, ErrorCode.NONE);
    const partition = partitionForGroup('g', 3);
    for (const b of cluster.brokers) await b.services.replicaManager.whenIdle();
    const coordinator = cluster.brokers.find((b) => b.nodeId === found[0]?.nodeId)!;
    assert.deepEqual([...hosted(coordinator, GROUP_METADATA_TOPIC_NAME, partition).replicas].sort(), [1, 2, 3]);
    await waitFor('coordinator loaded', () => coordinator.services.groupCoordinator.ownedPartitions().some((p) => p.partition === partition && p.status === 'active'));
    const committed = await coordinator.services.groupCoordinator.offsetCommit({
      groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: 'm' }] }],
    });
    assert.equal(committed.topics[0]?.partitions[0]?.errorCode, ErrorCode.NONE);
    // The commit was answered once the HW passed it: every ISR member holds the record.
    const end = hosted(coordinator, GROUP_METADATA_TOPIC_NAME, partition).logEndOffset;
    for (const b of cluster.brokers) assert.equal(hosted(b, GROUP_METADATA_TOPIC_NAME, partition).logEndOffset, end);
    // The coordinator's broker goes away; the controller elects another ISR member.
    await coordinator.close();
    const next = cluster.brokers.find((b) => b !== coordinator)!;
    const topicId = next.services.metadataLoader.image.topicIdsByName.get(GROUP_METADATA_TOPIC_NAME)!;
    await changePartition(cluster, topicId, partition, { leader: next.nodeId, isr: cluster.brokers.filter((b) => b !== coordinator).map((b) => b.nodeId) });
    await waitFor('new coordinator loaded', () => next.services.groupCoordinator.ownedPartitions().some((p) => p.partition === partition && p.status === 'active'));
    const fetched = next.services.groupCoordinator.offsetFetch({ groups: [{ groupId: 'g', topics: null }], requireStable: true });
    const offsets = fetched.groups[0]?.topics.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.committedOffset, p.metadata]));
    assert.deepEqual(offsets, [['t', 0, 42n, 'm']]);
    // The old coordinator's node no longer answers for the group.
    assert.equal(coordinator.services.groupCoordinator.ownedPartitions().some((p) => p.partition === partition), false);
  } finally {
    await cluster.close();
  }
});

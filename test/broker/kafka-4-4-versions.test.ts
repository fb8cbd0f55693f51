// The versions Kafka 4.4 added to APIs Runnel serves, over the socket: what each new version changes is
// implemented (topic ids in Produce v13 and OffsetCommit/OffsetFetch v10, ApiVersions v5's cluster check,
// DescribeGroups v6's GROUP_ID_NOT_FOUND, ListOffsets v11's EARLIEST_PENDING_UPLOAD), old versions still work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';
import { call } from './kafka-test-client.js';
import { createTopic, listOffset, startHarness, type Harness } from './standalone-harness.js';
import { simpleBatch } from '../replication/batches.js';

const FAST = { 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '3', 'transaction.version': '0' };
const UNKNOWN_ID = '0f0e0d0c-0b0a-0908-0706-050403020100';

async function withHarness(body: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness(FAST);
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

/** FindCoordinator creates __consumer_offsets on first use; then the group's partition loads. */
async function untilCoordinatorLoaded<T extends { errorCode: number }>(h: Harness, groupId: string, attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const found = (await call(h.client, ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: [groupId] })).body.coordinators[0];
    if (found?.errorCode === ErrorCode.NONE) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  let result = await attempt();
  for (let i = 0; i < 100 && (result.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || result.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE); i++) {
    await new Promise((r) => setTimeout(r, 20));
    result = await attempt();
  }
  return result;
}

test('Produce v13 names topics by id: a known id appends, an unknown one is UNKNOWN_TOPIC_ID', async () => {
  await withHarness(async (h) => {
    const topicId = await createTopic(h, 'by-id');
    const { body } = await call(h.client, ApiKey.Produce, 13, {
      transactionalId: null, acks: -1, timeoutMs: 5000,
      topicData: [
        { name: '', topicId, partitionData: [{ index: 0, records: simpleBatch(3) }] },
        { name: '', topicId: UNKNOWN_ID, partitionData: [{ index: 0, records: simpleBatch(1) }] },
      ],
    });
    assert.deepEqual(body.responses.map((t) => [t.topicId, t.partitionResponses[0]?.errorCode]), [
      [topicId, ErrorCode.NONE], [UNKNOWN_ID, ErrorCode.UNKNOWN_TOPIC_ID],
    ]);
    assert.equal(h.broker.services.replicaManager.partition('by-id', 0)?.logEndOffset, 3);
    // v12 still names topics.
    const v12 = await call(h.client, ApiKey.Produce, 12, {
      transactionalId: null, acks: 1, timeoutMs: 5000,
      topicData: [{ name: 'by-id', topicId: ZERO_UUID, partitionData: [{ index: 0, records: simpleBatch(1) }] }],
    });
    assert.equal(v12.body.responses[0]?.partitionResponses[0]?.baseOffset, 3n);
  });
});

test('OffsetCommit and OffsetFetch v10 name topics by id; unknown ids answer UNKNOWN_TOPIC_ID', async () => {
  await withHarness(async (h) => {
    const topicId = await createTopic(h, 't', 2);
    const commit = () => call(h.client, ApiKey.OffsetCommit, 10, {
      groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n,
      topics: [
        { name: '', topicId, partitions: [{ partitionIndex: 1, committedOffset: 9n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: 'x' }] },
        { name: '', topicId: UNKNOWN_ID, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] },
      ],
    });
    const committed = await untilCoordinatorLoaded(h, 'g', async () => {
      const { body } = await commit();
      return { errorCode: body.topics[0]?.partitions[0]?.errorCode ?? -1, body };
    });
    assert.deepEqual(committed.body.topics.map((t) => [t.topicId, t.partitions[0]?.errorCode]), [
      [topicId, ErrorCode.NONE], [UNKNOWN_ID, ErrorCode.UNKNOWN_TOPIC_ID],
    ]);
    const fetch = (topics: { name: string; topicId: string; partitionIndexes: number[] }[] | null) => call(h.client, ApiKey.OffsetFetch, 10, {
      groupId: '', topics: [], requireStable: false, groups: [{ groupId: 'g', memberId: null, memberEpoch: -1, topics }],
    });
    const some = (await fetch([{ name: '', topicId, partitionIndexes: [1] }, { name: '', topicId: UNKNOWN_ID, partitionIndexes: [0] }])).body.groups[0];
    assert.deepEqual(some?.topics.map((t) => [t.topicId, t.partitions[0]?.committedOffset, t.partitions[0]?.errorCode]), [
      [topicId, 9n, ErrorCode.NONE], [UNKNOWN_ID, -1n, ErrorCode.UNKNOWN_TOPIC_ID],
    ]);
    const all = (await fetch(null)).body.groups[0];
    assert.deepEqual(all?.topics.map((t) => [t.topicId, t.partitions.map((p) => p.partitionIndex)]), [[topicId, [1]]]);
    // v9 answers the same offsets by name.
    const v9 = await call(h.client, ApiKey.OffsetFetch, 9, {
      groupId: '', topics: [], requireStable: false, groups: [{ groupId: 'g', memberId: null, memberEpoch: -1, topics: null }],
    });
    assert.deepEqual(v9.body.groups[0]?.topics.map((t) => t.name), ['t']);
  });
});

test('DescribeGroups v6 answers a missing group with GROUP_ID_NOT_FOUND; v5 with an empty Dead group', async () => {
  await withHarness(async (h) => {
    const v6 = await untilCoordinatorLoaded(h, 'missing', async () => {
      const { body } = await call(h.client, ApiKey.DescribeGroups, 6, { groups: ['missing'], includeAuthorizedOperations: false });
      return body.groups[0] as NonNullable<(typeof body.groups)[number]>;
    });
    assert.deepEqual([v6.errorCode, v6.errorMessage], [ErrorCode.GROUP_ID_NOT_FOUND, 'Group missing not found.']);
    const v5 = (await call(h.client, ApiKey.DescribeGroups, 5, { groups: ['missing'], includeAuthorizedOperations: false })).body.groups[0];
    assert.deepEqual([v5?.errorCode, v5?.groupState], [ErrorCode.NONE, 'Dead']);
  });
});

test('ApiVersions v5: REBOOTSTRAP_REQUIRED for another cluster or node, the API list for this one (KIP-1242)', async () => {
  await withHarness(async (h) => {
    const ask = (clusterId: string | null, nodeId: number) => call(h.client, ApiKey.ApiVersions, 5, {
      clientSoftwareName: 'test', clientSoftwareVersion: '1', clusterId, nodeId,
    });
    const clusterId = h.broker.services.metadata.clusterId;
    const ok = await ask(clusterId, h.broker.nodeId);
    assert.equal(ok.body.errorCode, ErrorCode.NONE);
    assert.ok(ok.body.apiKeys.some((k) => k.apiKey === ApiKey.Produce && k.maxVersion === 13));
    assert.equal((await ask(null, -1)).body.errorCode, ErrorCode.NONE);
    assert.equal((await ask('another-cluster', -1)).body.errorCode, ErrorCode.REBOOTSTRAP_REQUIRED);
    const otherNode = await ask(clusterId, h.broker.nodeId + 1);
    assert.deepEqual([otherNode.body.errorCode, otherNode.body.apiKeys.length], [ErrorCode.REBOOTSTRAP_REQUIRED, 0]);
  });
});

test('ListOffsets v11: EARLIEST_PENDING_UPLOAD (-6) has no answer without tiered storage', async () => {
  await withHarness(async (h) => {
    await createTopic(h, 'lo');
    const p = await listOffset(h, 'lo', 0, -6n, 11);
    assert.deepEqual([p.errorCode, p.offset, p.leaderEpoch], [ErrorCode.NONE, -1n, -1]);
    assert.equal((await listOffset(h, 'lo', 0, -1n, 11)).offset, 0n);
  });
});

test('ApiVersions features (KIP-584): metadata.version 4.4-IV2 finalized, level-0 features only from v4, epoch from the image', async () => {
  await withHarness(async (h) => {
    const ask = async (version: number) => (await call(h.client, ApiKey.ApiVersions, version, {
      clientSoftwareName: 'test', clientSoftwareVersion: '1', clusterId: null, nodeId: -1,
    })).body;
    const v4 = await ask(4);
    const supported = new Map(v4.supportedFeatures.map((f) => [f.name, [f.minVersion, f.maxVersion]]));
    assert.deepEqual(supported.get('metadata.version'), [33, 33]);
    // transaction.version: Runnel supports 0-2; a new cluster starts at the property's level (0 here).
    assert.deepEqual(supported.get('transaction.version'), [0, 2]);
    const consumerGroups = v4.apiKeys.some((k) => k.apiKey === ApiKey.ConsumerGroupHeartbeat);
    assert.deepEqual(supported.get('group.version'), consumerGroups ? [1, 1] : [0, 0]);
    assert.deepEqual(v4.finalizedFeatures.map((f) => [f.name, f.maxVersionLevel]),
      consumerGroups ? [['group.version', 1], ['metadata.version', 33]] : [['metadata.version', 33]]);
    assert.ok(v4.finalizedFeaturesEpoch >= 0n);
    // KAFKA-17492: before v4 a range starting at 0 is left out.
    const v3 = await ask(3);
    assert.ok(v3.supportedFeatures.every((f) => f.minVersion > 0));
    assert.ok(v3.supportedFeatures.some((f) => f.name === 'metadata.version'));
  });
});
// UpdateFeatures: test/broker/update-features.test.ts.

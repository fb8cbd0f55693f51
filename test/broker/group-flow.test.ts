import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeAssignment, encodeSubscription, partitionForGroup } from '../../src/group/index.js';
import { GROUP_METADATA_TOPIC_NAME } from '../../src/group/coordinator-runtime.js';
import { RawClient } from '../network/raw-client.js';
import { call } from './kafka-test-client.js';
import { createTopic, startHarness, type Harness } from './standalone-harness.js';

const FAST = { 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '5' };

async function findCoordinator(client: RawClient, groupId: string, version = 4) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const body = version >= 4
      ? (await call(client, ApiKey.FindCoordinator, version, { key: '', keyType: 0, coordinatorKeys: [groupId] })).body.coordinators[0]
      : (await call(client, ApiKey.FindCoordinator, version, { key: groupId, keyType: 0, coordinatorKeys: [] })).body;
    assert.ok(body !== undefined);
    if (body.errorCode === ErrorCode.NONE) return body;
    assert.equal(body.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no coordinator');
}

/** JoinGroup v5 until the member has an id and the group answers (MEMBER_ID_REQUIRED, then the join). */
async function join(client: RawClient, groupId: string, memberId = '', groupInstanceId: string | null = null, version = 5) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { body } = await call(client, ApiKey.JoinGroup, version, {
      groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: encodeSubscription(['t']) }], reason: null,
    });
    if (body.errorCode === ErrorCode.MEMBER_ID_REQUIRED) { memberId = body.memberId; continue; }
    if (body.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) { await new Promise((r) => setTimeout(r, 20)); continue; }
    return body;
  }
  throw new Error('join did not settle');
}

async function commit(client: RawClient, groupId: string, generationId: number, memberId: string, offsets: Array<[number, bigint]>, version = 8) {
  const { body } = await call(client, ApiKey.OffsetCommit, version, {
    groupId, generationIdOrMemberEpoch: generationId, memberId, groupInstanceId: null, retentionTimeMs: -1n,
    topics: [{ name: 't', topicId: '00000000-0000-0000-0000-000000000000', partitions: offsets.map(([partitionIndex, committedOffset]) => ({ partitionIndex, committedOffset, committedLeaderEpoch: 0, commitTimestamp: -1n, committedMetadata: 'm' })) }],
  });
  return body.topics[0]?.partitions.map((p) => p.errorCode);
}

async function fetchOffsets(client: RawClient, groupId: string, version = 8) {
  const { body } = await call(client, ApiKey.OffsetFetch, version, {
    groupId: '', topics: [], requireStable: true, groups: [{ groupId, memberId: null, memberEpoch: -1, topics: null }],
  });
  return body;
}

test('group flow over the socket: find, join, sync, heartbeat, commit, fetch, describe, list, leave, delete', async () => {
  let h: Harness = await startHarness(FAST);
  try {
    await createTopic(h, 't', 2);
    const coordinator = await findCoordinator(h.client, 'g1');
    assert.deepEqual([coordinator.nodeId, coordinator.port], [h.broker.nodeId, h.broker.port]);
    const image = h.broker.services.metadata.topicByName(GROUP_METADATA_TOPIC_NAME);
    assert.equal(image?.partitions.length, 5, 'offsets.topic.num.partitions');
    assert.equal(h.broker.services.replicaManager.isCompacted(GROUP_METADATA_TOPIC_NAME), true);
    // v0-3 carry one key; unknown key types are INVALID_REQUEST; transactional ids find this node too.
    assert.equal((await findCoordinator(h.client, 'g1', 2)).nodeId, h.broker.nodeId);
    const txn = await call(h.client, ApiKey.FindCoordinator, 4, { key: '', keyType: 1, coordinatorKeys: ['tx'] });
    assert.equal(txn.body.coordinators[0]?.errorCode, ErrorCode.NONE);
    assert.equal(txn.body.coordinators[0]?.nodeId, h.broker.nodeId);
    const bad = await call(h.client, ApiKey.FindCoordinator, 3, { key: 'x', keyType: 7, coordinatorKeys: [] });
    assert.equal(bad.body.errorCode, ErrorCode.INVALID_REQUEST);

    const joined = await join(h.client, 'g1');
    assert.equal(joined.errorCode, ErrorCode.NONE);
    assert.equal(joined.generationId, 1);
    assert.equal(joined.leader, joined.memberId);
    const memberId = joined.memberId;
    const assignment = encodeAssignment([{ topic: 't', partitions: [0, 1] }]);
    const sync = await call(h.client, ApiKey.SyncGroup, 5, {
      groupId: 'g1', generationId: 1, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range',
      assignments: [{ memberId, assignment }],
    });
    assert.equal(sync.body.errorCode, ErrorCode.NONE);
    assert.deepEqual(sync.body.assignment, assignment);
    const hb = await call(h.client, ApiKey.Heartbeat, 4, { groupId: 'g1', generationId: 1, memberId, groupInstanceId: null });
    assert.equal(hb.body.errorCode, ErrorCode.NONE);

    assert.deepEqual(await commit(h.client, 'g1', 1, memberId, [[0, 42n], [1, 7n]]), [ErrorCode.NONE, ErrorCode.NONE]);
    assert.deepEqual(await commit(h.client, 'g1', 9, memberId, [[0, 1n]]), [ErrorCode.ILLEGAL_GENERATION]);
    const fetched = await fetchOffsets(h.client, 'g1');
    assert.equal(fetched.groups[0]?.errorCode, ErrorCode.NONE);
    assert.deepEqual(fetched.groups[0]?.topics[0]?.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata]), [[0, 42n, 'm'], [1, 7n, 'm']]);
    // v1 (single group): a group led here without offsets answers -1.
    const v1 = await call(h.client, ApiKey.OffsetFetch, 1, { groupId: 'nobody', topics: [{ name: 't', partitionIndexes: [0] }], requireStable: false, groups: [] });
    assert.deepEqual(v1.body.topics[0]?.partitions.map((p) => [p.committedOffset, p.errorCode]), [[-1n, ErrorCode.NONE]]);

    const described = await call(h.client, ApiKey.DescribeGroups, 5, { groups: ['g1', 'missing'], includeAuthorizedOperations: true });
    assert.deepEqual(described.body.groups.map((g) => [g.groupId, g.groupState, g.members.length]), [['g1', 'Stable', 1], ['missing', 'Dead', 0]]);
    assert.equal(described.body.groups[0]?.protocolData, 'range');
    assert.equal(described.body.groups[0]?.members[0]?.clientHost, '/127.0.0.1');
    const listed = await call(h.client, ApiKey.ListGroups, 5, { statesFilter: ['stable'], typesFilter: [] });
    assert.deepEqual(listed.body.groups.map((g) => [g.groupId, g.groupState, g.groupType]), [['g1', 'Stable', 'classic']]);
    const none = await call(h.client, ApiKey.ListGroups, 4, { statesFilter: ['Empty'], typesFilter: [] });
    assert.deepEqual(none.body.groups, []);

    const nonEmpty = await call(h.client, ApiKey.DeleteGroups, 2, { groupsNames: ['g1'] });
    assert.equal(nonEmpty.body.results[0]?.errorCode, ErrorCode.NON_EMPTY_GROUP);
    const leave = await call(h.client, ApiKey.LeaveGroup, 5, {
      groupId: 'g1', memberId: '', members: [{ memberId, groupInstanceId: null, reason: 'done' }, { memberId: 'ghost', groupInstanceId: null, reason: null }],
    });
    assert.deepEqual(leave.body.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);

    // Offsets survive a clean restart: they are records of __consumer_offsets.
    h = await h.restart();
    await findCoordinator(h.client, 'g1');
    let after = await fetchOffsets(h.client, 'g1');
    for (let attempt = 0; attempt < 50 && after.groups[0]?.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS; attempt++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await fetchOffsets(h.client, 'g1');
    }
    assert.deepEqual(after.groups[0]?.topics[0]?.partitions.map((p) => p.committedOffset), [42n, 7n]);
    const describedAfter = await call(h.client, ApiKey.DescribeGroups, 0, { groups: ['g1'], includeAuthorizedOperations: false });
    assert.equal(describedAfter.body.groups[0]?.groupState, 'Empty');

    const offsetDelete = await call(h.client, ApiKey.OffsetDelete, 0, { groupId: 'g1', topics: [{ name: 't', partitions: [{ partitionIndex: 1 }] }] });
    assert.equal(offsetDelete.body.errorCode, ErrorCode.NONE);
    assert.deepEqual((await fetchOffsets(h.client, 'g1')).groups[0]?.topics[0]?.partitions.map((p) => p.partitionIndex), [0]);
    const deleted = await call(h.client, ApiKey.DeleteGroups, 2, { groupsNames: ['g1', 'missing'] });
    assert.deepEqual(deleted.body.results.map((r) => r.errorCode), [ErrorCode.NONE, ErrorCode.GROUP_ID_NOT_FOUND]);
    h = await h.restart();
    await findCoordinator(h.client, 'g1');
    let gone = await fetchOffsets(h.client, 'g1');
    for (let attempt = 0; attempt < 50 && gone.groups[0]?.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS; attempt++) {
      await new Promise((r) => setTimeout(r, 20));
      gone = await fetchOffsets(h.client, 'g1');
    }
    assert.deepEqual(gone.groups[0]?.topics, [], 'tombstones survive the restart');
  } finally {
    await h.close();
  }
});

test('two members: the second join rebalances, the leader assigns, LeaveGroup v0 hands everything back', async () => {
  const h = await startHarness(FAST);
  const other = await RawClient.connect(h.broker.port);
  try {
    await createTopic(h, 't', 2);
    await findCoordinator(h.client, 'g2');
    const first = await join(h.client, 'g2');
    const firstId = first.memberId;
    await call(h.client, ApiKey.SyncGroup, 3, {
      groupId: 'g2', generationId: first.generationId, memberId: firstId, groupInstanceId: null, protocolType: null, protocolName: null,
      assignments: [{ memberId: firstId, assignment: encodeAssignment([{ topic: 't', partitions: [0, 1] }]) }],
    });
    // The second member's join waits until the first rejoins (its heartbeat says REBALANCE_IN_PROGRESS).
    const secondJoin = join(other, 'g2');
    let hb: number = ErrorCode.NONE;
    for (let attempt = 0; attempt < 100 && hb === ErrorCode.NONE; attempt++) {
      hb = (await call(h.client, ApiKey.Heartbeat, 2, { groupId: 'g2', generationId: first.generationId, memberId: firstId, groupInstanceId: null })).body.errorCode;
      if (hb === ErrorCode.NONE) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(hb, ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await join(h.client, 'g2', firstId);
    const second = await secondJoin;
    assert.equal(rejoin.generationId, 2);
    assert.equal(second.generationId, 2);
    assert.equal(rejoin.members.length + second.members.length, 2, 'only the leader gets the member list');
    const leaderId = rejoin.leader;
    assert.equal(leaderId, firstId);
    const followerSync = call(other, ApiKey.SyncGroup, 4, {
      groupId: 'g2', generationId: 2, memberId: second.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [],
    });
    const a0 = encodeAssignment([{ topic: 't', partitions: [0] }]);
    const a1 = encodeAssignment([{ topic: 't', partitions: [1] }]);
    const leaderSync = await call(h.client, ApiKey.SyncGroup, 4, {
      groupId: 'g2', generationId: 2, memberId: firstId, groupInstanceId: null, protocolType: null, protocolName: null,
      assignments: [{ memberId: firstId, assignment: a0 }, { memberId: second.memberId, assignment: a1 }],
    });
    assert.deepEqual(leaderSync.body.assignment, a0);
    assert.deepEqual((await followerSync).body.assignment, a1);
    const leave = await call(other, ApiKey.LeaveGroup, 0, { groupId: 'g2', memberId: second.memberId, members: [] });
    assert.equal(leave.body.errorCode, ErrorCode.NONE);
    const again = await call(other, ApiKey.LeaveGroup, 1, { groupId: 'g2', memberId: second.memberId, members: [] });
    assert.equal(again.body.errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'v0-2: the member error is the top-level error');
    const view = h.broker.services.groupCoordinator.inspectGroup('g2');
    assert.equal(view?.state, 'PreparingRebalance');
    assert.equal(view?.partition, partitionForGroup('g2', 5));
  } finally {
    other.destroy();
    await h.close();
  }
});

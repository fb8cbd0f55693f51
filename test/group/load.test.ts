import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ErrorCode,
  decodeGroupMetadataValue,
  decodeKey,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type CoordinatorRecord,
  type OffsetCommitResponse,
} from '../../src/group/index.js';
import { Harness } from './harness.js';

const G = 'load-group';

function must<T>(value: T | undefined, what = 'value'): T {
  assert.ok(value !== undefined, `${what} expected`);
  return value;
}

function commitOffset(h: Harness, groupId: string, topic: string, partition: number, offset: bigint, member: { generationId: number; memberId: string } = { generationId: -1, memberId: '' }): void {
  const token = h.token();
  h.core.offsetCommit(token, {
    groupId,
    ...member,
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: 1, committedMetadata: `m${offset}` }] }],
  });
  h.pump();
  const response = must(h.take(token));
  assert.equal((response.body as OffsetCommitResponse).topics[0]?.partitions[0]?.errorCode, ErrorCode.NONE);
}

/** A fresh coordinator (new clock origin, new seed) that loads what `h` wrote to the group's partition. */
function failover(h: Harness, groupId = G): Harness {
  const next = new Harness({}, 99);
  next.clock.advance(h.clock.nowMs() - next.clock.nowMs() + 5_000);
  const partition = next.core.partitionFor(groupId);
  next.core.load(partition, h.log.get(partition) ?? []);
  next.log.set(partition, [...(h.log.get(partition) ?? [])]);
  return next;
}

test('a Stable group and its offsets survive a coordinator failover through the log', () => {
  const h = new Harness().ownAll();
  const { memberIds, leaderId, generationId } = h.stableGroup(G, 3);
  commitOffset(h, G, 't', 0, 10n, { generationId, memberId: leaderId });
  commitOffset(h, G, 't', 1, 20n, { generationId, memberId: leaderId });
  commitOffset(h, G, 't', 0, 11n, { generationId, memberId: leaderId });
  const before = must(h.core.inspectGroup(G));
  const next = failover(h);
  const after = must(next.core.inspectGroup(G));
  assert.equal(after.state, 'Stable');
  assert.equal(after.generationId, before.generationId);
  assert.equal(after.leaderId, before.leaderId);
  assert.equal(after.protocolName, 'range');
  assert.deepEqual(after.members.map((m) => [m.memberId, m.assignment.toString()]), before.members.map((m) => [m.memberId, m.assignment.toString()]));
  assert.deepEqual(after.offsets, before.offsets);
  // The members carry on against the new coordinator without a rebalance.
  for (const id of memberIds) {
    assert.equal(next.heartbeat(G, id, generationId), ErrorCode.NONE);
    assert.equal(must(next.syncResponse(next.sync(G, id, generationId))).assignment.toString(), `assignment-${id}`);
  }
  const fetched = next.core.offsetFetch({ groups: [{ groupId: G, topics: null }], requireStable: true }).groups[0];
  assert.deepEqual(fetched?.topics[0]?.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.committedLeaderEpoch]), [[0, 11n, 'm11', 1], [1, 20n, 'm20', 1]]);
});

test('loaded members that never come back are expired by their session timeouts, then the group is Empty', () => {
  const h = new Harness().ownAll();
  h.stableGroup(G, 2);
  const next = failover(h);
  next.advance(10_000);
  assert.equal(next.core.inspectGroup(G)?.state, 'Empty');
  // The Empty generation was persisted too.
  const last = (next.log.get(next.core.partitionFor(G)) ?? []).at(-1) as CoordinatorRecord;
  assert.deepEqual(decodeKey(last.key), { type: 'groupMetadata', group: G });
  const value = decodeGroupMetadataValue(last.value as Buffer);
  assert.equal(value.members.length, 0);
  assert.equal(value.generation, 2);
});

test('static members are restored with their instance ids and stay fenced-checked after failover', () => {
  const h = new Harness().ownAll();
  const first = must(h.joinResponse(h.join({ groupId: G, groupInstanceId: 'i0' })));
  must(h.syncResponse(h.sync(G, first.memberId, 1, [{ memberId: first.memberId, assignment: Buffer.from('A') }], 'i0')));
  const next = failover(h);
  assert.equal(next.heartbeat(G, 'zombie', 1, 'i0'), ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(next.heartbeat(G, first.memberId, 1, 'i0'), ErrorCode.NONE);
  const restarted = must(next.joinResponse(next.join({ groupId: G, groupInstanceId: 'i0' })));
  assert.equal(restarted.generationId, 1, 'static rejoin without rebalance after failover');
  assert.equal(must(next.syncResponse(next.sync(G, restarted.memberId, 1, [], 'i0'))).assignment.toString(), 'A');
});

test('replay: the last value of a key wins, tombstones delete, unknown record types are skipped', () => {
  const h = new Harness();
  const offset = (o: bigint) => encodeOffsetCommitValue({ offset: o, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: null });
  const group = (generation: number) =>
    encodeGroupMetadataValue({ protocolType: 'consumer', generation, protocol: null, leader: null, currentStateTimestamp: 1, members: [] });
  const records: CoordinatorRecord[] = [
    { key: encodeOffsetCommitKey(G, 't', 0), value: offset(1n) },
    { key: encodeOffsetCommitKey(G, 't', 1), value: offset(5n) },
    { key: encodeGroupMetadataKey(G), value: group(3) },
    { key: encodeOffsetCommitKey(G, 't', 0), value: offset(2n) },
    { key: encodeOffsetCommitKey(G, 't', 1), value: null },
    // Key version 10: a share group record (KIP-932), not loaded by this coordinator.
    { key: Buffer.from([0, 10, 0, 1, 0x67]), value: Buffer.from([1, 2, 3]) },
    { key: encodeGroupMetadataKey(G), value: group(4) },
    { key: encodeGroupMetadataKey('deleted'), value: group(1) },
    { key: encodeOffsetCommitKey('deleted', 't', 0), value: offset(1n) },
    { key: encodeOffsetCommitKey('deleted', 't', 0), value: null },
    { key: encodeGroupMetadataKey('deleted'), value: null },
  ];
  const partition = h.core.partitionFor(G);
  const forPartition = records.filter((r) => {
    const key = decodeKey(r.key);
    return key.type === 'unknown' || h.core.partitionFor(key.group) === partition;
  });
  h.core.beginLoad(partition);
  // Replay may come in pieces while the log is read.
  h.core.replay(partition, forPartition.slice(0, 3));
  assert.equal(h.core.describeGroups([G])[0]?.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  h.core.replay(partition, forPartition.slice(3));
  h.core.completeLoad(partition);
  const view = must(h.core.inspectGroup(G));
  assert.equal(view.state, 'Empty');
  assert.equal(view.generationId, 4);
  assert.deepEqual(view.offsets.map((o) => [o.topic, o.partition, o.offset]), [['t', 0, 2n]]);
  assert.equal(h.core.inspectGroup('deleted'), undefined);
});

test('offsets without group metadata load as an Empty standalone group', () => {
  const h = new Harness().ownAll();
  commitOffset(h, G, 't', 3, 33n);
  const next = failover(h);
  const view = must(next.core.inspectGroup(G));
  assert.equal(view.state, 'Empty');
  assert.equal(view.protocolType, null);
  assert.deepEqual(view.offsets.map((o) => o.offset), [33n]);
});

test('a deleted group stays deleted after failover', () => {
  const h = new Harness().ownAll();
  commitOffset(h, G, 't', 0, 1n);
  const token = h.token();
  h.core.deleteGroups(token, [G]);
  h.pump();
  assert.deepEqual(h.take(token)?.body, { results: [{ groupId: G, errorCode: 0 }] });
  const next = failover(h);
  assert.equal(next.core.inspectGroup(G), undefined);
  assert.equal(next.core.offsetFetch({ groups: [{ groupId: G, topics: [{ name: 't', partitionIndexes: [0] }] }], requireStable: false }).groups[0]?.topics[0]?.partitions[0]?.committedOffset, -1n);
});

test('unload: waiting commits and syncs are answered NOT_COORDINATOR; late append completions are ignored', () => {
  const h = new Harness().ownAll();
  const [a, b] = h.joinAll(G, 2) as [{ memberId: string; token: number }, { memberId: string; token: number }];
  const ra = must(h.joinResponse(a.token));
  must(h.joinResponse(b.token));
  const follower = ra.leader === a.memberId ? b.memberId : a.memberId;
  const waitingSync = h.sync(G, follower, 1);
  h.autoComplete = false;
  const commitToken = h.token();
  h.core.offsetCommit(commitToken, { groupId: 'standalone', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }] });
  h.pump();
  h.core.unload(h.core.partitionFor(G));
  h.core.unload(h.core.partitionFor('standalone'));
  h.pump();
  assert.equal(must(h.syncResponse(waitingSync)).errorCode, ErrorCode.NOT_COORDINATOR);
  const commit = must(h.take(commitToken)).body as OffsetCommitResponse;
  assert.equal(commit.topics[0]?.partitions[0]?.errorCode, ErrorCode.NOT_COORDINATOR);
  h.releaseHeld();
  assert.equal(h.responses.size, 0, 'nothing answered twice');
  assert.equal(h.core.ownedPartitions().some((p) => p.partition === h.core.partitionFor(G)), false);
});

test('ownership bookkeeping: loading then active, replay needs beginLoad, stale append ids are ignored', () => {
  const h = new Harness();
  const p = h.core.partitionFor(G);
  assert.throws(() => h.core.replay(p, []));
  assert.throws(() => h.core.beginLoad(h.core.config.offsetsTopicNumPartitions));
  h.core.beginLoad(p);
  assert.deepEqual(h.core.ownedPartitions(), [{ partition: p, status: 'loading' }]);
  h.core.completeLoad(p);
  assert.deepEqual(h.core.ownedPartitions(), [{ partition: p, status: 'active' }]);
  h.core.completeAppend(12345, ErrorCode.NONE);
  assert.deepEqual(h.core.drainOutputs(), []);
  // The retention check is always armed; a driver can sleep until the next deadline.
  assert.equal(h.core.nextDeadlineMs(), h.clock.monotonicMs() + h.core.config.offsetsRetentionCheckIntervalMs);
  // Becoming leader again while active reloads from scratch.
  commitOffset(h, G, 't', 0, 5n);
  h.core.load(p, []);
  assert.equal(h.core.inspectGroup(G), undefined);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvariantError } from '../../src/common/assert.js';
import {
  ErrorCode,
  type AppendRequest,
  decodeKey,
  decodeOffsetCommitValue,
  encodeSubscription,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
  type OffsetDeleteResponse,
  type OffsetFetchResponseGroup,
} from '../../src/group/index.js';
import { Harness } from './harness.js';

const G = 'offsets-group';
const RETENTION_MS = 10_080 * 60_000;

function commitRequest(partitions: { topic: string; partition: number; offset: bigint; metadata?: string | null }[], member: Partial<OffsetCommitRequest> = {}): OffsetCommitRequest {
  const topics = new Map<string, OffsetCommitRequest['topics'][number]>();
  for (const p of partitions) {
    const t = topics.get(p.topic) ?? { name: p.topic, partitions: [] };
    t.partitions.push({ partitionIndex: p.partition, committedOffset: p.offset, committedLeaderEpoch: 3, committedMetadata: p.metadata === undefined ? 'meta' : p.metadata });
    topics.set(p.topic, t);
  }
  return { groupId: G, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [...topics.values()], ...member };
}

function commit(h: Harness, request: OffsetCommitRequest): number {
  const token = h.token();
  h.core.offsetCommit(token, request);
  h.pump();
  return token;
}

function commitCodes(h: Harness, token: number): number[] {
  const response = h.take(token);
  assert.ok(response, 'commit answered');
  assert.equal(response.api, 'offsetCommit');
  return (response.body as OffsetCommitResponse).topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

function fetchOne(h: Harness, topics: { name: string; partitionIndexes: number[] }[] | null, requireStable = false, groupId = G): OffsetFetchResponseGroup {
  const group = h.core.offsetFetch({ groups: [{ groupId, topics }], requireStable }).groups[0];
  assert.ok(group);
  return group;
}

function offsetOf(h: Harness, topic: string, partition: number, requireStable = false): { offset: bigint; metadata: string | null; errorCode: number; epoch: number } {
  const p = fetchOne(h, [{ name: topic, partitionIndexes: [partition] }], requireStable).topics[0]?.partitions[0];
  assert.ok(p);
  return { offset: p.committedOffset, metadata: p.metadata, errorCode: p.errorCode, epoch: p.committedLeaderEpoch };
}

test('a standalone commit (generation -1) creates the group; offsets and metadata strings round-trip', () => {
  const h = new Harness().ownAll();
  const metadata = ['', 'plain', 'ünïcødé ✓ 😀', 'x'.repeat(4_096)];
  const token = commit(h, commitRequest(metadata.map((m, i) => ({ topic: 't', partition: i, offset: BigInt(100 + i), metadata: m }))));
  assert.deepEqual(commitCodes(h, token), [0, 0, 0, 0]);
  for (const [i, m] of metadata.entries()) assert.deepEqual(offsetOf(h, 't', i), { offset: BigInt(100 + i), metadata: m, errorCode: 0, epoch: 3 });
  // A null metadata string is stored as "", as Kafka does.
  commitCodes(h, commit(h, commitRequest([{ topic: 't', partition: 9, offset: 5n, metadata: null }])));
  assert.equal(offsetOf(h, 't', 9).metadata, '');
  assert.deepEqual(offsetOf(h, 'unknown', 0), { offset: -1n, metadata: '', errorCode: 0, epoch: -1 });
  assert.equal(h.core.inspectGroup(G)?.state, 'Empty');
});

test('the offset records written are Kafka OffsetCommitKey/Value and carry the commit time', () => {
  const h = new Harness().ownAll();
  commitCodes(h, commit(h, commitRequest([{ topic: 't', partition: 1, offset: 42n, metadata: 'm' }])));
  const records = h.log.get(h.core.partitionFor(G)) ?? [];
  assert.equal(records.length, 1);
  const record = records[0] as { key: Buffer; value: Buffer };
  assert.deepEqual(decodeKey(record.key), { type: 'offsetCommit', group: G, topic: 't', partition: 1 });
  assert.deepEqual(decodeOffsetCommitValue(record.value), { offset: 42n, leaderEpoch: 3, metadata: 'm', commitTimestamp: h.clock.nowMs(), expireTimestamp: null });
});

test('OffsetCommit is acknowledged only once durable; require_stable sees UNSTABLE_OFFSET_COMMIT meanwhile', () => {
  const h = new Harness().ownAll();
  commitCodes(h, commit(h, commitRequest([{ topic: 't', partition: 0, offset: 1n }])));
  h.autoComplete = false;
  const token = commit(h, commitRequest([{ topic: 't', partition: 0, offset: 2n }]));
  assert.equal(h.take(token), undefined);
  assert.equal(offsetOf(h, 't', 0).offset, 1n, 'the pending commit is not visible');
  assert.equal(offsetOf(h, 't', 0, true).errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT);
  h.releaseHeld();
  assert.deepEqual(commitCodes(h, token), [0]);
  assert.deepEqual(offsetOf(h, 't', 0, true), { offset: 2n, metadata: 'meta', errorCode: 0, epoch: 3 });
});

test('a failed offset append is reported with Kafka’s mapping and the offset is not applied', () => {
  const h = new Harness().ownAll();
  h.autoComplete = false;
  const token = commit(h, commitRequest([{ topic: 't', partition: 0, offset: 7n }]));
  h.releaseHeld(ErrorCode.RECORD_LIST_TOO_LARGE);
  assert.deepEqual(commitCodes(h, token), [ErrorCode.INVALID_COMMIT_OFFSET_SIZE]);
  assert.equal(offsetOf(h, 't', 0).offset, -1n);
  const token2 = commit(h, commitRequest([{ topic: 't', partition: 0, offset: 7n }]));
  h.releaseHeld(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.deepEqual(commitCodes(h, token2), [ErrorCode.NOT_COORDINATOR]);
});

test('OFFSET_METADATA_TOO_LARGE and UNKNOWN_TOPIC_OR_PARTITION per partition; the rest commits', () => {
  const h = new Harness({}, 1, (topic, partition) => topic !== 'missing' && partition < 10).ownAll();
  const token = commit(h, commitRequest([
    { topic: 't', partition: 0, offset: 1n, metadata: 'x'.repeat(4_097) },
    { topic: 't', partition: 1, offset: 1n },
    { topic: 't', partition: 10, offset: 1n },
    { topic: 'missing', partition: 0, offset: 1n },
  ]));
  assert.deepEqual(commitCodes(h, token), [ErrorCode.OFFSET_METADATA_TOO_LARGE, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  assert.equal(offsetOf(h, 't', 1).offset, 1n);
  assert.equal(offsetOf(h, 't', 0).offset, -1n);
});

test('member commits: generation, membership, fencing and rebalance state are checked', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 2);
  const [a, b] = memberIds as [string, string];
  const one = [{ topic: 't', partition: 0, offset: 5n }];
  assert.deepEqual(commitCodes(h, commit(h, commitRequest(one, { generationId: 1, memberId: a }))), [0]);
  assert.deepEqual(commitCodes(h, commit(h, commitRequest(one, { generationId: 0, memberId: a }))), [ErrorCode.ILLEGAL_GENERATION]);
  assert.deepEqual(commitCodes(h, commit(h, commitRequest(one, { generationId: 1, memberId: 'x' }))), [ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.deepEqual(commitCodes(h, commit(h, commitRequest(one, { generationId: -1, memberId: '' }))), [ErrorCode.UNKNOWN_MEMBER_ID], 'admin commits need an Empty group');
  assert.deepEqual(commitCodes(h, commit(h, commitRequest(one, { groupId: 'gone', generationId: 4, memberId: a }))), [ErrorCode.ILLEGAL_GENERATION]);
  assert.deepEqual(commitCodes(h, commit(h, commitRequest(one, { generationId: -1, memberId: a }))), [ErrorCode.ILLEGAL_GENERATION], 'a member must give its generation');
  // PreparingRebalance still accepts commits of the current generation (the assignment is still owned).
  h.joinNew(G);
  assert.equal(h.core.inspectGroup(G)?.state, 'PreparingRebalance');
  assert.deepEqual(commitCodes(h, commit(h, commitRequest(one, { generationId: 1, memberId: b }))), [0]);
  const ja = h.join({ groupId: G, memberId: a });
  const jb = h.join({ groupId: G, memberId: b });
  h.joinResponse(ja);
  h.joinResponse(jb);
  assert.equal(h.core.inspectGroup(G)?.state, 'CompletingRebalance');
  assert.deepEqual(commitCodes(h, commit(h, commitRequest(one, { generationId: 2, memberId: a }))), [ErrorCode.REBALANCE_IN_PROGRESS]);
});

test('FENCED_INSTANCE_ID for a commit from a replaced static member', () => {
  const h = new Harness().ownAll();
  const first = h.joinResponse(h.join({ groupId: G, groupInstanceId: 'i' }));
  const code = commitCodes(h, commit(h, commitRequest([{ topic: 't', partition: 0, offset: 1n }], { generationId: 1, memberId: 'stale', groupInstanceId: 'i' })));
  assert.deepEqual(code, [ErrorCode.FENCED_INSTANCE_ID]);
});

test('OffsetFetch: all topics (null), batched groups, an unowned group, a missing group', () => {
  const h = new Harness().ownAll();
  commitCodes(h, commit(h, commitRequest([{ topic: 'b', partition: 1, offset: 11n }, { topic: 'a', partition: 2, offset: 2n }, { topic: 'a', partition: 0, offset: 0n }])));
  const all = fetchOne(h, null);
  assert.deepEqual(all.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.committedOffset])]), [['a', [[0, 0n], [2, 2n]]], ['b', [[1, 11n]]]]);
  const other = 'not-owned-group';
  h.core.unload(h.core.partitionFor(other));
  const batch = h.core.offsetFetch({ groups: [{ groupId: G, topics: [{ name: 'b', partitionIndexes: [1] }] }, { groupId: other, topics: null }, { groupId: 'missing', topics: [{ name: 'b', partitionIndexes: [1] }] }], requireStable: true });
  assert.equal(batch.groups[0]?.topics[0]?.partitions[0]?.committedOffset, 11n);
  assert.equal(batch.groups[1]?.errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(batch.groups[2]?.errorCode, ErrorCode.NONE);
  assert.equal(batch.groups[2]?.topics[0]?.partitions[0]?.committedOffset, -1n);
  assert.deepEqual(fetchOne(h, null, false, 'missing').topics, []);
});

test('KIP-211: a standalone group’s offsets expire retention after their commit, then the group goes', () => {
  const h = new Harness({ offsetsRetentionCheckIntervalMs: 60_000 }).ownAll();
  commitCodes(h, commit(h, commitRequest([{ topic: 't', partition: 0, offset: 1n }])));
  h.advance(RETENTION_MS / 2);
  commitCodes(h, commit(h, commitRequest([{ topic: 't', partition: 1, offset: 1n }])));
  h.advance(RETENTION_MS / 2);
  assert.equal(offsetOf(h, 't', 0).offset, -1n, 'expired');
  assert.equal(offsetOf(h, 't', 1).offset, 1n, 'younger, kept');
  h.advance(RETENTION_MS / 2);
  assert.equal(h.core.inspectGroup(G), undefined, 'Empty with no offsets: removed');
  const keys = (h.log.get(h.core.partitionFor(G)) ?? []).filter((r) => r.value === null).map((r) => decodeKey(r.key));
  assert.deepEqual(keys, [
    { type: 'offsetCommit', group: G, topic: 't', partition: 0 },
    { type: 'offsetCommit', group: G, topic: 't', partition: 1 },
    { type: 'groupMetadata', group: G },
  ]);
});

test('KIP-211: an Empty group’s offsets expire retention after it became Empty, however old the commits', () => {
  // One-minute retention so the member can heartbeat through it in one-second steps.
  const h = new Harness({ offsetsRetentionMinutes: 1, offsetsRetentionCheckIntervalMs: 1_000 }).ownAll();
  const { memberIds } = h.stableGroup(G, 1, { protocols: [{ name: 'range', metadata: encodeSubscription(['t']) }] });
  const memberId = memberIds[0] as string;
  commitCodes(h, commit(h, commitRequest([{ topic: 't', partition: 0, offset: 9n }], { generationId: 1, memberId })));
  // The member keeps consuming well past the retention: a subscribed topic's offsets never expire.
  for (let i = 0; i < 120; i++) {
    h.advance(1_000);
    assert.equal(h.heartbeat(G, memberId, 1), ErrorCode.NONE);
  }
  assert.equal(offsetOf(h, 't', 0).offset, 9n);
  h.core.leaveGroup({ groupId: G, members: [{ memberId, groupInstanceId: null, reason: null }] });
  h.pump();
  assert.equal(h.core.inspectGroup(G)?.state, 'Empty');
  h.advance(58_000);
  assert.equal(offsetOf(h, 't', 0).offset, 9n);
  h.advance(2_000);
  assert.equal(offsetOf(h, 't', 0).offset, -1n);
  assert.equal(h.core.inspectGroup(G), undefined);
});

test('KIP-211: a Stable consumer group loses offsets of topics it no longer subscribes to', () => {
  const h = new Harness({ offsetsRetentionMinutes: 1, offsetsRetentionCheckIntervalMs: 1_000 }).ownAll();
  const { memberIds } = h.stableGroup(G, 1, { protocols: [{ name: 'range', metadata: encodeSubscription(['t']) }] });
  const memberId = memberIds[0] as string;
  commitCodes(h, commit(h, commitRequest([{ topic: 't', partition: 0, offset: 1n }, { topic: 'old', partition: 0, offset: 1n }], { generationId: 1, memberId })));
  for (let i = 0; i < 61; i++) {
    h.advance(1_000);
    assert.equal(h.heartbeat(G, memberId, 1), ErrorCode.NONE);
  }
  assert.equal(offsetOf(h, 't', 0).offset, 1n);
  assert.equal(offsetOf(h, 'old', 0).offset, -1n);
});

test('an explicit retention_time_ms (OffsetCommit v2-4) is honoured and kept in a v1 value', () => {
  const h = new Harness({ offsetsRetentionCheckIntervalMs: 1_000 }).ownAll();
  commitCodes(h, commit(h, commitRequest([{ topic: 't', partition: 0, offset: 1n }], { retentionTimeMs: 5_000 })));
  const value = (h.log.get(h.core.partitionFor(G)) ?? [])[0]?.value as Buffer;
  assert.equal(value.readInt16BE(0), 1);
  h.advance(4_000);
  assert.equal(offsetOf(h, 't', 0).offset, 1n);
  h.advance(1_000);
  assert.equal(offsetOf(h, 't', 0).offset, -1n);
});

test('DeleteGroups: NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, and tombstones for an Empty group, acknowledged when durable', () => {
  const h = new Harness().ownAll();
  h.stableGroup('busy', 1);
  commitCodes(h, commit(h, commitRequest([{ topic: 't', partition: 0, offset: 1n }, { topic: 't', partition: 1, offset: 1n }])));
  h.autoComplete = false;
  const token = h.token();
  h.core.deleteGroups(token, [G, 'busy', 'nope']);
  h.pump();
  assert.equal(h.take(token), undefined);
  h.releaseHeld();
  assert.deepEqual(h.take(token)?.body, { results: [{ groupId: G, errorCode: 0 }, { groupId: 'busy', errorCode: ErrorCode.NON_EMPTY_GROUP }, { groupId: 'nope', errorCode: ErrorCode.GROUP_ID_NOT_FOUND }] });
  const tombstones = (h.log.get(h.core.partitionFor(G)) ?? []).filter((r) => r.value === null).map((r) => decodeKey(r.key).type);
  assert.deepEqual(tombstones, ['offsetCommit', 'offsetCommit', 'groupMetadata']);
  assert.equal(offsetOf(h, 't', 0).offset, -1n);
});

test('OffsetDelete: GROUP_ID_NOT_FOUND, GROUP_SUBSCRIBED_TO_TOPIC, NON_EMPTY_GROUP, and deletion when unused', () => {
  const h = new Harness().ownAll();
  const del = (groupId: string, topics: { name: string; partitions: { partitionIndex: number }[] }[]): OffsetDeleteResponse => {
    const token = h.token();
    h.core.offsetDelete(token, { groupId, topics });
    h.pump();
    const response = h.take(token);
    assert.ok(response);
    return response.body as OffsetDeleteResponse;
  };
  assert.equal(del('nope', []).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  const { memberIds } = h.stableGroup(G, 1, { protocols: [{ name: 'range', metadata: encodeSubscription(['t']) }] });
  const member = { generationId: 1, memberId: memberIds[0] as string };
  commitCodes(h, commit(h, commitRequest([{ topic: 't', partition: 0, offset: 1n }, { topic: 'u', partition: 0, offset: 1n }], member)));
  const r = del(G, [{ name: 't', partitions: [{ partitionIndex: 0 }] }, { name: 'u', partitions: [{ partitionIndex: 0 }] }]);
  assert.deepEqual(r, { errorCode: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC }] }, { name: 'u', partitions: [{ partitionIndex: 0, errorCode: 0 }] }] });
  assert.equal(offsetOf(h, 'u', 0).offset, -1n);
  assert.equal(offsetOf(h, 't', 0).offset, 1n);
  // A group of another protocol type with members cannot have offsets deleted at all.
  h.stableGroup('connect-group', 1, { protocolType: 'connect' });
  assert.equal(del('connect-group', [{ name: 't', partitions: [{ partitionIndex: 0 }] }]).errorCode, ErrorCode.NON_EMPTY_GROUP);
  // Once Empty, subscribed or not, offsets go.
  h.core.leaveGroup({ groupId: G, members: [{ memberId: memberIds[0] as string, groupInstanceId: null, reason: null }] });
  h.pump();
  assert.equal(del(G, [{ name: 't', partitions: [{ partitionIndex: 0 }] }]).topics[0]?.partitions[0]?.errorCode, 0);
  assert.equal(offsetOf(h, 't', 0).offset, -1n);
  assert.equal(del('', []).errorCode, ErrorCode.INVALID_GROUP_ID);
});

test('offset APIs accept the empty group id, as Kafka does for compatibility', () => {
  const h = new Harness().ownAll();
  const token = commit(h, { ...commitRequest([{ topic: 't', partition: 0, offset: 3n }]), groupId: '' });
  assert.deepEqual(commitCodes(h, token), [0]);
  assert.equal(fetchOne(h, null, false, '').topics[0]?.partitions[0]?.committedOffset, 3n);
});

test('appends of a partition become durable in order; a driver that breaks this is stopped loudly', () => {
  const h = new Harness().ownAll();
  h.autoComplete = false;
  commit(h, commitRequest([{ topic: 't', partition: 0, offset: 1n }]));
  commit(h, commitRequest([{ topic: 't', partition: 0, offset: 2n }]));
  const second = h.heldAppends[1] as AppendRequest;
  assert.throws(() => h.core.completeAppend(second.appendId, ErrorCode.NONE), InvariantError);
  // A failure may be reported early (the earlier append can still succeed).
  const h2 = new Harness().ownAll();
  h2.autoComplete = false;
  const t1 = commit(h2, commitRequest([{ topic: 't', partition: 0, offset: 1n }]));
  const t2 = commit(h2, commitRequest([{ topic: 't', partition: 0, offset: 2n }]));
  const [a, b] = h2.heldAppends as [AppendRequest, AppendRequest];
  h2.core.completeAppend(b.appendId, ErrorCode.MESSAGE_TOO_LARGE);
  h2.core.completeAppend(a.appendId, ErrorCode.NONE);
  h2.pump();
  assert.deepEqual(commitCodes(h2, t2), [ErrorCode.INVALID_COMMIT_OFFSET_SIZE]);
  assert.deepEqual(commitCodes(h2, t1), [0]);
  assert.equal(offsetOf(h2, 't', 0).offset, 1n);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, type JoinGroupResponse } from '../../src/group/index.js';
import { Harness, joinRequest } from './harness.js';

const G = 'group-a';

function must<T>(value: T | undefined, what = 'value'): T {
  assert.ok(value !== undefined, `${what} expected`);
  return value;
}

test('Empty -> PreparingRebalance -> CompletingRebalance -> Stable for one member', () => {
  const h = new Harness().ownAll();
  const { token, memberId } = h.joinNew(G, { clientId: 'c1' });
  assert.match(memberId, /^c1-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const join = must(h.joinResponse(token));
  assert.equal(join.errorCode, ErrorCode.NONE);
  assert.equal(join.generationId, 1);
  assert.equal(join.leader, memberId);
  assert.equal(join.protocolName, 'range');
  assert.equal(join.protocolType, 'consumer');
  assert.deepEqual(join.members.map((m) => m.memberId), [memberId]);
  assert.equal(h.core.inspectGroup(G)?.state, 'CompletingRebalance');
  const sync = must(h.syncResponse(h.sync(G, memberId, 1, [{ memberId, assignment: Buffer.from('A') }])));
  assert.equal(sync.errorCode, ErrorCode.NONE);
  assert.equal(sync.assignment.toString(), 'A');
  assert.equal(h.core.inspectGroup(G)?.state, 'Stable');
  assert.equal(h.heartbeat(G, memberId, 1), ErrorCode.NONE);
});

test('KIP-394: MEMBER_ID_REQUIRED hands out an id; the pending member holds the rebalance until it rejoins', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 1);
  const first = must(h.joinResponse(h.join({ groupId: G })));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.notEqual(first.memberId, '');
  assert.deepEqual(h.core.inspectGroup(G)?.pendingMemberIds, [first.memberId]);
  // The existing member rejoins; the rebalance cannot complete while a pending member may still come.
  assert.equal(h.heartbeat(G, memberIds[0] as string, 1), ErrorCode.NONE);
  const rejoin = h.join({ groupId: G, memberId: memberIds[0] as string, protocols: [{ name: 'range', metadata: Buffer.from('changed') }] });
  assert.equal(h.joinResponse(rejoin), undefined);
  const second = h.join({ groupId: G, memberId: first.memberId });
  const a = must(h.joinResponse(rejoin));
  const b = must(h.joinResponse(second));
  assert.equal(a.generationId, 2);
  assert.equal(b.generationId, 2);
  assert.equal(b.memberId, first.memberId);
  assert.deepEqual(h.core.inspectGroup(G)?.pendingMemberIds, []);
});

test('KIP-394: a pending member that never rejoins expires after its session timeout', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 1);
  const first = must(h.joinResponse(h.join({ groupId: G, sessionTimeoutMs: 10_000 })));
  const rejoin = h.join({ groupId: G, memberId: memberIds[0] as string, protocols: [{ name: 'range', metadata: Buffer.from('changed') }] });
  h.advance(9_999);
  assert.equal(h.joinResponse(rejoin), undefined);
  h.advance(1);
  const r = must(h.joinResponse(rejoin));
  assert.equal(r.generationId, 2);
  assert.deepEqual(r.members.map((m) => m.memberId), memberIds);
  // The id expired: using it now is an unknown member.
  assert.equal(must(h.joinResponse(h.join({ groupId: G, memberId: first.memberId }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test('JoinGroup v0-3 (requireKnownMemberId false) joins in one step', () => {
  const h = new Harness().ownAll();
  const r = must(h.joinResponse(h.join({ groupId: G, requireKnownMemberId: false })));
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.generationId, 1);
  assert.equal(r.leader, r.memberId);
});

test('a JoinGroup v0 rebalance timeout of -1 falls back to the session timeout', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 2, { rebalanceTimeoutMs: -1, sessionTimeoutMs: 7_000 });
  const [a, b] = memberIds as [string, string];
  h.join({ groupId: G, memberId: a, rebalanceTimeoutMs: -1, sessionTimeoutMs: 7_000, protocols: [{ name: 'range', metadata: Buffer.from('x') }] });
  // b heartbeats (its session stays alive) but never rejoins: the rebalance waits 7 s for it.
  for (let i = 0; i < 6; i++) {
    h.advance(1_000);
    assert.equal(h.heartbeat(G, b, 1), ErrorCode.REBALANCE_IN_PROGRESS);
  }
  assert.equal(h.core.inspectGroup(G)?.state, 'PreparingRebalance');
  h.advance(1_000);
  assert.equal(h.core.inspectGroup(G)?.state, 'CompletingRebalance');
  assert.deepEqual(h.core.inspectGroup(G)?.members.map((m) => m.memberId), [a]);
});

test('Stable -> PreparingRebalance on a new member; heartbeats say REBALANCE_IN_PROGRESS until all rejoin', () => {
  const h = new Harness().ownAll();
  const { memberIds, leaderId } = h.stableGroup(G, 2);
  const newcomer = h.joinNew(G);
  assert.equal(h.core.inspectGroup(G)?.state, 'PreparingRebalance');
  for (const id of memberIds) assert.equal(h.heartbeat(G, id, 1), ErrorCode.REBALANCE_IN_PROGRESS);
  // SyncGroup of the old generation is refused with the generation error first.
  assert.equal(must(h.syncResponse(h.sync(G, memberIds[0] as string, 1))).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  const rejoins = memberIds.map((memberId) => h.join({ groupId: G, memberId }));
  const responses = [...rejoins, newcomer.token].map((t) => must(h.joinResponse(t)));
  for (const r of responses) assert.equal(r.generationId, 2);
  const leaderResponse = responses.find((r) => r.memberId === leaderId) as JoinGroupResponse;
  assert.equal(leaderResponse.members.length, 3, 'the leader gets every member');
  for (const r of responses) if (r.memberId !== leaderId) assert.equal(r.members.length, 0);
  assert.equal(h.core.inspectGroup(G)?.state, 'CompletingRebalance');
});

test('CompletingRebalance -> PreparingRebalance: waiting SyncGroups are answered REBALANCE_IN_PROGRESS', () => {
  const h = new Harness().ownAll();
  const [a, b] = h.joinAll(G, 2) as [{ memberId: string; token: number }, { memberId: string; token: number }];
  const ra = must(h.joinResponse(a.token));
  must(h.joinResponse(b.token));
  const follower = ra.leader === a.memberId ? b.memberId : a.memberId;
  const waiting = h.sync(G, follower, 1);
  assert.equal(h.syncResponse(waiting), undefined, 'the follower waits for the leader');
  h.joinNew(G);
  assert.equal(must(h.syncResponse(waiting)).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(h.core.inspectGroup(G)?.state, 'PreparingRebalance');
});

test('a lost JoinGroup response is answered again in CompletingRebalance; the leader again gets the members', () => {
  const h = new Harness().ownAll();
  const a = h.joinNew(G);
  const first = must(h.joinResponse(a.token));
  const again = must(h.joinResponse(h.join({ groupId: G, memberId: a.memberId })));
  assert.equal(again.generationId, first.generationId);
  assert.equal(again.members.length, 1);
  assert.equal(h.core.inspectGroup(G)?.state, 'CompletingRebalance');
});

test('a follower rejoining a Stable group with the same metadata gets the current generation, no rebalance', () => {
  const h = new Harness().ownAll();
  const { memberIds, leaderId } = h.stableGroup(G, 2);
  const follower = memberIds.find((m) => m !== leaderId) as string;
  const r = must(h.joinResponse(h.join({ groupId: G, memberId: follower })));
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.generationId, 1);
  assert.equal(r.leader, leaderId);
  assert.equal(h.core.inspectGroup(G)?.state, 'Stable');
});

test('KIP-429: the leader rejoining a Stable group starts the follow-up rebalance; metadata passes through', () => {
  const h = new Harness().ownAll();
  const sticky = (owned: string) => [{ name: 'cooperative-sticky', metadata: Buffer.from(owned) }];
  const a = h.joinNew(G, { protocols: sticky('a:none') });
  const ra = must(h.joinResponse(a.token));
  must(h.syncResponse(h.sync(G, a.memberId, 1, [{ memberId: a.memberId, assignment: Buffer.from('t-0,t-1') }])));
  // A second member joins: generation 2, where the leader revokes t-1 (cooperative first round).
  const b = h.joinNew(G, { protocols: sticky('b:none') });
  const a2 = h.join({ groupId: G, memberId: a.memberId, protocols: sticky('a:t-0,t-1') });
  const leaderJoin = must(h.joinResponse(a2));
  must(h.joinResponse(b.token));
  assert.equal(leaderJoin.protocolName, 'cooperative-sticky');
  assert.deepEqual(leaderJoin.members.map((m) => m.metadata.toString()).sort(), ['a:t-0,t-1', 'b:none']);
  must(h.syncResponse(h.sync(G, a.memberId, 2, [{ memberId: a.memberId, assignment: Buffer.from('t-0') }, { memberId: b.memberId, assignment: Buffer.alloc(0) }])));
  must(h.syncResponse(h.sync(G, b.memberId, 2)));
  assert.equal(h.core.inspectGroup(G)?.state, 'Stable');
  // Second round: the leader rejoins the Stable group, which must rebalance (generation 3).
  const a3 = h.join({ groupId: G, memberId: a.memberId, protocols: sticky('a:t-0') });
  assert.equal(h.core.inspectGroup(G)?.state, 'PreparingRebalance');
  assert.equal(h.heartbeat(G, b.memberId, 2), ErrorCode.REBALANCE_IN_PROGRESS);
  const b3 = h.join({ groupId: G, memberId: b.memberId, protocols: sticky('b:none') });
  assert.equal(must(h.joinResponse(a3)).generationId, 3);
  assert.equal(must(h.joinResponse(b3)).generationId, 3);
  assert.equal(ra.leader, a.memberId);
});

test('session timeout removes a silent member and triggers a rebalance', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 2);
  const [alive, silent] = memberIds as [string, string];
  for (let i = 0; i < 9; i++) {
    h.advance(1_000);
    assert.equal(h.heartbeat(G, alive, 1), ErrorCode.NONE);
  }
  h.advance(1_000);
  assert.equal(h.core.inspectGroup(G)?.state, 'PreparingRebalance');
  assert.equal(h.heartbeat(G, alive, 1), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(h.heartbeat(G, silent, 1), ErrorCode.UNKNOWN_MEMBER_ID);
  const r = must(h.joinResponse(h.join({ groupId: G, memberId: alive })));
  assert.equal(r.generationId, 2);
  assert.deepEqual(r.members.map((m) => m.memberId), [alive]);
});

test('rebalance timeout removes dynamic members that did not rejoin', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 3);
  const [a, b, c] = memberIds as [string, string, string];
  const ja = h.join({ groupId: G, memberId: a, protocols: [{ name: 'range', metadata: Buffer.from('new') }] });
  const jb = h.join({ groupId: G, memberId: b });
  // c keeps heartbeating (so its session never expires) but never rejoins.
  for (let i = 0; i < 29; i++) {
    h.advance(1_000);
    assert.equal(h.heartbeat(G, c, 1), ErrorCode.REBALANCE_IN_PROGRESS);
  }
  assert.equal(h.joinResponse(ja), undefined);
  h.advance(1_000);
  const r = must(h.joinResponse(ja));
  assert.equal(r.generationId, 2);
  assert.deepEqual(new Set(r.members.map((m) => m.memberId)), new Set([a, b]));
  must(h.joinResponse(jb));
  assert.equal(h.heartbeat(G, c, 1), ErrorCode.UNKNOWN_MEMBER_ID);
});

test('a member that got its JoinGroup response but never syncs is removed after the rebalance timeout', () => {
  const h = new Harness().ownAll();
  const [a, b] = h.joinAll(G, 2) as [{ memberId: string; token: number }, { memberId: string; token: number }];
  const ra = must(h.joinResponse(a.token));
  must(h.joinResponse(b.token));
  const [leader, follower] = ra.leader === a.memberId ? [a.memberId, b.memberId] : [b.memberId, a.memberId];
  must(h.syncResponse(h.sync(G, leader, 1, [{ memberId: leader, assignment: Buffer.from('L') }])));
  assert.equal(h.core.inspectGroup(G)?.state, 'Stable');
  for (let i = 0; i < 30; i++) {
    h.advance(1_000);
    h.heartbeat(G, leader, 1);
    h.heartbeat(G, follower, 1);
  }
  assert.equal(h.core.inspectGroup(G)?.members.some((m) => m.memberId === follower), false);
  assert.equal(h.heartbeat(G, leader, 1), ErrorCode.REBALANCE_IN_PROGRESS);
});

test('PreparingRebalance -> Empty when every member leaves; Empty -> Dead on DeleteGroups', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 2);
  h.joinNew(G);
  assert.equal(h.core.inspectGroup(G)?.state, 'PreparingRebalance');
  const pendingJoin = h.core.inspectGroup(G)?.members.find((m) => m.awaitingJoin)?.memberId as string;
  const leave = h.core.leaveGroup({ groupId: G, members: [...memberIds, pendingJoin].map((memberId) => ({ memberId, groupInstanceId: null, reason: 'bye' })) });
  h.pump();
  assert.equal(leave.errorCode, ErrorCode.NONE);
  assert.deepEqual(leave.members.map((m) => m.errorCode), [0, 0, 0]);
  const view = must(h.core.inspectGroup(G));
  assert.equal(view.state, 'Empty');
  // Once the two old members left, the newcomer alone completed generation 2; its leaving then
  // completed generation 3 with nobody: Empty.
  assert.equal(view.generationId, 3);
  const token = h.token();
  h.core.deleteGroups(token, [G]);
  h.pump();
  assert.deepEqual(h.take(token)?.body, { results: [{ groupId: G, errorCode: ErrorCode.NONE }] });
  assert.equal(h.core.inspectGroup(G), undefined);
  assert.equal(h.core.describeGroups([G])[0]?.groupState, 'Dead');
});

test('Stable -> PreparingRebalance -> Empty when the last member leaves', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 1);
  h.core.leaveGroup({ groupId: G, members: [{ memberId: memberIds[0] as string, groupInstanceId: null, reason: null }] });
  h.pump();
  assert.equal(h.core.inspectGroup(G)?.state, 'Empty');
});

test('LeaveGroup is batched; unknown members get UNKNOWN_MEMBER_ID; the leader role moves on', () => {
  const h = new Harness().ownAll();
  const { memberIds, leaderId } = h.stableGroup(G, 3);
  const response = h.core.leaveGroup({
    groupId: G,
    members: [
      { memberId: leaderId, groupInstanceId: null, reason: null },
      { memberId: 'nobody', groupInstanceId: null, reason: null },
    ],
  });
  h.pump();
  assert.deepEqual(response.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
  const view = must(h.core.inspectGroup(G));
  assert.equal(view.state, 'PreparingRebalance');
  assert.ok(view.leaderId !== null && view.leaderId !== leaderId && memberIds.includes(view.leaderId));
  const missing = h.core.leaveGroup({ groupId: 'no-such-group', members: [{ memberId: 'x', groupInstanceId: null, reason: null }] });
  assert.deepEqual(missing, { errorCode: ErrorCode.NONE, members: [{ memberId: 'x', groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }] });
});

test('a pending (KIP-394) member may leave', () => {
  const h = new Harness().ownAll();
  const first = must(h.joinResponse(h.join({ groupId: G })));
  const response = h.core.leaveGroup({ groupId: G, members: [{ memberId: first.memberId, groupInstanceId: null, reason: null }] });
  assert.equal(response.members[0]?.errorCode, ErrorCode.NONE);
  assert.deepEqual(h.core.inspectGroup(G)?.pendingMemberIds, []);
});

test('protocol selection: only protocols every member supports; most first-choice votes wins', () => {
  const h = new Harness().ownAll();
  const p = (...names: string[]) => names.map((name) => ({ name, metadata: Buffer.from(name) }));
  const a = h.joinNew(G, { protocols: p('roundrobin', 'range') });
  const b = h.joinNew('group-b', { protocols: p('x', 'y') });
  must(h.joinResponse(a.token));
  must(h.joinResponse(b.token));
  // group-a: a new member supporting only range forces range although a prefers roundrobin.
  h.joinNew(G, { protocols: p('range') });
  const ra = must(h.joinResponse(h.join({ groupId: G, memberId: a.memberId, protocols: p('roundrobin', 'range') })));
  assert.equal(ra.errorCode, ErrorCode.NONE);
  assert.equal(ra.protocolName, 'range');
  // group-b: two votes for y against one for x.
  h.joinNew('group-b', { protocols: p('y', 'x') });
  h.joinNew('group-b', { protocols: p('y') });
  const rb = must(h.joinResponse(h.join({ groupId: 'group-b', memberId: b.memberId, protocols: p('x', 'y') })));
  assert.equal(rb.protocolName, 'y');
});

test('INCONSISTENT_GROUP_PROTOCOL: other protocol type, no common protocol, empty protocols, SyncGroup mismatch', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 1);
  const code = (extra: Parameters<Harness['join']>[0]) => must(h.joinResponse(h.join(extra))).errorCode;
  assert.equal(code({ groupId: G, protocolType: 'connect' }), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(code({ groupId: G, protocols: [{ name: 'other', metadata: Buffer.alloc(0) }] }), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(code({ groupId: 'fresh', protocols: [] }), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(code({ groupId: 'fresh', protocolType: '' }), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const token = h.token();
  h.core.syncGroup(token, { groupId: G, memberId: memberIds[0] as string, generationId: 1, groupInstanceId: null, protocolType: 'consumer', protocolName: 'roundrobin', assignments: [] });
  h.pump();
  assert.equal(must(h.syncResponse(token)).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
});

test('INVALID_SESSION_TIMEOUT outside group.min/max.session.timeout.ms; INVALID_GROUP_ID for ""', () => {
  const h = new Harness().ownAll();
  const code = (extra: Parameters<Harness['join']>[0]) => must(h.joinResponse(h.join(extra))).errorCode;
  assert.equal(code({ groupId: G, sessionTimeoutMs: 5_999 }), ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal(code({ groupId: G, sessionTimeoutMs: 1_800_001 }), ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal(code({ groupId: G, sessionTimeoutMs: 6_000 }), ErrorCode.MEMBER_ID_REQUIRED);
  assert.equal(code({ groupId: '' }), ErrorCode.INVALID_GROUP_ID);
  assert.equal(h.core.heartbeat({ groupId: '', memberId: 'm', generationId: 1, groupInstanceId: null }).errorCode, ErrorCode.INVALID_GROUP_ID);
});

test('oversized member metadata is refused with INVALID_REQUEST', () => {
  const h = new Harness({ memberMetadataBytesMax: 100, memberProtocolsMax: 2 }).ownAll();
  const code = (extra: Parameters<Harness['join']>[0]) => must(h.joinResponse(h.join(extra))).errorCode;
  assert.equal(code({ groupId: G, protocols: [{ name: 'range', metadata: Buffer.alloc(101) }] }), ErrorCode.INVALID_REQUEST);
  const three = ['a', 'b', 'c'].map((name) => ({ name, metadata: Buffer.alloc(1) }));
  assert.equal(code({ groupId: G, protocols: three }), ErrorCode.INVALID_REQUEST);
});

test('GROUP_MAX_SIZE_REACHED counts members and pending members; known members still rejoin', () => {
  const h = new Harness({ groupMaxSize: 2 }).ownAll();
  const { memberIds } = h.stableGroup(G, 1);
  const pending = must(h.joinResponse(h.join({ groupId: G })));
  assert.equal(pending.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const third = must(h.joinResponse(h.join({ groupId: G })));
  assert.equal(third.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  assert.equal(third.memberId, '');
  // The pending member and the existing member are within the bound and may proceed.
  const t1 = h.join({ groupId: G, memberId: pending.memberId });
  const t2 = h.join({ groupId: G, memberId: memberIds[0] as string });
  assert.equal(must(h.joinResponse(t1)).errorCode, ErrorCode.NONE);
  assert.equal(must(h.joinResponse(t2)).errorCode, ErrorCode.NONE);
});

test('UNKNOWN_MEMBER_ID and ILLEGAL_GENERATION on JoinGroup, SyncGroup and Heartbeat', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 1);
  const m = memberIds[0] as string;
  assert.equal(must(h.joinResponse(h.join({ groupId: 'nope', memberId: 'x' }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(must(h.joinResponse(h.join({ groupId: G, memberId: 'x' }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(must(h.syncResponse(h.sync('nope', m, 1))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(must(h.syncResponse(h.sync(G, 'x', 1))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(must(h.syncResponse(h.sync(G, m, 7))).errorCode, ErrorCode.ILLEGAL_GENERATION);
  assert.equal(h.heartbeat('nope', m, 1), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(h.heartbeat(G, 'x', 1), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(h.heartbeat(G, m, 0), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(h.heartbeat(G, m, 1), ErrorCode.NONE);
});

test('NOT_COORDINATOR for a group on a partition this broker does not lead', () => {
  const h = new Harness();
  const p = h.core.partitionFor(G);
  assert.equal(must(h.joinResponse(h.join({ groupId: G }))).errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(h.heartbeat(G, 'm', 1), ErrorCode.NOT_COORDINATOR);
  assert.equal(must(h.syncResponse(h.sync(G, 'm', 1))).errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(h.core.describeGroups([G])[0]?.errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(h.core.offsetFetch({ groups: [{ groupId: G, topics: null }], requireStable: false }).groups[0]?.errorCode, ErrorCode.NOT_COORDINATOR);
  h.core.load(p, []);
  assert.equal(must(h.joinResponse(h.join({ groupId: G }))).errorCode, ErrorCode.MEMBER_ID_REQUIRED);
});

test('COORDINATOR_LOAD_IN_PROGRESS while loading; SyncGroup says REBALANCE_IN_PROGRESS, Heartbeat NONE', () => {
  const h = new Harness();
  h.core.beginLoad(h.core.partitionFor(G));
  assert.equal(must(h.joinResponse(h.join({ groupId: G }))).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  assert.equal(must(h.syncResponse(h.sync(G, 'm', 1))).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(h.heartbeat(G, 'm', 1), ErrorCode.NONE);
  assert.equal(h.core.describeGroups([G])[0]?.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  assert.equal(h.core.listGroups({ statesFilter: [], typesFilter: [] }).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  assert.equal(h.core.leaveGroup({ groupId: G, members: [] }).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
});

test('group.initial.rebalance.delay.ms: a new group waits, and each arrival extends the wait up to the rebalance timeout', () => {
  const h = new Harness({ groupInitialRebalanceDelayMs: 3_000 }).ownAll();
  const a = h.joinNew(G, { rebalanceTimeoutMs: 7_000 });
  h.advance(2_000);
  const b = h.joinNew(G, { rebalanceTimeoutMs: 7_000 });
  h.advance(1_000);
  assert.equal(h.joinResponse(a.token), undefined, 'b arrived during the delay: wait another round');
  h.advance(2_999);
  assert.equal(h.joinResponse(a.token), undefined);
  h.advance(1);
  const ra = must(h.joinResponse(a.token));
  const rb = must(h.joinResponse(b.token));
  assert.equal(ra.generationId, 1);
  assert.equal(rb.generationId, 1);
  assert.equal(ra.members.length + rb.members.length, 2, 'one leader response lists both members');
});

test('the leader assignment is acknowledged only once durable; a failed append sends everyone back to rejoin', () => {
  const h = new Harness().ownAll();
  const [a, b] = h.joinAll(G, 2) as [{ memberId: string; token: number }, { memberId: string; token: number }];
  const ra = must(h.joinResponse(a.token));
  must(h.joinResponse(b.token));
  const [leader, follower] = ra.leader === a.memberId ? [a.memberId, b.memberId] : [b.memberId, a.memberId];
  h.autoComplete = false;
  const fs = h.sync(G, follower, 1);
  const ls = h.sync(G, leader, 1, [{ memberId: leader, assignment: Buffer.from('L') }, { memberId: follower, assignment: Buffer.from('F') }]);
  assert.equal(h.syncResponse(ls), undefined);
  assert.equal(h.syncResponse(fs), undefined);
  assert.equal(h.heldAppends.length, 1);
  h.releaseHeld(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(must(h.syncResponse(ls)).errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(must(h.syncResponse(fs)).errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(h.core.inspectGroup(G)?.state, 'PreparingRebalance');
  // A second round with a durable append succeeds.
  h.autoComplete = true;
  const ja = h.join({ groupId: G, memberId: leader });
  const jb = h.join({ groupId: G, memberId: follower });
  const r = must(h.joinResponse(ja));
  must(h.joinResponse(jb));
  const ls2 = h.sync(G, leader, r.generationId, [{ memberId: leader, assignment: Buffer.from('L2') }]);
  const fs2 = h.sync(G, follower, r.generationId);
  assert.equal(must(h.syncResponse(ls2)).assignment.toString(), 'L2');
  assert.equal(must(h.syncResponse(fs2)).assignment.length, 0, 'missing assignments are empty');
});

test('DescribeGroups shows metadata and assignments only when Stable; ListGroups filters by state and type', () => {
  const h = new Harness().ownAll();
  h.stableGroup(G, 2);
  h.joinNew('group-b');
  const [stable] = h.core.describeGroups([G]);
  assert.equal(stable?.groupState, 'Stable');
  assert.equal(stable?.protocolData, 'range');
  assert.equal(stable?.members.length, 2);
  assert.ok(stable?.members.every((m) => m.memberMetadata.toString() === 'meta' && m.memberAssignment.length > 0));
  const [preparing] = h.core.describeGroups(['group-b']);
  assert.equal(preparing?.groupState, 'CompletingRebalance');
  assert.equal(preparing?.protocolData, '');
  assert.ok(preparing?.members.every((m) => m.memberMetadata.length === 0));
  const [missing] = h.core.describeGroups(['nope']);
  assert.deepEqual(missing, { errorCode: 0, groupId: 'nope', groupState: 'Dead', protocolType: '', protocolData: '', members: [] });
  const all = h.core.listGroups({ statesFilter: [], typesFilter: [] });
  assert.deepEqual(all.groups.map((g) => g.groupId), [G, 'group-b']);
  assert.deepEqual(h.core.listGroups({ statesFilter: ['stable'], typesFilter: [] }).groups.map((g) => g.groupId), [G]);
  assert.deepEqual(h.core.listGroups({ statesFilter: ['CompletingRebalance', 'Empty'], typesFilter: ['Classic'] }).groups.map((g) => g.groupId), ['group-b']);
  assert.deepEqual(h.core.listGroups({ statesFilter: [], typesFilter: ['consumer'] }).groups, []);
  assert.equal(all.groups[0]?.protocolType, 'consumer');
  assert.equal(all.groups[0]?.groupType, 'classic');
});

test('a superseded JoinGroup of the same member is answered, never left hanging', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 2);
  const first = h.join({ groupId: G, memberId: memberIds[0] as string, protocols: [{ name: 'range', metadata: Buffer.from('v2') }] });
  const second = h.join({ groupId: G, memberId: memberIds[0] as string, protocols: [{ name: 'range', metadata: Buffer.from('v2') }] });
  assert.equal(must(h.joinResponse(first)).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(h.joinResponse(second), undefined);
  h.join({ groupId: G, memberId: memberIds[1] as string });
  assert.equal(must(h.joinResponse(second)).generationId, 2);
});

test('unload answers waiting JoinGroups with NOT_COORDINATOR and forgets the groups', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 2);
  const waiting = h.join({ groupId: G, memberId: memberIds[0] as string, protocols: [{ name: 'range', metadata: Buffer.from('v2') }] });
  h.core.unload(h.core.partitionFor(G));
  h.pump();
  assert.equal(must(h.joinResponse(waiting)).errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(h.core.inspectGroup(G), undefined);
  assert.equal(h.heartbeat(G, memberIds[1] as string, 1), ErrorCode.NOT_COORDINATOR);
});

test('joinRequest defaults are a valid consumer JoinGroup', () => {
  assert.equal(joinRequest({ groupId: G }).protocolType, 'consumer');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, type JoinGroupRequest } from '../../src/group/index.js';
import { Harness } from './harness.js';

const G = 'static-group';

function must<T>(value: T | undefined, what = 'value'): T {
  assert.ok(value !== undefined, `${what} expected`);
  return value;
}

/** Three static members i0..i2 (KIP-345: no MEMBER_ID_REQUIRED round), Stable at generation 1. */
function stableStaticGroup(h: Harness, extra: Partial<JoinGroupRequest> = {}): { ids: Map<string, string>; leaderId: string } {
  const tokens = ['i0', 'i1', 'i2'].map((instance) => ({ instance, token: h.join({ groupId: G, groupInstanceId: instance, clientId: instance, ...extra }) }));
  // The first join completed generation 1 alone (no initial delay); the others joined into a rebalance.
  const first = must(h.joinResponse(tokens[0]?.token as number));
  assert.equal(first.errorCode, ErrorCode.NONE);
  const rejoin = h.join({ groupId: G, memberId: first.memberId, groupInstanceId: 'i0', clientId: 'i0', ...extra });
  const responses = [rejoin, ...tokens.slice(1).map((t) => t.token)].map((t) => must(h.joinResponse(t)));
  const ids = new Map<string, string>();
  for (const [i, r] of responses.entries()) {
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.generationId, 2);
    ids.set(`i${i}`, r.memberId);
  }
  const leaderId = responses[0]?.leader as string;
  const assignments = [...ids].map(([instance, memberId]) => ({ memberId, assignment: Buffer.from(`assigned-to-${instance}`) }));
  const syncs = [...ids].map(([instance, memberId]) => ({ instance, token: h.sync(G, memberId, 2, memberId === leaderId ? assignments : [], instance) }));
  for (const { instance, token } of syncs) assert.equal(must(h.syncResponse(token)).assignment.toString(), `assigned-to-${instance}`);
  assert.equal(h.core.inspectGroup(G)?.state, 'Stable');
  return { ids, leaderId };
}

test('KIP-345: a static follower restarting with a new member id rejoins without a rebalance', () => {
  const h = new Harness().ownAll();
  const { ids, leaderId } = stableStaticGroup(h);
  const follower = [...ids].find(([, id]) => id !== leaderId) as [string, string];
  const [instance, oldId] = follower;
  const r = must(h.joinResponse(h.join({ groupId: G, groupInstanceId: instance, clientId: instance })));
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.notEqual(r.memberId, oldId);
  assert.ok(r.memberId.startsWith(`${instance}-`));
  assert.equal(r.generationId, 2, 'same generation: no rebalance');
  assert.equal(r.leader, leaderId);
  assert.equal(h.core.inspectGroup(G)?.state, 'Stable');
  // It gets its old assignment back; the other members are unaffected.
  assert.equal(must(h.syncResponse(h.sync(G, r.memberId, 2, [], instance))).assignment.toString(), `assigned-to-${instance}`);
  for (const [other, id] of ids) if (other !== instance) assert.equal(h.heartbeat(G, id, 2, other), ErrorCode.NONE);
  // The old incarnation is a zombie now.
  assert.equal(h.heartbeat(G, oldId, 2, instance), ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(must(h.syncResponse(h.sync(G, oldId, 2, [], instance))).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(must(h.joinResponse(h.join({ groupId: G, memberId: oldId, groupInstanceId: instance }))).errorCode, ErrorCode.FENCED_INSTANCE_ID);
});

test('KIP-345/KIP-814: a restarted static leader keeps the assignment; v9 is told to skip assigning', () => {
  const h = new Harness().ownAll();
  const { ids, leaderId } = stableStaticGroup(h);
  const instance = [...ids].find(([, id]) => id === leaderId)?.[0] as string;
  const v9 = must(h.joinResponse(h.join({ groupId: G, groupInstanceId: instance, supportSkippingAssignment: true })));
  assert.equal(v9.errorCode, ErrorCode.NONE);
  assert.equal(v9.generationId, 2);
  assert.equal(v9.leader, v9.memberId, 'the new id leads');
  assert.equal(v9.skipAssignment, true);
  assert.equal(v9.members.length, 3);
  assert.equal(must(h.syncResponse(h.sync(G, v9.memberId, 2, [], instance))).assignment.toString(), `assigned-to-${instance}`);
  // A pre-v9 client is handed the previous leader id so it does not compute a useless assignment.
  const old = must(h.joinResponse(h.join({ groupId: G, groupInstanceId: instance })));
  assert.equal(old.leader, v9.memberId);
  assert.notEqual(old.leader, old.memberId);
  assert.equal(old.skipAssignment, false);
  assert.deepEqual(old.members, []);
  assert.equal(must(h.syncResponse(h.sync(G, old.memberId, 2, [], instance))).assignment.toString(), `assigned-to-${instance}`);
  assert.equal(h.core.inspectGroup(G)?.generationId, 2);
});

test('KIP-345: the static rejoin is answered only once the new member id is durable', () => {
  const h = new Harness().ownAll();
  const { ids, leaderId } = stableStaticGroup(h);
  const [instance] = [...ids].find(([, id]) => id !== leaderId) as [string, string];
  h.autoComplete = false;
  const token = h.join({ groupId: G, groupInstanceId: instance });
  assert.equal(h.joinResponse(token), undefined);
  assert.equal(h.heldAppends.length, 1);
  h.releaseHeld();
  assert.equal(must(h.joinResponse(token)).errorCode, ErrorCode.NONE);
});

test('KIP-345: if persisting the new member id fails, the old id stays the member', () => {
  const h = new Harness().ownAll();
  const { ids, leaderId } = stableStaticGroup(h);
  const [instance, oldId] = [...ids].find(([, id]) => id !== leaderId) as [string, string];
  h.autoComplete = false;
  const token = h.join({ groupId: G, groupInstanceId: instance });
  h.releaseHeld(ErrorCode.NOT_ENOUGH_REPLICAS);
  const r = must(h.joinResponse(token));
  assert.equal(r.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  h.autoComplete = true;
  assert.equal(h.heartbeat(G, oldId, 2, instance), ErrorCode.NONE);
  assert.equal(h.core.inspectGroup(G)?.state, 'Stable');
});

test('KIP-345: a static member restarting with new metadata but the same protocol does not rebalance (as Kafka)', () => {
  const h = new Harness().ownAll();
  const { ids, leaderId } = stableStaticGroup(h);
  const [instance] = [...ids].find(([, id]) => id !== leaderId) as [string, string];
  const r = must(h.joinResponse(h.join({ groupId: G, groupInstanceId: instance, protocols: [{ name: 'range', metadata: Buffer.from('new-topics') }] })));
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.generationId, 2);
  assert.equal(h.core.inspectGroup(G)?.state, 'Stable');
});

test('KIP-345: a static member restarting with a protocol change that changes the selection rebalances', () => {
  const h = new Harness().ownAll();
  const both = (first: string, second: string) => [first, second].map((name) => ({ name, metadata: Buffer.from(name) }));
  const first = must(h.joinResponse(h.join({ groupId: G, groupInstanceId: 'solo', protocols: both('range', 'roundrobin') })));
  must(h.syncResponse(h.sync(G, first.memberId, 1, [], 'solo')));
  assert.equal(h.core.inspectGroup(G)?.protocolName, 'range');
  const token = h.join({ groupId: G, groupInstanceId: 'solo', protocols: both('roundrobin', 'range') });
  const r = must(h.joinResponse(token));
  assert.equal(r.generationId, 2, 'the lone member rebalanced at once');
  assert.equal(r.protocolName, 'roundrobin');
});

test('KIP-345: a static rejoin made durable while a rebalance started is answered by that rebalance', () => {
  const h = new Harness().ownAll();
  const { ids, leaderId } = stableStaticGroup(h);
  const [instance] = [...ids].find(([, id]) => id !== leaderId) as [string, string];
  h.autoComplete = false;
  const token = h.join({ groupId: G, groupInstanceId: instance });
  // Meanwhile every other member rejoins with new metadata: a rebalance in which the restarted member
  // already counts as joined.
  const others = [...ids].filter(([i]) => i !== instance).map(([i, id]) => h.join({ groupId: G, memberId: id, groupInstanceId: i, protocols: [{ name: 'range', metadata: Buffer.from('v2') }] }));
  h.releaseHeld();
  h.autoComplete = true;
  const r = must(h.joinResponse(token));
  assert.equal(r.generationId, 3);
  for (const t of others) assert.equal(must(h.joinResponse(t)).generationId, 3);
});

test('KIP-345: a static member that does not rejoin survives the rebalance timeout, not its session timeout', () => {
  const h = new Harness().ownAll();
  const { ids, leaderId } = stableStaticGroup(h, { sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 20_000 });
  const [slowInstance, slowId] = [...ids].find(([, id]) => id !== leaderId) as [string, string];
  const others = [...ids].filter(([instance]) => instance !== slowInstance);
  // The leader rejoins (a rebalance), the slow one is restarting and sends nothing.
  const tokens = others.map(([instance, memberId]) => h.join({ groupId: G, memberId, groupInstanceId: instance, sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 20_000 }));
  h.advance(20_000);
  const responses = tokens.map((t) => must(h.joinResponse(t)));
  assert.equal(responses[0]?.generationId, 3);
  const view = h.core.inspectGroup(G);
  assert.ok(view?.members.some((m) => m.memberId === slowId), 'the static member is kept');
  // It comes back within its session timeout and takes its place in the next rebalance.
  const back = h.join({ groupId: G, groupInstanceId: slowInstance, sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 20_000 });
  assert.equal(h.core.inspectGroup(G)?.state, 'PreparingRebalance');
  const rejoins = others.map(([instance, memberId]) => h.join({ groupId: G, memberId, groupInstanceId: instance, sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 20_000 }));
  assert.equal(must(h.joinResponse(back)).generationId, 4);
  for (const t of rejoins) assert.equal(must(h.joinResponse(t)).generationId, 4);
});

test('KIP-345: a silent static member is removed at its session timeout', () => {
  const h = new Harness().ownAll();
  const { ids } = stableStaticGroup(h);
  const [silent] = [...ids][2] as [string, string];
  for (let i = 0; i < 10; i++) {
    h.advance(1_000);
    for (const [instance, id] of ids) if (instance !== silent) h.heartbeat(G, id, 2, instance);
  }
  const view = h.core.inspectGroup(G);
  assert.equal(view?.state, 'PreparingRebalance');
  assert.equal(view?.members.some((m) => m.groupInstanceId === silent), false);
});

test('KIP-345: a static member restarting mid-rebalance fences its old JoinGroup', () => {
  const h = new Harness().ownAll();
  const { ids } = stableStaticGroup(h);
  const [[i0, id0], [i1, id1]] = [...ids] as [string, string][];
  const old = h.join({ groupId: G, memberId: id0 as string, groupInstanceId: i0 as string, protocols: [{ name: 'range', metadata: Buffer.from('x') }] });
  const restarted = h.join({ groupId: G, groupInstanceId: i0 as string, protocols: [{ name: 'range', metadata: Buffer.from('x') }] });
  assert.equal(must(h.joinResponse(old)).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(h.joinResponse(restarted), undefined, 'the new incarnation waits for the rebalance');
  assert.equal(h.heartbeat(G, id1 as string, 2, i1 as string), ErrorCode.REBALANCE_IN_PROGRESS);
});

test('KIP-345: LeaveGroup v3+ removes a static member by instance id; a wrong member id is FENCED_INSTANCE_ID', () => {
  const h = new Harness().ownAll();
  const { ids } = stableStaticGroup(h);
  const [[i0], [i1, id1]] = [...ids] as [string, string][];
  const response = h.core.leaveGroup({
    groupId: G,
    members: [
      { memberId: '', groupInstanceId: i0 as string, reason: 'admin removal' },
      { memberId: 'wrong-id', groupInstanceId: i1 as string, reason: null },
      { memberId: '', groupInstanceId: 'unknown-instance', reason: null },
    ],
  });
  h.pump();
  assert.deepEqual(response.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.FENCED_INSTANCE_ID, ErrorCode.UNKNOWN_MEMBER_ID]);
  const view = h.core.inspectGroup(G);
  assert.equal(view?.members.some((m) => m.groupInstanceId === i0), false);
  assert.ok(view?.members.some((m) => m.memberId === id1));
});

test('KIP-345: a static member joining with a known member id but an unknown instance id is UNKNOWN_MEMBER_ID', () => {
  const h = new Harness().ownAll();
  const { ids } = stableStaticGroup(h);
  const [, id0] = [...ids][0] as [string, string];
  assert.equal(must(h.joinResponse(h.join({ groupId: G, memberId: id0, groupInstanceId: 'other' }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test('validateMember as Kafka: an unknown instance id is UNKNOWN_MEMBER_ID even for a known member id', () => {
  const h = new Harness().ownAll();
  const { memberIds } = h.stableGroup(G, 1);
  const m = memberIds[0] as string;
  assert.equal(h.heartbeat(G, m, 1, 'never-seen'), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(must(h.syncResponse(h.sync(G, m, 1, [], 'never-seen'))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(h.heartbeat(G, m, 1), ErrorCode.NONE);
});

test('KIP-345: a static member kept through a rebalance must still SyncGroup within the rebalance timeout', () => {
  const h = new Harness().ownAll();
  const { ids, leaderId } = stableStaticGroup(h, { sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 20_000 });
  const [slowInstance, slowId] = [...ids].find(([, id]) => id !== leaderId) as [string, string];
  const others = [...ids].filter(([instance]) => instance !== slowInstance);
  const extra = { sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 20_000 };
  const tokens = others.map(([instance, memberId]) => h.join({ groupId: G, memberId, groupInstanceId: instance, ...extra }));
  h.advance(20_000);
  const responses = tokens.map((t) => must(h.joinResponse(t)));
  const generationId = responses[0]?.generationId as number;
  const leader = responses.find((r) => r.memberId === r.leader) as { memberId: string };
  for (const [i, [instance, memberId]] of others.entries()) {
    const assignments = memberId === leader.memberId ? [...ids].map(([, id]) => ({ memberId: id, assignment: Buffer.from(id) })) : [];
    must(h.syncResponse(h.sync(G, memberId, generationId, assignments, instance)), `sync ${i}`);
  }
  assert.equal(h.core.inspectGroup(G)?.state, 'Stable');
  assert.ok(h.core.inspectGroup(G)?.members.some((m) => m.memberId === slowId));
  for (let i = 0; i < 20; i++) {
    h.advance(1_000);
    for (const [instance, memberId] of others) h.heartbeat(G, memberId, generationId, instance);
  }
  assert.equal(h.core.inspectGroup(G)?.members.some((m) => m.memberId === slowId), false, 'never synced: removed');
  assert.equal(h.core.inspectGroup(G)?.state, 'PreparingRebalance');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvariantError } from '../../src/common/assert.js';
import { ClassicGroup, type ClassicMember } from '../../src/group/classic-group.js';
import { encodeSubscription } from '../../src/group/consumer-protocol.js';
import type { GroupState } from '../../src/group/types.js';

function member(memberId: string, protocols: [string, Buffer?][] = [['range']], groupInstanceId: string | null = null): ClassicMember {
  return {
    memberId,
    groupInstanceId,
    clientId: 'c',
    clientHost: 'h',
    rebalanceTimeoutMs: 1_000,
    sessionTimeoutMs: 1_000,
    protocolType: 'consumer',
    protocols: protocols.map(([name, metadata]) => ({ name, metadata: metadata ?? Buffer.from(name) })),
    assignment: Buffer.alloc(0),
    joinToken: null,
    supportSkippingAssignment: false,
    syncToken: null,
    isNew: false,
  };
}

const STATES: GroupState[] = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'];
const LEGAL = new Set([
  'Empty>PreparingRebalance',
  'PreparingRebalance>CompletingRebalance',
  'PreparingRebalance>Empty',
  'CompletingRebalance>Stable',
  'CompletingRebalance>PreparingRebalance',
  'Stable>PreparingRebalance',
  ...STATES.map((s) => `${s}>Dead`),
]);

test('transitionTo allows exactly the classic protocol’s transitions and stamps the time', () => {
  for (const from of STATES) {
    for (const to of STATES) {
      const group = new ClassicGroup('g', 0, 0);
      group.state = from;
      if (LEGAL.has(`${from}>${to}`)) {
        group.transitionTo(to, 42);
        assert.equal(group.state, to);
        assert.equal(group.currentStateTimestamp, 42);
      } else {
        assert.throws(() => group.transitionTo(to, 42), InvariantError, `${from} -> ${to}`);
      }
    }
  }
});

test('the first member sets the protocol type and leads; the leader role passes on when it leaves', () => {
  const group = new ClassicGroup('g', 0, 0);
  group.add(member('a'));
  group.add(member('b'));
  assert.equal(group.protocolType, 'consumer');
  assert.equal(group.leaderId, 'a');
  group.remove('a');
  assert.equal(group.leaderId, 'b');
  group.remove('b');
  assert.equal(group.leaderId, null);
});

test('supportsProtocols: same type and at least one protocol every member has', () => {
  const group = new ClassicGroup('g', 0, 0);
  assert.equal(group.supportsProtocols('consumer', []), false);
  assert.equal(group.supportsProtocols('', [{ name: 'x', metadata: Buffer.alloc(0) }]), false);
  group.add(member('a', [['range'], ['roundrobin']]));
  group.add(member('b', [['roundrobin']]));
  group.state = 'Stable';
  assert.equal(group.supportsProtocols('consumer', [{ name: 'roundrobin', metadata: Buffer.alloc(0) }]), true);
  assert.equal(group.supportsProtocols('consumer', [{ name: 'range', metadata: Buffer.alloc(0) }]), false);
  assert.equal(group.supportsProtocols('connect', [{ name: 'roundrobin', metadata: Buffer.alloc(0) }]), false);
});

test('selectProtocol: candidates are common to all; the preferred one with most votes wins', () => {
  const group = new ClassicGroup('g', 0, 0);
  group.add(member('a', [['sticky'], ['range'], ['roundrobin']]));
  group.add(member('b', [['range'], ['sticky']]));
  group.add(member('c', [['range'], ['sticky'], ['roundrobin']]));
  assert.equal(group.selectProtocol(), 'range');
});

test('static members: replace keeps the place, the leader role and pending sync; fencing by instance id', () => {
  const group = new ClassicGroup('g', 0, 0);
  group.add(member('old', [['range']], 'i'));
  group.add(member('other'));
  group.pendingSyncMembers.add('old');
  assert.equal(group.isStaticMemberFenced('zombie', 'i'), true);
  assert.equal(group.isStaticMemberFenced('old', 'i'), false);
  assert.equal(group.isStaticMemberFenced('zombie', null), false);
  group.replaceStaticMember('old', 'new');
  assert.equal(group.leaderId, 'new');
  assert.equal(group.staticMembers.get('i'), 'new');
  assert.ok(group.pendingSyncMembers.has('new'));
  assert.equal(group.has('old'), false);
  assert.equal(group.isStaticMemberFenced('old', 'i'), true);
});

test('maybeElectNewJoinedLeader picks a member that rejoined, or reports none did', () => {
  const group = new ClassicGroup('g', 0, 0);
  group.add(member('a'));
  group.add(member('b'));
  assert.equal(group.maybeElectNewJoinedLeader(), false);
  group.get('b').joinToken = 7;
  assert.equal(group.maybeElectNewJoinedLeader(), true);
  assert.equal(group.leaderId, 'b');
});

test('subscribed topics: union over consumer members; unknown (null) when unparsable or not "consumer"', () => {
  const group = new ClassicGroup('g', 0, 0);
  group.add(member('a', [['range', encodeSubscription(['t1', 't2'])]]));
  group.add(member('b', [['range', encodeSubscription(['t3'])]]));
  group.protocolName = 'range';
  assert.deepEqual(group.computeSubscribedTopics(), new Set(['t1', 't2', 't3']));
  group.get('b').protocols = [{ name: 'range', metadata: Buffer.from([0xff]) }];
  assert.equal(group.computeSubscribedTopics(), null);
  group.subscribedTopics = null;
  assert.equal(group.isSubscribedToTopic('anything'), true, 'unknown counts as subscribed');
  const standalone = new ClassicGroup('s', 0, 0);
  assert.equal(standalone.isSubscribedToTopic('anything'), false, 'no group management: nothing subscribed');
  const connect = new ClassicGroup('c', 0, 0);
  connect.add({ ...member('a'), protocolType: 'connect' });
  assert.equal(connect.computeSubscribedTopics(), null);
});

test('pending offset commits are counted per partition', () => {
  const group = new ClassicGroup('g', 0, 0);
  group.addPendingOffsetCommit('t', 0);
  group.addPendingOffsetCommit('t', 0);
  group.removePendingOffsetCommit('t', 0);
  assert.equal(group.hasPendingOffsetCommit('t', 0), true);
  group.removePendingOffsetCommit('t', 0);
  assert.equal(group.hasPendingOffsetCommit('t', 0), false);
  assert.throws(() => group.removePendingOffsetCommit('t', 0), InvariantError);
});

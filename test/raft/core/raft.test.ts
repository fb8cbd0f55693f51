import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../../../src/common/prng.js';
import { bootstrapState } from '../../../src/raft/core/bootstrap.js';
import { RaftNode } from '../../../src/raft/core/raft.js';
import type { Entry, VoteResponseMessage } from '../../../src/raft/core/types.js';
import { ScriptedCluster, testConfig } from './harness.js';

function leaderOf(ids: number[]): ScriptedCluster {
  const cluster = new ScriptedCluster({ voters: ids, learners: [] });
  cluster.tickUntilCampaign(ids[0]!);
  cluster.deliverAll();
  assert.equal(cluster.node(ids[0]!).role, 'leader');
  return cluster;
}

test('a vote is only sent after the Ready that records it is advanced (persist before send)', () => {
  const node = new RaftNode({ ...testConfig, id: 2 }, bootstrapState({ voters: [1, 2, 3], learners: [] }), new Prng(1));
  node.step({ type: 'vote', from: 1, to: 2, term: 1, lastIndex: 0, lastTerm: 0, transfer: false });
  const ready = node.ready();
  assert.deepEqual(ready.hardState, { term: 1, vote: 1, commitIndex: 0 });
  assert.equal(ready.messages.length, 0, 'the grant must not be sendable before the vote is durable');
  assert.throws(() => node.ready(), /before the previous Ready was advanced/);
  const after = node.advance(ready).messages;
  assert.deepEqual(after.map((m) => [m.type, (m as VoteResponseMessage).reject]), [['vote-response', false]]);
});

test('an append is acknowledged only after advance, and committed entries only once durable', () => {
  const node = new RaftNode({ ...testConfig, id: 2 }, bootstrapState({ voters: [1, 2, 3], learners: [] }), new Prng(1));
  const entry: Entry = { index: 1, term: 1, type: 'normal', data: new Uint8Array([7]) };
  node.step({ type: 'append', from: 1, to: 2, term: 1, prevIndex: 0, prevTerm: 0, entries: [entry], commitIndex: 1 });
  const ready = node.ready();
  assert.deepEqual(ready.entries, [entry]);
  assert.deepEqual(ready.committedEntries, [], 'not applied before it is on our disk');
  assert.deepEqual(node.advance(ready).messages.map((m) => m.type), ['append-response']);
  assert.deepEqual(node.ready().committedEntries, [entry]);
});

test('proposals on a non-leader are rejected with the leader hint', () => {
  const cluster = leaderOf([1, 2, 3]);
  const result = cluster.node(2).propose(new Uint8Array([1]));
  assert.deepEqual(result, { ok: false, reason: 'not-leader', leaderId: 1 });
});

test('a leader does not commit an entry of an earlier term by counting replicas (Figure 3.7)', () => {
  for (const bugs of [new Set<never>(), new Set(['commit-old-term'] as const)]) {
    const cluster = new ScriptedCluster({ voters: [1, 2, 3], learners: [] }, { checkQuorum: false, maxEntriesPerMessage: 1, bugs });
    cluster.tickUntilCampaign(1);
    cluster.deliverAll();
    cluster.isolate(2);
    cluster.isolate(3);
    cluster.propose(1, 'old');
    cluster.deliverAll();
    cluster.restart(1);
    cluster.heal();
    cluster.isolate(3);
    cluster.tickUntilCampaign(1);
    const leader = (): RaftNode => cluster.node(1);
    const commits: number[] = [];
    cluster.deliverAll(1000, () => commits.push(leader().log.commitIndex));
    assert.equal(leader().role, 'leader');
    assert.equal(leader().term, 2);
    assert.equal(leader().log.term(2), 1, 'index 2 holds the entry of term 1');
    assert.equal(leader().log.commitIndex, 3);
    // Node 2 acknowledges index 2 alone first (one entry per message): that must not commit it.
    assert.equal(commits.includes(2), bugs.size > 0);
  }
});

test('proposals are refused during a leadership transfer and while a configuration change is pending', () => {
  const cluster = leaderOf([1, 2, 3]);
  cluster.isolate(3);
  assert.equal(cluster.node(1).proposeConfChange({ type: 'add-learner', nodeId: 4 }).ok, true);
  const second = cluster.node(1).proposeConfChange({ type: 'add-learner', nodeId: 5 });
  assert.deepEqual(second, { ok: false, reason: 'conf-change-pending', leaderId: 1 });
  cluster.deliverAll();
  cluster.heal();
  cluster.node(1).transferLeadership(3);
  assert.equal(cluster.node(1).propose(new Uint8Array()).ok, false);
});

test('read index is answered after a heartbeat round confirms leadership', () => {
  const cluster = leaderOf([1, 2, 3]);
  cluster.propose(1, 'x');
  cluster.deliverAll();
  cluster.readIndex(1, 'r1');
  assert.deepEqual(cluster.readStates(1), [], 'not before a quorum confirmed the leadership');
  cluster.deliverAll();
  assert.deepEqual(cluster.readStates(1), [{ context: 'r1', index: 2 }]);
  cluster.readIndex(2, 'r2');
  cluster.deliverAll();
  assert.deepEqual(cluster.readStates(2), [{ context: 'r2', index: 2 }]);
});

test('a restarted node keeps its term, vote, log and commit point from disk', () => {
  const cluster = leaderOf([1, 2, 3]);
  cluster.propose(1, 'a');
  cluster.deliverAll();
  cluster.tick(1, 2);
  cluster.deliverAll();
  cluster.restart(2);
  const status = cluster.node(2).status();
  assert.equal(status.term, 1);
  assert.equal(status.vote, 1);
  assert.equal(status.lastIndex, 2);
  assert.equal(status.commitIndex, 2);
});

test('a single-voter cluster elects itself and commits alone', () => {
  const cluster = new ScriptedCluster({ voters: [1], learners: [] });
  cluster.tickUntilCampaign(1);
  assert.equal(cluster.node(1).role, 'leader');
  cluster.propose(1, 'solo');
  assert.equal(cluster.node(1).log.commitIndex, 2);
  assert.equal(cluster.applied(1).length, 2);
});

test('a stale leader learns the new term from the answer to its heartbeat and steps down', () => {
  const cluster = leaderOf([1, 2, 3]);
  cluster.isolate(1);
  const next = cluster.tickUntilAnyCampaigns([2, 3]);
  cluster.deliverAll();
  assert.equal(cluster.node(next!).role, 'leader');
  cluster.heal();
  cluster.tick(1, 2);
  cluster.deliverAll();
  assert.equal(cluster.node(1).role, 'follower');
  assert.equal(cluster.node(1).term, 2);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionReplication, truncationOffset, type LeaderAndIsr } from '../../src/replication/partition-replication.js';
import { LeaderEpochCache } from '../../src/storage/leader-epoch-cache.js';
import { RECOVERED, RECOVERING } from '../../src/metadata/records.js';

const LAG_MS = 1000;
const always = (): boolean => true;

function leaderCore(state: Partial<LeaderAndIsr> = {}, nowMs = 0, logEndOffset = 0): PartitionReplication {
  const core = new PartitionReplication({ localId: 1, replicaLagTimeMaxMs: LAG_MS });
  assert.equal(core.applyCommitted({ leader: 1, leaderEpoch: 0, partitionEpoch: 0, isr: [1, 2, 3], replicas: [1, 2, 3], ...state }, nowMs, logEndOffset), 'became-leader');
  return core;
}

test('HW = min acknowledged end over the ISR; unknown followers hold it until they fetch', () => {
  const core = leaderCore();
  assert.equal(core.highWatermarkCandidate(10, 10, 0, always), -1);
  core.recordFollowerFetch(2, 10, 10, 1);
  assert.equal(core.highWatermarkCandidate(10, 10, 1, always), -1);
  core.recordFollowerFetch(3, 7, 10, 1);
  assert.equal(core.highWatermarkCandidate(10, 10, 1, always), 7);
  // The leader's own acknowledged end (fsync: its durable end) bounds it too.
  assert.equal(core.highWatermarkCandidate(5, 10, 1, always), 5);
});

test('regression: a follower outside the ISR that never fetched does not count as caught up when the monotonic clock starts near 0', () => {
  const core = leaderCore({ isr: [1, 2] }, 5);
  core.recordFollowerFetch(2, 10, 10, 6);
  // Replica 3 is not in the ISR and never fetched: it must not hold the HW back at -1.
  assert.equal(core.highWatermarkCandidate(10, 10, 6, always), 10);
});

test('a caught-up follower about to join holds the HW back (shouldWaitForReplicaToJoinIsr); an ineligible one does not', () => {
  const core = leaderCore({ isr: [1, 2] });
  core.recordFollowerFetch(2, 10, 10, 1);
  core.recordFollowerFetch(3, 8, 8, 1);
  assert.equal(core.highWatermarkCandidate(10, 10, 1, always), 8);
  assert.equal(core.highWatermarkCandidate(10, 10, 1, (id) => id !== 3), 10);
});

test('while an expansion is in flight the new member counts; a shrink keeps counting the old ISR until committed', () => {
  const core = leaderCore({ isr: [1, 2] });
  core.recordFollowerFetch(2, 10, 10, 1);
  core.recordFollowerFetch(3, 10, 10, 1);
  const expand = core.expandProposal(3, 10, always);
  assert.deepEqual(expand?.newIsr, [1, 2, 3]);
  assert.deepEqual(core.isr, [1, 2]);
  assert.deepEqual(core.maximalIsr(), [1, 2, 3]);
  // No answer (timeout, lost controller): still in flight, still counted.
  core.recordFollowerFetch(3, 10, 20, 2000);
  core.recordFollowerFetch(2, 20, 20, 2000);
  assert.equal(core.highWatermarkCandidate(20, 20, 2000, () => false), 10);
  assert.equal(core.applyCommitted({ leader: 1, leaderEpoch: 0, partitionEpoch: 1, isr: [1, 2, 3], replicas: [1, 2, 3] }, 2000, 20), 'leader');
  assert.equal(core.pendingProposal, undefined);
  assert.deepEqual(core.isr, [1, 2, 3]);
  // Replica 3 stops fetching: after replica.lag.time.max.ms it is proposed for removal, but counted until committed.
  const shrink = core.shrinkProposal(20, 2000 + LAG_MS + 1);
  assert.deepEqual(shrink?.newIsr, [1, 2]);
  assert.equal(core.highWatermarkCandidate(20, 20, 2000 + LAG_MS + 1, always), 10);
  assert.equal(core.shrinkProposal(20, 5000), undefined, 'one proposal at a time');
  core.proposalRejected(shrink!);
  assert.equal(core.pendingProposal, undefined);
});

test('a follower fetching at the leader\'s end, or reaching the end the leader had at its previous fetch, is caught up', () => {
  const core = leaderCore();
  core.recordFollowerFetch(2, 10, 10, 100);
  core.recordFollowerFetch(3, 10, 10, 100);
  // Follower 2 keeps reaching the previous fetch's leader end while the leader keeps growing: caught up.
  core.recordFollowerFetch(2, 10, 15, 900);
  core.recordFollowerFetch(2, 15, 20, 1800);
  assert.equal(core.follower(2)?.lastCaughtUpTimeMs, 900);
  core.recordFollowerFetch(3, 10, 20, 1800);
  assert.deepEqual(core.shrinkProposal(20, 1850)?.newIsr, [1, 2]);
});

test('expansion needs the follower at the HW and at the start of the leader epoch', () => {
  const core = leaderCore({ isr: [1, 2], leaderEpoch: 3 }, 0, 50);
  assert.equal(core.epochStartOffset, 50);
  core.recordFollowerFetch(3, 40, 60, 1);
  assert.equal(core.expandProposal(3, 30, always), undefined);
  core.recordFollowerFetch(3, 50, 60, 2);
  assert.equal(core.expandProposal(3, 55, always), undefined);
  assert.deepEqual(core.expandProposal(3, 50, always)?.newIsr, [1, 2, 3]);
});

test('follower fetch checks: unknown replica, divergence by LastFetchedEpoch (KIP-595), out of range', () => {
  const cache = new LeaderEpochCache();
  cache.assign(0, 0);
  cache.assign(2, 10);
  cache.assign(5, 20);
  const core = leaderCore({ leaderEpoch: 5 }, 0, 20);
  const endFor = (epoch: number) => cache.endOffsetFor(epoch, 30);
  assert.deepEqual(core.checkFollowerFetch(9, 0, -1, 5, 0, 30, endFor), { kind: 'error', errorCode: 'UNKNOWN_LEADER_EPOCH' });
  assert.deepEqual(core.checkFollowerFetch(9, 0, -1, -1, 0, 30, endFor), { kind: 'error', errorCode: 'NOT_LEADER_OR_FOLLOWER' });
  assert.deepEqual(core.checkFollowerFetch(2, 25, 5, 5, 0, 30, endFor), { kind: 'read' });
  // Follower wrote epoch 1 up to 14: the leader has no epoch 1; its largest ≤ 1 is 0, ending at 10.
  assert.deepEqual(core.checkFollowerFetch(2, 14, 1, 5, 0, 30, endFor), { kind: 'diverging', epoch: 0, endOffset: 10 });
  // Follower has epoch 2 past where the leader's epoch 2 ended (20).
  assert.deepEqual(core.checkFollowerFetch(2, 22, 2, 5, 0, 30, endFor), { kind: 'diverging', epoch: 2, endOffset: 20 });
  assert.deepEqual(core.checkFollowerFetch(2, 31, -1, 5, 0, 30, endFor), { kind: 'error', errorCode: 'OFFSET_OUT_OF_RANGE' });
});

test('truncationOffset: same epoch → min of both ends; older local epoch → its own end; never past the log end', () => {
  const local = new LeaderEpochCache();
  local.assign(0, 0);
  local.assign(1, 10);
  const endFor = (epoch: number) => local.endOffsetFor(epoch, 16);
  assert.equal(truncationOffset({ epoch: 0, endOffset: 12 }, endFor, 16), 10);
  assert.equal(truncationOffset({ epoch: 1, endOffset: 14 }, endFor, 16), 14);
  assert.equal(truncationOffset({ epoch: 1, endOffset: 30 }, endFor, 16), 16);
});

test('a stale committed state is ignored; a new leader epoch resets follower states and settles a pending proposal', () => {
  const core = leaderCore({ isr: [1, 2] });
  core.recordFollowerFetch(2, 10, 10, 1);
  core.recordFollowerFetch(3, 10, 10, 1);
  assert.ok(core.expandProposal(3, 10, always));
  assert.equal(core.applyCommitted({ leader: 1, leaderEpoch: -1, partitionEpoch: 9, isr: [1], replicas: [1, 2, 3] }, 2, 10), 'stale');
  assert.equal(core.applyCommitted({ leader: 2, leaderEpoch: 1, partitionEpoch: 1, isr: [2, 1], replicas: [1, 2, 3] }, 2, 10), 'follower');
  assert.equal(core.pendingProposal, undefined);
  assert.equal(core.isLeader, false);
  assert.equal(core.follower(2), undefined);
});

test('KIP-704: a leader of a RECOVERING partition proposes its ISR changes as RECOVERED (Partition.makeLeader)', () => {
  const core = leaderCore({ isr: [1], leaderRecoveryState: RECOVERING });
  assert.equal(core.leaderRecoveryState, RECOVERING);
  core.recordFollowerFetch(2, 10, 10, 1);
  const expand = core.expandProposal(2, 10, always);
  assert.deepEqual(expand?.newIsr, [1, 2]);
  assert.equal(expand?.leaderRecoveryState, RECOVERED);
  // The committed report ends it.
  assert.equal(core.applyCommitted({ leader: 1, leaderEpoch: 0, partitionEpoch: 1, isr: [1, 2], replicas: [1, 2, 3], leaderRecoveryState: RECOVERED }, 2, 10), 'leader');
  assert.equal(core.leaderRecoveryState, RECOVERED);
  assert.equal(core.pendingProposal, undefined);
});

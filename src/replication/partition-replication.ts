/**
 * The IO-free replication core of one partition (Kafka's Partition + Replica + ReplicaState, reduced;
 * DESIGN §3, §5 "partition replication core"). No clock, no IO: every method takes the time it needs.
 * The replica manager drives it on the real broker; src/sim/replication drives it under a seeded
 * simulation with the controller.
 *
 * Leader side:
 * - Per follower: log end offset (its fetch offset — the follower acknowledges what it asks for next;
 *   in fsync mode it asks only after its own flush), last fetch time, and the last time it was caught up
 *   (ReplicaState.updateFetchStateOrThrow: caught up when the fetch offset reached the leader's log end
 *   at fetch time, or reached the log end the leader had at its previous fetch).
 * - High watermark = min over the "maximal ISR" of each member's acknowledged end, the leader's own
 *   acknowledged end included (Partition.maybeIncrementLeaderHW). While an ISR change is in flight the
 *   maximal ISR is the larger of old and proposed (KIP-497's PendingExpandIsr / PendingShrinkIsr), so
 *   the high watermark never relies on an ISR the controller has not committed. A caught-up follower
 *   about to join also holds it back (Kafka's shouldWaitForReplicaToJoinIsr).
 * - ISR shrink: an ISR follower not caught up within replica.lag.time.max.ms; ISR expand: a follower
 *   whose end reached the high watermark and the start of the current leader epoch. Both are proposals
 *   for the controller (AlterPartition); at most one in flight; the ISR changes only when the committed
 *   state comes back (`applyCommitted` with a newer partition epoch).
 * - Follower fetch checks (Partition.fetchRecords): unknown replica; KIP-595 divergence via
 *   LastFetchedEpoch → DivergingEpoch.
 *
 * KIP-704: after an unclean election the committed state is RECOVERING and the ISR just the leader; the
 * leader's proposals carry RECOVERED (Partition.makeLeader), so its first ISR expansion ends it. Followers
 * fetch as usual meanwhile (divergence truncation brings them to the new leader's log).
 *
 * Follower side: `truncationOffset` (AbstractFetcherThread.getOffsetTruncationState).
 */
import { invariant } from '../common/assert.js';
import { RECOVERED, type LeaderRecoveryState } from '../metadata/records.js';
import type { EpochEndOffset } from '../storage/leader-epoch-cache.js';

/** Kafka's UnifiedLog.UnknownOffset: a follower that has not fetched from this leader yet. */
export const UNKNOWN_OFFSET = -1;
/**
 * lastCaughtUpTimeMs of a follower outside the ISR that has not caught up under this leader. Not 0:
 * the injected clock is monotonic and may start near 0, where "0 ms ago" would count as caught up.
 */
const NEVER_CAUGHT_UP = Number.NEGATIVE_INFINITY;

export interface FollowerReplicaState {
  readonly replicaId: number;
  /** Its acknowledged end: the last fetch offset; UNKNOWN_OFFSET until it fetched from this leader. */
  readonly logEndOffset: number;
  readonly lastCaughtUpTimeMs: number;
  readonly lastFetchTimeMs: number;
  /** The leader's log end at the previous fetch. */
  readonly lastFetchLeaderLogEndOffset: number;
  /** The broker epoch the follower fetched with (KIP-903), -1 when it did not say. */
  readonly brokerEpoch: number;
}

/** The committed leadership of a partition, as the metadata image (or an AlterPartition answer) has it. */
export interface LeaderAndIsr {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly isr: readonly number[];
  readonly replicas: readonly number[];
  /** KIP-704: RECOVERING after an unclean election until the leader's report is committed; absent = RECOVERED. */
  readonly leaderRecoveryState?: LeaderRecoveryState;
}

/** An ISR change the leader proposed and the controller has not answered yet. */
export interface IsrProposal {
  readonly kind: 'expand' | 'shrink';
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly newIsr: readonly number[];
  /**
   * Always RECOVERED: a leader has recovered once it leads (Partition.makeLeader marks a RECOVERING
   * partition RECOVERED locally; there is no log work to do), and says so with its next ISR change, which
   * the controller commits together with it (KIP-704). Until then the controller keeps the ISR to the leader.
   */
  readonly leaderRecoveryState: LeaderRecoveryState;
}

/** What a follower fetch for this partition gets before any read. */
export type FollowerFetchCheck =
  | { readonly kind: 'read' }
  | { readonly kind: 'error'; readonly errorCode: 'NOT_LEADER_OR_FOLLOWER' | 'UNKNOWN_LEADER_EPOCH' | 'OFFSET_OUT_OF_RANGE' }
  | { readonly kind: 'diverging'; readonly epoch: number; readonly endOffset: number };

export interface ReplicationCoreOptions {
  readonly localId: number;
  readonly replicaLagTimeMaxMs: number;
}

export class PartitionReplication {
  readonly localId: number;
  private readonly replicaLagTimeMaxMs: number;
  private committed: LeaderAndIsr = { leader: -1, leaderEpoch: -1, partitionEpoch: -1, isr: [], replicas: [] };
  private pending: IsrProposal | undefined;
  private readonly followers = new Map<number, FollowerReplicaState>();
  /** Where the current leader epoch starts in the log (Partition.leaderEpochStartOffsetOpt). */
  private leaderEpochStartOffset = -1;

  constructor(options: ReplicationCoreOptions) {
    this.localId = options.localId;
    this.replicaLagTimeMaxMs = options.replicaLagTimeMaxMs;
  }

  get leader(): number { return this.committed.leader; }
  get leaderEpoch(): number { return this.committed.leaderEpoch; }
  get partitionEpoch(): number { return this.committed.partitionEpoch; }
  /** The committed ISR: what acks=-1 and min.insync.replicas count (Kafka's isrState.isr). */
  get isr(): readonly number[] { return this.committed.isr; }
  get replicas(): readonly number[] { return this.committed.replicas; }
  get isLeader(): boolean { return this.committed.leader === this.localId; }
  /** The committed KIP-704 state (RECOVERING: elected uncleanly, its RECOVERED report not committed yet). */
  get leaderRecoveryState(): LeaderRecoveryState { return this.committed.leaderRecoveryState ?? RECOVERED; }
  get pendingProposal(): IsrProposal | undefined { return this.pending; }
  get epochStartOffset(): number { return this.leaderEpochStartOffset; }

  /** The committed ISR together with an in-flight proposal's members (Kafka's maximalIsr). */
  maximalIsr(): readonly number[] {
    if (this.pending === undefined) return this.committed.isr;
    const out = [...this.committed.isr];
    for (const id of this.pending.newIsr) if (!out.includes(id)) out.push(id);
    return out;
  }

  follower(replicaId: number): FollowerReplicaState | undefined {
    return this.followers.get(replicaId);
  }

  /**
   * A committed state from metadata. Returns 'became-leader' when this node takes a new leader epoch
   * (Partition.makeLeader: follower states reset, ISR members counted caught up from now so a new
   * leader does not shrink them at once), 'leader' for an ISR / assignment change under the same
   * epoch, 'follower' when another node leads, 'stale' when the state is older than the one held.
   */
  applyCommitted(state: LeaderAndIsr, nowMs: number, logEndOffset: number): 'became-leader' | 'leader' | 'follower' | 'stale' {
    const current = this.committed;
    if (state.leaderEpoch < current.leaderEpoch
      || (state.leaderEpoch === current.leaderEpoch && state.partitionEpoch < current.partitionEpoch)) return 'stale';
    const newEpoch = state.leaderEpoch !== current.leaderEpoch || state.leader !== current.leader;
    this.committed = { ...state, isr: [...state.isr], replicas: [...state.replicas] };
    // A newer partition epoch settles whatever was in flight (accepted or superseded).
    if (this.pending !== undefined && (newEpoch || state.partitionEpoch > this.pending.partitionEpoch)) this.pending = undefined;
    for (const id of [...this.followers.keys()]) if (!state.replicas.includes(id)) this.followers.delete(id);
    if (state.leader !== this.localId) {
      this.followers.clear();
      this.leaderEpochStartOffset = -1;
      return 'follower';
    }
    if (!newEpoch) return 'leader';
    this.pending = undefined;
    this.leaderEpochStartOffset = logEndOffset;
    for (const id of state.replicas) {
      if (id === this.localId) continue;
      const inIsr = state.isr.includes(id);
      this.followers.set(id, {
        replicaId: id, logEndOffset: UNKNOWN_OFFSET, lastFetchTimeMs: 0, lastFetchLeaderLogEndOffset: UNKNOWN_OFFSET,
        lastCaughtUpTimeMs: inIsr ? nowMs : NEVER_CAUGHT_UP, brokerEpoch: -1,
      });
    }
    return 'became-leader';
  }

  /**
   * Partition.fetchRecords' checks for a follower fetch, before reading. `endOffsetForEpoch` is the
   * leader log's epoch cache (KIP-101/279); `logStartOffset` / `logEndOffset` the leader's log.
   */
  checkFollowerFetch(
    replicaId: number, fetchOffset: number, lastFetchedEpoch: number, currentLeaderEpoch: number,
    logStartOffset: number, logEndOffset: number, endOffsetForEpoch: (epoch: number) => EpochEndOffset,
  ): FollowerFetchCheck {
    if (!this.isLeader) return { kind: 'error', errorCode: 'NOT_LEADER_OR_FOLLOWER' };
    // Partition.followerReplicaOrThrow: a replica not in the assignment is told to refresh its metadata.
    if (replicaId === this.localId || !this.committed.replicas.includes(replicaId)) {
      return { kind: 'error', errorCode: currentLeaderEpoch >= 0 ? 'UNKNOWN_LEADER_EPOCH' : 'NOT_LEADER_OR_FOLLOWER' };
    }
    if (lastFetchedEpoch >= 0) {
      // KIP-595 (Partition.fetchRecords → lastOffsetForLeaderEpoch): the follower's last epoch must end
      // where the leader's does, at or after its fetch offset; else it truncates to what we answer.
      const end = endOffsetForEpoch(lastFetchedEpoch);
      // No answer from the epoch cache: the follower resolves its position with ListOffsets instead
      // (AbstractFetcherThread's out-of-range path), as for a fetch offset outside the log.
      if (end.endOffset < 0 || end.leaderEpoch < 0) return { kind: 'error', errorCode: 'OFFSET_OUT_OF_RANGE' };
      if (end.leaderEpoch < lastFetchedEpoch || end.endOffset < fetchOffset) {
        return { kind: 'diverging', epoch: end.leaderEpoch, endOffset: end.endOffset };
      }
    }
    if (fetchOffset < logStartOffset || fetchOffset > logEndOffset) return { kind: 'error', errorCode: 'OFFSET_OUT_OF_RANGE' };
    return { kind: 'read' };
  }

  /**
   * A follower fetched at fetchOffset while the leader's log ended at leaderLogEndOffset
   * (ReplicaState.updateFetchStateOrThrow). Returns false if the replica is not a follower here.
   */
  recordFollowerFetch(replicaId: number, fetchOffset: number, leaderLogEndOffset: number, nowMs: number, brokerEpoch = -1): boolean {
    const state = this.followers.get(replicaId);
    if (!this.isLeader || state === undefined) return false;
    let lastCaughtUpTimeMs = state.lastCaughtUpTimeMs;
    if (fetchOffset >= leaderLogEndOffset) lastCaughtUpTimeMs = Math.max(lastCaughtUpTimeMs, nowMs);
    else if (fetchOffset >= state.lastFetchLeaderLogEndOffset) lastCaughtUpTimeMs = Math.max(lastCaughtUpTimeMs, state.lastFetchTimeMs);
    this.followers.set(replicaId, {
      replicaId, logEndOffset: fetchOffset, lastCaughtUpTimeMs, lastFetchTimeMs: nowMs,
      lastFetchLeaderLogEndOffset: leaderLogEndOffset, brokerEpoch: brokerEpoch >= 0 ? brokerEpoch : state.brokerEpoch,
    });
    return true;
  }

  /** ReplicaState.isCaughtUp. */
  private isCaughtUp(state: FollowerReplicaState, leaderLogEndOffset: number, nowMs: number): boolean {
    return state.logEndOffset === leaderLogEndOffset || nowMs - state.lastCaughtUpTimeMs <= this.replicaLagTimeMaxMs;
  }

  /**
   * The high watermark the leader may move to: min of its own acknowledged end (durable end in fsync
   * mode) and every maximal-ISR member's end, and of caught-up followers about to join
   * (Partition.maybeIncrementLeaderHW). The caller only ever moves the HW forward.
   */
  highWatermarkCandidate(localAcknowledgedEnd: number, leaderLogEndOffset: number, nowMs: number, isEligible: (id: number) => boolean): number {
    invariant(this.isLeader, 'highWatermarkCandidate on a follower');
    let highWatermark = Math.min(localAcknowledgedEnd, leaderLogEndOffset);
    const maximal = this.maximalIsr();
    for (const state of this.followers.values()) {
      if (state.logEndOffset >= highWatermark) continue;
      const joining = this.isCaughtUp(state, leaderLogEndOffset, nowMs) && isEligible(state.replicaId);
      if (maximal.includes(state.replicaId) || joining) highWatermark = state.logEndOffset;
    }
    return highWatermark;
  }

  /**
   * Partition.maybeShrinkIsr: ISR followers not caught up within replica.lag.time.max.ms, proposed for
   * removal (the leader stays). Undefined when nothing to do or a change is in flight.
   */
  shrinkProposal(leaderLogEndOffset: number, nowMs: number): IsrProposal | undefined {
    if (!this.isLeader || this.pending !== undefined) return undefined;
    const outOfSync = this.committed.isr.filter((id) => {
      if (id === this.localId) return false;
      const state = this.followers.get(id);
      return state === undefined || !this.isCaughtUp(state, leaderLogEndOffset, nowMs);
    });
    if (outOfSync.length === 0) return undefined;
    return this.propose('shrink', this.committed.isr.filter((id) => !outOfSync.includes(id)));
  }

  /**
   * Partition.maybeExpandIsr: a follower outside the ISR whose end reached the high watermark and the
   * start of this leader epoch (so it holds every record of earlier epochs the leader kept).
   */
  expandProposal(replicaId: number, highWatermark: number, isEligible: (id: number) => boolean): IsrProposal | undefined {
    if (!this.isLeader || this.pending !== undefined || this.committed.isr.includes(replicaId)) return undefined;
    const state = this.followers.get(replicaId);
    if (state === undefined || state.logEndOffset < highWatermark || state.logEndOffset < this.leaderEpochStartOffset) return undefined;
    if (!isEligible(replicaId)) return undefined;
    return this.propose('expand', [...this.committed.isr, replicaId]);
  }

  private propose(kind: 'expand' | 'shrink', newIsr: readonly number[]): IsrProposal {
    const proposal: IsrProposal = {
      kind, leaderEpoch: this.committed.leaderEpoch, partitionEpoch: this.committed.partitionEpoch, newIsr, leaderRecoveryState: RECOVERED,
    };
    this.pending = proposal;
    return proposal;
  }

  /**
   * The controller refused the proposal and did not commit it (e.g. INELIGIBLE_REPLICA): it is dropped
   * and the next shrink / expand check proposes again. An answer that does not say whether the change
   * was committed — a timeout, a lost controller, a stale partition epoch (a retry of a proposal the
   * controller already committed is refused that way) — must NOT come here: the proposal stays in
   * flight, so the maximal ISR still counts its members, until a committed state with a newer
   * partition epoch settles it (Kafka's Partition keeps PendingExpandIsr until then, for the same
   * reason: a lost answer to a committed expansion must not let the HW pass the new member).
   */
  proposalRejected(proposal: IsrProposal): void {
    if (this.pending === proposal) this.pending = undefined;
  }
}

/**
 * Where a follower truncates when the leader answers DivergingEpoch {epoch, endOffset}
 * (AbstractFetcherThread.getOffsetTruncationState, KIP-595): with the same epoch locally, the smaller of
 * the two ends; with an older local epoch, its end (the next fetch's LastFetchedEpoch goes further back
 * if needed); with no local epoch ≤ the leader's, the leader's end. Never past the local log end.
 */
export function truncationOffset(diverging: { epoch: number; endOffset: number }, localEndOffsetForEpoch: (epoch: number) => EpochEndOffset, logEndOffset: number): number {
  if (diverging.epoch < 0 || diverging.endOffset < 0) return Math.min(Math.max(diverging.endOffset, 0), logEndOffset);
  const local = localEndOffsetForEpoch(diverging.epoch);
  if (local.leaderEpoch < 0 || local.endOffset < 0) return Math.min(diverging.endOffset, logEndOffset);
  return Math.min(local.endOffset, diverging.endOffset, logEndOffset);
}

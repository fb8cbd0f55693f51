/**
 * One partition's next leader and ISR (KRaft's PartitionChangeBuilder, without ELR and reassignment):
 * the current state, a target ISR and who may lead in, a PartitionChange record (or none) out.
 *
 * Leader choice (PartitionChangeBuilder.electLeader):
 * - 'preferred': the first replica if it is in the target ISR and acceptable; else as 'online'.
 * - 'online': the current leader if it is still in the target ISR and acceptable (no needless move);
 *   else the first replica, in replica order, that is in the target ISR and acceptable; else none (-1).
 * - 'unclean': as 'online', and when no ISR member can lead, the first acceptable replica at all, with
 *   the ISR forced to just it (data acknowledged by the old ISR may be lost: only when the topic allows).
 * An unclean election marks the partition RECOVERING (KIP-704); AlterPartition's target state, when it
 * differs, is written (the leader reports RECOVERED).
 * The ISR never becomes empty: removing its last member leaves it there, leaderless, so that broker
 * leads again when it returns (PartitionChangeBuilder.build keeps the ISR when the target is empty).
 * A leader change bumps the leader epoch; every record bumps the partition epoch (image.ts applies both).
 */
import type { PartitionImage } from '../metadata/image.js';
import { RECOVERED, RECOVERING, type LeaderRecoveryState, type PartitionChangeRecord } from '../metadata/records.js';

/** LeaderConstants.NO_LEADER. */
export const NO_LEADER = -1;

export type Election = 'preferred' | 'online' | 'unclean';

export interface PartitionChangeOptions {
  /** May this broker lead (unfenced, not shutting down, not the broker being removed)? */
  readonly isAcceptableLeader: (brokerId: number) => boolean;
  readonly election: Election;
  /** The ISR wanted (AlterPartition's new ISR, or the ISR without a departing broker); default the current ISR. */
  readonly targetIsr?: readonly number[];
  /** AlterPartition's LeaderRecoveryState (KIP-704); default the partition's. */
  readonly targetLeaderRecoveryState?: LeaderRecoveryState;
  /** Deliberate bugs for proving the simulator's checker (never set in production). */
  readonly bugs?: ReadonlySet<ControllerBug>;
}

/**
 * Deliberate controller bugs the simulator must catch (`npm run sim -- --controller --inject-bug X`):
 * - elect-outside-isr: a clean election takes any live replica, ISR or not.
 * - accept-stale-partition-epoch: AlterPartition ignores an older partition epoch (KIP-704's check).
 * - keep-fenced-leader: fencing a broker (or its controlled shutdown) leaves its leaderships in place.
 * - unclean-stays-recovered: an unclean election does not mark the partition RECOVERING (KIP-704).
 * - ignore-recovered-report: AlterPartition's LeaderRecoveryState is ignored, so RECOVERING stays while
 *   the ISR grows.
 * - no-eligibility-epoch-bump: unfencing a broker does not bump the partition epochs of the partitions
 *   it is a replica of outside the ISR (replication-control.ts eligibilityEpochBumps).
 */
export const CONTROLLER_BUG_NAMES = ['elect-outside-isr', 'accept-stale-partition-epoch', 'keep-fenced-leader', 'no-eligibility-epoch-bump',
  'unclean-stays-recovered', 'ignore-recovered-report'] as const;
export type ControllerBug = typeof CONTROLLER_BUG_NAMES[number];

export interface PartitionChange {
  /** null: nothing changes. */
  readonly record: PartitionChangeRecord | null;
  readonly leader: number;
  readonly isr: readonly number[];
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly unclean: boolean;
  readonly leaderRecoveryState: LeaderRecoveryState;
}

export function buildPartitionChange(partition: PartitionImage, options: PartitionChangeOptions): PartitionChange {
  const targetIsr = options.targetIsr ?? partition.isr;
  const outsideIsr = options.bugs?.has('elect-outside-isr') === true;
  const valid = (r: number): boolean => (outsideIsr || targetIsr.includes(r)) && options.isAcceptableLeader(r);
  let leader = NO_LEADER;
  let unclean = false;
  const preferred = partition.replicas[0];
  if (options.election === 'preferred' && preferred !== undefined && valid(preferred)) leader = preferred;
  else if (partition.leader !== NO_LEADER && valid(partition.leader)) leader = partition.leader;
  else {
    const clean = partition.replicas.find(valid);
    if (clean !== undefined) leader = clean;
    else if (options.election === 'unclean') {
      const any = partition.replicas.find((r) => options.isAcceptableLeader(r));
      if (any !== undefined) {
        leader = any;
        unclean = true;
      }
    }
  }
  const record: PartitionChangeRecord = { type: 'PartitionChange', topicId: partition.topicId, partitionId: partition.partitionId };
  let changed = false;
  const currentRecovery = partition.leaderRecoveryState ?? RECOVERED;
  if (leader !== partition.leader) {
    record.leader = leader;
    changed = true;
    if (unclean) {
      // KIP-704 (PartitionChangeBuilder.tryElection): the ISR is forced to the new leader, which may lack
      // acknowledged records, and the partition is RECOVERING until that leader reports RECOVERED.
      record.isr = [leader];
      if (currentRecovery !== RECOVERING && options.bugs?.has('unclean-stays-recovered') !== true) record.leaderRecoveryState = RECOVERING;
    }
  }
  if (record.isr === undefined && targetIsr.length > 0 && !sameList(targetIsr, partition.isr)) {
    record.isr = [...targetIsr];
    changed = true;
  }
  // PartitionChangeBuilder.build: the target state (AlterPartition's) when it differs; a change of its own.
  const target = options.bugs?.has('ignore-recovered-report') === true ? undefined : options.targetLeaderRecoveryState;
  if (record.leaderRecoveryState === undefined && target !== undefined && target !== currentRecovery) {
    record.leaderRecoveryState = target;
    changed = true;
  }
  if (!changed) {
    return {
      record: null, leader: partition.leader, isr: partition.isr, leaderEpoch: partition.leaderEpoch,
      partitionEpoch: partition.partitionEpoch, unclean: false, leaderRecoveryState: currentRecovery,
    };
  }
  return {
    record,
    leader,
    isr: record.isr ?? partition.isr,
    leaderEpoch: leader !== partition.leader ? partition.leaderEpoch + 1 : partition.leaderEpoch,
    partitionEpoch: partition.partitionEpoch + 1,
    unclean,
    leaderRecoveryState: record.leaderRecoveryState ?? currentRecovery,
  };
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

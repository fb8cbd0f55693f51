/**
 * A KIP-848 consumer group's state and the pure steps of the protocol (Kafka's ConsumerGroup,
 * ConsumerGroupMember, CurrentAssignmentBuilder, TargetAssignmentBuilder in group-coordinator/modern):
 *
 * - The **group epoch** moves whenever what the assignment depends on moves: members, their
 *   subscriptions or assignor, or the subscribed topics' metadata (a topic created that a regular
 *   expression matches, partitions added, a topic deleted).
 * - The **target assignment** is recomputed by the server-side assignor when the group epoch is ahead of
 *   the assignment epoch; then the assignment epoch = the group epoch.
 * - Each member **reconciles** towards its target on its own heartbeats (incremental, KIP-848's
 *   "revoke before assign"): partitions it must give up are first taken away while its member epoch
 *   stays (UNREVOKED_PARTITIONS) until it reports them released; partitions another member still owns
 *   are withheld (UNRELEASED_PARTITIONS) until that member lets them go; otherwise it is STABLE at the
 *   target's epoch. No partition is ever owned by two members at once.
 *
 * Topic partitions are keyed by topic id, as on the wire and in the records.
 */
import { partitionKey, type ClassicMemberMetadata, type ConsumerMemberAssignment, type MemberStateName, type TopicPartitions } from './consumer-records.js';

export interface ConsumerMember {
  readonly memberId: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: readonly string[];
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  rebalanceTimeoutMs: number;
  memberEpoch: number;
  previousMemberEpoch: number;
  state: MemberStateName;
  assignedPartitions: Map<string, number[]>;
  partitionsPendingRevocation: Map<string, number[]>;
  /** Non-null for a member speaking the classic protocol inside this consumer group (KIP-848 online conversion). */
  classicMemberMetadata: ClassicMemberMetadata | null;
  /**
   * KIP-1251: "topicId:partition" → the member epoch at which the member got the partition, for every
   * partition it holds (assigned or pending revocation). An OffsetCommit with an older member epoch is
   * still accepted for a partition the member has held since that epoch.
   */
  partitionEpochs: Map<string, number>;
}

export interface ConsumerGroupState {
  groupEpoch: number;
  assignmentEpoch: number;
  readonly members: Map<string, ConsumerMember>;
  /** memberId → topic id → partitions. */
  readonly targetAssignment: Map<string, Map<string, number[]>>;
  /** What the last target assignment was computed from (subscribed topic ids and partition counts). */
  metadataSignature: string;
}

export type ConsumerGroupStateName = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable';

export function newConsumerGroupState(): ConsumerGroupState {
  return { groupEpoch: 0, assignmentEpoch: 0, members: new Map(), targetAssignment: new Map(), metadataSignature: '' };
}

/** ConsumerGroup.state(): Empty without members; Assigning while the target lags; Reconciling while a member does. */
export function consumerGroupStateName(group: ConsumerGroupState): ConsumerGroupStateName {
  if (group.members.size === 0) return 'Empty';
  if (group.groupEpoch > group.assignmentEpoch) return 'Assigning';
  for (const m of group.members.values()) {
    if (m.state !== 'STABLE' || m.memberEpoch !== group.assignmentEpoch) return 'Reconciling';
  }
  return 'Stable';
}

/**
 * ConsumerGroup.waitingOnUnreleasedPartition: the member's target holds a partition it does not have yet
 * because another member still owns it. A classic member whose partitions were all released meanwhile
 * is told to rejoin (REBALANCE_IN_PROGRESS) to collect them.
 */
export function waitingOnUnreleasedPartition(group: ConsumerGroupState, member: ConsumerMember): boolean {
  const target = group.targetAssignment.get(member.memberId);
  if (target === undefined) return false;
  const owners = currentOwners(group, member.memberId);
  for (const [t, ps] of target) {
    for (const p of ps) if (!has(member.assignedPartitions, t, p) && owners.has(`${t}:${p}`)) return true;
  }
  return false;
}

export function copyPartitions(p: TopicPartitions): Map<string, number[]> {
  return new Map([...p].map(([t, ps]) => [t, [...ps]]));
}

export function samePartitions(a: TopicPartitions, b: TopicPartitions): boolean {
  const norm = (p: TopicPartitions) => JSON.stringify([...p].filter(([, ps]) => ps.length > 0).map(([t, ps]) => [t, [...ps].sort((x, y) => x - y)]).sort());
  return norm(a) === norm(b);
}

function has(p: TopicPartitions, topicId: string, partition: number): boolean {
  return p.get(topicId)?.includes(partition) ?? false;
}

function addTo(p: Map<string, number[]>, topicId: string, partition: number): void {
  const list = p.get(topicId);
  if (list === undefined) p.set(topicId, [partition]);
  else if (!list.includes(partition)) list.push(partition);
}

function sorted(p: Map<string, number[]>): Map<string, number[]> {
  for (const [t, ps] of p) {
    if (ps.length === 0) p.delete(t);
    else ps.sort((a, b) => a - b);
  }
  return p;
}

export function countPartitions(p: TopicPartitions): number {
  let n = 0;
  for (const ps of p.values()) n += ps.length;
  return n;
}

/**
 * Who owns each partition now ("topicId:partition" → member id): assigned partitions and those pending
 * revocation alike, since a member keeps consuming those until it says it stopped.
 */
export function currentOwners(group: ConsumerGroupState, except?: string): Map<string, string> {
  const owners = new Map<string, string>();
  for (const m of group.members.values()) {
    if (m.memberId === except) continue;
    for (const p of [m.assignedPartitions, m.partitionsPendingRevocation]) {
      for (const [t, ps] of p) for (const x of ps) owners.set(`${t}:${x}`, m.memberId);
    }
  }
  return owners;
}

/**
 * One reconciliation step for `member` (CurrentAssignmentBuilder.build): `owned` is what the member
 * reported owning in this heartbeat (null when the request did not say). Returns the member's next
 * assignment state; the caller stores it.
 */
export function reconcile(
  group: ConsumerGroupState, member: ConsumerMember, owned: TopicPartitions | null,
): ConsumerMemberAssignment {
  const current: ConsumerMemberAssignment = {
    memberEpoch: member.memberEpoch,
    previousMemberEpoch: member.previousMemberEpoch,
    state: member.state,
    assignedPartitions: member.assignedPartitions,
    partitionsPendingRevocation: member.partitionsPendingRevocation,
  };
  switch (member.state) {
    case 'STABLE':
      if (member.memberEpoch === group.assignmentEpoch) return current;
      return nextAssignment(group, member);
    case 'UNREVOKED_PARTITIONS': {
      // The member moves on only once it says it no longer owns what it had to give up.
      if (owned === null) return current;
      for (const [t, ps] of member.partitionsPendingRevocation) {
        for (const p of ps) if (has(owned, t, p)) return current;
      }
      return nextAssignment(group, { ...member, partitionsPendingRevocation: new Map() });
    }
    case 'UNRELEASED_PARTITIONS':
      return nextAssignment(group, member);
  }
}

function nextAssignment(group: ConsumerGroupState, member: ConsumerMember): ConsumerMemberAssignment {
  const target = group.targetAssignment.get(member.memberId) ?? new Map<string, number[]>();
  const owners = currentOwners(group, member.memberId);
  const kept = new Map<string, number[]>();
  const revoke = new Map<string, number[]>();
  for (const [t, ps] of member.assignedPartitions) {
    for (const p of ps) {
      if (has(target, t, p)) addTo(kept, t, p);
      else addTo(revoke, t, p);
    }
  }
  if (countPartitions(revoke) > 0) {
    // Revoke first: the member keeps its epoch and only what stays; the rest waits for its release.
    return {
      memberEpoch: member.memberEpoch,
      previousMemberEpoch: member.previousMemberEpoch,
      state: 'UNREVOKED_PARTITIONS',
      assignedPartitions: sorted(kept),
      partitionsPendingRevocation: sorted(revoke),
    };
  }
  let unreleased = false;
  const assigned = new Map(kept);
  for (const [t, ps] of target) {
    for (const p of ps) {
      if (has(assigned, t, p)) continue;
      if (owners.has(`${t}:${p}`)) unreleased = true;
      else addTo(assigned, t, p);
    }
  }
  return {
    memberEpoch: group.assignmentEpoch,
    previousMemberEpoch: member.memberEpoch,
    state: unreleased ? 'UNRELEASED_PARTITIONS' : 'STABLE',
    assignedPartitions: sorted(assigned),
    partitionsPendingRevocation: new Map(),
  };
}

export function applyAssignment(member: ConsumerMember, next: ConsumerMemberAssignment): boolean {
  const changed = member.memberEpoch !== next.memberEpoch || member.previousMemberEpoch !== next.previousMemberEpoch ||
    member.state !== next.state || !samePartitions(member.assignedPartitions, next.assignedPartitions) ||
    !samePartitions(member.partitionsPendingRevocation, next.partitionsPendingRevocation);
  member.memberEpoch = next.memberEpoch;
  member.previousMemberEpoch = next.previousMemberEpoch;
  member.state = next.state;
  // A partition the member keeps keeps the epoch it was assigned at; a new one is assigned at the new epoch.
  const epochs = new Map<string, number>();
  for (const p of [next.assignedPartitions, next.partitionsPendingRevocation]) {
    for (const [t, ps] of p) for (const x of ps) epochs.set(partitionKey(t, x), member.partitionEpochs.get(partitionKey(t, x)) ?? next.memberEpoch);
  }
  member.assignedPartitions = copyPartitions(next.assignedPartitions);
  member.partitionsPendingRevocation = copyPartitions(next.partitionsPendingRevocation);
  member.partitionEpochs = epochs;
  return changed;
}

/**
 * Translates a subscription regular expression (Kafka: RE2/J syntax, KIP-848) to a JavaScript RegExp
 * matched against the whole topic name; null when it does not compile.
 */
export function compileTopicRegex(pattern: string): RegExp | null {
  try {
    return new RegExp(`^(?:${pattern})$`, 'u');
  } catch {
    return null;
  }
}

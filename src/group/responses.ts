/**
 * Response bodies and read-only views built from a group, shared by the coordinator's request paths.
 */
import type { ClassicGroup, CommittedOffset } from './classic-group.js';
import { ErrorCode } from './errors.js';
import type {
  DescribedGroup,
  GroupState,
  JoinGroupResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchResponsePartition,
  SyncGroupResponse,
} from './types.js';

const NO_GENERATION = -1;

/** A read-only view of one group, for the handlers, tests and the simulator. */
export interface GroupView {
  groupId: string;
  partition: number;
  state: GroupState;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  members: { memberId: string; groupInstanceId: string | null; assignment: Buffer; awaitingJoin: boolean; awaitingSync: boolean }[];
  pendingMemberIds: string[];
  offsets: { topic: string; partition: number; offset: bigint; metadata: string }[];
}

export function joinError(memberId: string, errorCode: number): JoinGroupResponse {
  return { errorCode, generationId: NO_GENERATION, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId, members: [] };
}

export function syncError(errorCode: number): SyncGroupResponse {
  return { errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
}

export function syncResponse(group: ClassicGroup, assignment: Buffer): SyncGroupResponse {
  return { errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment };
}

export function commitResponse(
  req: OffsetCommitRequest,
  errorFor: (topic: string, partition: OffsetCommitRequest['topics'][number]['partitions'][number]) => number,
): OffsetCommitResponse {
  return {
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errorFor(t.name, p) })),
    })),
  };
}

export function allCommitted(group: ClassicGroup | undefined): { name: string; partitionIndexes: number[] }[] {
  if (group === undefined) return [];
  return [...group.offsets.keys()].sort().map((name) => ({
    name,
    partitionIndexes: [...(group.offsets.get(name) as Map<number, CommittedOffset>).keys()].sort((a, b) => a - b),
  }));
}

export function fetchPartition(group: ClassicGroup | undefined, topic: string, partitionIndex: number, requireStable: boolean): OffsetFetchResponsePartition {
  const none = { partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE };
  if (group === undefined) return none;
  // KIP-447: a consumer asking for stable offsets retries rather than read one about to change.
  if (requireStable && group.hasPendingOffsetCommit(topic, partitionIndex)) return { ...none, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT };
  const committed = group.offset(topic, partitionIndex);
  if (committed === undefined) return none;
  return { partitionIndex, committedOffset: committed.offset, committedLeaderEpoch: committed.leaderEpoch, metadata: committed.metadata, errorCode: ErrorCode.NONE };
}

export function describedError(groupId: string, errorCode: number): DescribedGroup {
  return { errorCode, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
}

/** Member metadata and assignments are only meaningful, and only shown, once the group is Stable. */
export function describe(group: ClassicGroup): DescribedGroup {
  const stable = group.state === 'Stable';
  return {
    errorCode: ErrorCode.NONE,
    groupId: group.groupId,
    groupState: group.state,
    protocolType: group.protocolType ?? '',
    protocolData: stable ? (group.protocolName ?? '') : '',
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: stable ? group.memberMetadata(m) : Buffer.alloc(0),
      memberAssignment: stable ? m.assignment : Buffer.alloc(0),
    })),
  };
}

export function viewOf(group: ClassicGroup): GroupView {
  const offsets: GroupView['offsets'] = [];
  for (const [topic, partitions] of group.offsets) {
    for (const [partition, c] of partitions) offsets.push({ topic, partition, offset: c.offset, metadata: c.metadata });
  }
  offsets.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return {
    groupId: group.groupId,
    partition: group.partition,
    state: group.state,
    generationId: group.generationId,
    protocolType: group.protocolType,
    protocolName: group.protocolName,
    leaderId: group.leaderId,
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      assignment: m.assignment,
      awaitingJoin: m.joinToken !== null,
      awaitingSync: m.syncToken !== null,
    })),
    pendingMemberIds: [...group.pendingMembers],
    offsets,
  };
}

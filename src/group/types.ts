/**
 * Plain request and response shapes of the group coordinator core. They follow the Kafka message specs
 * (JoinGroup v0-9, SyncGroup v0-5, Heartbeat v0-4, LeaveGroup v0-5, OffsetCommit v0-9, OffsetFetch v0-9,
 * DescribeGroups v0-5, ListGroups v0-5, DeleteGroups v0-2, OffsetDelete v0) with the version differences
 * already folded by the handler: a field a version lacks is given its spec default.
 */
import type { ConsumerGroupHeartbeatResponse } from './consumer-coordinator.js';
import type { CoordinatorRecord } from './records.js';

/** Chosen by the caller, unique among its outstanding requests; echoed on the delayed response. */
export type RequestToken = number;

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface GroupCoordinatorConfig {
  /** offsets.topic.num.partitions */
  offsetsTopicNumPartitions: number;
  /** group.min.session.timeout.ms */
  groupMinSessionTimeoutMs: number;
  /** group.max.session.timeout.ms */
  groupMaxSessionTimeoutMs: number;
  /** group.initial.rebalance.delay.ms: lets a starting group gather its members before generation 1. */
  groupInitialRebalanceDelayMs: number;
  /**
   * group.max.size (KIP-389). Kafka's default is Integer.MAX_VALUE; here every client-driven collection
   * is bounded (STYLE.md 8), so members plus KIP-394 pending members are capped by default.
   */
  groupMaxSize: number;
  /** How long a member joining for the first time may wait for its JoinGroup response (KIP-394). */
  groupNewMemberJoinTimeoutMs: number;
  /** offset.metadata.max.bytes */
  offsetMetadataMaxBytes: number;
  /** offsets.retention.minutes (KIP-211) */
  offsetsRetentionMinutes: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** Bound on one member's protocols (names + metadata) and on one assignment, in bytes. */
  memberMetadataBytesMax: number;
  /** Bound on the number of protocols one member may offer. */
  memberProtocolsMax: number;
  /** group.consumer.session.timeout.ms (KIP-848), unless the group sets consumer.session.timeout.ms. */
  consumerSessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms, unless the group sets consumer.heartbeat.interval.ms. */
  consumerHeartbeatIntervalMs: number;
  /** group.consumer.assignors: server-side assignors, the first being the default. */
  consumerAssignors: readonly string[];
  /** group.consumer.max.size (Kafka: Integer.MAX_VALUE; bounded here, STYLE.md 8). */
  consumerMaxSize: number;
  /**
   * group.consumer.migration.policy (KIP-848): whether a classic group with members converts to a
   * consumer group when a consumer-protocol member joins (upgrade), and back when the last one leaves
   * (downgrade). Kafka 4's default is bidirectional.
   */
  consumerMigrationPolicy: ConsumerGroupMigrationPolicy;
}

export type ConsumerGroupMigrationPolicy = 'disabled' | 'upgrade' | 'downgrade' | 'bidirectional';

export const defaultGroupCoordinatorConfig: GroupCoordinatorConfig = {
  offsetsTopicNumPartitions: 50,
  groupMinSessionTimeoutMs: 6_000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupInitialRebalanceDelayMs: 3_000,
  groupMaxSize: 1_000,
  groupNewMemberJoinTimeoutMs: 300_000,
  offsetMetadataMaxBytes: 4_096,
  offsetsRetentionMinutes: 10_080,
  offsetsRetentionCheckIntervalMs: 600_000,
  memberMetadataBytesMax: 1_048_576,
  memberProtocolsMax: 32,
  consumerSessionTimeoutMs: 45_000,
  consumerHeartbeatIntervalMs: 5_000,
  consumerAssignors: ['uniform', 'range'],
  consumerMaxSize: 1_000,
  consumerMigrationPolicy: 'bidirectional',
};

export interface JoinGroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  /** v0 has none: pass -1 and the session timeout is used, as Kafka does. */
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: JoinGroupProtocol[];
  reason: string | null;
  /** True for JoinGroup v4+: a member without id gets MEMBER_ID_REQUIRED first (KIP-394). */
  requireKnownMemberId: boolean;
  /** True for JoinGroup v9+: a rejoining static leader may skip the assignment (KIP-814). */
  supportSkippingAssignment: boolean;
  clientId: string;
  clientHost: string;
}

export interface JoinGroupResponseMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

/** v0-6 cannot carry a null protocolName: send "" there (KafkaApis does the same). */
export interface JoinGroupResponse {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: JoinGroupResponseMember[];
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v5+, null before. */
  protocolType: string | null;
  /** v5+, null before. */
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

/** protocolType and protocolName exist from v5 only. */
export interface SyncGroupResponse {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface HeartbeatResponse {
  errorCode: number;
}

export interface LeaveGroupRequest {
  groupId: string;
  /** v0-2 carry one memberId: pass it as a single member with groupInstanceId null. */
  members: { memberId: string; groupInstanceId: string | null; reason: string | null }[];
}

/** For v0-2 (one member) the top-level errorCode is that member's error when the group-level one is NONE. */
export interface LeaveGroupResponse {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

/** v0 carries no generation or member: pass -1 and "" (such a commit needs an Empty group). */
export interface OffsetCommitRequest {
  groupId: string;
  /** -1 for a commit from outside group management (admin tools, assign()). */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v2-4 only; -1 = broker retention. */
  retentionTimeMs: number;
  /**
   * The OffsetCommit version, for KIP-848's rule that consumer-protocol members commit with v9+
   * (UNSUPPORTED_VERSION otherwise). Absent: not checked (TxnOffsetCommit, tests).
   */
  apiVersion?: number;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      committedOffset: bigint;
      committedLeaderEpoch: number;
      committedMetadata: string | null;
    }[];
  }[];
}

export interface OffsetCommitResponse {
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

export interface OffsetFetchRequest {
  /**
   * v8+ batch; v0-7 is a single group. `topics: null` = every committed partition (v2+). memberId and
   * memberEpoch (v9+, KIP-848; default null and -1) are checked against a consumer group's members.
   */
  groups: { groupId: string; memberId?: string | null; memberEpoch?: number; topics: { name: string; partitionIndexes: number[] }[] | null }[];
  /** v7+: answer UNSTABLE_OFFSET_COMMIT while a commit to that partition is not yet durable. */
  requireStable: boolean;
}

export interface OffsetFetchResponsePartition {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

/**
 * One group's answer. For v0-7 (one group) a group-level error goes to the top-level errorCode (v2+)
 * or, for v0-1, into every partition.
 */
export interface OffsetFetchResponseGroup {
  groupId: string;
  errorCode: number;
  topics: { name: string; partitions: OffsetFetchResponsePartition[] }[];
}

export interface OffsetFetchResponse {
  groups: OffsetFetchResponseGroup[];
}

export interface DescribedGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  memberMetadata: Buffer;
  memberAssignment: Buffer;
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  groupState: string;
  protocolType: string;
  protocolData: string;
  members: DescribedGroupMember[];
}

export interface ListGroupsRequest {
  /** v4+; empty = all states. Compared case-insensitively, as Kafka does. */
  statesFilter: string[];
  /** v5+; empty = all types. Classic groups have type "classic". */
  typesFilter: string[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: string;
  groupType: string;
}

export interface ListGroupsResponse {
  errorCode: number;
  groups: ListedGroup[];
}

export interface DeleteGroupsResponse {
  results: { groupId: string; errorCode: number }[];
}

export interface OffsetDeleteRequest {
  groupId: string;
  topics: { name: string; partitions: { partitionIndex: number }[] }[];
}

export interface OffsetDeleteResponse {
  errorCode: number;
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

/** A response that may wait for a rebalance or a durable append, addressed by the caller's token. */
export type DelayedResponse =
  | { api: 'joinGroup'; token: RequestToken; body: JoinGroupResponse }
  | { api: 'syncGroup'; token: RequestToken; body: SyncGroupResponse }
  | { api: 'offsetCommit'; token: RequestToken; body: OffsetCommitResponse }
  | { api: 'deleteGroups'; token: RequestToken; body: DeleteGroupsResponse }
  | { api: 'offsetDelete'; token: RequestToken; body: OffsetDeleteResponse }
  | { api: 'consumerGroupHeartbeat'; token: RequestToken; body: ConsumerGroupHeartbeatResponse }
  | { api: 'txnOffsetCommit'; token: RequestToken; body: OffsetCommitResponse };

/**
 * Records to append, in emission order, to one `__consumer_offsets` partition. The caller reports the
 * outcome with completeAppend(appendId, errorCode) once the records are committed (or failed); responses
 * that depend on them are only emitted then (persist before send).
 */
export interface AppendRequest {
  appendId: number;
  partition: number;
  records: CoordinatorRecord[];
  /** Transactional offsets (TxnOffsetCommit): the batch is transactional, written for this producer. */
  producer?: { producerId: number; producerEpoch: number };
}

/** TxnOffsetCommit (KIP-98, KIP-447): offsets that become committed when the producer's transaction commits. */
export interface TxnOffsetCommitRequest extends Omit<OffsetCommitRequest, 'retentionTimeMs'> {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
}

export type CoordinatorOutput =
  | { kind: 'append'; append: AppendRequest }
  | { kind: 'response'; response: DelayedResponse };

/**
 * KIP-848 consumer groups (`group.protocol=consumer`) inside the IO-free group coordinator core:
 * ConsumerGroupHeartbeat and ConsumerGroupDescribe, after Kafka's GroupMetadataManager
 * (consumerGroupHeartbeat, consumerGroupDescribe) with the steps in consumer-group.ts.
 *
 * One heartbeat, in Kafka's order: validate the request (INVALID_REQUEST, UNSUPPORTED_ASSIGNOR,
 * INVALID_REGULAR_EXPRESSION); find or create the group (an Empty classic group becomes a consumer group
 * and keeps its offsets; one with members is converted online when group.consumer.migration.policy
 * allows it, else GROUP_ID_NOT_FOUND with Kafka 4.4's reason); join (epoch 0), leave (-1; -2 for a static member, which leaves the same way
 * here), or check the member and its epoch (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH; a member that lost a
 * response may present its previous epoch if it owns nothing it should not); update the member's
 * subscription; bump the group epoch when members, subscriptions or the subscribed topics changed;
 * compute a new target assignment when the group epoch is ahead; reconcile the member; answer with its
 * epoch, the heartbeat interval and, when it changed or the request was a full one, its assignment.
 * Every change is written to `__consumer_offsets` as Kafka's records (consumer-records.ts) and the answer
 * waits until they are durable (persist before send).
 *
 * Timers: a member that stops heartbeating for the session timeout (group config
 * consumer.session.timeout.ms, else group.consumer.session.timeout.ms) is removed; a member that does
 * not release partitions within its rebalance timeout is removed too (Kafka fences it the same way).
 * Regular-expression subscriptions are resolved on the broker against the topics of the metadata image
 * at every heartbeat, so a topic created later joins the subscription on the next heartbeat.
 *
 * Classic members (KIP-848 online conversion, Kafka's classicGroup*ToConsumerGroup): after an upgrade,
 * or when a classic consumer joins a consumer group with members, JoinGroup/SyncGroup/Heartbeat/
 * LeaveGroup of a classic member run here: it reconciles like any member (the partitions its
 * subscription still owns count as owned), learns of a new epoch, of partitions to revoke or of freed
 * ones through REBALANCE_IN_PROGRESS on its heartbeat, and is fenced when it does not rejoin or sync
 * within its rebalance timeout. When the last consumer-protocol member leaves, the group goes back to
 * classic (fenceMember → the host's convertToClassic).
 *
 * Not implemented: static membership beyond its leave epoch (a static member rejoining with a new
 * member id gets a new assignment; a classic static member replaces the old one without taking its
 * assignment over); rack-aware assignment; client-side assignors (removed from KIP-848's final form).
 */
import type { Clock } from '../common/clock.js';
import { ASSIGNOR_NAMES, assign, isAssignorName, type AssignorMember, type AssignorName } from './assignors.js';
import {
  applyAssignment,
  compileTopicRegex,
  consumerGroupStateName,
  copyPartitions,
  newConsumerGroupState,
  reconcile,
  samePartitions,
  waitingOnUnreleasedPartition,
  type ConsumerGroupState,
  type ConsumerMember,
} from './consumer-group.js';
import { CONSUMER_PROTOCOL_TYPE, decodeSubscription, encodeAssignment, subscriptionVersion, type Subscription } from './consumer-protocol.js';
import type {
  HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
} from './types.js';
import {
  consumerCurrentMemberAssignmentKey,
  consumerGroupMetadataKey,
  consumerMemberMetadataKey,
  consumerTargetAssignmentMemberKey,
  consumerTargetAssignmentMetadataKey,
  encodeConsumerCurrentMemberAssignmentValue,
  encodeConsumerGroupMetadataValue,
  encodeConsumerMemberMetadataValue,
  encodeConsumerTargetAssignmentMemberValue,
  encodeConsumerTargetAssignmentMetadataValue,
  type ConsumerMemberAssignment,
  type ConsumerMemberMetadata,
} from './consumer-records.js';
import { ErrorCode } from './errors.js';
import type { CoordinatorRecord } from './records.js';

/** KIP-848 member epochs with a meaning of their own. */
export const JOIN_GROUP_MEMBER_EPOCH = 0;
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

export interface ConsumerGroupHeartbeatRequest {
  apiVersion: number;
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  /** -1: unchanged. */
  rebalanceTimeoutMs: number;
  /** null: unchanged. */
  subscribedTopicNames: string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  /** What the member owns now; null: not reported. */
  topicPartitions: { topicId: string; partitions: number[] }[] | null;
  clientId: string;
  clientHost: string;
}

export interface ConsumerGroupHeartbeatResponse {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: { topicPartitions: { topicId: string; partitions: number[] }[] } | null;
}

export interface DescribedConsumerGroupMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  memberEpoch: number;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  assignment: { topicId: string; topicName: string; partitions: number[] }[];
  targetAssignment: { topicId: string; topicName: string; partitions: number[] }[];
  /** A classic member of a converted group (KIP-848 online conversion). */
  usesClassicProtocol: boolean;
}

export interface DescribedConsumerGroup {
  errorCode: number;
  errorMessage: string | null;
  groupId: string;
  groupState: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: DescribedConsumerGroupMember[];
}

export interface TopicInfo {
  readonly topicId: string;
  readonly name: string;
  readonly partitions: number;
}

/** The topics of the metadata image, as the core sees them (internal topics left out). */
export interface TopicsSnapshot {
  readonly byName: ReadonlyMap<string, TopicInfo>;
  readonly byId: ReadonlyMap<string, TopicInfo>;
}

export const EMPTY_TOPICS: TopicsSnapshot = { byName: new Map(), byId: new Map() };

export interface ConsumerGroupConfig {
  /** group.consumer.session.timeout.ms (Kafka default 45 s), or the group's consumer.session.timeout.ms. */
  sessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms (5 s), or the group's consumer.heartbeat.interval.ms. */
  heartbeatIntervalMs: number;
}

/** What the consumer protocol needs from the core that hosts it. */
export interface ConsumerProtocolHost {
  readonly clock: Clock;
  /** group.consumer.assignors, in preference order (the first is the default). */
  readonly assignors: readonly AssignorName[];
  /** Bound on members of one group (group.consumer.max.size; STYLE.md 8). */
  readonly maxGroupSize: number;
  topics(): TopicsSnapshot;
  groupConfig(groupId: string): ConsumerGroupConfig;
  uuid(): string;
  /** The consumer state of a group, creating the group (and converting an Empty classic one) if asked. */
  consumerGroup(groupId: string, create: boolean): { state: ConsumerGroupState; partition: number; records: CoordinatorRecord[] } | { error: number; message: string | null };
  scheduleConsumerTimer(key: string, delayMs: number, task: ConsumerTimerTask): void;
  /** Like scheduleConsumerTimer, but keeps a deadline already set under the key (Kafka's scheduleIfAbsent). */
  scheduleConsumerTimerIfAbsent(key: string, delayMs: number, task: ConsumerTimerTask): void;
  cancelTimer(key: string): void;
  /** group.consumer.migration.policy allows a consumer group to go back to classic (downgrade, bidirectional). */
  readonly downgradeEnabled: boolean;
  /** group.max.size: a downgrade must fit in a classic group. */
  readonly classicMaxGroupSize: number;
  /**
   * Turns the consumer group into a classic group holding its remaining (classic) members, without the
   * ones leaving (GroupMetadataManager.convertToClassicGroup): returns the records of the conversion,
   * or null when it cannot be done (the members' embedded protocol does not parse).
   */
  convertToClassic(groupId: string, leavingMemberId: string): CoordinatorRecord[] | null;
}

export type ConsumerTimerTask =
  | { kind: 'consumerSession'; groupId: string; memberId: string }
  | { kind: 'consumerRevocation'; groupId: string; memberId: string; memberEpoch: number }
  /** A classic member told to rejoin (REBALANCE_IN_PROGRESS) that did not within its rebalance timeout. */
  | { kind: 'consumerJoin'; groupId: string; memberId: string }
  /** A classic member that joined but did not SyncGroup within its rebalance timeout. */
  | { kind: 'consumerSync'; groupId: string; memberId: string };

export type ClassicJoinOutcome =
  | { kind: 'respond'; response: JoinGroupResponse }
  | { kind: 'append'; partition: number; records: CoordinatorRecord[]; response: JoinGroupResponse };

export type HeartbeatOutcome =
  | { kind: 'respond'; response: ConsumerGroupHeartbeatResponse }
  | { kind: 'append'; partition: number; records: CoordinatorRecord[]; response: ConsumerGroupHeartbeatResponse };

const sessionKey = (groupId: string, memberId: string): string => `cs\0${groupId}\0${memberId}`;
const revocationKey = (groupId: string, memberId: string): string => `cr\0${groupId}\0${memberId}`;
const joinKey = (groupId: string, memberId: string): string => `cj\0${groupId}\0${memberId}`;
const syncKey = (groupId: string, memberId: string): string => `cy\0${groupId}\0${memberId}`;

function classicJoinError(memberId: string, errorCode: number): JoinGroupResponse {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId, members: [] };
}

function classicSyncError(errorCode: number): SyncGroupResponse {
  return { errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
}

function errorResponse(errorCode: number, errorMessage: string | null = null): ConsumerGroupHeartbeatResponse {
  return { errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
}

export class ConsumerGroupProtocol {
  constructor(private readonly host: ConsumerProtocolHost) {}

  heartbeat(req: ConsumerGroupHeartbeatRequest): HeartbeatOutcome {
    const invalid = this.validate(req);
    if (invalid !== null) return { kind: 'respond', response: invalid };
    const found = this.host.consumerGroup(req.groupId, req.memberEpoch === JOIN_GROUP_MEMBER_EPOCH);
    if ('error' in found) return { kind: 'respond', response: errorResponse(found.error, found.message) };
    const { state: group, partition } = found;
    const records = [...found.records];
    if (req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      const member = group.members.get(req.memberId);
      if (member === undefined) return { kind: 'respond', response: errorResponse(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${req.groupId}.`) };
      records.push(...this.fenceMember(req.groupId, group, member));
      const response = { ...errorResponse(ErrorCode.NONE), memberId: req.memberId, memberEpoch: req.memberEpoch };
      return { kind: 'append', partition, records, response };
    }
    let member: ConsumerMember;
    let joined = false;
    if (req.memberEpoch === JOIN_GROUP_MEMBER_EPOCH) {
      const memberId = req.apiVersion === 0 && req.memberId === '' ? this.host.uuid() : req.memberId;
      const previous = group.members.get(memberId);
      // A member that rejoins under its id starts over: what it had is released first.
      if (previous !== undefined) records.push(...this.removeMember(req.groupId, group, previous));
      if (group.members.size >= this.host.maxGroupSize) {
        return { kind: 'respond', response: errorResponse(ErrorCode.GROUP_MAX_SIZE_REACHED, `The consumer group has reached its maximum capacity of ${this.host.maxGroupSize} members.`) };
      }
      member = newMember(memberId, req);
      group.members.set(memberId, member);
      joined = true;
    } else {
      const existing = group.members.get(req.memberId);
      if (existing === undefined) return { kind: 'respond', response: errorResponse(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${req.groupId}.`) };
      const fenced = fencingError(existing, req);
      if (fenced !== null) return { kind: 'respond', response: errorResponse(ErrorCode.FENCED_MEMBER_EPOCH, fenced) };
      member = existing;
    }
    const metadataChanged = updateMember(member, req) || joined;
    let bumped = false;
    if (metadataChanged) {
      records.push({ key: consumerMemberMetadataKey(req.groupId, member.memberId), value: encodeConsumerMemberMetadataValue(memberMetadata(member)) });
      bumped = true;
    }
    const topics = this.host.topics();
    const signature = subscriptionSignature(group, topics);
    if (signature !== group.metadataSignature) bumped = true;
    if (bumped) {
      group.groupEpoch++;
      records.push({ key: consumerGroupMetadataKey(req.groupId), value: encodeConsumerGroupMetadataValue(group.groupEpoch) });
    }
    if (group.groupEpoch > group.assignmentEpoch) records.push(...this.computeTarget(req.groupId, group, topics, signature));
    const owned = req.topicPartitions === null ? null : new Map(req.topicPartitions.map((t) => [t.topicId, t.partitions]));
    const before = copyPartitions(member.assignedPartitions);
    if (applyAssignment(member, reconcile(group, member, owned))) {
      records.push({ key: consumerCurrentMemberAssignmentKey(req.groupId, member.memberId), value: encodeConsumerCurrentMemberAssignmentValue(currentAssignment(member)) });
    }
    this.scheduleTimers(req.groupId, member);
    const config = this.host.groupConfig(req.groupId);
    const fullRequest = req.rebalanceTimeoutMs !== -1 && (req.subscribedTopicNames !== null || req.subscribedTopicRegex !== null) && req.topicPartitions !== null;
    const sendAssignment = joined || fullRequest || !samePartitions(before, member.assignedPartitions);
    const response: ConsumerGroupHeartbeatResponse = {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      assignment: sendAssignment ? { topicPartitions: wireAssignment(member.assignedPartitions) } : null,
    };
    return records.length === 0 ? { kind: 'respond', response } : { kind: 'append', partition, records, response };
  }

  /** Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid, in its order and words. */
  private validate(req: ConsumerGroupHeartbeatRequest): ConsumerGroupHeartbeatResponse | null {
    const invalid = (message: string) => errorResponse(ErrorCode.INVALID_REQUEST, message);
    if (req.apiVersion >= 1 && req.memberId.trim() === '') return invalid('MemberId can\'t be empty.');
    if (req.groupId.trim() === '') return invalid('GroupId can\'t be empty.');
    if (req.instanceId !== null && req.instanceId.trim() === '') return invalid('InstanceId can\'t be empty.');
    if (req.rackId !== null && req.rackId.trim() === '') return invalid('RackId can\'t be empty.');
    if (req.memberEpoch > 0 || req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) {
      if (req.memberId.trim() === '') return invalid('MemberId can\'t be empty.');
    } else if (req.memberEpoch === JOIN_GROUP_MEMBER_EPOCH) {
      if (req.rebalanceTimeoutMs === -1) return invalid('RebalanceTimeoutMs must be provided in first request.');
      if (req.topicPartitions === null || req.topicPartitions.length > 0) return invalid('TopicPartitions must be empty when (re-)joining.');
      if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) {
        return invalid('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.');
      }
    } else if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      if (req.memberId.trim() === '') return invalid('MemberId can\'t be empty.');
      if (req.instanceId === null) return invalid('InstanceId can\'t be null.');
    } else {
      return invalid(`MemberEpoch is invalid: ${req.memberEpoch}`);
    }
    if (req.serverAssignor !== null && !(isAssignorName(req.serverAssignor) && this.host.assignors.includes(req.serverAssignor))) {
      return errorResponse(ErrorCode.UNSUPPORTED_ASSIGNOR, `ServerAssignor ${req.serverAssignor} is not supported. Supported assignors: ${this.host.assignors.join(', ')}.`);
    }
    if (req.subscribedTopicRegex !== null && compileTopicRegex(req.subscribedTopicRegex) === null) {
      return errorResponse(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex ${req.subscribedTopicRegex} is not a valid regular expression.`);
    }
    return null;
  }

  /**
   * A member leaves or is fenced (leave heartbeat, session, rebalance, join or sync timeout): when only
   * classic members would remain, the group goes back to classic (consumerGroupFenceMember with
   * validateOnlineDowngradeWithFencedMembers: the policy allows it, someone stays, they fit in a
   * classic group); otherwise the member is removed.
   */
  fenceMember(groupId: string, group: ConsumerGroupState, member: ConsumerMember): CoordinatorRecord[] {
    if (this.downgradeAllowed(group, member.memberId)) {
      const records = this.host.convertToClassic(groupId, member.memberId);
      if (records !== null) return records;
    }
    return this.removeMember(groupId, group, member);
  }

  private downgradeAllowed(group: ConsumerGroupState, leavingMemberId: string): boolean {
    for (const m of group.members.values()) if (m.memberId !== leavingMemberId && m.classicMemberMetadata === null) return false;
    return group.members.size > 1 && this.host.downgradeEnabled && group.members.size - 1 <= this.host.classicMaxGroupSize;
  }

  /** The timers of a member, all of them (its group is converted or the member is gone). */
  cancelMemberTimers(groupId: string, memberId: string): void {
    for (const key of [sessionKey, revocationKey, joinKey, syncKey]) this.host.cancelTimer(key(groupId, memberId));
  }

  /** Removes a member (leave, session or rebalance timeout), bumps the epoch, recomputes the target. */
  removeMember(groupId: string, group: ConsumerGroupState, member: ConsumerMember): CoordinatorRecord[] {
    group.members.delete(member.memberId);
    group.targetAssignment.delete(member.memberId);
    this.cancelMemberTimers(groupId, member.memberId);
    group.groupEpoch++;
    const records: CoordinatorRecord[] = [
      { key: consumerCurrentMemberAssignmentKey(groupId, member.memberId), value: null },
      { key: consumerTargetAssignmentMemberKey(groupId, member.memberId), value: null },
      { key: consumerMemberMetadataKey(groupId, member.memberId), value: null },
      { key: consumerGroupMetadataKey(groupId), value: encodeConsumerGroupMetadataValue(group.groupEpoch) },
    ];
    const topics = this.host.topics();
    records.push(...this.computeTarget(groupId, group, topics, subscriptionSignature(group, topics)));
    return records;
  }

  /** A new target for every member (TargetAssignmentBuilder): records for what changed, then the epoch. */
  private computeTarget(groupId: string, group: ConsumerGroupState, topics: TopicsSnapshot, signature: string): CoordinatorRecord[] {
    const assignorName = this.groupAssignor(group);
    const members: AssignorMember[] = [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      topicIds: new Set(subscribedTopics(m, topics).map((t) => t.topicId)),
      current: group.targetAssignment.get(m.memberId) ?? new Map(),
    }));
    const subscribed = new Map<string, TopicInfo>();
    for (const m of group.members.values()) for (const t of subscribedTopics(m, topics)) subscribed.set(t.topicId, t);
    const target = assign(assignorName, members, [...subscribed.values()].map((t) => ({ topicId: t.topicId, partitions: t.partitions })));
    const records: CoordinatorRecord[] = [];
    for (const [memberId, assignment] of target) {
      const previous = group.targetAssignment.get(memberId);
      if (previous !== undefined && samePartitions(previous, assignment)) continue;
      group.targetAssignment.set(memberId, assignment);
      records.push({ key: consumerTargetAssignmentMemberKey(groupId, memberId), value: encodeConsumerTargetAssignmentMemberValue(assignment) });
    }
    group.assignmentEpoch = group.groupEpoch;
    group.metadataSignature = signature;
    records.push({ key: consumerTargetAssignmentMetadataKey(groupId), value: encodeConsumerTargetAssignmentMetadataValue(group.assignmentEpoch) });
    return records;
  }

  /** The assignor most members ask for (Kafka's ConsumerGroup.preferredServerAssignor), else the default. */
  groupAssignor(group: ConsumerGroupState): AssignorName {
    const votes = new Map<string, number>();
    for (const m of group.members.values()) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    let best: AssignorName | undefined;
    for (const name of this.host.assignors) {
      const count = votes.get(name) ?? 0;
      if (count > 0 && (best === undefined || count > (votes.get(best) ?? 0))) best = name;
    }
    return best ?? this.host.assignors[0] ?? ASSIGNOR_NAMES[0];
  }

  private scheduleTimers(groupId: string, member: ConsumerMember): void {
    // A classic member keeps the session timeout of its JoinGroup (Kafka: classicProtocolSessionTimeout).
    const sessionTimeoutMs = member.classicMemberMetadata?.sessionTimeoutMs ?? this.host.groupConfig(groupId).sessionTimeoutMs;
    this.host.scheduleConsumerTimer(sessionKey(groupId, member.memberId), sessionTimeoutMs, { kind: 'consumerSession', groupId, memberId: member.memberId });
    if (member.state === 'UNREVOKED_PARTITIONS') {
      // One deadline per epoch: later heartbeats of the same revocation do not push it back.
      this.host.scheduleConsumerTimer(revocationKey(groupId, member.memberId), member.rebalanceTimeoutMs, {
        kind: 'consumerRevocation', groupId, memberId: member.memberId, memberEpoch: member.memberEpoch,
      });
    } else {
      this.host.cancelTimer(revocationKey(groupId, member.memberId));
    }
  }

  /** Session timers for the members of a group just loaded: those that do not come back are removed. */
  scheduleLoadedMembers(groupId: string, group: ConsumerGroupState): void {
    for (const member of group.members.values()) this.scheduleTimers(groupId, member);
  }

  /** A timer fired: returns the records of the member's removal, or [] when it no longer applies. */
  onTimer(group: ConsumerGroupState, task: ConsumerTimerTask): CoordinatorRecord[] {
    const member = group.members.get(task.memberId);
    if (member === undefined) return [];
    if (task.kind === 'consumerRevocation' && (member.state !== 'UNREVOKED_PARTITIONS' || member.memberEpoch !== task.memberEpoch)) return [];
    return this.fenceMember(task.groupId, group, member);
  }

  // -------------------------------------------------------------- classic members (KIP-848 online conversion)

  /**
   * JoinGroup from a classic member to a consumer group with members (classicGroupJoinToConsumerGroup):
   * the member is added or updated like a heartbeat would (subscription from its first protocol's
   * metadata, the classic session timeout and protocols kept as ClassicMemberMetadata), the target is
   * recomputed when the group epoch moved, and the member reconciles with the partitions its
   * subscription says it still owns. The answer carries its member epoch as the generation and no
   * leader: the assignment comes from SyncGroup. A static member whose instance id is held by another
   * member id takes that member's place (the old one is removed first; Kafka hands the assignment over).
   */
  classicJoin(groupId: string, group: ConsumerGroupState, partition: number, req: JoinGroupRequest): ClassicJoinOutcome {
    const unknown = req.memberId === '';
    const memberId = unknown ? this.host.uuid() : req.memberId;
    const respond = (errorCode: number, id = memberId): ClassicJoinOutcome => ({ kind: 'respond', response: classicJoinError(id, errorCode) });
    const existingStatic = req.groupInstanceId === null ? undefined : [...group.members.values()].find((m) => m.instanceId === req.groupInstanceId);
    if (!group.members.has(memberId) && existingStatic === undefined && group.members.size >= this.host.maxGroupSize) return respond(ErrorCode.GROUP_MAX_SIZE_REACHED);
    if (!supportsClassicProtocols(group, req)) return respond(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (unknown && req.requireKnownMemberId && req.groupInstanceId === null) return respond(ErrorCode.MEMBER_ID_REQUIRED);
    let subscription: Subscription;
    try {
      subscription = decodeSubscription(req.protocols[0]!.metadata);
    } catch {
      return respond(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const records: CoordinatorRecord[] = [];
    if (existingStatic !== undefined && existingStatic.memberId !== memberId) {
      if (!unknown) return respond(ErrorCode.FENCED_INSTANCE_ID);
      records.push(...this.removeMember(groupId, group, existingStatic));
    }
    let member = group.members.get(memberId);
    const joined = member === undefined;
    if (member === undefined) {
      member = newClassicMember(memberId, req);
      group.members.set(memberId, member);
    }
    const before = memberMetadata(member);
    member.instanceId = req.groupInstanceId ?? member.instanceId;
    if (subscription.rackId !== null) member.rackId = subscription.rackId;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.subscribedTopicNames = [...subscription.topics].sort();
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    member.classicMemberMetadata = {
      sessionTimeoutMs: req.sessionTimeoutMs,
      supportedProtocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
    };
    const after = memberMetadata(member);
    if (joined || JSON.stringify(after) !== JSON.stringify(before)) {
      records.push({ key: consumerMemberMetadataKey(groupId, memberId), value: encodeConsumerMemberMetadataValue(after) });
    }
    const topics = this.host.topics();
    const signature = subscriptionSignature(group, topics);
    // Only a new subscription moves the group epoch: a classic member's metadata changes at every rejoin
    // (owned partitions, generation), and bumping on those would rebalance forever.
    if (joined || subscriptionChanged(before, after) || signature !== group.metadataSignature) {
      group.groupEpoch++;
      records.push({ key: consumerGroupMetadataKey(groupId), value: encodeConsumerGroupMetadataValue(group.groupEpoch) });
    }
    if (group.groupEpoch > group.assignmentEpoch) records.push(...this.computeTarget(groupId, group, topics, signature));
    const owned = new Map<string, number[]>();
    for (const { topic, partitions } of subscription.ownedPartitions) {
      const info = topics.byName.get(topic);
      if (info !== undefined) owned.set(info.topicId, [...partitions]);
    }
    if (applyAssignment(member, reconcile(group, member, owned))) {
      records.push({ key: consumerCurrentMemberAssignmentKey(groupId, memberId), value: encodeConsumerCurrentMemberAssignmentValue(currentAssignment(member)) });
    }
    this.host.cancelTimer(joinKey(groupId, memberId));
    this.scheduleTimers(groupId, member);
    this.host.scheduleConsumerTimer(syncKey(groupId, memberId), req.rebalanceTimeoutMs, { kind: 'consumerSync', groupId, memberId });
    const response: JoinGroupResponse = {
      errorCode: ErrorCode.NONE,
      generationId: member.memberEpoch,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName: req.protocols[0]!.name,
      leader: '',
      skipAssignment: false,
      memberId,
      members: [],
    };
    return records.length === 0 ? { kind: 'respond', response } : { kind: 'append', partition, records, response };
  }

  /** SyncGroup from a classic member of a consumer group (classicGroupSyncToConsumerGroup): its assignment. */
  classicSync(groupId: string, group: ConsumerGroupState, req: SyncGroupRequest): SyncGroupResponse {
    const found = this.classicMember(groupId, group, req.memberId, req.groupInstanceId);
    if (typeof found === 'number') return classicSyncError(found);
    const member = found;
    if (req.generationId !== member.memberEpoch) return classicSyncError(ErrorCode.ILLEGAL_GENERATION);
    const protocolName = member.classicMemberMetadata!.supportedProtocols[0]?.name ?? '';
    if (req.protocolType !== null && req.protocolType !== CONSUMER_PROTOCOL_TYPE) return classicSyncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (req.protocolName !== null && req.protocolName !== protocolName) return classicSyncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // A member behind the group epoch rejoins first, unless it is still revoking: it finishes that first.
    if (group.groupEpoch > member.memberEpoch && member.state !== 'UNREVOKED_PARTITIONS') {
      this.scheduleJoinTimeout(groupId, member);
      return classicSyncError(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    this.host.cancelTimer(syncKey(groupId, member.memberId));
    this.scheduleTimers(groupId, member);
    return { errorCode: ErrorCode.NONE, protocolType: req.protocolType, protocolName: req.protocolName, assignment: this.classicAssignment(member) };
  }

  /**
   * Heartbeat from a classic member of a consumer group (classicGroupHeartbeatToConsumerGroup): it must
   * rejoin when the group epoch moved past it, when it has partitions to revoke, or when the partitions
   * it waited for were released.
   */
  classicHeartbeat(groupId: string, group: ConsumerGroupState, req: HeartbeatRequest): HeartbeatResponse {
    const found = this.classicMember(groupId, group, req.memberId, req.groupInstanceId);
    if (typeof found === 'number') return { errorCode: found };
    const member = found;
    if (req.generationId !== member.memberEpoch) return { errorCode: ErrorCode.ILLEGAL_GENERATION };
    this.scheduleTimers(groupId, member);
    if (member.memberEpoch < group.groupEpoch || member.state === 'UNREVOKED_PARTITIONS' ||
      (member.state === 'UNRELEASED_PARTITIONS' && !waitingOnUnreleasedPartition(group, member))) {
      this.scheduleJoinTimeout(groupId, member);
      return { errorCode: ErrorCode.REBALANCE_IN_PROGRESS };
    }
    return { errorCode: ErrorCode.NONE };
  }

  /** LeaveGroup from classic members of a consumer group (classicGroupLeaveToConsumerGroup). */
  classicLeave(groupId: string, group: ConsumerGroupState, req: LeaveGroupRequest): { response: LeaveGroupResponse; records: CoordinatorRecord[] } {
    const records: CoordinatorRecord[] = [];
    const members = req.members.map(({ memberId, groupInstanceId }) => {
      // LeaveGroup v3+ may name a static member by instance id alone (KIP-345 admin removal).
      const found = this.classicMember(groupId, group, memberId, groupInstanceId, memberId === '' && groupInstanceId !== null);
      if (typeof found === 'number') return { memberId, groupInstanceId, errorCode: found };
      records.push(...this.fenceMember(groupId, group, found));
      return { memberId: found.memberId, groupInstanceId, errorCode: ErrorCode.NONE };
    });
    return { response: { errorCode: ErrorCode.NONE, members }, records };
  }

  /**
   * validateConsumerGroupMember + throwIfMemberDoesNotUseClassicProtocol: a static member by instance id
   * (FENCED_INSTANCE_ID for another member id), a dynamic one by member id; a consumer-protocol member
   * is UNKNOWN_MEMBER_ID to the classic APIs.
   */
  private classicMember(groupId: string, group: ConsumerGroupState, memberId: string, instanceId: string | null, byInstanceOnly = false): ConsumerMember | number {
    let member: ConsumerMember | undefined;
    if (instanceId === null) {
      member = group.members.get(memberId);
    } else {
      member = [...group.members.values()].find((m) => m.instanceId === instanceId);
      if (member !== undefined && !byInstanceOnly && member.memberId !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    if (member === undefined || member.classicMemberMetadata === null) return ErrorCode.UNKNOWN_MEMBER_ID;
    void groupId;
    return member;
  }

  private scheduleJoinTimeout(groupId: string, member: ConsumerMember): void {
    this.host.scheduleConsumerTimerIfAbsent(joinKey(groupId, member.memberId), member.rebalanceTimeoutMs, { kind: 'consumerJoin', groupId, memberId: member.memberId });
  }

  /** The member's partitions as a ConsumerProtocolAssignment, in the version of its subscription (prepareAssignment). */
  private classicAssignment(member: ConsumerMember): Buffer {
    const topics = this.host.topics();
    const assigned = [...member.assignedPartitions].filter(([, ps]) => ps.length > 0)
      .map(([topicId, partitions]) => ({ topic: topics.byId.get(topicId)?.name ?? '', partitions: [...partitions] }))
      .filter((t) => t.topic !== '');
    const metadata = member.classicMemberMetadata?.supportedProtocols[0]?.metadata ?? Buffer.alloc(0);
    return encodeAssignment(assigned, null, metadata.length >= 2 ? subscriptionVersion(metadata) : 0);
  }

  describe(groupId: string, group: ConsumerGroupState): DescribedConsumerGroup {
    const topics = this.host.topics();
    const named = (p: ReadonlyMap<string, readonly number[]>) => [...p]
      .filter(([, ps]) => ps.length > 0)
      .map(([topicId, partitions]) => ({ topicId, topicName: topics.byId.get(topicId)?.name ?? '', partitions: [...partitions] }));
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      groupId,
      groupState: consumerGroupStateName(group),
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.assignmentEpoch,
      assignorName: this.groupAssignor(group),
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: [...m.subscribedTopicNames],
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: named(m.assignedPartitions),
        targetAssignment: named(group.targetAssignment.get(m.memberId) ?? new Map()),
        usesClassicProtocol: m.classicMemberMetadata !== null,
      })),
    };
  }

  /** The records that create a consumer group as it stands (ConsumerGroup.createConsumerGroupRecords). */
  static creationRecords(groupId: string, group: ConsumerGroupState): CoordinatorRecord[] {
    const members = [...group.members.values()];
    return [
      ...members.map((m) => ({ key: consumerMemberMetadataKey(groupId, m.memberId), value: encodeConsumerMemberMetadataValue(memberMetadata(m)) })),
      { key: consumerGroupMetadataKey(groupId), value: encodeConsumerGroupMetadataValue(group.groupEpoch) },
      ...members.map((m) => ({
        key: consumerTargetAssignmentMemberKey(groupId, m.memberId),
        value: encodeConsumerTargetAssignmentMemberValue(group.targetAssignment.get(m.memberId) ?? new Map()),
      })),
      { key: consumerTargetAssignmentMetadataKey(groupId), value: encodeConsumerTargetAssignmentMetadataValue(group.assignmentEpoch) },
      ...members.map((m) => ({ key: consumerCurrentMemberAssignmentKey(groupId, m.memberId), value: encodeConsumerCurrentMemberAssignmentValue(currentAssignment(m)) })),
    ];
  }

  /** Tombstones for every record of a consumer group (DeleteGroups, or a conversion back to classic). */
  static tombstones(groupId: string, group: ConsumerGroupState): CoordinatorRecord[] {
    const records: CoordinatorRecord[] = [];
    for (const memberId of new Set([...group.members.keys(), ...group.targetAssignment.keys()])) {
      records.push({ key: consumerCurrentMemberAssignmentKey(groupId, memberId), value: null });
      records.push({ key: consumerTargetAssignmentMemberKey(groupId, memberId), value: null });
      records.push({ key: consumerMemberMetadataKey(groupId, memberId), value: null });
    }
    records.push({ key: consumerTargetAssignmentMetadataKey(groupId), value: null });
    records.push({ key: consumerGroupMetadataKey(groupId), value: null });
    return records;
  }

  static newState(): ConsumerGroupState {
    return newConsumerGroupState();
  }
}

function newMember(memberId: string, req: ConsumerGroupHeartbeatRequest): ConsumerMember {
  return emptyMember(memberId, req.instanceId, req.rackId, req.clientId, req.clientHost, req.rebalanceTimeoutMs);
}

function newClassicMember(memberId: string, req: JoinGroupRequest): ConsumerMember {
  return emptyMember(memberId, req.groupInstanceId, null, req.clientId, req.clientHost, req.rebalanceTimeoutMs);
}

/** A member at epoch 0 with nothing subscribed or assigned yet (both protocols' joins start here). */
function emptyMember(
  memberId: string, instanceId: string | null, rackId: string | null, clientId: string, clientHost: string, rebalanceTimeoutMs: number,
): ConsumerMember {
  return {
    memberId,
    instanceId,
    rackId,
    clientId,
    clientHost,
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    serverAssignor: null,
    rebalanceTimeoutMs,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: 'STABLE',
    assignedPartitions: new Map(),
    partitionsPendingRevocation: new Map(),
    classicMemberMetadata: null,
    partitionEpochs: new Map(),
  };
}

/** ConsumerGroup.supportsClassicProtocols: type "consumer" and a protocol every classic member has. */
function supportsClassicProtocols(group: ConsumerGroupState, req: JoinGroupRequest): boolean {
  if (req.protocolType !== CONSUMER_PROTOCOL_TYPE || req.protocols.length === 0) return false;
  const classic = [...group.members.values()].filter((m) => m.classicMemberMetadata !== null);
  return req.protocols.some((p) => classic.every((m) => m.classicMemberMetadata!.supportedProtocols.some((q) => q.name === p.name)));
}

/** What the target depends on changed (GroupMetadataManager.hasMemberSubscriptionChanged). */
function subscriptionChanged(before: ConsumerMemberMetadata, after: ConsumerMemberMetadata): boolean {
  return JSON.stringify(before.subscribedTopicNames) !== JSON.stringify(after.subscribedTopicNames) ||
    before.subscribedTopicRegex !== after.subscribedTopicRegex || before.serverAssignor !== after.serverAssignor;
}

/** Applies the request's non-null fields; true when anything the records hold changed. */
function updateMember(member: ConsumerMember, req: ConsumerGroupHeartbeatRequest): boolean {
  const before = JSON.stringify(memberMetadata(member));
  if (req.instanceId !== null) member.instanceId = req.instanceId;
  if (req.rackId !== null) member.rackId = req.rackId;
  if (req.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
  if (req.subscribedTopicNames !== null) member.subscribedTopicNames = [...req.subscribedTopicNames].sort();
  if (req.subscribedTopicRegex !== null) member.subscribedTopicRegex = req.subscribedTopicRegex === '' ? null : req.subscribedTopicRegex;
  if (req.serverAssignor !== null) member.serverAssignor = req.serverAssignor;
  member.clientId = req.clientId;
  member.clientHost = req.clientHost;
  return JSON.stringify(memberMetadata(member)) !== before;
}

export function memberMetadata(m: ConsumerMember): ConsumerMemberMetadata {
  return {
    instanceId: m.instanceId,
    rackId: m.rackId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    subscribedTopicNames: m.subscribedTopicNames,
    subscribedTopicRegex: m.subscribedTopicRegex,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    serverAssignor: m.serverAssignor,
    classicMemberMetadata: m.classicMemberMetadata,
  };
}

export function currentAssignment(m: ConsumerMember): ConsumerMemberAssignment {
  return {
    memberEpoch: m.memberEpoch,
    previousMemberEpoch: m.previousMemberEpoch,
    state: m.state,
    assignedPartitions: m.assignedPartitions,
    partitionsPendingRevocation: m.partitionsPendingRevocation,
    assignmentEpochs: m.partitionEpochs,
  };
}

/**
 * Kafka's throwIfMemberEpochIsInvalid: an epoch ahead of the member's is fenced; one behind is fenced
 * unless it is the previous epoch and the member owns only what it still has (it lost a response).
 */
function fencingError(member: ConsumerMember, req: ConsumerGroupHeartbeatRequest): string | null {
  if (req.memberEpoch === member.memberEpoch) return null;
  const message = `The consumer group member has a greater epoch (${member.memberEpoch}) than the one known by the client (${req.memberEpoch}).`;
  if (req.memberEpoch > member.memberEpoch) return `The consumer group member has a smaller member epoch (${member.memberEpoch}) than the one known by the client (${req.memberEpoch}). The member must abandon all its partitions and rejoin.`;
  if (req.memberEpoch !== member.previousMemberEpoch || req.topicPartitions === null) return message;
  for (const t of req.topicPartitions) {
    const assigned = member.assignedPartitions.get(t.topicId) ?? [];
    if (t.partitions.some((p) => !assigned.includes(p))) return message;
  }
  return null;
}

/** The topics a member subscribes to now: named ones that exist, and those its regex matches. */
export function subscribedTopics(m: ConsumerMember, topics: TopicsSnapshot): TopicInfo[] {
  const out = new Map<string, TopicInfo>();
  for (const name of m.subscribedTopicNames) {
    const t = topics.byName.get(name);
    if (t !== undefined) out.set(t.topicId, t);
  }
  if (m.subscribedTopicRegex !== null) {
    const regex = compileTopicRegex(m.subscribedTopicRegex);
    if (regex !== null) for (const t of topics.byName.values()) if (regex.test(t.name)) out.set(t.topicId, t);
  }
  return [...out.values()];
}

/** What the target depends on besides membership: every subscribed topic's id and partition count. */
function subscriptionSignature(group: ConsumerGroupState, topics: TopicsSnapshot): string {
  const all = new Map<string, TopicInfo>();
  for (const m of group.members.values()) for (const t of subscribedTopics(m, topics)) all.set(t.topicId, t);
  return [...all.values()].map((t) => `${t.topicId}:${t.partitions}`).sort().join(',');
}

function wireAssignment(p: ReadonlyMap<string, readonly number[]>): { topicId: string; partitions: number[] }[] {
  return [...p].filter(([, ps]) => ps.length > 0).map(([topicId, partitions]) => ({ topicId, partitions: [...partitions] }));
}

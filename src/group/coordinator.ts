/**
 * GroupCoordinatorCore: the classic group protocol for every group whose `__consumer_offsets` partition
 * this broker leads, free of IO (STYLE.md 1). Requests go in as plain objects; time comes from the
 * injected Clock and only moves when a method is called; member ids come from the injected Prng. What
 * must be persisted and what may be answered late comes out of drainOutputs(), in order.
 *
 * Behaviour follows Kafka's classic coordinator (GroupCoordinator.scala, later ClassicGroup.java and
 * GroupMetadataManager.java): MEMBER_ID_REQUIRED (KIP-394), static membership (KIP-345), skipAssignment
 * for a rejoining static leader (KIP-814), offsets retention from the time a group became Empty
 * (KIP-211), require_stable (KIP-447). Incremental cooperative rebalancing (KIP-429) needs nothing from
 * the broker beyond passing metadata through and letting the leader rejoin a Stable group.
 */
import { invariant } from '../common/assert.js';
import type { Clock } from '../common/clock.js';
import type { Prng } from '../common/prng.js';
import { ClassicGroup, type ClassicMember, type CommittedOffset } from './classic-group.js';
import { CONSUMER_PROTOCOL_TYPE } from './consumer-protocol.js';
import { ErrorCode, groupAppendError, offsetAppendError } from './errors.js';
import { partitionForGroup } from './group-hash.js';
import {
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  type CoordinatorRecord,
  type GroupMetadataValue,
} from './records.js';
import {
  emptyPartitionLoad, groupMetadataValue, loadedMember, offsetRecord, replayRecord, replayTransactionalRecord, replayTransactionMarker,
  type ConsumerGroupLoad, type PartitionLoad, type TxnOffset,
} from './persistence.js';
import {
  ConsumerGroupProtocol,
  EMPTY_TOPICS,
  type ConsumerGroupConfig,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerTimerTask,
  type DescribedConsumerGroup,
  type TopicsSnapshot,
} from './consumer-coordinator.js';
import { isAssignorName, type AssignorName } from './assignors.js';
import { consumerGroupStateName, type ConsumerGroupState, type ConsumerMember } from './consumer-group.js';
import { assignInSubscriptionVersions, classicMembersFromConsumer, consumerGroupFromClassic } from './group-conversion.js';
import { partitionKey } from './consumer-records.js';
import {
  allCommitted,
  commitResponse,
  describe,
  describedError,
  fetchPartition,
  joinError,
  syncError,
  syncResponse,
  viewOf,
  type GroupView,
} from './responses.js';
import { TimerQueue } from './timers.js';
import {
  defaultGroupCoordinatorConfig,
  type CoordinatorOutput,
  type DelayedResponse,
  type DescribedGroup,
  type GroupCoordinatorConfig,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type JoinGroupRequest,
  type JoinGroupResponse,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
  type ListGroupsRequest,
  type ListGroupsResponse,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  type OffsetFetchResponseGroup,
  type RequestToken,
  type SyncGroupRequest,
  type SyncGroupResponse,
  type TxnOffsetCommitRequest,
} from './types.js';
import type { ConsumerGroupHeartbeatResponse } from './consumer-coordinator.js';

export interface GroupCoordinatorCoreOptions {
  clock: Clock;
  /** Member ids are `${clientId or groupInstanceId}-${uuid}` with the uuid drawn from here. */
  prng: Prng;
  config?: Partial<GroupCoordinatorConfig>;
  /** Whether a topic partition exists (UNKNOWN_TOPIC_OR_PARTITION on OffsetCommit); default: all do. */
  partitionExists?: (topic: string, partition: number) => boolean;
  /** The topics of the current metadata image, for KIP-848 assignments; default: none. */
  topics?: () => TopicsSnapshot;
  /** A group's own configuration (IncrementalAlterConfigs GROUP): consumer.session.timeout.ms & co. */
  groupConfig?: (groupId: string) => Partial<ConsumerGroupConfig>;
}

type TimerTask =
  | ConsumerTimerTask
  | { kind: 'heartbeat'; groupId: string; memberId: string }
  | { kind: 'join'; groupId: string }
  | { kind: 'sync'; groupId: string; generationId: number }
  | { kind: 'retention' };

interface DeleteBatch {
  token: RequestToken;
  results: { groupId: string; errorCode: number }[];
  outstanding: number;
}

type PendingAppend =
  | { kind: 'background' }
  | { kind: 'syncAssignment'; group: ClassicGroup; generationId: number; assignments: Map<string, Buffer> }
  | { kind: 'staticRejoin'; group: ClassicGroup; token: RequestToken; generationId: number; oldMemberId: string; newMemberId: string; previous: Pick<ClassicMember, 'protocols' | 'rebalanceTimeoutMs' | 'sessionTimeoutMs'>; oldLeaderId: string | null }
  | { kind: 'offsetCommit'; group: ClassicGroup; token: RequestToken; response: OffsetCommitResponse; committed: { topic: string; partition: number; value: CommittedOffset }[] }
  | { kind: 'deleteGroups'; batch: DeleteBatch; groupIds: Set<string> }
  | { kind: 'offsetDelete'; token: RequestToken; response: OffsetDeleteResponse }
  | { kind: 'consumerHeartbeat'; token: RequestToken; response: ConsumerGroupHeartbeatResponse }
  | { kind: 'classicJoinToConsumerGroup'; token: RequestToken; response: JoinGroupResponse }
  | { kind: 'txnOffsetCommit'; group: ClassicGroup; token: RequestToken; response: OffsetCommitResponse; producerId: number; committed: TxnOffset[] };

/** A batch of `__consumer_offsets` read back while loading, with what replay needs of its header. */
export interface ReplayBatch {
  readonly producerId: number;
  readonly isTransactional: boolean;
  /** Control batches: the marker's outcome (undefined for control types this coordinator ignores). */
  readonly marker?: { commit: boolean };
  readonly isControl: boolean;
  readonly records: readonly CoordinatorRecord[];
}

const RETENTION_TIMER_KEY = 'retention';
/** Far above anything a sane run schedules at one instant; a bug, not load, would hit it. */
const TIMERS_PER_ADVANCE_MAX = 1_000_000;

export class GroupCoordinatorCore {
  readonly config: GroupCoordinatorConfig;
  private readonly clock: Clock;
  private readonly prng: Prng;
  private readonly partitionExists: (topic: string, partition: number) => boolean;
  private readonly groups = new Map<string, ClassicGroup>();
  private readonly partitions = new Map<number, 'loading' | 'active'>();
  private readonly loads = new Map<number, PartitionLoad>();
  private readonly timers = new TimerQueue<TimerTask>();
  private readonly pendingAppends = new Map<number, { partition: number; pending: PendingAppend }>();
  /** Durable transactional offsets awaiting their marker: __consumer_offsets partition → producer id → offsets. */
  private readonly txnOffsets = new Map<number, Map<number, TxnOffset[]>>();
  private outputs: CoordinatorOutput[] = [];
  private nextAppendId = 1;
  private readonly topics: () => TopicsSnapshot;
  private readonly groupConfigOf: (groupId: string) => Partial<ConsumerGroupConfig>;
  private readonly consumerProtocol: ConsumerGroupProtocol;

  constructor(options: GroupCoordinatorCoreOptions) {
    this.config = { ...defaultGroupCoordinatorConfig, ...options.config };
    this.clock = options.clock;
    this.prng = options.prng;
    this.partitionExists = options.partitionExists ?? (() => true);
    this.topics = options.topics ?? (() => EMPTY_TOPICS);
    this.groupConfigOf = options.groupConfig ?? (() => ({}));
    this.consumerProtocol = this.createConsumerProtocol();
    this.scheduleRetentionCheck();
  }

  private createConsumerProtocol(): ConsumerGroupProtocol {
    const assignors = this.config.consumerAssignors.filter((a): a is AssignorName => isAssignorName(a));
    return new ConsumerGroupProtocol({
      clock: this.clock,
      assignors: assignors.length > 0 ? assignors : ['uniform'],
      maxGroupSize: this.config.consumerMaxSize,
      topics: () => this.topics(),
      groupConfig: (groupId) => ({
        sessionTimeoutMs: this.config.consumerSessionTimeoutMs,
        heartbeatIntervalMs: this.config.consumerHeartbeatIntervalMs,
        ...this.groupConfigOf(groupId),
      }),
      uuid: () => this.uuid(),
      consumerGroup: (groupId, create) => this.consumerGroupFor(groupId, create),
      scheduleConsumerTimer: (key, delayMs, task) => this.timers.schedule(key, this.clock.monotonicMs() + delayMs, task),
      scheduleConsumerTimerIfAbsent: (key, delayMs, task) => {
        if (!this.timers.has(key)) this.timers.schedule(key, this.clock.monotonicMs() + delayMs, task);
      },
      cancelTimer: (key) => this.timers.cancel(key),
      downgradeEnabled: this.config.consumerMigrationPolicy === 'downgrade' || this.config.consumerMigrationPolicy === 'bidirectional',
      classicMaxGroupSize: this.config.groupMaxSize,
      convertToClassic: (groupId, leavingMemberId) => this.convertToClassicGroup(groupId, leavingMemberId),
    });
  }

  // ---------------------------------------------------------------- ownership, loading, outputs

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.config.offsetsTopicNumPartitions);
  }

  /** This broker became leader of the partition: requests for its groups wait while it is replayed. */
  beginLoad(partition: number): void {
    this.checkPartition(partition);
    if (this.partitions.has(partition)) this.unload(partition);
    this.partitions.set(partition, 'loading');
    this.loads.set(partition, emptyPartitionLoad());
  }

  /** One batch of the partition in log order: transactional offsets wait for their marker (KIP-98). */
  replayBatch(partition: number, batch: ReplayBatch): void {
    const load = this.loads.get(partition);
    invariant(load !== undefined, `replay of partition ${partition} without beginLoad`);
    if (batch.isControl) {
      if (batch.marker !== undefined && batch.producerId >= 0) replayTransactionMarker(load, batch.producerId, batch.marker.commit);
      return;
    }
    for (const record of batch.records) {
      if (batch.isTransactional && batch.producerId >= 0) replayTransactionalRecord(load, batch.producerId, record);
      else replayRecord(load, record);
    }
  }

  /** Replays records of the partition in log order: last value per key wins, a tombstone deletes. */
  replay(partition: number, records: Iterable<CoordinatorRecord>): void {
    const load = this.loads.get(partition);
    invariant(load !== undefined, `replay of partition ${partition} without beginLoad`);
    for (const record of records) replayRecord(load, record);
  }

  /** The replay is complete: rebuild the groups and start serving them. */
  completeLoad(partition: number): void {
    const load = this.loads.get(partition);
    invariant(load !== undefined, `completeLoad of partition ${partition} without beginLoad`);
    this.loads.delete(partition);
    for (const [groupId, value] of load.groups) {
      if (value !== null && this.partitionFor(groupId) === partition) this.groups.set(groupId, this.groupFromRecord(groupId, value));
    }
    for (const { group: groupId, topic, partition: p, value } of load.offsets.values()) {
      if (this.partitionFor(groupId) !== partition) continue;
      let group = this.groups.get(groupId);
      if (group === undefined) this.groups.set(groupId, (group = new ClassicGroup(groupId, partition, this.clock.nowMs())));
      group.setOffset(topic, p, value);
    }
    for (const [groupId, loaded] of load.consumerGroups) {
      if (loaded.epoch === null || this.partitionFor(groupId) !== partition) continue;
      let group = this.groups.get(groupId);
      if (group === undefined) this.groups.set(groupId, (group = new ClassicGroup(groupId, partition, this.clock.nowMs())));
      if (group.members.size > 0) continue;
      const state = this.consumerGroupFromLoad(loaded);
      group.consumer = state;
      this.consumerProtocol.scheduleLoadedMembers(groupId, state);
    }
    const open = new Map<number, TxnOffset[]>();
    for (const [producerId, offsets] of load.txnOffsets) {
      const mine = offsets.filter((o) => this.partitionFor(o.group) === partition);
      if (mine.length === 0) continue;
      open.set(producerId, mine);
      for (const o of mine) {
        let group = this.groups.get(o.group);
        if (group === undefined) this.groups.set(o.group, (group = new ClassicGroup(o.group, partition, this.clock.nowMs())));
        group.addPendingOffsetCommit(o.topic, o.partition);
      }
    }
    this.txnOffsets.set(partition, open);
    this.partitions.set(partition, 'active');
  }

  /** beginLoad + replay + completeLoad, for a caller that has the whole partition at hand. */
  load(partition: number, records: Iterable<CoordinatorRecord>): void {
    this.beginLoad(partition);
    this.replay(partition, records);
    this.completeLoad(partition);
  }

  /** Leadership of the partition moved away: its groups' waiting requests get NOT_COORDINATOR. */
  unload(partition: number): void {
    this.loads.delete(partition);
    this.partitions.delete(partition);
    this.txnOffsets.delete(partition);
    for (const group of [...this.groups.values()]) {
      if (group.partition === partition) this.unloadGroup(group);
    }
    for (const [appendId, entry] of [...this.pendingAppends]) {
      if (entry.partition !== partition) continue;
      this.pendingAppends.delete(appendId);
      this.failPending(entry.pending, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
  }

  ownedPartitions(): { partition: number; status: 'loading' | 'active' }[] {
    return [...this.partitions].map(([partition, status]) => ({ partition, status })).sort((a, b) => a.partition - b.partition);
  }

  /** Everything emitted since the last call, in order: appends to perform, responses to send. */
  drainOutputs(): CoordinatorOutput[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  /**
   * An append emitted earlier is durable (errorCode NONE) or failed (a Kafka error code). Unknown ids,
   * e.g. for a partition unloaded meanwhile, are ignored: their requests were already answered.
   */
  completeAppend(appendId: number, errorCode: number): void {
    const entry = this.pendingAppends.get(appendId);
    if (entry === undefined) return;
    this.pendingAppends.delete(appendId);
    if (errorCode === ErrorCode.NONE) this.checkDurableOrder(entry.partition, appendId);
    this.advanceTimers();
    if (errorCode === ErrorCode.NONE) this.succeedPending(entry.pending);
    else this.failPending(entry.pending, errorCode);
  }

  /**
   * A log commits in order: an append cannot be durable before one emitted earlier to the same
   * partition (that one may still fail, e.g. too large, and be reported first). Applying successes out
   * of order would leave memory disagreeing with what a replay of the log gives.
   */
  private checkDurableOrder(partition: number, appendId: number): void {
    for (const [earlierId, earlier] of this.pendingAppends) {
      if (earlierId >= appendId) break;
      invariant(earlier.partition !== partition, () => `append ${appendId} durable before earlier append ${earlierId} of partition ${partition}`);
    }
  }

  /** Fires every timer due by the clock. Requests do this too, so a late heartbeat sees the expiry. */
  tick(): void {
    this.advanceTimers();
  }

  /** When the next timer is due, for a driver that sleeps until then (monotonic ms). */
  nextDeadlineMs(): number | undefined {
    return this.timers.nextDeadlineMs();
  }

  inspectGroup(groupId: string): GroupView | undefined {
    const group = this.groups.get(groupId);
    return group === undefined ? undefined : viewOf(group);
  }

  // ---------------------------------------------------------------- KIP-848 consumer groups

  consumerGroupHeartbeat(token: RequestToken, req: ConsumerGroupHeartbeatRequest): void {
    this.advanceTimers();
    const respond = (body: ConsumerGroupHeartbeatResponse): void => this.respond({ api: 'consumerGroupHeartbeat', token, body });
    const status = this.groupStatus(req.groupId, true);
    if (status !== ErrorCode.NONE) return respond({ errorCode: status, errorMessage: null, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null });
    const outcome = this.consumerProtocol.heartbeat(req);
    this.afterConsumerChange(req.groupId);
    if (outcome.kind === 'respond') return respond(outcome.response);
    this.emitAppend(outcome.partition, outcome.records, { kind: 'consumerHeartbeat', token, response: outcome.response });
  }

  consumerGroupDescribe(groupIds: string[]): DescribedConsumerGroup[] {
    this.advanceTimers();
    return groupIds.map((groupId) => {
      const missing = (errorCode: number, errorMessage: string | null): DescribedConsumerGroup => ({
        errorCode, errorMessage, groupId, groupState: 'Dead', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [],
      });
      const status = this.groupStatus(groupId, true);
      if (status !== ErrorCode.NONE) return missing(status, null);
      const group = this.groups.get(groupId);
      if (group === undefined) return missing(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`);
      if (group.consumer === null) return missing(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.`);
      return this.consumerProtocol.describe(groupId, group.consumer);
    });
  }

  /**
   * The consumer state of a group for a heartbeat (getOrMaybeCreateConsumerGroup). An Empty classic group
   * becomes a consumer group, keeping its offsets, and its classic metadata record is deleted, as Kafka
   * does when it converts. A classic group with members is upgraded online when a consumer-protocol
   * member joins it (KIP-848, group.consumer.migration.policy upgrade or bidirectional).
   */
  private consumerGroupFor(groupId: string, create: boolean) {
    let group = this.groups.get(groupId);
    if (group === undefined) {
      if (!create) return { error: ErrorCode.UNKNOWN_MEMBER_ID, message: `Group ${groupId} has no member of that id.` };
      group = this.createGroup(groupId);
    }
    const records: CoordinatorRecord[] = [];
    if (group.consumer === null && group.state !== 'Empty') {
      if (!create) return { error: ErrorCode.GROUP_ID_NOT_FOUND, message: `Group ${groupId} is not a consumer group.` };
      return this.convertToConsumerGroup(group);
    }
    if (group.consumer === null) {
      if (!create) return { error: ErrorCode.UNKNOWN_MEMBER_ID, message: `Group ${groupId} has no member of that id.` };
      for (const memberId of group.pendingMembers) this.timers.cancel(heartbeatKey(groupId, memberId));
      group.pendingMembers.clear();
      if (group.generationId > 0 || group.protocolType !== null) records.push({ key: encodeGroupMetadataKey(groupId), value: null });
      group.consumer = ConsumerGroupProtocol.newState();
      group.protocolType = null;
      group.protocolName = null;
      group.generationId = 0;
    }
    return { state: group.consumer, partition: group.partition, records };
  }

  /**
   * KIP-848 online upgrade (validateOnlineUpgrade + convertToConsumerGroup, Kafka 4.4's messages): every
   * classic member becomes a STABLE consumer-group member at the classic generation, owning its last
   * assignment, which is also its target; the group epoch and the assignment epoch are the generation.
   * The joining consumer member then bumps the epoch, so the classic members are told to rejoin and
   * hand partitions over through the reconciliation. Waiting JoinGroup/SyncGroup calls get
   * REBALANCE_IN_PROGRESS. Records: the classic group's tombstone, then the consumer group's.
   */
  private convertToConsumerGroup(group: ClassicGroup) {
    const { groupId } = group;
    const refuse = (why: string) => ({ error: ErrorCode.GROUP_ID_NOT_FOUND, message: `Cannot upgrade classic group ${groupId} to consumer group ${why}` });
    const policy = this.config.consumerMigrationPolicy;
    if (policy !== 'upgrade' && policy !== 'bidirectional') return refuse('because online upgrade is disabled.');
    if (group.protocolType !== CONSUMER_PROTOCOL_TYPE) return refuse('because the group does not use the consumer embedded protocol.');
    if (group.members.size > this.config.consumerMaxSize) return refuse('because the group size exceeds the consumer group maximum size.');
    const converted = consumerGroupFromClassic(group, this.topics());
    if (converted === 'malformed') return refuse('because the embedded consumer protocol is malformed.');
    if (converted === 'userData') {
      return refuse('because an unsupported custom assignor is in use. Please refer to the documentation or switch to a default assignor before re-attempting the upgrade.');
    }
    for (const member of group.members.values()) {
      this.answerOutstanding(member, ErrorCode.REBALANCE_IN_PROGRESS);
      this.timers.cancel(heartbeatKey(groupId, member.memberId));
    }
    for (const memberId of group.pendingMembers) this.timers.cancel(heartbeatKey(groupId, memberId));
    this.timers.cancel(joinKey(groupId));
    this.timers.cancel(syncKey(groupId));
    converted.metadataSignature = this.consumerSignature(converted);
    group.clearForConsumerGroup(converted, this.clock.nowMs());
    this.consumerProtocol.scheduleLoadedMembers(groupId, converted);
    const records: CoordinatorRecord[] = [{ key: encodeGroupMetadataKey(groupId), value: null }, ...ConsumerGroupProtocol.creationRecords(groupId, converted)];
    return { state: converted, partition: group.partition, records };
  }

  /**
   * KIP-848 online downgrade (convertToClassicGroup): the last consumer-protocol member left, so the
   * remaining classic members become a classic group at generation = the group epoch, each holding its
   * target assignment in its own subscription version; a rebalance starts at once so they rejoin under
   * the classic protocol. Records: the consumer group's tombstones, then the classic group's metadata.
   */
  private convertToClassicGroup(groupId: string, leavingMemberId: string): CoordinatorRecord[] | null {
    const group = this.groups.get(groupId);
    const consumer = group?.consumer;
    if (group === undefined || consumer === null || consumer === undefined) return null;
    const members = classicMembersFromConsumer(consumer, leavingMemberId);
    if (members === null) return null;
    const records = ConsumerGroupProtocol.tombstones(groupId, consumer);
    for (const memberId of consumer.members.keys()) this.consumerProtocol.cancelMemberTimers(groupId, memberId);
    group.startFromConsumerGroup(consumer.groupEpoch, this.clock.nowMs());
    for (const member of members) group.add(member);
    group.protocolName = group.selectProtocol();
    group.subscribedTopics = group.computeSubscribedTopics();
    assignInSubscriptionVersions(group, consumer, this.topics());
    records.push({ key: encodeGroupMetadataKey(groupId), value: encodeGroupMetadataValue(groupMetadataValue(group, undefined)) });
    for (const member of group.members.values()) this.scheduleHeartbeat(group, member.memberId, member.sessionTimeoutMs);
    this.prepareRebalance(group);
    return records;
  }

  /** Empty since when: offsets of an empty consumer group expire from the moment its last member left. */
  private afterConsumerChange(groupId: string): void {
    const group = this.groups.get(groupId);
    if (group?.consumer === null || group === undefined) return;
    if (group.consumer.members.size === 0) group.currentStateTimestamp = this.clock.nowMs();
  }

  private consumerGroupFromLoad(loaded: ConsumerGroupLoad): ConsumerGroupState {
    const state = ConsumerGroupProtocol.newState();
    state.groupEpoch = loaded.epoch ?? 0;
    state.assignmentEpoch = loaded.assignmentEpoch;
    for (const [memberId, target] of loaded.targets) state.targetAssignment.set(memberId, target);
    for (const [memberId, metadata] of loaded.members) {
      const current = loaded.current.get(memberId);
      const member: ConsumerMember = {
        memberId,
        ...metadata,
        subscribedTopicNames: [...metadata.subscribedTopicNames],
        memberEpoch: current?.memberEpoch ?? 0,
        previousMemberEpoch: current?.previousMemberEpoch ?? 0,
        state: current?.state ?? 'STABLE',
        assignedPartitions: new Map([...(current?.assignedPartitions ?? new Map<string, number[]>())].map(([t, ps]) => [t, [...ps]])),
        partitionsPendingRevocation: new Map([...(current?.partitionsPendingRevocation ?? new Map<string, number[]>())].map(([t, ps]) => [t, [...ps]])),
        partitionEpochs: new Map(),
      };
      // A record without KIP-1251 epochs reads as everything held since the member epoch (as Kafka reads it).
      for (const p of [member.assignedPartitions, member.partitionsPendingRevocation]) {
        for (const [t, ps] of p) for (const x of ps) member.partitionEpochs.set(partitionKey(t, x), current?.assignmentEpochs?.get(partitionKey(t, x)) ?? member.memberEpoch);
      }
      state.members.set(memberId, member);
    }
    // The target was computed from the topics as they were; if they moved meanwhile, the next heartbeat
    // sees another signature and computes a new one.
    state.metadataSignature = this.consumerSignature(state);
    return state;
  }

  private consumerSignature(state: ConsumerGroupState): string {
    // Same computation as the protocol's; an empty group has none.
    const topics = this.topics();
    const all = new Map<string, string>();
    for (const m of state.members.values()) {
      for (const name of m.subscribedTopicNames) {
        const t = topics.byName.get(name);
        if (t !== undefined) all.set(t.topicId, `${t.topicId}:${t.partitions}`);
      }
      if (m.subscribedTopicRegex !== null) {
        let regex: RegExp | null = null;
        try { regex = new RegExp(`^(?:${m.subscribedTopicRegex})$`, 'u'); } catch { regex = null; }
        if (regex !== null) for (const t of topics.byName.values()) if (regex.test(t.name)) all.set(t.topicId, `${t.topicId}:${t.partitions}`);
      }
    }
    return [...all.values()].sort().join(',');
  }

  private onConsumerTimer(group: ClassicGroup, task: ConsumerTimerTask): void {
    if (group.consumer === null) return;
    const records = this.consumerProtocol.onTimer(group.consumer, task);
    this.afterConsumerChange(group.groupId);
    if (records.length > 0) this.emitAppend(group.partition, records, { kind: 'background' });
  }

  // ---------------------------------------------------------------- JoinGroup

  joinGroup(token: RequestToken, request: JoinGroupRequest): void {
    this.advanceTimers();
    const req = { ...request, rebalanceTimeoutMs: request.rebalanceTimeoutMs < 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs };
    const error = this.validateJoin(req);
    if (error !== ErrorCode.NONE) return this.respondJoin(token, joinError(req.memberId, error));
    let group = this.groups.get(req.groupId);
    if (group === undefined) {
      if (req.memberId !== '') return this.respondJoin(token, joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = this.createGroup(req.groupId);
    }
    if (group.consumer !== null) {
      // A classic member joins a consumer group with members as a classic member of it (KIP-848 online
      // conversion); an empty one goes back to classic, keeping its offsets.
      if (group.consumer.members.size > 0) return this.classicJoinToConsumerGroup(token, group, req);
      this.emitAppend(group.partition, ConsumerGroupProtocol.tombstones(group.groupId, group.consumer), { kind: 'background' });
      group.consumer = null;
    }
    if (!this.acceptJoiningMember(group, req)) {
      return this.respondJoin(token, joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
    }
    if (req.memberId === '') this.joinNewMember(token, group, req);
    else this.joinKnownMember(token, group, req);
    this.maybeCompleteJoin(group);
  }

  private classicJoinToConsumerGroup(token: RequestToken, group: ClassicGroup, req: JoinGroupRequest): void {
    const outcome = this.consumerProtocol.classicJoin(group.groupId, group.consumer as ConsumerGroupState, group.partition, req);
    if (outcome.kind === 'respond') return this.respondJoin(token, outcome.response);
    this.emitAppend(outcome.partition, outcome.records, { kind: 'classicJoinToConsumerGroup', token, response: outcome.response });
  }

  /** A consumer group with members, for the classic APIs (its classic members' SyncGroup, Heartbeat, LeaveGroup). */
  private mixedConsumerGroup(groupId: string): { group: ClassicGroup; consumer: ConsumerGroupState } | undefined {
    const group = this.groups.get(groupId);
    if (group === undefined || group.consumer === null || group.consumer.members.size === 0) return undefined;
    return { group, consumer: group.consumer };
  }

  private validateJoin(req: JoinGroupRequest): number {
    const status = this.groupStatus(req.groupId, false);
    if (status !== ErrorCode.NONE) return status;
    const { groupMinSessionTimeoutMs: min, groupMaxSessionTimeoutMs: max } = this.config;
    if (req.sessionTimeoutMs < min || req.sessionTimeoutMs > max) return ErrorCode.INVALID_SESSION_TIMEOUT;
    let bytes = 0;
    for (const p of req.protocols) bytes += Buffer.byteLength(p.name) + p.metadata.length;
    if (req.protocols.length > this.config.memberProtocolsMax || bytes > this.config.memberMetadataBytesMax) {
      return ErrorCode.INVALID_REQUEST;
    }
    return ErrorCode.NONE;
  }

  /** group.max.size (KIP-389) counts members and KIP-394 pending members; known ones always pass. */
  private acceptJoiningMember(group: ClassicGroup, req: JoinGroupRequest): boolean {
    if (group.has(req.memberId) || group.pendingMembers.has(req.memberId)) return true;
    if (req.groupInstanceId !== null && group.staticMembers.has(req.groupInstanceId)) return true;
    return group.members.size + group.pendingMembers.size < this.config.groupMaxSize;
  }

  private joinNewMember(token: RequestToken, group: ClassicGroup, req: JoinGroupRequest): void {
    if (group.state === 'Dead') return this.respondJoin(token, joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      return this.respondJoin(token, joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const newMemberId = `${req.groupInstanceId ?? req.clientId}-${this.uuid()}`;
    if (req.groupInstanceId !== null) {
      const oldMemberId = group.staticMembers.get(req.groupInstanceId);
      if (oldMemberId !== undefined) return this.rejoinStaticMember(token, group, req, oldMemberId, newMemberId);
      return this.addMemberAndRebalance(token, group, req, newMemberId);
    }
    if (req.requireKnownMemberId) {
      // KIP-394: hand out the id first, so a client that times out and retries cannot leave a trail of
      // dead members; the pending id expires after one session timeout if it never comes back.
      group.pendingMembers.add(newMemberId);
      this.scheduleHeartbeat(group, newMemberId, req.sessionTimeoutMs);
      return this.respondJoin(token, joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    }
    this.addMemberAndRebalance(token, group, req, newMemberId);
  }

  private joinKnownMember(token: RequestToken, group: ClassicGroup, req: JoinGroupRequest): void {
    const { memberId } = req;
    if (group.state === 'Dead') return this.respondJoin(token, joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      return this.respondJoin(token, joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (group.pendingMembers.has(memberId)) {
      // Pending ids are only handed to dynamic members; a static one presenting it is confused.
      if (req.groupInstanceId !== null) return this.respondJoin(token, joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group.pendingMembers.delete(memberId);
      this.timers.cancel(heartbeatKey(group.groupId, memberId));
      return this.addMemberAndRebalance(token, group, req, memberId);
    }
    const memberError = group.validateMember(memberId, req.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return this.respondJoin(token, joinError(memberId, memberError));
    this.rejoinKnownMember(token, group, group.get(memberId), req);
  }

  private rejoinKnownMember(token: RequestToken, group: ClassicGroup, member: ClassicMember, req: JoinGroupRequest): void {
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(token, group, member, req);
      case 'CompletingRebalance':
        // Same metadata: the member most likely lost the JoinGroup response; answer it again.
        if (protocolsMatch(member, req)) return this.respondJoin(token, this.generationResponse(group, member.memberId, group.isLeader(member.memberId)));
        return this.updateMemberAndRebalance(token, group, member, req);
      case 'Stable':
        // The leader rejoining forces a rebalance: that is how it reacts to metadata changes, and how
        // the cooperative protocol (KIP-429) runs its follow-up rebalance.
        if (group.isLeader(member.memberId) || !protocolsMatch(member, req)) return this.updateMemberAndRebalance(token, group, member, req);
        return this.respondJoin(token, this.generationResponse(group, member.memberId, false));
      case 'Empty':
      case 'Dead':
        return this.respondJoin(token, joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  /**
   * KIP-345: a static member restarted with a new member id. The old id is fenced; in a Stable group
   * with unchanged metadata no rebalance happens, the member keeps its assignment, and the change is
   * persisted before the answer so a coordinator failover cannot resurrect the old id.
   */
  private rejoinStaticMember(token: RequestToken, group: ClassicGroup, req: JoinGroupRequest, oldMemberId: string, newMemberId: string): void {
    const oldMember = group.get(oldMemberId);
    this.answerOutstanding(oldMember, ErrorCode.FENCED_INSTANCE_ID);
    const previous = { protocols: oldMember.protocols, rebalanceTimeoutMs: oldMember.rebalanceTimeoutMs, sessionTimeoutMs: oldMember.sessionTimeoutMs };
    const oldLeaderId = group.leaderId;
    const member = group.replaceStaticMember(oldMemberId, newMemberId);
    this.timers.cancel(heartbeatKey(group.groupId, oldMemberId));
    this.scheduleHeartbeat(group, newMemberId, req.sessionTimeoutMs);
    switch (group.state) {
      case 'Stable': {
        updateMember(member, req, token);
        // As Kafka: only a change of the group's protocol forces a rebalance here. A changed
        // subscription is noticed by the client itself, which then rejoins as a known member.
        if (group.selectProtocol() !== group.protocolName) return this.maybePrepareRebalance(group);
        const pending = { kind: 'staticRejoin', group, token, generationId: group.generationId, oldMemberId, newMemberId, previous, oldLeaderId } as const;
        return this.appendGroupMetadata(group, pending);
      }
      case 'CompletingRebalance':
      case 'PreparingRebalance':
        // The leader may be computing an assignment keyed by the old id: start over.
        return this.updateMemberAndRebalance(token, group, member, req);
      case 'Empty':
      case 'Dead':
        invariant(false, `group ${group.groupId}: static member in state ${group.state}`);
    }
  }

  private addMemberAndRebalance(token: RequestToken, group: ClassicGroup, req: JoinGroupRequest, memberId: string): void {
    const member: ClassicMember = {
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      assignment: Buffer.alloc(0),
      joinToken: token,
      supportSkippingAssignment: req.supportSkippingAssignment,
      syncToken: null,
      isNew: true,
    };
    // A member arriving while the initial delay runs earns the group another delay (KIP-134).
    if (group.state === 'PreparingRebalance' && group.initialDelayActive) group.newMemberAdded = true;
    group.add(member);
    this.scheduleHeartbeat(group, memberId, this.config.groupNewMemberJoinTimeoutMs);
    this.maybePrepareRebalance(group);
  }

  private updateMemberAndRebalance(token: RequestToken, group: ClassicGroup, member: ClassicMember, req: JoinGroupRequest): void {
    if (member.joinToken !== null && member.joinToken !== token) {
      this.respondJoin(member.joinToken, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    }
    updateMember(member, req, token);
    this.maybePrepareRebalance(group);
  }

  private maybePrepareRebalance(group: ClassicGroup): void {
    if (group.state === 'Stable' || group.state === 'CompletingRebalance' || group.state === 'Empty') {
      this.prepareRebalance(group);
    }
  }

  private prepareRebalance(group: ClassicGroup): void {
    if (group.state === 'CompletingRebalance') this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    group.pendingSyncMembers.clear();
    this.timers.cancel(syncKey(group.groupId));
    const wasEmpty = group.state === 'Empty';
    group.transitionTo('PreparingRebalance', this.clock.nowMs());
    const rebalanceTimeoutMs = group.rebalanceTimeoutMs();
    const delayMs = Math.min(this.config.groupInitialRebalanceDelayMs, rebalanceTimeoutMs);
    group.newMemberAdded = false;
    group.initialDelayActive = wasEmpty && delayMs > 0;
    if (group.initialDelayActive) {
      // group.initial.rebalance.delay.ms: a starting group waits for more members instead of going
      // through one rebalance per arriving consumer.
      group.initialDelayRemainingMs = rebalanceTimeoutMs - delayMs;
      this.scheduleJoin(group, delayMs);
    } else {
      this.scheduleJoin(group, rebalanceTimeoutMs);
    }
    // Like Kafka's tryCompleteElseWatch: a group whose members have all joined (or left) need not wait.
    this.maybeCompleteJoin(group);
  }

  private onJoinTimer(group: ClassicGroup): void {
    if (group.state !== 'PreparingRebalance') return;
    if (group.initialDelayActive && group.newMemberAdded && group.initialDelayRemainingMs > 0) {
      group.newMemberAdded = false;
      const delayMs = Math.min(this.config.groupInitialRebalanceDelayMs, group.initialDelayRemainingMs);
      group.initialDelayRemainingMs -= delayMs;
      return this.scheduleJoin(group, delayMs);
    }
    this.completeJoin(group);
  }

  private maybeCompleteJoin(group: ClassicGroup): void {
    if (group.state === 'PreparingRebalance' && !group.initialDelayActive && group.hasAllMembersJoined()) this.completeJoin(group);
  }

  private completeJoin(group: ClassicGroup): void {
    this.timers.cancel(joinKey(group.groupId));
    group.initialDelayActive = false;
    // Dynamic members that did not rejoin in time are gone; static ones stay (KIP-345), so a slow
    // restart does not cost another rebalance, until their session or the sync deadline expires.
    for (const member of group.notYetRejoinedMembers()) {
      if (member.groupInstanceId === null) this.removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID);
    }
    if (!group.maybeElectNewJoinedLeader() && group.members.size > 0) {
      // Only static members that did not rejoin remain: wait for them or for their session timeouts.
      return this.scheduleJoin(group, group.rebalanceTimeoutMs());
    }
    group.initNextGeneration(this.clock.nowMs());
    if (group.state === 'Empty') return this.appendGroupMetadata(group, { kind: 'background' });
    // Every member, a static one that did not rejoin included, must now SyncGroup within the
    // rebalance timeout (as Kafka's completeGenericGroupJoin).
    for (const member of group.members.values()) {
      if (member.joinToken !== null) {
        this.respondJoin(member.joinToken, this.generationResponse(group, member.memberId, group.isLeader(member.memberId)));
        member.joinToken = null;
      }
      member.isNew = false;
      group.pendingSyncMembers.add(member.memberId);
      this.scheduleHeartbeat(group, member.memberId, member.sessionTimeoutMs);
    }
    this.timers.schedule(syncKey(group.groupId), this.clock.monotonicMs() + group.rebalanceTimeoutMs(), {
      kind: 'sync',
      groupId: group.groupId,
      generationId: group.generationId,
    });
  }

  /** Members of this generation that never sent SyncGroup within the rebalance timeout are dropped. */
  private onSyncTimer(group: ClassicGroup, generationId: number): void {
    if (group.generationId !== generationId) return;
    if (group.state !== 'CompletingRebalance' && group.state !== 'Stable') return;
    if (group.pendingSyncMembers.size === 0) return;
    for (const memberId of [...group.pendingSyncMembers]) this.removeMember(group, group.get(memberId), ErrorCode.UNKNOWN_MEMBER_ID);
    this.maybePrepareRebalance(group);
    this.maybeCompleteJoin(group);
  }

  // ---------------------------------------------------------------- SyncGroup

  syncGroup(token: RequestToken, req: SyncGroupRequest): void {
    this.advanceTimers();
    const mixed = this.groupStatus(req.groupId, false) === ErrorCode.NONE ? this.mixedConsumerGroup(req.groupId) : undefined;
    if (mixed !== undefined) return this.respondSync(token, this.consumerProtocol.classicSync(req.groupId, mixed.consumer, req));
    const error = this.validateSync(req);
    if (error !== ErrorCode.NONE) return this.respondSync(token, syncError(error));
    const group = this.groups.get(req.groupId) as ClassicGroup;
    group.pendingSyncMembers.delete(req.memberId);
    const member = group.get(req.memberId);
    switch (group.state) {
      case 'PreparingRebalance':
        return this.respondSync(token, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'CompletingRebalance':
        return this.awaitAssignment(token, group, member, req);
      case 'Stable':
        this.scheduleHeartbeat(group, member.memberId, member.sessionTimeoutMs);
        return this.respondSync(token, syncResponse(group, member.assignment));
      case 'Empty':
      case 'Dead':
        return this.respondSync(token, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private validateSync(req: SyncGroupRequest): number {
    const status = this.groupStatus(req.groupId, false);
    // Loading means the rebalance in flight is lost: REBALANCE_IN_PROGRESS sends the member back to
    // JoinGroup; old clients do not expect COORDINATOR_LOAD_IN_PROGRESS here.
    if (status === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return ErrorCode.REBALANCE_IN_PROGRESS;
    if (status !== ErrorCode.NONE) return status;
    const group = this.groups.get(req.groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    const memberError = validateMember(group, req.memberId, req.groupInstanceId, req.generationId);
    if (memberError !== ErrorCode.NONE) return memberError;
    if (req.protocolType !== null && req.protocolType !== group.protocolType) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    if (req.protocolName !== null && req.protocolName !== group.protocolName) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    return ErrorCode.NONE;
  }

  private awaitAssignment(token: RequestToken, group: ClassicGroup, member: ClassicMember, req: SyncGroupRequest): void {
    if (member.syncToken !== null && member.syncToken !== token) this.respondSync(member.syncToken, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    member.syncToken = token;
    if (!group.isLeader(member.memberId)) return;
    const assignments = new Map<string, Buffer>();
    for (const { memberId, assignment } of req.assignments) {
      if (assignment.length > this.config.memberMetadataBytesMax) {
        member.syncToken = null;
        return this.respondSync(token, syncError(ErrorCode.INVALID_REQUEST));
      }
      if (group.has(memberId)) assignments.set(memberId, assignment);
    }
    for (const memberId of group.members.keys()) if (!assignments.has(memberId)) assignments.set(memberId, Buffer.alloc(0));
    // The assignment is acknowledged only once durable, as Kafka does: a failover must not hand out
    // a generation whose assignment was lost.
    this.appendGroupMetadata(group, { kind: 'syncAssignment', group, generationId: group.generationId, assignments }, assignments);
  }

  private setAndPropagateAssignment(group: ClassicGroup, assignments: Map<string, Buffer>): void {
    for (const member of group.members.values()) {
      member.assignment = assignments.get(member.memberId) ?? Buffer.alloc(0);
      if (member.syncToken === null) continue;
      this.respondSync(member.syncToken, syncResponse(group, member.assignment));
      member.syncToken = null;
      this.scheduleHeartbeat(group, member.memberId, member.sessionTimeoutMs);
    }
  }

  private resetAndPropagateAssignmentError(group: ClassicGroup, errorCode: number): void {
    for (const member of group.members.values()) {
      member.assignment = Buffer.alloc(0);
      if (member.syncToken === null) continue;
      this.respondSync(member.syncToken, syncError(errorCode));
      member.syncToken = null;
      this.scheduleHeartbeat(group, member.memberId, member.sessionTimeoutMs);
    }
  }

  // ---------------------------------------------------------------- Heartbeat, LeaveGroup

  heartbeat(req: HeartbeatRequest): HeartbeatResponse {
    this.advanceTimers();
    const status = this.groupStatus(req.groupId, false);
    // While loading, answer blindly: the member will learn the truth once the group is back.
    if (status === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return { errorCode: ErrorCode.NONE };
    if (status !== ErrorCode.NONE) return { errorCode: status };
    const mixed = this.mixedConsumerGroup(req.groupId);
    if (mixed !== undefined) return this.consumerProtocol.classicHeartbeat(req.groupId, mixed.consumer, req);
    const group = this.groups.get(req.groupId);
    if (group === undefined) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
    const memberError = validateMember(group, req.memberId, req.groupInstanceId, req.generationId);
    if (memberError !== ErrorCode.NONE) return { errorCode: memberError };
    const member = group.get(req.memberId);
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
      case 'PreparingRebalance':
        this.scheduleHeartbeat(group, member.memberId, member.sessionTimeoutMs);
        return { errorCode: ErrorCode.REBALANCE_IN_PROGRESS };
      case 'CompletingRebalance':
      case 'Stable':
        // Members heartbeat from the moment they have their JoinGroup response, while the leader
        // still computes the assignment: those are normal heartbeats.
        this.scheduleHeartbeat(group, member.memberId, member.sessionTimeoutMs);
        return { errorCode: ErrorCode.NONE };
    }
  }

  leaveGroup(req: LeaveGroupRequest): LeaveGroupResponse {
    this.advanceTimers();
    const status = this.groupStatus(req.groupId, false);
    if (status !== ErrorCode.NONE) return { errorCode: status, members: [] };
    const mixed = this.mixedConsumerGroup(req.groupId);
    if (mixed !== undefined) {
      // Answered before the records are durable, like a classic leave: nothing in the answer depends on them.
      const { response, records } = this.consumerProtocol.classicLeave(req.groupId, mixed.consumer, req);
      this.afterConsumerChange(req.groupId);
      if (records.length > 0) this.emitAppend(mixed.group.partition, records, { kind: 'background' });
      return response;
    }
    const group = this.groups.get(req.groupId);
    const members = req.members.map((identity) => ({
      memberId: identity.memberId,
      groupInstanceId: identity.groupInstanceId,
      errorCode: group === undefined ? ErrorCode.UNKNOWN_MEMBER_ID : this.leaveOne(group, identity.memberId, identity.groupInstanceId),
    }));
    if (group !== undefined && group.state === 'Dead') return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    return { errorCode: ErrorCode.NONE, members };
  }

  private leaveOne(group: ClassicGroup, memberId: string, groupInstanceId: string | null): number {
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (memberId === '') {
      // LeaveGroup v3+ may name a static member by instance id alone (KIP-345 admin removal).
      const staticMemberId = groupInstanceId === null ? undefined : group.staticMembers.get(groupInstanceId);
      if (staticMemberId === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      this.removeMemberAndUpdateGroup(group, group.get(staticMemberId));
      return ErrorCode.NONE;
    }
    if (group.pendingMembers.delete(memberId)) {
      this.timers.cancel(heartbeatKey(group.groupId, memberId));
      this.maybeCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const memberError = group.validateMember(memberId, groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    this.removeMemberAndUpdateGroup(group, group.get(memberId));
    return ErrorCode.NONE;
  }

  private onHeartbeatTimer(group: ClassicGroup, memberId: string): void {
    if (group.pendingMembers.delete(memberId)) return this.maybeCompleteJoin(group);
    const member = group.members.get(memberId);
    if (member === undefined) return;
    // A member waiting on its JoinGroup or SyncGroup response cannot heartbeat; the rebalance and
    // sync timeouts bound that wait instead. A new member is the exception (KIP-394).
    if ((member.joinToken !== null && !member.isNew) || member.syncToken !== null) return;
    this.removeMemberAndUpdateGroup(group, member);
  }

  private removeMemberAndUpdateGroup(group: ClassicGroup, member: ClassicMember): void {
    this.removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        return this.maybePrepareRebalance(group);
      case 'PreparingRebalance':
        return this.maybeCompleteJoin(group);
      case 'Empty':
      case 'Dead':
        return;
    }
  }

  private removeMember(group: ClassicGroup, member: ClassicMember, errorCode: number): void {
    this.answerOutstanding(member, errorCode);
    this.timers.cancel(heartbeatKey(group.groupId, member.memberId));
    group.remove(member.memberId);
  }

  /** Answers a member's waiting JoinGroup/SyncGroup, so no caller token is ever left hanging. */
  private answerOutstanding(member: ClassicMember, errorCode: number): void {
    // UNKNOWN_MEMBER_ID comes with the empty member id, so the client starts over (as Kafka).
    const memberId = errorCode === ErrorCode.UNKNOWN_MEMBER_ID ? '' : member.memberId;
    if (member.joinToken !== null) this.respondJoin(member.joinToken, joinError(memberId, errorCode));
    if (member.syncToken !== null) this.respondSync(member.syncToken, syncError(errorCode));
    member.joinToken = null;
    member.syncToken = null;
  }

  // ---------------------------------------------------------------- OffsetCommit, OffsetFetch

  offsetCommit(token: RequestToken, req: OffsetCommitRequest): void {
    this.advanceTimers();
    const groupError = this.validateOffsetCommit(req);
    if (groupError !== ErrorCode.NONE) return this.respond({ api: 'offsetCommit', token, body: commitResponse(req, () => groupError) });
    const group = this.groups.get(req.groupId) ?? this.createGroup(req.groupId);
    if (group.has(req.memberId)) this.scheduleHeartbeat(group, req.memberId, group.get(req.memberId).sessionTimeoutMs);
    const nowMs = this.clock.nowMs();
    const expireTimestamp = req.retentionTimeMs >= 0 ? nowMs + req.retentionTimeMs : null;
    const committed: { topic: string; partition: number; value: CommittedOffset }[] = [];
    const body = commitResponse(req, (topic, p) => {
      if (!this.partitionExists(topic, p.partitionIndex)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      const metadata = p.committedMetadata ?? '';
      if (Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes) return ErrorCode.OFFSET_METADATA_TOO_LARGE;
      const value = { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata, commitTimestamp: nowMs, expireTimestamp };
      committed.push({ topic, partition: p.partitionIndex, value });
      return ErrorCode.NONE;
    });
    if (committed.length === 0) return this.respond({ api: 'offsetCommit', token, body });
    for (const c of committed) group.addPendingOffsetCommit(c.topic, c.partition);
    const records = committed.map((c) => offsetRecord(group.groupId, c.topic, c.partition, c.value));
    this.emitAppend(group.partition, records, { kind: 'offsetCommit', group, token, response: body, committed });
  }

  /**
   * TxnOffsetCommit (KIP-98; OffsetMetadataManager.commitTransactionalOffset): validated as a commit,
   * except that a producer without group management (generation -1, no member) may always commit; the
   * offsets are written in a transactional batch of the producer and take effect when its commit marker
   * is written to this partition (`completeTransaction`). Until then OffsetFetch with require_stable
   * answers UNSTABLE_OFFSET_COMMIT for them (KIP-447).
   */
  txnOffsetCommit(token: RequestToken, req: TxnOffsetCommitRequest): void {
    this.advanceTimers();
    const asCommit: OffsetCommitRequest = { ...req, retentionTimeMs: -1 };
    const anonymous = req.generationId < 0 && req.memberId === '' && req.groupInstanceId === null;
    const status = this.groupStatus(req.groupId, true);
    let groupError = status;
    if (status === ErrorCode.NONE && !(anonymous && this.groups.get(req.groupId)?.state !== 'Dead')) groupError = this.validateOffsetCommit(asCommit, true);
    if (groupError !== ErrorCode.NONE) return this.respond({ api: 'txnOffsetCommit', token, body: commitResponse(asCommit, () => groupError) });
    const group = this.groups.get(req.groupId) ?? this.createGroup(req.groupId);
    const nowMs = this.clock.nowMs();
    const committed: TxnOffset[] = [];
    const body = commitResponse(asCommit, (topic, p) => {
      if (!this.partitionExists(topic, p.partitionIndex)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      const metadata = p.committedMetadata ?? '';
      if (Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes) return ErrorCode.OFFSET_METADATA_TOO_LARGE;
      committed.push({ group: group.groupId, topic, partition: p.partitionIndex, value: { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata, commitTimestamp: nowMs, expireTimestamp: null } });
      return ErrorCode.NONE;
    });
    if (committed.length === 0) return this.respond({ api: 'txnOffsetCommit', token, body });
    for (const c of committed) group.addPendingOffsetCommit(c.topic, c.partition);
    const records = committed.map((c) => offsetRecord(group.groupId, c.topic, c.partition, c.value));
    this.emitAppend(group.partition, records, { kind: 'txnOffsetCommit', group, token, response: body, producerId: req.producerId, committed },
      { producerId: req.producerId, producerEpoch: req.producerEpoch });
  }

  /**
   * The producer's transaction marker is written to the partition: its offsets become committed (commit)
   * or are dropped (abort) — GroupCoordinator.completeTransaction.
   */
  completeTransaction(partition: number, producerId: number, commit: boolean): void {
    this.advanceTimers();
    const open = this.txnOffsets.get(partition);
    const offsets = open?.get(producerId);
    if (open === undefined || offsets === undefined) return;
    open.delete(producerId);
    for (const o of offsets) {
      const group = this.groups.get(o.group);
      if (group === undefined) continue;
      if (group.hasPendingOffsetCommit(o.topic, o.partition)) group.removePendingOffsetCommit(o.topic, o.partition);
      if (commit) group.setOffset(o.topic, o.partition, o.value);
    }
  }

  private validateOffsetCommit(req: OffsetCommitRequest, transactional = false): number {
    const status = this.groupStatus(req.groupId, true);
    if (status !== ErrorCode.NONE) return status;
    const group = this.groups.get(req.groupId);
    // No group: only a commit from outside group management may create one; a member's commit for a
    // group that is gone comes from an older generation.
    if (group === undefined) return req.generationId < 0 ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (group.consumer !== null) return validateConsumerCommit(group.consumer, req, transactional, this.topics());
    // Generation -1: an admin client or a consumer using assign(); fine while nobody consumes.
    if (req.generationId < 0 && group.state === 'Empty') return ErrorCode.NONE;
    if (req.generationId >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
      const memberError = group.validateMember(req.memberId, req.groupInstanceId);
      if (memberError !== ErrorCode.NONE) return memberError;
      if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else {
      // OffsetCommit v0 carries neither member nor generation: only for an Empty group.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    // The member has this generation's JoinGroup response but no assignment yet.
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  offsetFetch(req: OffsetFetchRequest): OffsetFetchResponse {
    this.advanceTimers();
    return { groups: req.groups.map((g) => this.fetchGroupOffsets(g, req.requireStable)) };
  }

  private fetchGroupOffsets(request: OffsetFetchRequest['groups'][number], requireStable: boolean): OffsetFetchResponseGroup {
    const { groupId, topics } = request;
    const status = this.groupStatus(groupId, true);
    if (status !== ErrorCode.NONE) return { groupId, errorCode: status, topics: [] };
    const group = this.groups.get(groupId);
    if (group !== undefined && group.consumer !== null) {
      const memberError = validateConsumerFetch(group.consumer, request.memberId ?? null, request.memberEpoch ?? -1);
      if (memberError !== ErrorCode.NONE) return { groupId, errorCode: memberError, topics: [] };
    }
    const requested = topics ?? allCommitted(group);
    return {
      groupId,
      errorCode: ErrorCode.NONE,
      topics: requested.map(({ name, partitionIndexes }) => ({
        name,
        partitions: partitionIndexes.map((p) => fetchPartition(group, name, p, requireStable)),
      })),
    };
  }

  // ---------------------------------------------------------------- DescribeGroups, ListGroups

  describeGroups(groupIds: string[]): DescribedGroup[] {
    this.advanceTimers();
    return groupIds.map((groupId) => {
      const status = this.groupStatus(groupId, true);
      if (status !== ErrorCode.NONE) return describedError(groupId, status);
      const group = this.groups.get(groupId);
      // A consumer group is not a classic group: described as one that does not exist (Dead), which
      // DescribeGroups v6 answers with GROUP_ID_NOT_FOUND.
      return group === undefined || group.consumer !== null ? describedError(groupId, ErrorCode.NONE) : describe(group);
    });
  }

  listGroups(req: ListGroupsRequest): ListGroupsResponse {
    this.advanceTimers();
    for (const status of this.partitions.values()) {
      if (status === 'loading') return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, groups: [] };
    }
    const states = new Set(req.statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(req.typesFilter.map((t) => t.toLowerCase()));
    const groups = [...this.groups.values()]
      .filter((g) => g.state !== 'Dead')
      .map((g) => g.consumer === null
        ? { groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state as string, groupType: 'classic' }
        : { groupId: g.groupId, protocolType: CONSUMER_PROTOCOL_TYPE, groupState: consumerGroupStateName(g.consumer), groupType: 'consumer' })
      .filter((g) => states.size === 0 || states.has(g.groupState.toLowerCase()))
      .filter((g) => types.size === 0 || types.has(g.groupType))
      .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
    return { errorCode: ErrorCode.NONE, groups };
  }

  // ---------------------------------------------------------------- DeleteGroups, OffsetDelete

  deleteGroups(token: RequestToken, groupIds: string[]): void {
    this.advanceTimers();
    const batch: DeleteBatch = { token, results: [], outstanding: 0 };
    const byPartition = new Map<number, { records: CoordinatorRecord[]; groupIds: Set<string> }>();
    for (const groupId of groupIds) {
      const errorCode = this.deleteOne(groupId, byPartition);
      batch.results.push({ groupId, errorCode });
    }
    batch.outstanding = byPartition.size;
    if (batch.outstanding === 0) return this.respond({ api: 'deleteGroups', token, body: { results: batch.results } });
    for (const [partition, { records, groupIds: ids }] of byPartition) {
      this.emitAppend(partition, records, { kind: 'deleteGroups', batch, groupIds: ids });
    }
  }

  private deleteOne(groupId: string, byPartition: Map<number, { records: CoordinatorRecord[]; groupIds: Set<string> }>): number {
    const status = this.groupStatus(groupId, true);
    if (status !== ErrorCode.NONE) return status;
    const group = this.groups.get(groupId);
    if (group === undefined || group.state === 'Dead') return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group.state !== 'Empty' || (group.consumer?.members.size ?? 0) > 0) return ErrorCode.NON_EMPTY_GROUP;
    let entry = byPartition.get(group.partition);
    if (entry === undefined) byPartition.set(group.partition, (entry = { records: [], groupIds: new Set() }));
    entry.records.push(...this.removeGroup(group));
    entry.groupIds.add(groupId);
    return ErrorCode.NONE;
  }

  offsetDelete(token: RequestToken, req: OffsetDeleteRequest): void {
    this.advanceTimers();
    const respond = (body: OffsetDeleteResponse): void => this.respond({ api: 'offsetDelete', token, body });
    const status = this.groupStatus(req.groupId, false);
    if (status !== ErrorCode.NONE) return respond({ errorCode: status, topics: [] });
    const group = this.groups.get(req.groupId);
    if (group === undefined || group.state === 'Dead') return respond({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] });
    // KIP-496: offsets may only be deleted where no member can be using them.
    if (group.state !== 'Empty' && group.protocolType !== CONSUMER_PROTOCOL_TYPE) return respond({ errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] });
    const records: CoordinatorRecord[] = [];
    const topics = req.topics.map(({ name, partitions }) => ({
      name,
      partitions: partitions.map(({ partitionIndex }) => {
        if (group.isSubscribedToTopic(name)) return { partitionIndex, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        if (group.deleteOffset(name, partitionIndex)) records.push({ key: encodeOffsetCommitKey(group.groupId, name, partitionIndex), value: null });
        return { partitionIndex, errorCode: ErrorCode.NONE };
      }),
    }));
    const body = { errorCode: ErrorCode.NONE, topics };
    if (records.length === 0) return respond(body);
    this.emitAppend(group.partition, records, { kind: 'offsetDelete', token, response: body });
  }

  // ---------------------------------------------------------------- offsets retention (KIP-211)

  private onRetentionTimer(): void {
    this.scheduleRetentionCheck();
    this.cleanupExpiredOffsets();
  }

  /** Expires offsets past offsets.retention.minutes and removes Empty groups left with none. */
  cleanupExpiredOffsets(): void {
    const byPartition = new Map<number, CoordinatorRecord[]>();
    for (const group of [...this.groups.values()]) {
      if (this.partitions.get(group.partition) !== 'active') continue;
      const records = this.expireGroupOffsets(group);
      if (records.length === 0) continue;
      const list = byPartition.get(group.partition) ?? [];
      list.push(...records);
      byPartition.set(group.partition, list);
    }
    for (const [partition, records] of byPartition) this.emitAppend(partition, records, { kind: 'background' });
  }

  private expireGroupOffsets(group: ClassicGroup): CoordinatorRecord[] {
    // A consumer group with members keeps its offsets (Kafka: offsets of subscribed topics never expire
    // while members consume; a narrower rule for unsubscribed topics is not applied here).
    if ((group.consumer?.members.size ?? 0) > 0) return [];
    const nowMs = this.clock.nowMs();
    const retentionMs = this.config.offsetsRetentionMinutes * 60_000;
    const records: CoordinatorRecord[] = [];
    for (const [topic, partitions] of [...group.offsets]) {
      for (const [partition, committed] of [...partitions]) {
        if (group.hasPendingOffsetCommit(topic, partition)) continue;
        if (!offsetExpired(group, topic, committed, nowMs, retentionMs)) continue;
        group.deleteOffset(topic, partition);
        records.push({ key: encodeOffsetCommitKey(group.groupId, topic, partition), value: null });
      }
    }
    const unused = !group.hasOffsets() && group.pendingOffsetCommits.size === 0 && group.pendingMembers.size === 0;
    if (group.state === 'Empty' && unused) {
      records.push(...this.removeGroup(group));
    }
    return records;
  }

  // ---------------------------------------------------------------- appends

  private appendGroupMetadata(group: ClassicGroup, pending: PendingAppend, assignments?: Map<string, Buffer>): void {
    const value = groupMetadataValue(group, assignments);
    this.emitAppend(group.partition, [{ key: encodeGroupMetadataKey(group.groupId), value: encodeGroupMetadataValue(value) }], pending);
  }

  private emitAppend(partition: number, records: CoordinatorRecord[], pending: PendingAppend, producer?: { producerId: number; producerEpoch: number }): void {
    const appendId = this.nextAppendId++;
    this.pendingAppends.set(appendId, { partition, pending });
    this.outputs.push({ kind: 'append', append: producer === undefined ? { appendId, partition, records } : { appendId, partition, records, producer } });
  }

  private succeedPending(pending: PendingAppend): void {
    switch (pending.kind) {
      case 'background':
        return;
      case 'syncAssignment': {
        const { group, generationId, assignments } = pending;
        // Another member may have joined meanwhile; then this generation is already over.
        if (this.groups.get(group.groupId) !== group || group.state !== 'CompletingRebalance' || group.generationId !== generationId) return;
        this.setAndPropagateAssignment(group, assignments);
        return group.transitionTo('Stable', this.clock.nowMs());
      }
      case 'staticRejoin':
        return this.finishStaticRejoin(pending, ErrorCode.NONE);
      case 'offsetCommit':
        return this.finishOffsetCommit(pending, ErrorCode.NONE);
      case 'deleteGroups':
        return this.finishDeleteBatch(pending.batch);
      case 'offsetDelete':
        return this.respond({ api: 'offsetDelete', token: pending.token, body: pending.response });
      case 'consumerHeartbeat':
        return this.respond({ api: 'consumerGroupHeartbeat', token: pending.token, body: pending.response });
      case 'classicJoinToConsumerGroup':
        return this.respondJoin(pending.token, pending.response);
      case 'txnOffsetCommit':
        return this.finishTxnOffsetCommit(pending, ErrorCode.NONE);
    }
  }

  private failPending(pending: PendingAppend, appendError: number): void {
    switch (pending.kind) {
      case 'background':
        return;
      case 'syncAssignment': {
        const { group, generationId } = pending;
        if (this.groups.get(group.groupId) !== group || group.state !== 'CompletingRebalance' || group.generationId !== generationId) return;
        this.resetAndPropagateAssignmentError(group, groupAppendError(appendError));
        return this.maybePrepareRebalance(group);
      }
      case 'staticRejoin':
        return this.finishStaticRejoin(pending, groupAppendError(appendError));
      case 'offsetCommit':
        return this.finishOffsetCommit(pending, offsetAppendError(appendError));
      case 'deleteGroups': {
        const errorCode = groupAppendError(appendError);
        for (const result of pending.batch.results) if (pending.groupIds.has(result.groupId)) result.errorCode = errorCode;
        return this.finishDeleteBatch(pending.batch);
      }
      case 'offsetDelete': {
        const errorCode = groupAppendError(appendError);
        return this.respond({ api: 'offsetDelete', token: pending.token, body: { errorCode, topics: [] } });
      }
      case 'consumerHeartbeat': {
        // The member's new state is not durable; the client retries (or rejoins) on this error.
        const errorCode = groupAppendError(appendError);
        return this.respond({ api: 'consumerGroupHeartbeat', token: pending.token, body: { ...pending.response, errorCode, assignment: null } });
      }
      case 'classicJoinToConsumerGroup':
        return this.respondJoin(pending.token, joinError(pending.response.memberId, groupAppendError(appendError)));
      case 'txnOffsetCommit':
        return this.finishTxnOffsetCommit(pending, offsetAppendError(appendError));
    }
  }

  /** Durable: the offsets wait for the producer's marker; failed: their pending marks go. */
  private finishTxnOffsetCommit(pending: Extract<PendingAppend, { kind: 'txnOffsetCommit' }>, errorCode: number): void {
    const { group, token, response, committed, producerId } = pending;
    if (errorCode === ErrorCode.NONE) {
      let open = this.txnOffsets.get(group.partition);
      if (open === undefined) this.txnOffsets.set(group.partition, (open = new Map()));
      const list = open.get(producerId) ?? [];
      open.set(producerId, list);
      list.push(...committed);
    } else {
      for (const c of committed) if (group.hasPendingOffsetCommit(c.topic, c.partition)) group.removePendingOffsetCommit(c.topic, c.partition);
      const failed = new Set(committed.map((c) => `${c.topic}\0${c.partition}`));
      for (const t of response.topics) {
        for (const p of t.partitions) if (failed.has(`${t.name}\0${p.partitionIndex}`)) p.errorCode = errorCode;
      }
    }
    this.respond({ api: 'txnOffsetCommit', token, body: response });
  }

  private finishStaticRejoin(pending: Extract<PendingAppend, { kind: 'staticRejoin' }>, errorCode: number): void {
    const { group, token, newMemberId } = pending;
    const member = group.members.get(newMemberId);
    // The token was already answered if a rebalance completed or the member was removed meanwhile.
    if (this.groups.get(group.groupId) !== group || member === undefined || member.joinToken !== token) return;
    if (errorCode !== ErrorCode.NONE) return this.revertStaticRejoin(pending, member, errorCode);
    // Durable, but a rebalance began meanwhile: the member counts as joined and gets the new
    // generation's response when it completes.
    if (group.state !== 'Stable' || group.generationId !== pending.generationId) return;
    member.joinToken = null;
    this.respondJoin(token, this.staticRejoinResponse(group, member, pending.oldLeaderId));
    this.scheduleHeartbeat(group, newMemberId, member.sessionTimeoutMs);
  }

  /** The new member id did not become durable: the old one stays the group's, as on disk. */
  private revertStaticRejoin(pending: Extract<PendingAppend, { kind: 'staticRejoin' }>, member: ClassicMember, errorCode: number): void {
    const { group, token, oldMemberId, newMemberId } = pending;
    member.joinToken = null;
    Object.assign(member, pending.previous);
    group.replaceStaticMember(newMemberId, oldMemberId);
    this.timers.cancel(heartbeatKey(group.groupId, newMemberId));
    this.scheduleHeartbeat(group, oldMemberId, member.sessionTimeoutMs);
    this.respondJoin(token, joinError('', errorCode));
  }

  /**
   * KIP-814: a v9+ static leader is told it leads and may skip the assignment (the group keeps the one
   * it has). Older clients are given the previous leader id, so they act as followers instead of
   * computing an assignment that a Stable group would never distribute (KIP-345).
   */
  private staticRejoinResponse(group: ClassicGroup, member: ClassicMember, oldLeaderId: string | null): JoinGroupResponse {
    const isLeader = group.isLeader(member.memberId);
    const skipAssignment = isLeader && member.supportSkippingAssignment;
    return {
      ...this.generationResponse(group, member.memberId, skipAssignment),
      leader: (skipAssignment ? group.leaderId : oldLeaderId) ?? '',
      skipAssignment,
    };
  }

  private finishOffsetCommit(pending: Extract<PendingAppend, { kind: 'offsetCommit' }>, errorCode: number): void {
    const { group, token, response, committed } = pending;
    const current = this.groups.get(group.groupId) === group;
    for (const { topic, partition, value } of committed) {
      group.removePendingOffsetCommit(topic, partition);
      if (errorCode === ErrorCode.NONE && current) group.setOffset(topic, partition, value);
    }
    if (errorCode !== ErrorCode.NONE) {
      const failed = new Set(committed.map((c) => `${c.topic}\0${c.partition}`));
      for (const t of response.topics) {
        for (const p of t.partitions) if (failed.has(`${t.name}\0${p.partitionIndex}`)) p.errorCode = errorCode;
      }
    }
    this.respond({ api: 'offsetCommit', token, body: response });
  }

  private finishDeleteBatch(batch: DeleteBatch): void {
    batch.outstanding--;
    if (batch.outstanding === 0) this.respond({ api: 'deleteGroups', token: batch.token, body: { results: batch.results } });
  }

  // ---------------------------------------------------------------- groups, timers, helpers

  /** NONE, or why this broker cannot serve the group (Kafka's validateGroupStatus). */
  private groupStatus(groupId: string, allowEmptyGroupId: boolean): number {
    // Offset APIs, DescribeGroups and DeleteGroups accept "" for compatibility, as Kafka does.
    if (groupId === '' && !allowEmptyGroupId) return ErrorCode.INVALID_GROUP_ID;
    const status = this.partitions.get(this.partitionFor(groupId));
    if (status === undefined) return ErrorCode.NOT_COORDINATOR;
    if (status === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  private createGroup(groupId: string): ClassicGroup {
    const group = new ClassicGroup(groupId, this.partitionFor(groupId), this.clock.nowMs());
    this.groups.set(groupId, group);
    return group;
  }

  /** Marks the group Dead, drops it, and returns the tombstones that delete it from the log. */
  private removeGroup(group: ClassicGroup): CoordinatorRecord[] {
    const records: CoordinatorRecord[] = [];
    for (const [topic, partitions] of group.offsets) {
      for (const partition of partitions.keys()) records.push({ key: encodeOffsetCommitKey(group.groupId, topic, partition), value: null });
    }
    records.push({ key: encodeGroupMetadataKey(group.groupId), value: null });
    if (group.consumer !== null) records.push(...ConsumerGroupProtocol.tombstones(group.groupId, group.consumer));
    group.offsets.clear();
    this.dropGroup(group);
    return records;
  }

  private unloadGroup(group: ClassicGroup): void {
    for (const member of group.members.values()) this.answerOutstanding(member, ErrorCode.NOT_COORDINATOR);
    this.dropGroup(group);
  }

  private dropGroup(group: ClassicGroup): void {
    group.transitionTo('Dead', this.clock.nowMs());
    for (const memberId of [...group.members.keys(), ...group.pendingMembers]) this.timers.cancel(heartbeatKey(group.groupId, memberId));
    this.timers.cancel(joinKey(group.groupId));
    this.timers.cancel(syncKey(group.groupId));
    this.groups.delete(group.groupId);
  }

  private groupFromRecord(groupId: string, value: GroupMetadataValue): ClassicGroup {
    const nowMs = this.clock.nowMs();
    const group = new ClassicGroup(groupId, this.partitionFor(groupId), value.currentStateTimestamp >= 0 ? value.currentStateTimestamp : nowMs);
    group.generationId = value.generation;
    const protocolType = value.protocolType === '' ? null : value.protocolType;
    for (const m of value.members) group.add(loadedMember(m, protocolType ?? '', value.protocol ?? ''));
    group.protocolType = protocolType;
    group.protocolName = value.protocol;
    group.leaderId = value.leader;
    group.subscribedTopics = group.computeSubscribedTopics();
    if (group.members.size === 0) return group;
    // A loaded group with members is Stable at its last persisted generation; members that are gone
    // are noticed by their session timeouts.
    group.state = 'Stable';
    for (const member of group.members.values()) this.scheduleHeartbeat(group, member.memberId, member.sessionTimeoutMs);
    return group;
  }

  private advanceTimers(): void {
    const nowMs = this.clock.monotonicMs();
    for (let fired = 0; ; fired++) {
      invariant(fired < TIMERS_PER_ADVANCE_MAX, 'group coordinator timers do not converge');
      const task = this.timers.popDue(nowMs);
      if (task === undefined) return;
      this.fire(task);
    }
  }

  private fire(task: TimerTask): void {
    if (task.kind === 'retention') return this.onRetentionTimer();
    const group = this.groups.get(task.groupId);
    if (group === undefined) return;
    switch (task.kind) {
      case 'consumerSession':
      case 'consumerRevocation':
      case 'consumerJoin':
      case 'consumerSync':
        return this.onConsumerTimer(group, task);
      case 'heartbeat':
        return this.onHeartbeatTimer(group, task.memberId);
      case 'join':
        return this.onJoinTimer(group);
      case 'sync':
        return this.onSyncTimer(group, task.generationId);
    }
  }

  private scheduleHeartbeat(group: ClassicGroup, memberId: string, timeoutMs: number): void {
    const task = { kind: 'heartbeat', groupId: group.groupId, memberId } as const;
    this.timers.schedule(heartbeatKey(group.groupId, memberId), this.clock.monotonicMs() + timeoutMs, task);
  }

  private scheduleJoin(group: ClassicGroup, delayMs: number): void {
    this.timers.schedule(joinKey(group.groupId), this.clock.monotonicMs() + delayMs, { kind: 'join', groupId: group.groupId });
  }

  private scheduleRetentionCheck(): void {
    const deadlineMs = this.clock.monotonicMs() + this.config.offsetsRetentionCheckIntervalMs;
    this.timers.schedule(RETENTION_TIMER_KEY, deadlineMs, { kind: 'retention' });
  }

  private generationResponse(group: ClassicGroup, memberId: string, withMembers: boolean): JoinGroupResponse {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      skipAssignment: false,
      memberId,
      members: withMembers ? group.currentMemberMetadata() : [],
    };
  }

  private respondJoin(token: RequestToken, body: JoinGroupResponse): void {
    this.respond({ api: 'joinGroup', token, body });
  }

  private respondSync(token: RequestToken, body: SyncGroupResponse): void {
    this.respond({ api: 'syncGroup', token, body });
  }

  private respond(response: DelayedResponse): void {
    this.outputs.push({ kind: 'response', response });
  }

  private uuid(): string {
    const hex: string[] = [];
    for (let i = 0; i < 4; i++) hex.push(this.prng.nextUint32().toString(16).padStart(8, '0'));
    const s = hex.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
  }

  private checkPartition(partition: number): void {
    const n = this.config.offsetsTopicNumPartitions;
    invariant(Number.isInteger(partition) && partition >= 0 && partition < n, `partition ${partition} of ${n}`);
  }
}

// ------------------------------------------------------------------ pure helpers



function heartbeatKey(groupId: string, memberId: string): string {
  return `hb\0${groupId}\0${memberId}`;
}

function joinKey(groupId: string): string {
  return `join\0${groupId}`;
}

function syncKey(groupId: string): string {
  return `sync\0${groupId}`;
}

function updateMember(member: ClassicMember, req: JoinGroupRequest, token: RequestToken): void {
  member.protocols = req.protocols;
  member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
  member.sessionTimeoutMs = req.sessionTimeoutMs;
  member.supportSkippingAssignment = req.supportSkippingAssignment;
  member.joinToken = token;
}

function protocolsMatch(member: ClassicMember, req: JoinGroupRequest): boolean {
  if (member.protocols.length !== req.protocols.length) return false;
  return member.protocols.every((p, i) => {
    const other = req.protocols[i];
    return other !== undefined && other.name === p.name && other.metadata.equals(p.metadata);
  });
}

/**
 * OffsetCommit to a KIP-848 group (ConsumerGroup.validateOffsetCommit): from outside the group (no
 * member, epoch -1: admin tools, assign()) always; from a member only at its current epoch, else
 * STALE_MEMBER_EPOCH (OffsetCommit v9+ carries the member epoch in the generation field).
 */
/**
 * Kafka 4.4's ConsumerGroup.validateOffsetCommit. Epoch -1 commits (admin tools, assign()) only to a group
 * without members, or as an anonymous transactional producer; otherwise the member must exist
 * (UNKNOWN_MEMBER_ID), a consumer-protocol one must use OffsetCommit v9+ (UNSUPPORTED_VERSION); its own
 * epoch passes; a newer one is STALE_MEMBER_EPOCH (ILLEGAL_GENERATION for a classic member); an older
 * one passes only for partitions the member has held since that epoch (KIP-1251: a commit sent just
 * before a heartbeat moved the member's epoch is not lost), else the whole commit fails with that error
 * (Kafka's validator throws on the first such partition).
 */
function validateConsumerCommit(group: ConsumerGroupState, req: OffsetCommitRequest, transactional: boolean, topics: TopicsSnapshot): number {
  if (req.generationId < 0 && group.members.size === 0) return ErrorCode.NONE;
  if (transactional && req.generationId === -1 && req.memberId === '' && req.groupInstanceId === null) return ErrorCode.NONE;
  const member = group.members.get(req.memberId);
  if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
  const classic = member.classicMemberMetadata !== null;
  if (!transactional && !classic && req.apiVersion !== undefined && req.apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION;
  if (req.generationId === member.memberEpoch) return ErrorCode.NONE;
  const stale = classic ? ErrorCode.ILLEGAL_GENERATION : ErrorCode.STALE_MEMBER_EPOCH;
  if (req.generationId > member.memberEpoch) return stale;
  for (const topic of req.topics) {
    const topicId = topics.byName.get(topic.name)?.topicId;
    for (const p of topic.partitions) {
      const since = topicId === undefined ? undefined : member.partitionEpochs.get(partitionKey(topicId, p.partitionIndex));
      if (since === undefined || req.generationId < since) return stale;
    }
  }
  return ErrorCode.NONE;
}

/**
 * ConsumerGroup.validateOffsetFetch (OffsetFetch v9+, KIP-848): no member id and epoch -1 (admin tools,
 * older versions) may always fetch; otherwise the member must exist (UNKNOWN_MEMBER_ID) and present its
 * current epoch exactly (STALE_MEMBER_EPOCH; ILLEGAL_GENERATION for a classic member).
 */
function validateConsumerFetch(group: ConsumerGroupState, memberId: string | null, memberEpoch: number): number {
  if (memberId === null && memberEpoch < 0) return ErrorCode.NONE;
  const member = memberId === null ? undefined : group.members.get(memberId);
  if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (memberEpoch === member.memberEpoch) return ErrorCode.NONE;
  return member.classicMemberMetadata !== null ? ErrorCode.ILLEGAL_GENERATION : ErrorCode.STALE_MEMBER_EPOCH;
}

/** Fencing, membership and generation, in Kafka's order, for SyncGroup and Heartbeat. */
function validateMember(group: ClassicGroup, memberId: string, groupInstanceId: string | null, generationId: number): number {
  if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  const memberError = group.validateMember(memberId, groupInstanceId);
  if (memberError !== ErrorCode.NONE) return memberError;
  if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
  return ErrorCode.NONE;
}

/**
 * KIP-211 (Kafka's offsetExpirationCondition): offsets of topics the group still consumes never
 * expire; otherwise an Empty group's offsets expire once it has been Empty for the retention, a Stable
 * consumer group's and a standalone group's (no group management) from their commit; an explicit
 * v2-4 retention_time_ms wins.
 */
function offsetExpired(group: ClassicGroup, topic: string, committed: CommittedOffset, nowMs: number, retentionMs: number): boolean {
  if (group.isSubscribedToTopic(topic)) return false;
  const baseMs = expirationBaseMs(group, committed);
  if (baseMs === null) return false;
  if (committed.expireTimestamp !== null) return nowMs >= committed.expireTimestamp;
  return nowMs - baseMs >= retentionMs;
}

function expirationBaseMs(group: ClassicGroup, committed: CommittedOffset): number | null {
  if (group.protocolType === null) return committed.commitTimestamp;
  if (group.state === 'Empty') return group.currentStateTimestamp;
  const consumer = group.protocolType === CONSUMER_PROTOCOL_TYPE;
  if (consumer && group.subscribedTopics !== null && group.state === 'Stable') return committed.commitTimestamp;
  return null;
}

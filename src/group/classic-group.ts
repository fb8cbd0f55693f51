/**
 * One classic-protocol group: its members, generation and committed offsets, and the state machine
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance
 *     ▲                   ▲    │ (no member left)                                  │ leader's SyncGroup
 *     └───────────────────┼────┘                                                   ▼ durable
 *                         └──────────── join / leave / session timeout ◀──────── Stable
 *   any state ──delete / retention / unload──▶ Dead
 *
 * Pure data and bookkeeping: no timers, no IO, no responses. The coordinator (coordinator.ts) decides
 * when to move it and what to answer; the transitions themselves are checked here, because an illegal
 * one is a bug in the coordinator, not a client error (STYLE.md 9).
 */
import type { ConsumerGroupState } from './consumer-group.js';
import { invariant } from '../common/assert.js';
import { CONSUMER_PROTOCOL_TYPE, subscriptionTopics } from './consumer-protocol.js';
import { ErrorCode } from './errors.js';
import type { GroupState, JoinGroupProtocol, JoinGroupResponseMember, RequestToken } from './types.js';

export interface ClassicMember {
  memberId: string;
  /** Set for static members (KIP-345): the member keeps its assignment across restarts. */
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  /** In the member's order of preference. */
  protocols: JoinGroupProtocol[];
  assignment: Buffer;
  /** The JoinGroup waiting for the rebalance to complete; non-null = "awaiting join". */
  joinToken: RequestToken | null;
  supportSkippingAssignment: boolean;
  /** The SyncGroup waiting for the leader's assignment; non-null = "awaiting sync". */
  syncToken: RequestToken | null;
  /** Joined but never received a JoinGroup response yet (KIP-394 new-member join timeout applies). */
  isNew: boolean;
}

export interface CommittedOffset {
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** Explicit expiry from OffsetCommit v2-4 retention_time_ms; null = broker retention (KIP-211). */
  expireTimestamp: number | null;
}

const VALID_PREVIOUS_STATES: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'],
};

export class ClassicGroup {
  state: GroupState = 'Empty';
  /** Wall-clock time of the last transition; offsets of an Empty group expire from here (KIP-211). */
  currentStateTimestamp: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** Insertion order is join order, which keeps leader election and protocol votes deterministic. */
  readonly members = new Map<string, ClassicMember>();
  /** groupInstanceId → memberId (KIP-345). */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED and not yet used to join (KIP-394). */
  readonly pendingMembers = new Set<string>();
  /** Members sent a JoinGroup response of this generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** Topics the consumer-protocol members subscribe to; null = unknown (not "consumer" or unparsable). */
  subscribedTopics: Set<string> | null = null;
  /** For group.initial.rebalance.delay.ms: a member joined while the initial delay ran. */
  newMemberAdded = false;
  initialDelayActive = false;
  initialDelayRemainingMs = 0;
  /**
   * Set when the group is a KIP-848 consumer group (consumer-coordinator.ts): the classic state machine
   * then stays Empty and this object only holds the group's offsets, which belong to either type.
   */
  consumer: ConsumerGroupState | null = null;
  /** topic → partition → committed offset. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  /** "topic\0partition" → number of commits appended but not yet durable (require_stable, KIP-447). */
  readonly pendingOffsetCommits = new Map<string, number>();

  constructor(readonly groupId: string, readonly partition: number, nowMs: number) {
    this.currentStateTimestamp = nowMs;
  }

  transitionTo(target: GroupState, nowMs: number): void {
    invariant(
      VALID_PREVIOUS_STATES[target].includes(this.state),
      () => `group ${this.groupId}: illegal transition ${this.state} -> ${target}`,
    );
    this.state = target;
    this.currentStateTimestamp = nowMs;
  }

  /**
   * KIP-848 online upgrade: the classic members moved into `consumer` (GroupMetadataManager
   * .convertToConsumerGroup), so the classic side is emptied whatever state it was in; this object keeps
   * the offsets. Not an ordinary transition: the classic state machine stops here.
   */
  clearForConsumerGroup(consumer: ConsumerGroupState, nowMs: number): void {
    this.members.clear();
    this.staticMembers.clear();
    this.pendingMembers.clear();
    this.pendingSyncMembers.clear();
    this.state = 'Empty';
    this.currentStateTimestamp = nowMs;
    this.generationId = 0;
    this.protocolType = null;
    this.protocolName = null;
    this.leaderId = null;
    this.subscribedTopics = null;
    this.initialDelayActive = false;
    this.newMemberAdded = false;
    this.consumer = consumer;
  }

  /**
   * KIP-848 online downgrade (ClassicGroup.fromConsumerGroup): the consumer group's classic members come
   * back as a Stable classic group at generation = the group epoch; the caller adds the members and
   * then starts a rebalance.
   */
  startFromConsumerGroup(generationId: number, nowMs: number): void {
    invariant(this.state === 'Empty' && this.members.size === 0, () => `group ${this.groupId}: downgrade into a non-empty classic group`);
    this.consumer = null;
    this.state = 'Stable';
    this.currentStateTimestamp = nowMs;
    this.generationId = generationId;
    this.protocolType = CONSUMER_PROTOCOL_TYPE;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): ClassicMember {
    const member = this.members.get(memberId);
    invariant(member !== undefined, () => `group ${this.groupId}: no member ${memberId}`);
    return member;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  add(member: ClassicMember): void {
    invariant(!this.members.has(member.memberId), () => `duplicate member ${member.memberId}`);
    if (this.members.size === 0) this.protocolType = member.protocolType;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    if (this.leaderId === null) this.leaderId = member.memberId;
  }

  remove(memberId: string): void {
    const member = this.get(memberId);
    this.members.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
  }

  /** A static member restarted: its new member id takes over the old one's place (KIP-345). */
  replaceStaticMember(oldMemberId: string, newMemberId: string): ClassicMember {
    const member = this.get(oldMemberId);
    invariant(member.groupInstanceId !== null, `member ${oldMemberId} is not static`);
    const wasPendingSync = this.pendingSyncMembers.delete(oldMemberId);
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    this.staticMembers.set(member.groupInstanceId, newMemberId);
    if (wasPendingSync) this.pendingSyncMembers.add(newMemberId);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    return member;
  }

  /** KIP-345: a known instance id presented with another member id is a zombie to fence. */
  isStaticMemberFenced(memberId: string, groupInstanceId: string | null): boolean {
    if (groupInstanceId === null) return false;
    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  /**
   * Kafka's validateMember: a static member must present the member id its instance id maps to
   * (FENCED_INSTANCE_ID otherwise, UNKNOWN_MEMBER_ID for an unknown instance id); a dynamic one must exist.
   */
  validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      return current === memberId ? ErrorCode.NONE : ErrorCode.FENCED_INSTANCE_ID;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /** Whether a member offering these protocols can join: same type and one protocol all can speak. */
  supportsProtocols(protocolType: string, protocols: readonly JoinGroupProtocol[]): boolean {
    if (this.state === 'Empty') return protocolType.length > 0 && protocols.length > 0;
    if (protocolType !== this.protocolType) return false;
    return protocols.some((p) => this.supportCount(p.name) === this.members.size);
  }

  private supportCount(protocolName: string): number {
    let count = 0;
    for (const member of this.members.values()) {
      if (member.protocols.some((p) => p.name === protocolName)) count++;
    }
    return count;
  }

  /** Every member votes for its most preferred protocol that all members support; most votes wins. */
  selectProtocol(): string {
    const all = [...this.members.values()];
    const candidates = new Set(all[0]?.protocols.map((p) => p.name) ?? []);
    for (const member of all) {
      const names = new Set(member.protocols.map((p) => p.name));
      for (const c of candidates) if (!names.has(c)) candidates.delete(c);
    }
    invariant(candidates.size > 0, () => `group ${this.groupId}: no common protocol`);
    const votes = new Map<string, number>();
    for (const member of all) {
      const vote = member.protocols.find((p) => candidates.has(p.name))?.name as string;
      votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    let best = '';
    let bestVotes = -1;
    for (const [name, count] of votes) if (count > bestVotes) [best, bestVotes] = [name, count];
    return best;
  }

  hasAllMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const member of this.members.values()) if (member.joinToken === null) return false;
    return true;
  }

  notYetRejoinedMembers(): ClassicMember[] {
    return [...this.members.values()].filter((m) => m.joinToken === null);
  }

  /** The longest rebalance timeout of the members: how long a rebalance may wait for all of them. */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const member of this.members.values()) max = Math.max(max, member.rebalanceTimeoutMs);
    return max;
  }

  /**
   * The leader must be a member that rejoined, or it cannot compute the assignment. False when nobody
   * rejoined: only static members that did not rejoin remain, and the rebalance must wait for them.
   */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    if (this.get(this.leaderId).joinToken !== null) return true;
    for (const member of this.members.values()) {
      if (member.joinToken !== null) {
        this.leaderId = member.memberId;
        return true;
      }
    }
    return false;
  }

  initNextGeneration(nowMs: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.transitionTo('CompletingRebalance', nowMs);
    } else {
      this.protocolName = null;
      this.transitionTo('Empty', nowMs);
    }
    this.subscribedTopics = this.computeSubscribedTopics();
  }

  computeSubscribedTopics(): Set<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const member of this.members.values()) {
      const subscribed = subscriptionTopics(this.memberMetadata(member));
      if (subscribed === null) return null;
      for (const t of subscribed) topics.add(t);
    }
    return topics;
  }

  /**
   * Unknown subscriptions of a consumer group count as subscribed: never delete offsets a member may
   * still use. Groups of other protocol types (or none) subscribe to nothing the broker can see.
   */
  isSubscribedToTopic(topic: string): boolean {
    if (this.subscribedTopics === null) return this.protocolType === CONSUMER_PROTOCOL_TYPE;
    return this.subscribedTopics.has(topic);
  }

  /** The member's metadata for the group's selected protocol. */
  memberMetadata(member: ClassicMember): Buffer {
    const protocol = member.protocols.find((p) => p.name === this.protocolName);
    return protocol?.metadata ?? Buffer.alloc(0);
  }

  currentMemberMetadata(): JoinGroupResponseMember[] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: this.memberMetadata(m),
    }));
  }

  offset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  setOffset(topic: string, partition: number, committed: CommittedOffset): void {
    let partitions = this.offsets.get(topic);
    if (partitions === undefined) this.offsets.set(topic, (partitions = new Map()));
    partitions.set(partition, committed);
  }

  deleteOffset(topic: string, partition: number): boolean {
    const partitions = this.offsets.get(topic);
    if (partitions === undefined || !partitions.delete(partition)) return false;
    if (partitions.size === 0) this.offsets.delete(topic);
    return true;
  }

  hasOffsets(): boolean {
    return this.offsets.size > 0;
  }

  hasPendingOffsetCommit(topic: string, partition: number): boolean {
    return this.pendingOffsetCommits.has(pendingKey(topic, partition));
  }

  addPendingOffsetCommit(topic: string, partition: number): void {
    const key = pendingKey(topic, partition);
    this.pendingOffsetCommits.set(key, (this.pendingOffsetCommits.get(key) ?? 0) + 1);
  }

  removePendingOffsetCommit(topic: string, partition: number): void {
    const key = pendingKey(topic, partition);
    const count = this.pendingOffsetCommits.get(key) ?? 0;
    invariant(count > 0, () => `group ${this.groupId}: no pending commit for ${topic}-${partition}`);
    if (count === 1) this.pendingOffsetCommits.delete(key);
    else this.pendingOffsetCommits.set(key, count - 1);
  }
}

function pendingKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

/**
 * KIP-848 online conversion between a classic group and a consumer group, as pure functions over the two
 * states (Kafka 4.4: ConsumerGroup.fromClassicGroup, ClassicGroup.fromConsumerGroup). The coordinator
 * (coordinator.ts) decides when to convert (group.consumer.migration.policy) and writes the records.
 *
 * - Upgrade: each classic member becomes a consumer-group member at the classic generation, STABLE,
 *   owning its last assignment (also its target), subscribed to the topics of its subscription, with its
 *   session timeout and JoinGroup protocols kept as ClassicMemberMetadata so it can go on speaking the
 *   classic protocol. An assignment carrying user data (a custom client-side assignor's) cannot be
 *   carried over: Kafka 4.4 refuses the upgrade.
 * - Downgrade: each remaining classic member becomes a classic member again; its assignment is its
 *   target assignment, serialized in the version of its own subscription.
 */
import type { ClassicGroup, ClassicMember } from './classic-group.js';
import type { TopicsSnapshot } from './consumer-coordinator.js';
import { newConsumerGroupState, type ConsumerGroupState, type ConsumerMember } from './consumer-group.js';
import { partitionKey } from './consumer-records.js';
import {
  CONSUMER_PROTOCOL_TYPE, decodeAssignmentWithUserData, decodeSubscription, encodeAssignment, subscriptionVersion,
} from './consumer-protocol.js';

/** The consumer group a classic group becomes, or why it cannot (malformed protocol, custom user data). */
export function consumerGroupFromClassic(group: ClassicGroup, topics: TopicsSnapshot): ConsumerGroupState | 'malformed' | 'userData' {
  const state = newConsumerGroupState();
  state.groupEpoch = group.generationId;
  state.assignmentEpoch = group.generationId;
  for (const classic of group.members.values()) {
    let assigned: Map<string, number[]>;
    let topicNames: string[];
    let rackId: string | null;
    try {
      const assignment = decodeAssignmentWithUserData(classic.assignment);
      if (assignment.userData !== null && assignment.userData.length > 0) return 'userData';
      assigned = new Map();
      for (const { topic, partitions } of assignment.assigned) {
        const info = topics.byName.get(topic);
        if (info !== undefined && partitions.length > 0) assigned.set(info.topicId, [...partitions].sort((a, b) => a - b));
      }
      // A group still in its first rebalance has no protocol yet: the member's first one is what it speaks.
      const metadata = group.protocolName === null ? classic.protocols[0]?.metadata : group.memberMetadata(classic);
      const subscription = decodeSubscription(metadata ?? Buffer.alloc(0));
      topicNames = [...subscription.topics].sort();
      rackId = subscription.rackId;
    } catch {
      return 'malformed';
    }
    const member: ConsumerMember = {
      memberId: classic.memberId,
      instanceId: classic.groupInstanceId,
      rackId,
      clientId: classic.clientId,
      clientHost: classic.clientHost,
      subscribedTopicNames: topicNames,
      subscribedTopicRegex: null,
      serverAssignor: null,
      rebalanceTimeoutMs: classic.rebalanceTimeoutMs,
      memberEpoch: group.generationId,
      previousMemberEpoch: group.generationId,
      state: 'STABLE',
      assignedPartitions: assigned,
      partitionsPendingRevocation: new Map(),
      // Utils.toAssignmentWithEpochs(assigned, generation): held since the classic generation.
      partitionEpochs: new Map([...assigned].flatMap(([t, ps]) => ps.map((p) => [partitionKey(t, p), group.generationId] as const))),
      classicMemberMetadata: {
        sessionTimeoutMs: classic.sessionTimeoutMs,
        supportedProtocols: classic.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      },
    };
    state.members.set(member.memberId, member);
    state.targetAssignment.set(member.memberId, new Map([...assigned].map(([t, ps]) => [t, [...ps]])));
  }
  return state;
}

/** The classic members the consumer group's remaining members become, or null if one is not classic. */
export function classicMembersFromConsumer(consumer: ConsumerGroupState, leavingMemberId: string): ClassicMember[] | null {
  const out: ClassicMember[] = [];
  for (const m of consumer.members.values()) {
    if (m.memberId === leavingMemberId) continue;
    if (m.classicMemberMetadata === null) return null;
    out.push({
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.classicMemberMetadata.sessionTimeoutMs,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocols: m.classicMemberMetadata.supportedProtocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      assignment: Buffer.alloc(0),
      joinToken: null,
      supportSkippingAssignment: false,
      syncToken: null,
      isNew: false,
    });
  }
  return out;
}

/**
 * Each classic member's assignment: its target in the consumer group, by topic name, in the version of
 * its subscription for the selected protocol (a member whose metadata does not parse gets version 0).
 */
export function assignInSubscriptionVersions(group: ClassicGroup, consumer: ConsumerGroupState, topics: TopicsSnapshot): void {
  for (const member of group.members.values()) {
    const target = consumer.targetAssignment.get(member.memberId) ?? new Map<string, number[]>();
    const assigned = [...target].filter(([, ps]) => ps.length > 0)
      .map(([topicId, partitions]) => ({ topic: topics.byId.get(topicId)?.name ?? '', partitions: [...partitions] }))
      .filter((t) => t.topic !== '');
    const metadata = group.memberMetadata(member);
    const version = metadata.length >= 2 ? subscriptionVersion(metadata) : 0;
    member.assignment = encodeAssignment(assigned, null, version);
  }
}

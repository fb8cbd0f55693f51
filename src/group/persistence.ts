/**
 * How groups and offsets map to `__consumer_offsets` records and back (records.ts has the byte formats):
 * what the coordinator writes on a stable generation, an Empty generation and an offset commit, and how
 * a partition's records are replayed into groups when this broker becomes its leader.
 */
import type { ClassicGroup, ClassicMember, CommittedOffset } from './classic-group.js';
import {
  decodeConsumerCurrentMemberAssignmentValue,
  decodeConsumerGroupKey,
  decodeConsumerGroupMetadataValue,
  decodeConsumerMemberMetadataValue,
  decodeConsumerTargetAssignmentMemberValue,
  decodeConsumerTargetAssignmentMetadataValue,
  type ConsumerMemberAssignment,
  type ConsumerMemberMetadata,
} from './consumer-records.js';
import {
  decodeGroupMetadataValue,
  decodeKey,
  decodeOffsetCommitValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type CoordinatorRecord,
  type GroupMetadataValue,
  type OffsetCommitValue,
} from './records.js';

/** One offset of a transaction that is not committed yet. */
export interface TxnOffset {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly value: OffsetCommitValue;
}

/** What a replay has gathered so far: the last value per key (null = tombstone), in log order. */
export interface PartitionLoad {
  groups: Map<string, GroupMetadataValue | null>;
  offsets: Map<string, { group: string; topic: string; partition: number; value: OffsetCommitValue }>;
  consumerGroups: Map<string, ConsumerGroupLoad>;
  /** Offsets written by transactions (producer id → offsets) whose marker has not been replayed yet. */
  txnOffsets: Map<number, TxnOffset[]>;
}

/** The KIP-848 records of one consumer group gathered by a replay (consumer-records.ts). */
export interface ConsumerGroupLoad {
  /** The group epoch; null until a ConsumerGroupMetadata record is seen. */
  epoch: number | null;
  assignmentEpoch: number;
  members: Map<string, ConsumerMemberMetadata>;
  targets: Map<string, Map<string, number[]>>;
  current: Map<string, ConsumerMemberAssignment>;
}

export function emptyPartitionLoad(): PartitionLoad {
  return { groups: new Map(), offsets: new Map(), consumerGroups: new Map(), txnOffsets: new Map() };
}

function replayConsumerRecord(load: PartitionLoad, record: CoordinatorRecord): void {
  const key = decodeConsumerGroupKey(record.key);
  // Other record types (share and streams groups) share the partition; not ours to load.
  if (key === null) return;
  let group = load.consumerGroups.get(key.group);
  if (group === undefined) {
    group = { epoch: null, assignmentEpoch: 0, members: new Map(), targets: new Map(), current: new Map() };
    load.consumerGroups.set(key.group, group);
  }
  const value = record.value;
  switch (key.type) {
    case 'consumerGroupMetadata':
      if (value === null) load.consumerGroups.delete(key.group);
      else group.epoch = decodeConsumerGroupMetadataValue(value);
      return;
    case 'consumerMemberMetadata':
      if (value === null) group.members.delete(key.memberId);
      else group.members.set(key.memberId, decodeConsumerMemberMetadataValue(value));
      return;
    case 'consumerTargetAssignmentMetadata':
      group.assignmentEpoch = value === null ? 0 : decodeConsumerTargetAssignmentMetadataValue(value);
      return;
    case 'consumerTargetAssignmentMember':
      if (value === null) group.targets.delete(key.memberId);
      else group.targets.set(key.memberId, decodeConsumerTargetAssignmentMemberValue(value));
      return;
    case 'consumerCurrentMemberAssignment':
      if (value === null) group.current.delete(key.memberId);
      else group.current.set(key.memberId, decodeConsumerCurrentMemberAssignmentValue(value));
      return;
  }
}

/**
 * A transactional batch's offset records (KIP-98): held per producer until its marker. Other records
 * in a transactional batch are not written by this coordinator and are replayed as usual.
 */
export function replayTransactionalRecord(load: PartitionLoad, producerId: number, record: CoordinatorRecord): void {
  const key = decodeKey(record.key);
  if (key.type !== 'offsetCommit' || record.value === null) return replayRecord(load, record);
  let list = load.txnOffsets.get(producerId);
  if (list === undefined) load.txnOffsets.set(producerId, (list = []));
  list.push({ group: key.group, topic: key.topic, partition: key.partition, value: decodeOffsetCommitValue(record.value) });
}

/** A transaction marker replayed: a commit makes the producer's offsets committed (in marker order), an abort drops them. */
export function replayTransactionMarker(load: PartitionLoad, producerId: number, commit: boolean): void {
  const list = load.txnOffsets.get(producerId);
  load.txnOffsets.delete(producerId);
  if (!commit || list === undefined) return;
  for (const offset of list) {
    const id = `${offset.group}\0${offset.topic}\0${offset.partition}`;
    load.offsets.delete(id);
    load.offsets.set(id, offset);
  }
}

export function offsetRecord(groupId: string, topic: string, partition: number, value: CommittedOffset): CoordinatorRecord {
  return { key: encodeOffsetCommitKey(groupId, topic, partition), value: encodeOffsetCommitValue(value) };
}

export function groupMetadataValue(group: ClassicGroup, assignments: Map<string, Buffer> | undefined): GroupMetadataValue {
  return {
    protocolType: group.protocolType ?? '',
    generation: group.generationId,
    protocol: group.protocolName,
    leader: group.leaderId,
    currentStateTimestamp: group.currentStateTimestamp,
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeout: m.rebalanceTimeoutMs,
      sessionTimeout: m.sessionTimeoutMs,
      subscription: group.memberMetadata(m),
      assignment: assignments?.get(m.memberId) ?? m.assignment,
    })),
  };
}

export function loadedMember(m: GroupMetadataValue['members'][number], protocolType: string, protocolName: string): ClassicMember {
  return {
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    rebalanceTimeoutMs: m.rebalanceTimeout,
    sessionTimeoutMs: m.sessionTimeout,
    protocolType,
    protocols: [{ name: protocolName, metadata: m.subscription }],
    assignment: m.assignment,
    joinToken: null,
    supportSkippingAssignment: false,
    syncToken: null,
    isNew: false,
  };
}

export function replayRecord(load: PartitionLoad, record: CoordinatorRecord): void {
  const key = decodeKey(record.key);
  switch (key.type) {
    case 'offsetCommit': {
      const id = `${key.group}\0${key.topic}\0${key.partition}`;
      // Delete then set, so a key written again moves to the end: replay order is log order.
      load.offsets.delete(id);
      if (record.value !== null) load.offsets.set(id, { group: key.group, topic: key.topic, partition: key.partition, value: decodeOffsetCommitValue(record.value) });
      return;
    }
    case 'groupMetadata':
      load.groups.delete(key.group);
      load.groups.set(key.group, record.value === null ? null : decodeGroupMetadataValue(record.value));
      return;
    case 'unknown':
      return replayConsumerRecord(load, record);
  }
}

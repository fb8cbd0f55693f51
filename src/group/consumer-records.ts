/**
 * The `__consumer_offsets` records of KIP-848 consumer groups, in Kafka's formats, so a partition written
 * here reads the same as one Kafka 4.4 wrote (apache/kafka group-coordinator/src/main/resources/common/
 * message/ConsumerGroup*.json; the layouts below were checked against the schemas of Kafka 4.4.0's
 * generated classes). The key's int16 version is the record type (CoordinatorRecordType): 3 group
 * metadata, 5 member metadata, 6 target assignment metadata, 7 target assignment member, 8 current member
 * assignment. Keys are not flexible; values are (version 0, compact types, tagged fields, which are
 * skipped on read and none written: every tagged field Kafka defines here has a default Kafka accepts).
 * A null value is a tombstone.
 */
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { RecordFormatError } from './records.js';

export const CONSUMER_GROUP_METADATA_KEY_VERSION = 3;
export const CONSUMER_GROUP_MEMBER_METADATA_KEY_VERSION = 5;
export const CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_KEY_VERSION = 6;
export const CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_KEY_VERSION = 7;
export const CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_KEY_VERSION = 8;

/** Topic id → sorted partitions. */
export type TopicPartitions = ReadonlyMap<string, readonly number[]>;

/**
 * ConsumerGroupMemberMetadataValue.ClassicMemberMetadata (tagged field 0): set for a member of a consumer
 * group that speaks the classic protocol (KIP-848 online conversion), null for a consumer-protocol one.
 */
export interface ClassicMemberMetadata {
  sessionTimeoutMs: number;
  /** The JoinGroup protocols, in the member's order of preference. */
  supportedProtocols: readonly { readonly name: string; readonly metadata: Buffer }[];
}

export interface ConsumerMemberMetadata {
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: readonly string[];
  subscribedTopicRegex: string | null;
  rebalanceTimeoutMs: number;
  serverAssignor: string | null;
  classicMemberMetadata: ClassicMemberMetadata | null;
}

/** MemberState (org.apache.kafka.coordinator.group.modern.MemberState in Kafka 4.4): the byte Kafka stores. */
export const MemberStateId = { STABLE: 0, UNREVOKED_PARTITIONS: 1, UNRELEASED_PARTITIONS: 2 } as const;
export type MemberStateName = keyof typeof MemberStateId;

export interface ConsumerMemberAssignment {
  memberEpoch: number;
  previousMemberEpoch: number;
  state: MemberStateName;
  assignedPartitions: TopicPartitions;
  partitionsPendingRevocation: TopicPartitions;
  /**
   * KIP-1251 (Kafka 4.4): the member epoch at which each partition ("topicId:partition") was assigned to
   * the member, written as TopicPartitions' tagged field 0 (AssignmentEpochs). A record without it
   * (older writers) reads as every partition assigned at the member epoch, as Kafka reads it.
   */
  assignmentEpochs?: ReadonlyMap<string, number>;
}

export const partitionKey = (topicId: string, partition: number): string => `${topicId}:${partition}`;

export type ConsumerGroupKey =
  | { type: 'consumerGroupMetadata'; group: string }
  | { type: 'consumerMemberMetadata'; group: string; memberId: string }
  | { type: 'consumerTargetAssignmentMetadata'; group: string }
  | { type: 'consumerTargetAssignmentMember'; group: string; memberId: string }
  | { type: 'consumerCurrentMemberAssignment'; group: string; memberId: string };

function key(version: number, group: string, memberId?: string): Buffer {
  const w = new Writer();
  w.writeInt16(version);
  w.writeString(group);
  if (memberId !== undefined) w.writeString(memberId);
  return w.finishBuffer();
}

export const consumerGroupMetadataKey = (group: string): Buffer => key(CONSUMER_GROUP_METADATA_KEY_VERSION, group);
export const consumerMemberMetadataKey = (group: string, memberId: string): Buffer => key(CONSUMER_GROUP_MEMBER_METADATA_KEY_VERSION, group, memberId);
export const consumerTargetAssignmentMetadataKey = (group: string): Buffer => key(CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_KEY_VERSION, group);
export const consumerTargetAssignmentMemberKey = (group: string, memberId: string): Buffer => key(CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_KEY_VERSION, group, memberId);
export const consumerCurrentMemberAssignmentKey = (group: string, memberId: string): Buffer => key(CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_KEY_VERSION, group, memberId);

/** The key of a KIP-848 record, or null for a key version that is not one of them. */
export function decodeConsumerGroupKey(buffer: Buffer): ConsumerGroupKey | null {
  return parse(buffer, (r) => {
    const version = r.readInt16();
    switch (version) {
      case CONSUMER_GROUP_METADATA_KEY_VERSION:
        return { type: 'consumerGroupMetadata', group: r.readString() };
      case CONSUMER_GROUP_MEMBER_METADATA_KEY_VERSION:
        return { type: 'consumerMemberMetadata', group: r.readString(), memberId: r.readString() };
      case CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_KEY_VERSION:
        return { type: 'consumerTargetAssignmentMetadata', group: r.readString() };
      case CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_KEY_VERSION:
        return { type: 'consumerTargetAssignmentMember', group: r.readString(), memberId: r.readString() };
      case CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_KEY_VERSION:
        return { type: 'consumerCurrentMemberAssignment', group: r.readString(), memberId: r.readString() };
      default:
        return null;
    }
  });
}

function value(write: (w: Writer) => void): Buffer {
  const w = new Writer();
  w.writeInt16(0);
  write(w);
  w.writeUVarint(0);
  return w.finishBuffer();
}

/** ConsumerGroupMetadataValue: the group epoch. */
export const encodeConsumerGroupMetadataValue = (epoch: number): Buffer => value((w) => w.writeInt32(epoch));

export function decodeConsumerGroupMetadataValue(buffer: Buffer): number {
  return parseValue(buffer, (r) => r.readInt32());
}

/** Tag 0 of ConsumerGroupMemberMetadataValue: a nullable struct, so a presence byte (1) comes first. */
function classicMetadataBytes(c: ClassicMemberMetadata): Buffer {
  const w = new Writer();
  w.writeInt8(1);
  w.writeInt32(c.sessionTimeoutMs);
  w.writeCompactArrayLength(c.supportedProtocols.length);
  for (const p of c.supportedProtocols) {
    w.writeCompactString(p.name);
    w.writeCompactBytes(p.metadata);
    w.writeUVarint(0);
  }
  w.writeUVarint(0);
  return w.finishBuffer();
}

function readClassicMetadata(r: Reader): ClassicMemberMetadata | null {
  if (r.readInt8() < 0) return null;
  const sessionTimeoutMs = r.readInt32();
  const count = r.readCompactArrayLength(2);
  const supportedProtocols: { name: string; metadata: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const name = r.readCompactString();
    const metadata = Buffer.from(r.readCompactBytes());
    r.skipTaggedFields();
    supportedProtocols.push({ name, metadata });
  }
  r.skipTaggedFields();
  return { sessionTimeoutMs, supportedProtocols };
}

export function encodeConsumerMemberMetadataValue(m: ConsumerMemberMetadata): Buffer {
  const w = new Writer();
  w.writeInt16(0);
  w.writeCompactNullableString(m.instanceId);
  w.writeCompactNullableString(m.rackId);
  w.writeCompactString(m.clientId);
  w.writeCompactString(m.clientHost);
  w.writeCompactArrayLength(m.subscribedTopicNames.length);
  for (const name of m.subscribedTopicNames) w.writeCompactString(name);
  w.writeCompactNullableString(m.subscribedTopicRegex);
  w.writeInt32(m.rebalanceTimeoutMs);
  w.writeCompactNullableString(m.serverAssignor);
  if (m.classicMemberMetadata === null) {
    w.writeUVarint(0);
  } else {
    const tagged = classicMetadataBytes(m.classicMemberMetadata);
    w.writeUVarint(1);
    w.writeUVarint(0);
    w.writeUVarint(tagged.length);
    w.writeRaw(tagged);
  }
  return w.finishBuffer();
}

export function decodeConsumerMemberMetadataValue(buffer: Buffer): ConsumerMemberMetadata {
  return parse(buffer, (r) => {
    const version = r.readInt16();
    if (version !== 0) throw new RecordFormatError(`unknown consumer group value version ${version}`);
    const instanceId = r.readCompactNullableString();
    const rackId = r.readCompactNullableString();
    const clientId = r.readCompactString();
    const clientHost = r.readCompactString();
    const count = r.readCompactArrayLength(1);
    const subscribedTopicNames: string[] = [];
    for (let i = 0; i < count; i++) subscribedTopicNames.push(r.readCompactString());
    const subscribedTopicRegex = r.readCompactNullableString();
    const rebalanceTimeoutMs = r.readInt32();
    const serverAssignor = r.readCompactNullableString();
    let classicMemberMetadata: ClassicMemberMetadata | null = null;
    const tags = r.readTaggedFieldCount();
    for (let i = 0; i < tags; i++) {
      const tag = r.readUVarint();
      const size = r.readUVarint();
      if (tag !== 0) {
        r.skip(size);
        continue;
      }
      const end = r.taggedFieldEnd(size);
      classicMemberMetadata = readClassicMetadata(r);
      r.endTaggedField(end);
    }
    return { instanceId, rackId, clientId, clientHost, subscribedTopicNames, subscribedTopicRegex, rebalanceTimeoutMs, serverAssignor, classicMemberMetadata };
  });
}

/** ConsumerGroupTargetAssignmentMetadataValue: the epoch of the target assignment. */
export const encodeConsumerTargetAssignmentMetadataValue = (assignmentEpoch: number): Buffer => value((w) => w.writeInt32(assignmentEpoch));

export function decodeConsumerTargetAssignmentMetadataValue(buffer: Buffer): number {
  return parseValue(buffer, (r) => r.readInt32());
}

function writeTopicPartitions(w: Writer, assignment: TopicPartitions, epochs?: ReadonlyMap<string, number>): void {
  const topics = [...assignment].filter(([, partitions]) => partitions.length > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  w.writeCompactArrayLength(topics.length);
  for (const [topicId, partitions] of topics) {
    w.writeUuid(topicId);
    w.writeCompactArrayLength(partitions.length);
    for (const p of partitions) w.writeInt32(p);
    const known = epochs === undefined ? [] : partitions.map((p) => epochs.get(partitionKey(topicId, p)));
    if (epochs === undefined || known.some((e) => e === undefined)) {
      w.writeUVarint(0);
      continue;
    }
    const tagged = new Writer();
    tagged.writeCompactArrayLength(known.length);
    for (const e of known) tagged.writeInt32(e as number);
    const bytes = tagged.finishBuffer();
    w.writeUVarint(1);
    w.writeUVarint(0);
    w.writeUVarint(bytes.length);
    w.writeRaw(bytes);
  }
}

function readTopicPartitions(r: Reader, epochs?: Map<string, number>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const count = r.readCompactArrayLength(18);
  for (let i = 0; i < count; i++) {
    const topicId = r.readUuid();
    const n = r.readCompactArrayLength(4);
    const partitions: number[] = [];
    for (let j = 0; j < n; j++) partitions.push(r.readInt32());
    const tags = r.readTaggedFieldCount();
    for (let t = 0; t < tags; t++) {
      const tag = r.readUVarint();
      const size = r.readUVarint();
      if (tag !== 0 || epochs === undefined) {
        r.skip(size);
        continue;
      }
      const end = r.taggedFieldEnd(size);
      const m = r.readCompactArrayLength(4);
      if (m !== partitions.length) throw new RecordFormatError(`${m} assignment epochs for ${partitions.length} partitions`);
      for (let j = 0; j < m; j++) epochs.set(partitionKey(topicId, partitions[j] as number), r.readInt32());
      r.endTaggedField(end);
    }
    out.set(topicId, partitions);
  }
  return out;
}

export const encodeConsumerTargetAssignmentMemberValue = (assignment: TopicPartitions): Buffer => value((w) => writeTopicPartitions(w, assignment));

export function decodeConsumerTargetAssignmentMemberValue(buffer: Buffer): Map<string, number[]> {
  return parseValue(buffer, readTopicPartitions);
}

export function encodeConsumerCurrentMemberAssignmentValue(a: ConsumerMemberAssignment): Buffer {
  return value((w) => {
    w.writeInt32(a.memberEpoch);
    w.writeInt32(a.previousMemberEpoch);
    w.writeInt8(MemberStateId[a.state]);
    writeTopicPartitions(w, a.assignedPartitions, a.assignmentEpochs);
    writeTopicPartitions(w, a.partitionsPendingRevocation, a.assignmentEpochs);
  });
}

export function decodeConsumerCurrentMemberAssignmentValue(buffer: Buffer): ConsumerMemberAssignment {
  return parseValue(buffer, (r) => {
    const memberEpoch = r.readInt32();
    const previousMemberEpoch = r.readInt32();
    const stateId = r.readInt8();
    const state = (Object.keys(MemberStateId) as MemberStateName[]).find((k) => MemberStateId[k] === stateId);
    if (state === undefined) throw new RecordFormatError(`unknown member state ${stateId}`);
    const epochs = new Map<string, number>();
    const assignedPartitions = readTopicPartitions(r, epochs);
    const partitionsPendingRevocation = readTopicPartitions(r, epochs);
    const all = [...assignedPartitions, ...partitionsPendingRevocation].flatMap(([t, ps]) => ps.map((p) => partitionKey(t, p)));
    if (all.length === 0 || all.some((k) => !epochs.has(k))) return { memberEpoch, previousMemberEpoch, state, assignedPartitions, partitionsPendingRevocation };
    return { memberEpoch, previousMemberEpoch, state, assignedPartitions, partitionsPendingRevocation, assignmentEpochs: epochs };
  });
}

function parse<T>(buffer: Buffer, read: (r: Reader) => T): T {
  try {
    return read(new Reader(buffer));
  } catch (error) {
    if (error instanceof RecordFormatError) throw error;
    throw new RecordFormatError(`malformed consumer group record: ${(error as Error).message}`);
  }
}

function parseValue<T>(buffer: Buffer, read: (r: Reader) => T): T {
  return parse(buffer, (r) => {
    const version = r.readInt16();
    if (version !== 0) throw new RecordFormatError(`unknown consumer group value version ${version}`);
    const out = read(r);
    r.skipTaggedFields();
    return out;
  });
}

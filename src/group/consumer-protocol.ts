/**
 * The parts of the embedded consumer protocol (protocolType "consumer") the coordinator must read:
 * ConsumerProtocolSubscription.Topics, so OffsetDelete can answer GROUP_SUBSCRIBED_TO_TOPIC and offsets
 * retention can expire offsets of topics the group no longer consumes (KIP-496, KIP-211). In a classic
 * group the member metadata is otherwise opaque to the broker: incremental cooperative rebalancing
 * (KIP-429) lives entirely in the clients' assignors. KIP-848's online conversion reads more: the
 * whole subscription (owned partitions, rack) and assignments, and writes assignments for classic
 * members of a consumer group.
 *
 * Kafka parses newer versions with the newest format it knows (the spec promises fields are only
 * appended), so any version >= 0 is read as topics first. The encoders are for simulations and tests.
 */
import { RecordFormatError } from './records.js';

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

/** The subscribed topics, or null when the bytes are not a consumer subscription. */
export function subscriptionTopics(metadata: Buffer): string[] | null {
  try {
    const cursor = { offset: 0 };
    const version = readInt16(metadata, cursor);
    if (version < 0) return null;
    return readStringArray(metadata, cursor);
  } catch (error) {
    if (error instanceof RecordFormatError || error instanceof RangeError) return null;
    throw error;
  }
}

export function encodeSubscription(topics: readonly string[], userData: Buffer | null = null, ownedPartitions?: readonly TopicPartitions[]): Buffer {
  const parts: Buffer[] = [int16(ownedPartitions === undefined ? 0 : 1), int32(topics.length)];
  for (const topic of topics) parts.push(str(topic));
  parts.push(nullableBytes(userData));
  if (ownedPartitions !== undefined) {
    parts.push(int32(ownedPartitions.length));
    for (const { topic, partitions } of ownedPartitions) {
      parts.push(str(topic), int32(partitions.length));
      for (const p of partitions) parts.push(int32(p));
    }
  }
  return Buffer.concat(parts);
}

/** ConsumerProtocolSubscription as far as KIP-848's online conversion reads it (all versions 0-3). */
export interface Subscription {
  version: number;
  topics: string[];
  userData: Buffer | null;
  /** v1+; [] before. */
  ownedPartitions: TopicPartitions[];
  /** v3+; null before. */
  rackId: string | null;
}

/**
 * Decodes a subscription (ConsumerProtocolSubscription.json: Topics, UserData, v1 OwnedPartitions, v2
 * GenerationId, v3 RackId); a version above 3 is read as 3, as Kafka's ConsumerProtocol does. Throws
 * RecordFormatError when the bytes are not one (Kafka: SchemaException).
 */
export function decodeSubscription(metadata: Buffer): Subscription {
  try {
    const cursor = { offset: 0 };
    const version = readInt16(metadata, cursor);
    if (version < 0) throw new RecordFormatError(`subscription version ${version}`);
    const topics = readStringArray(metadata, cursor);
    const userData = readNullableBytes(metadata, cursor);
    const ownedPartitions = version >= 1 ? readTopicPartitions(metadata, cursor) : [];
    if (version >= 2) readInt32(metadata, cursor);
    const rackId = version >= 3 ? readNullableString(metadata, cursor) : null;
    return { version, topics, userData, ownedPartitions, rackId };
  } catch (error) {
    if (error instanceof RangeError) throw new RecordFormatError(`malformed subscription: ${error.message}`);
    throw error;
  }
}

/** The version a subscription was written with (Kafka's ConsumerProtocol.deserializeVersion). */
export function subscriptionVersion(metadata: Buffer): number {
  if (metadata.length < 2) throw new RecordFormatError('subscription too short for its version');
  return metadata.readInt16BE(0);
}

/**
 * An assignment with its user data (a custom assignor's, which KIP-848's server-side assignors cannot
 * carry over). An empty buffer is no partitions and no user data.
 */
export function decodeAssignmentWithUserData(bytes: Buffer): { assigned: TopicPartitions[]; userData: Buffer | null } {
  if (bytes.length === 0) return { assigned: [], userData: null };
  try {
    const cursor = { offset: 0 };
    readInt16(bytes, cursor);
    const assigned = readTopicPartitions(bytes, cursor);
    const userData = cursor.offset < bytes.length ? readNullableBytes(bytes, cursor) : null;
    return { assigned, userData };
  } catch (error) {
    if (error instanceof RangeError) throw new RecordFormatError(`malformed assignment: ${error.message}`);
    throw error;
  }
}

/**
 * Encodes an assignment in `version` (ConsumerProtocolAssignment has the same fields in versions 0-3,
 * so only the version prefix differs; Kafka writes the version of the member's subscription).
 */
export function encodeAssignment(assigned: readonly TopicPartitions[], userData: Buffer | null = null, version = 0): Buffer {
  const parts: Buffer[] = [int16(version), int32(assigned.length)];
  for (const { topic, partitions } of assigned) {
    parts.push(str(topic), int32(partitions.length));
    for (const p of partitions) parts.push(int32(p));
  }
  parts.push(nullableBytes(userData));
  return Buffer.concat(parts);
}

/** Decodes an assignment; an empty buffer (a member the leader left out) is no partitions. */
export function decodeAssignment(bytes: Buffer): TopicPartitions[] {
  if (bytes.length === 0) return [];
  const cursor = { offset: 0 };
  readInt16(bytes, cursor);
  const count = readInt32(bytes, cursor);
  if (count < 0 || count > bytes.length) throw new RecordFormatError(`assignment count ${count}`);
  const out: TopicPartitions[] = [];
  for (let i = 0; i < count; i++) {
    const topic = readString(bytes, cursor);
    const n = readInt32(bytes, cursor);
    if (n < 0 || n > bytes.length) throw new RecordFormatError(`partition count ${n}`);
    const partitions: number[] = [];
    for (let j = 0; j < n; j++) partitions.push(readInt32(bytes, cursor));
    out.push({ topic, partitions });
  }
  return out;
}

interface Cursor { offset: number }

function readInt16(b: Buffer, c: Cursor): number { const v = b.readInt16BE(c.offset); c.offset += 2; return v; }
function readInt32(b: Buffer, c: Cursor): number { const v = b.readInt32BE(c.offset); c.offset += 4; return v; }

function readString(b: Buffer, c: Cursor): string {
  const length = readInt16(b, c);
  if (length < 0 || c.offset + length > b.length) throw new RecordFormatError(`string length ${length}`);
  const value = b.toString('utf8', c.offset, c.offset + length);
  c.offset += length;
  return value;
}

function readNullableString(b: Buffer, c: Cursor): string | null {
  if (b.readInt16BE(c.offset) === -1) {
    c.offset += 2;
    return null;
  }
  return readString(b, c);
}

function readNullableBytes(b: Buffer, c: Cursor): Buffer | null {
  const length = readInt32(b, c);
  if (length === -1) return null;
  if (length < 0 || c.offset + length > b.length) throw new RecordFormatError(`bytes length ${length}`);
  const value = b.subarray(c.offset, c.offset + length);
  c.offset += length;
  return value;
}

function readTopicPartitions(b: Buffer, c: Cursor): TopicPartitions[] {
  const count = readInt32(b, c);
  if (count < 0 || count > b.length) throw new RecordFormatError(`topic count ${count}`);
  const out: TopicPartitions[] = [];
  for (let i = 0; i < count; i++) {
    const topic = readString(b, c);
    const n = readInt32(b, c);
    if (n < 0 || n > b.length) throw new RecordFormatError(`partition count ${n}`);
    const partitions: number[] = [];
    for (let j = 0; j < n; j++) partitions.push(readInt32(b, c));
    out.push({ topic, partitions });
  }
  return out;
}

function readStringArray(b: Buffer, c: Cursor): string[] {
  const count = readInt32(b, c);
  if (count < 0 || count > b.length) throw new RecordFormatError(`topic count ${count}`);
  const topics: string[] = [];
  for (let i = 0; i < count; i++) topics.push(readString(b, c));
  return topics;
}

function int16(v: number): Buffer { const b = Buffer.alloc(2); b.writeInt16BE(v); return b; }
function int32(v: number): Buffer { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; }
function str(v: string): Buffer { const bytes = Buffer.from(v, 'utf8'); return Buffer.concat([int16(bytes.length), bytes]); }
function nullableBytes(v: Buffer | null): Buffer { return v === null ? int32(-1) : Buffer.concat([int32(v.length), v]); }

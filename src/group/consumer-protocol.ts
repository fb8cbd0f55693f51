/**
 * The parts of the embedded consumer protocol (protocolType "consumer") the coordinator must read:
 * ConsumerProtocolSubscription.Topics, so OffsetDelete can answer GROUP_SUBSCRIBED_TO_TOPIC and offsets
 * retention can expire offsets of topics the group no longer consumes (KIP-496, KIP-211). The member
 * metadata is otherwise opaque to the broker: incremental cooperative rebalancing (KIP-429) lives
 * entirely in the clients' assignors, and the coordinator only passes these bytes through.
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

export function encodeSubscription(topics: readonly string[], userData: Buffer | null = null): Buffer {
  const parts: Buffer[] = [int16(0), int32(topics.length)];
  for (const topic of topics) parts.push(str(topic));
  parts.push(nullableBytes(userData));
  return Buffer.concat(parts);
}

export function encodeAssignment(assigned: readonly TopicPartitions[], userData: Buffer | null = null): Buffer {
  const parts: Buffer[] = [int16(0), int32(assigned.length)];
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

/**
 * The `__consumer_offsets` records of the classic group protocol, in Kafka's own formats so a partition
 * written here reads the same as one written by Kafka (apache/kafka
 * group-coordinator/src/main/resources/common/message/{OffsetCommitKey,OffsetCommitValue,
 * GroupMetadataKey,GroupMetadataValue}.json). Hand-written because there are only four and the core must
 * not depend on the generated codecs.
 *
 * Key = int16 version, then fields: versions 0 and 1 are OffsetCommitKey (group, topic, partition),
 * version 2 is GroupMetadataKey (group); higher versions belong to other record types (KIP-848 and share
 * groups) and decode as `unknown`. Value = int16 version, then fields; a null value is a tombstone.
 * Versions 4 of both values are flexible (KIP-482 compact strings, tagged fields), earlier ones are not.
 */

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
/** What Kafka writes today: v3, or v1 when a legacy expireTimestamp must be kept. */
export const OFFSET_COMMIT_VALUE_VERSION = 3;
export const GROUP_METADATA_VALUE_VERSION = 3;

export interface CoordinatorRecord {
  key: Buffer;
  /** null = tombstone; compaction eventually removes the key. */
  value: Buffer | null;
}

export type CoordinatorKey =
  | { type: 'offsetCommit'; group: string; topic: string; partition: number }
  | { type: 'groupMetadata'; group: string }
  | { type: 'unknown'; version: number };

export interface OffsetCommitValue {
  offset: bigint;
  /** -1 when unknown (values before v3). */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** Only v1 carries it (OffsetCommit v2-4 retention_time_ms); null otherwise. */
  expireTimestamp: number | null;
}

export interface GroupMetadataMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeout: number;
  sessionTimeout: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupMetadataValue {
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  /** -1 when unknown (values before v2). */
  currentStateTimestamp: number;
  members: GroupMetadataMember[];
}

/** A record that cannot be parsed: one typed error, never a half-built object (STYLE.md 6). */
export class RecordFormatError extends Error {
  override name = 'RecordFormatError';
}

export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Buffer {
  const w = new RecordWriter();
  w.int16(OFFSET_COMMIT_KEY_VERSION);
  w.string(group);
  w.string(topic);
  w.int32(partition);
  return w.finish();
}

export function encodeGroupMetadataKey(group: string): Buffer {
  const w = new RecordWriter();
  w.int16(GROUP_METADATA_KEY_VERSION);
  w.string(group);
  return w.finish();
}

export function decodeKey(key: Buffer): CoordinatorKey {
  const r = new RecordReader(key);
  const version = r.int16();
  if (version === 0 || version === 1) {
    return { type: 'offsetCommit', group: r.string(), topic: r.string(), partition: r.int32() };
  }
  if (version === 2) return { type: 'groupMetadata', group: r.string() };
  return { type: 'unknown', version };
}

export function encodeOffsetCommitValue(value: OffsetCommitValue): Buffer {
  const w = new RecordWriter();
  if (value.expireTimestamp !== null) {
    w.int16(1);
    w.int64(value.offset);
    w.string(value.metadata);
    w.int64(BigInt(value.commitTimestamp));
    w.int64(BigInt(value.expireTimestamp));
    return w.finish();
  }
  w.int16(OFFSET_COMMIT_VALUE_VERSION);
  w.int64(value.offset);
  w.int32(value.leaderEpoch);
  w.string(value.metadata);
  w.int64(BigInt(value.commitTimestamp));
  return w.finish();
}

export function decodeOffsetCommitValue(buffer: Buffer): OffsetCommitValue {
  const r = new RecordReader(buffer);
  const version = r.int16();
  if (version < 0 || version > 4) throw new RecordFormatError(`OffsetCommitValue version ${version}`);
  const flexible = version >= 4;
  const offset = r.int64();
  const leaderEpoch = version >= 3 ? r.int32() : -1;
  const metadata = flexible ? r.compactString() : r.string();
  const commitTimestamp = Number(r.int64());
  const expireTimestamp = version === 1 ? Number(r.int64()) : null;
  if (flexible) r.skipTaggedFields();
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
}

export function encodeGroupMetadataValue(value: GroupMetadataValue): Buffer {
  const w = new RecordWriter();
  w.int16(GROUP_METADATA_VALUE_VERSION);
  w.string(value.protocolType);
  w.int32(value.generation);
  w.nullableString(value.protocol);
  w.nullableString(value.leader);
  w.int64(BigInt(value.currentStateTimestamp));
  w.int32(value.members.length);
  for (const member of value.members) encodeMemberV3(w, member);
  return w.finish();
}

function encodeMemberV3(w: RecordWriter, member: GroupMetadataMember): void {
  w.string(member.memberId);
  w.nullableString(member.groupInstanceId);
  w.string(member.clientId);
  w.string(member.clientHost);
  w.int32(member.rebalanceTimeout);
  w.int32(member.sessionTimeout);
  w.bytes(member.subscription);
  w.bytes(member.assignment);
}

export function decodeGroupMetadataValue(buffer: Buffer): GroupMetadataValue {
  const r = new RecordReader(buffer);
  const version = r.int16();
  if (version < 0 || version > 4) throw new RecordFormatError(`GroupMetadataValue version ${version}`);
  const flexible = version >= 4;
  const protocolType = flexible ? r.compactString() : r.string();
  const generation = r.int32();
  const protocol = flexible ? r.compactNullableString() : r.nullableString();
  const leader = flexible ? r.compactNullableString() : r.nullableString();
  const currentStateTimestamp = version >= 2 ? Number(r.int64()) : -1;
  const count = flexible ? r.uvarint() - 1 : r.int32();
  if (count < 0 || count > r.remaining()) throw new RecordFormatError(`member count ${count}`);
  const members: GroupMetadataMember[] = [];
  for (let i = 0; i < count; i++) members.push(decodeMember(r, version));
  if (flexible) r.skipTaggedFields();
  return { protocolType, generation, protocol, leader, currentStateTimestamp, members };
}

function decodeMember(r: RecordReader, version: number): GroupMetadataMember {
  const flexible = version >= 4;
  const str = (): string => (flexible ? r.compactString() : r.string());
  const memberId = str();
  const groupInstanceId = version >= 3 ? (flexible ? r.compactNullableString() : r.nullableString()) : null;
  const clientId = str();
  const clientHost = str();
  const rebalanceTimeout = version >= 1 ? r.int32() : -1;
  const sessionTimeout = r.int32();
  const subscription = flexible ? r.compactBytes() : r.bytes();
  const assignment = flexible ? r.compactBytes() : r.bytes();
  const member = { memberId, groupInstanceId, clientId, clientHost, rebalanceTimeout, sessionTimeout, subscription, assignment };
  if (flexible) r.skipTaggedFields();
  // v0 has no rebalance timeout; Kafka then uses the session timeout for it.
  if (member.rebalanceTimeout < 0) member.rebalanceTimeout = sessionTimeout;
  return member;
}

/** Appending writer for the non-flexible encodings this file writes (STYLE.md 6). */
class RecordWriter {
  private readonly chunks: Buffer[] = [];

  int16(value: number): void { const b = Buffer.alloc(2); b.writeInt16BE(value); this.chunks.push(b); }
  int32(value: number): void { const b = Buffer.alloc(4); b.writeInt32BE(value); this.chunks.push(b); }
  int64(value: bigint): void { const b = Buffer.alloc(8); b.writeBigInt64BE(value); this.chunks.push(b); }

  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > 0x7fff) throw new RecordFormatError(`string of ${bytes.length} bytes`);
    this.int16(bytes.length);
    this.chunks.push(bytes);
  }

  nullableString(value: string | null): void {
    if (value === null) this.int16(-1);
    else this.string(value);
  }

  bytes(value: Buffer): void {
    this.int32(value.length);
    this.chunks.push(value);
  }

  finish(): Buffer { return Buffer.concat(this.chunks); }
}

/** Bounds-checked reader; any overrun is a RecordFormatError. */
class RecordReader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  remaining(): number { return this.buffer.length - this.offset; }

  private take(length: number): number {
    if (length < 0 || this.offset + length > this.buffer.length) {
      throw new RecordFormatError(`read of ${length} bytes at ${this.offset} past ${this.buffer.length}`);
    }
    const at = this.offset;
    this.offset += length;
    return at;
  }

  int16(): number { return this.buffer.readInt16BE(this.take(2)); }
  int32(): number { return this.buffer.readInt32BE(this.take(4)); }
  int64(): bigint { return this.buffer.readBigInt64BE(this.take(8)); }

  uvarint(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.buffer[this.take(1)] as number;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new RecordFormatError('uvarint longer than 5 bytes');
  }

  private utf8(length: number): string {
    const at = this.take(length);
    return this.buffer.toString('utf8', at, at + length);
  }

  string(): string {
    const length = this.int16();
    if (length < 0) throw new RecordFormatError('null where a string is required');
    return this.utf8(length);
  }

  nullableString(): string | null {
    const length = this.int16();
    return length < 0 ? null : this.utf8(length);
  }

  compactString(): string {
    const value = this.compactNullableString();
    if (value === null) throw new RecordFormatError('null where a compact string is required');
    return value;
  }

  compactNullableString(): string | null {
    const lengthPlusOne = this.uvarint();
    return lengthPlusOne === 0 ? null : this.utf8(lengthPlusOne - 1);
  }

  bytes(): Buffer {
    const length = this.int32();
    if (length < 0) return Buffer.alloc(0);
    const at = this.take(length);
    return Buffer.from(this.buffer.subarray(at, at + length));
  }

  compactBytes(): Buffer {
    const lengthPlusOne = this.uvarint();
    if (lengthPlusOne === 0) return Buffer.alloc(0);
    const at = this.take(lengthPlusOne - 1);
    return Buffer.from(this.buffer.subarray(at, at + lengthPlusOne - 1));
  }

  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.take(this.uvarint());
    }
  }
}

/**
 * `__transaction_state` records in Kafka's formats (transaction-coordinator's TransactionLogKey.json and
 * TransactionLogValue.json; TransactionLog.keyToBytes / valueToBytes), so a partition written by Runnel
 * reads the same in Kafka's tools and the other way round.
 *
 * key   = int16 version (0), string transactional_id
 * value = int16 version (0), int64 producer_id, int16 producer_epoch, int32 transaction_timeout_ms,
 *         int8 transaction_status, nullable array of { string topic, array of int32 partition_ids },
 *         int64 transaction_last_update_timestamp_ms, int64 transaction_start_timestamp_ms
 * A null value is a tombstone: the transactional id was removed.
 *
 * Version 1 of the value (flexible: compact strings and arrays, tagged fields) carries the transactions v2
 * state (KIP-890 part 2) as tagged fields: 0 PreviousProducerId (int64, default -1), 1 NextProducerId
 * (int64, default -1), 2 ClientTransactionVersion (int16, default 0). It is written for a transaction a
 * transactions v2 client drives, or once an epoch exhaustion rotated the producer id, so that a reload on
 * another node keeps the retry rules; and for every value while the cluster's finalized transaction.version
 * is 1 or more (TransactionLog.valueToBytes with TransactionVersion.transactionLogValueVersion). Otherwise
 * v0, byte for byte what a v1-only coordinator writes. Unknown tags are skipped.
 */
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';

/** Kafka's TransactionState ids (TransactionState.java: the byte written to the log). */
export const TransactionState = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
} as const;
export type TransactionStateName = keyof typeof TransactionState;
export type TransactionStateId = (typeof TransactionState)[TransactionStateName];

const STATE_NAMES = Object.keys(TransactionState) as TransactionStateName[];

export function stateName(id: number): TransactionStateName {
  const name = STATE_NAMES.find((n) => TransactionState[n] === id);
  if (name === undefined) throw new TransactionRecordError(`unknown transaction status ${id}`);
  return name;
}

export class TransactionRecordError extends Error {
  override name = 'TransactionRecordError';
}

export interface TransactionLogValue {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly transactionTimeoutMs: number;
  readonly state: TransactionStateName;
  /** Topic → partitions, in the order they were added. */
  readonly partitions: ReadonlyMap<string, readonly number[]>;
  readonly lastUpdateTimestampMs: number;
  readonly startTimestampMs: number;
  /** v1 tag 0: the producer id before an epoch exhaustion gave a new one (-1: none). */
  readonly previousProducerId: number;
  /** v1 tag 1: the producer id a transactions v2 end handed out on exhaustion, until Complete* (-1: none). */
  readonly nextProducerId: number;
  /** v1 tag 2: the transaction version of the client behind the last transition (0, or 2 for KIP-890 part 2). */
  readonly clientTransactionVersion: number;
}

const KEY_VERSION = 0;
const NO_PRODUCER_ID = -1;
const TAG_PREVIOUS_PRODUCER_ID = 0;
const TAG_NEXT_PRODUCER_ID = 1;
const TAG_CLIENT_TRANSACTION_VERSION = 2;

export function encodeTransactionLogKey(transactionalId: string): Buffer {
  const w = new Writer();
  w.writeInt16(KEY_VERSION);
  w.writeString(transactionalId);
  return w.finishBuffer();
}

export function decodeTransactionLogKey(key: Buffer): string {
  const r = new Reader(key);
  const version = r.readInt16();
  if (version !== KEY_VERSION) throw new TransactionRecordError(`unknown transaction log key version ${version}`);
  const id = r.readString();
  if (id === null) throw new TransactionRecordError('null transactional id');
  return id;
}

/** Whether the value needs version 1 (see the header). */
function needsFlexible(value: TransactionLogValue): boolean {
  return value.clientTransactionVersion > 0 || value.previousProducerId !== NO_PRODUCER_ID || value.nextProducerId !== NO_PRODUCER_ID;
}

/**
 * `transactionVersionLevel` is the cluster's finalized transaction.version: at 1 or more every value is
 * version 1 (TransactionVersion.transactionLogValueVersion); at 0 only a value that needs it.
 */
export function encodeTransactionLogValue(value: TransactionLogValue, transactionVersionLevel = 0): Buffer {
  const flexible = transactionVersionLevel >= 1 || needsFlexible(value);
  const w = new Writer();
  w.writeInt16(flexible ? 1 : 0);
  w.writeInt64(BigInt(value.producerId));
  w.writeInt16(value.producerEpoch);
  w.writeInt32(value.transactionTimeoutMs);
  w.writeInt8(TransactionState[value.state]);
  // TransactionLog.valueToBytes writes an empty list for Empty / Complete* (no partitions kept).
  if (flexible) w.writeUVarint(value.partitions.size + 1);
  else w.writeInt32(value.partitions.size);
  for (const [topic, partitions] of value.partitions) {
    if (flexible) {
      w.writeCompactString(topic);
      w.writeUVarint(partitions.length + 1);
    } else {
      w.writeString(topic);
      w.writeInt32(partitions.length);
    }
    for (const p of partitions) w.writeInt32(p);
    if (flexible) w.writeUVarint(0);
  }
  w.writeInt64(BigInt(value.lastUpdateTimestampMs));
  w.writeInt64(BigInt(value.startTimestampMs));
  if (flexible) writeTaggedFields(w, value);
  return w.finishBuffer();
}

/** Tagged fields in tag order, each only when it differs from its default (the flexible-versions rule). */
function writeTaggedFields(w: Writer, value: TransactionLogValue): void {
  const fields: { tag: number; bytes: Buffer }[] = [];
  const int64 = (n: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    return b;
  };
  if (value.previousProducerId !== NO_PRODUCER_ID) fields.push({ tag: TAG_PREVIOUS_PRODUCER_ID, bytes: int64(value.previousProducerId) });
  if (value.nextProducerId !== NO_PRODUCER_ID) fields.push({ tag: TAG_NEXT_PRODUCER_ID, bytes: int64(value.nextProducerId) });
  if (value.clientTransactionVersion !== 0) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(value.clientTransactionVersion);
    fields.push({ tag: TAG_CLIENT_TRANSACTION_VERSION, bytes: b });
  }
  w.writeUVarint(fields.length);
  for (const { tag, bytes } of fields) {
    w.writeUVarint(tag);
    w.writeUVarint(bytes.length);
    w.writeRaw(bytes);
  }
}

export function decodeTransactionLogValue(buf: Buffer): TransactionLogValue {
  const r = new Reader(buf);
  const version = r.readInt16();
  if (version !== 0 && version !== 1) throw new TransactionRecordError(`unknown transaction log value version ${version}`);
  const flexible = version >= 1;
  const producerId = Number(r.readInt64());
  const producerEpoch = r.readInt16();
  const transactionTimeoutMs = r.readInt32();
  const state = stateName(r.readInt8());
  const partitions = new Map<string, number[]>();
  const topics = flexible ? r.readUVarint() - 1 : r.readInt32();
  for (let t = 0; t < topics; t++) {
    const topic = flexible ? r.readCompactString() : r.readString();
    if (topic === null) throw new TransactionRecordError('null topic');
    const count = flexible ? r.readUVarint() - 1 : r.readInt32();
    const ids: number[] = [];
    for (let i = 0; i < count; i++) ids.push(r.readInt32());
    if (flexible) r.skipTaggedFields();
    partitions.set(topic, ids);
  }
  const lastUpdateTimestampMs = Number(r.readInt64());
  const startTimestampMs = Number(r.readInt64());
  const tagged = { previousProducerId: NO_PRODUCER_ID, nextProducerId: NO_PRODUCER_ID, clientTransactionVersion: 0 };
  if (flexible) readTaggedFields(r, tagged);
  return { producerId, producerEpoch, transactionTimeoutMs, state, partitions, lastUpdateTimestampMs, startTimestampMs, ...tagged };
}

function readTaggedFields(r: Reader, into: { previousProducerId: number; nextProducerId: number; clientTransactionVersion: number }): void {
  const count = r.readTaggedFieldCount();
  for (let i = 0; i < count; i++) {
    const tag = r.readUVarint();
    const size = r.readUVarint();
    const end = r.taggedFieldEnd(size);
    if (tag === TAG_PREVIOUS_PRODUCER_ID) into.previousProducerId = Number(r.readInt64());
    else if (tag === TAG_NEXT_PRODUCER_ID) into.nextProducerId = Number(r.readInt64());
    else if (tag === TAG_CLIENT_TRANSACTION_VERSION) into.clientTransactionVersion = r.readInt16();
    else r.skip(size);
    r.endTaggedField(end);
  }
}

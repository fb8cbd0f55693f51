/**
 * `__transaction_state` records in Kafka's formats (transaction-coordinator's TransactionLogKey.json and
 * TransactionLogValue.json; TransactionLog.keyToBytes / valueToBytes), so a partition written by Runnel
 * reads the same in Kafka's tools and the other way round.
 *
 * key   = int16 version (0), string transactional_id
 * value = int16 version (0), int64 producer_id, int16 producer_epoch, int32 transaction_timeout_ms,
 *         int8 transaction_status, nullable array of { string topic, array of int32 partition_ids },
 *         int64 transaction_last_update_timestamp_ms, int64 transaction_start_timestamp_ms
 * A null value is a tombstone: the transactional id was removed. Version 1 of the value (flexible, with
 * tagged fields; Kafka writes it only for transactions v2 clients) is read too, its tagged fields skipped.
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
}

const KEY_VERSION = 0;
const VALUE_VERSION = 0;

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

export function encodeTransactionLogValue(value: TransactionLogValue): Buffer {
  const w = new Writer();
  w.writeInt16(VALUE_VERSION);
  w.writeInt64(BigInt(value.producerId));
  w.writeInt16(value.producerEpoch);
  w.writeInt32(value.transactionTimeoutMs);
  w.writeInt8(TransactionState[value.state]);
  // TransactionLog.valueToBytes writes an empty list for Empty / Complete* (no partitions kept).
  w.writeInt32(value.partitions.size);
  for (const [topic, partitions] of value.partitions) {
    w.writeString(topic);
    w.writeInt32(partitions.length);
    for (const p of partitions) w.writeInt32(p);
  }
  w.writeInt64(BigInt(value.lastUpdateTimestampMs));
  w.writeInt64(BigInt(value.startTimestampMs));
  return w.finishBuffer();
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
  return { producerId, producerEpoch, transactionTimeoutMs, state, partitions, lastUpdateTimestampMs, startTimestampMs };
}

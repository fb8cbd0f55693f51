import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeTransactionLogKey, decodeTransactionLogValue, encodeTransactionLogKey, encodeTransactionLogValue,
} from '../../src/txn/records.js';

test('TransactionLogKey v0: int16 version 0, string id', () => {
  const key = encodeTransactionLogKey('ab');
  assert.deepEqual([...key], [0, 0, 0, 2, 0x61, 0x62]);
  assert.equal(decodeTransactionLogKey(key), 'ab');
});

test('TransactionLogValue v0 byte layout (TransactionLogValue.json) and round trip', () => {
  const value = {
    producerId: 5, producerEpoch: 2, transactionTimeoutMs: 60_000, state: 'Ongoing' as const,
    partitions: new Map([['t', [0, 3]]]), lastUpdateTimestampMs: 11, startTimestampMs: 10,
    previousProducerId: -1, nextProducerId: -1, clientTransactionVersion: 0,
  };
  const bytes = encodeTransactionLogValue(value);
  const expected = Buffer.concat([
    Buffer.from([0, 0]), // version
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 5]), // producer id
    Buffer.from([0, 2]), // epoch
    Buffer.from([0, 0, 0xea, 0x60]), // timeout 60000
    Buffer.from([1]), // Ongoing
    Buffer.from([0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3]), // [{t, [0, 3]}]
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 11]),
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 10]),
  ]);
  assert.deepEqual(bytes, expected);
  assert.deepEqual(decodeTransactionLogValue(bytes), value);
});

test('TransactionLogValue v1 (flexible, Kafka writes it for transactions v2) is read, tagged fields skipped', () => {
  const v1 = Buffer.concat([
    Buffer.from([0, 1]),
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 9]),
    Buffer.from([0, 0]),
    Buffer.from([0, 0, 0x03, 0xe8]),
    Buffer.from([4]), // CompleteCommit
    Buffer.from([1]), // compact array: 0 topics
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 2]),
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]),
    Buffer.from([1, 2, 2, 0, 1]), // one tagged field (ClientTransactionVersion = 1)
  ]);
  const value = decodeTransactionLogValue(v1);
  assert.deepEqual([value.producerId, value.state, value.transactionTimeoutMs, value.partitions.size], [9, 'CompleteCommit', 1000, 0]);
});

test('TransactionLogValue v1 written for transactions v2: compact arrays and the three tagged fields (golden)', () => {
  const value = {
    producerId: 5, producerEpoch: 3, transactionTimeoutMs: 1000, state: 'PrepareCommit' as const,
    partitions: new Map([['t', [1]]]), lastUpdateTimestampMs: 11, startTimestampMs: 10,
    previousProducerId: 4, nextProducerId: 6, clientTransactionVersion: 2,
  };
  const bytes = encodeTransactionLogValue(value);
  const expected = Buffer.concat([
    Buffer.from([0, 1]), // version 1
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 5]),
    Buffer.from([0, 3]),
    Buffer.from([0, 0, 0x03, 0xe8]),
    Buffer.from([2]), // PrepareCommit
    Buffer.from([2, 2, 0x74, 2, 0, 0, 0, 1, 0]), // compact [{compact "t", compact [1], no tags}]
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 11]),
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 10]),
    Buffer.from([3]), // three tagged fields, in tag order
    Buffer.from([0, 8, 0, 0, 0, 0, 0, 0, 0, 4]), // tag 0 PreviousProducerId
    Buffer.from([1, 8, 0, 0, 0, 0, 0, 0, 0, 6]), // tag 1 NextProducerId
    Buffer.from([2, 2, 0, 2]), // tag 2 ClientTransactionVersion
  ]);
  assert.deepEqual(bytes, expected);
  assert.deepEqual(decodeTransactionLogValue(bytes), value);
});

test('TransactionLogValue: a v2 transaction with default previous/next ids writes only ClientTransactionVersion; v1-only state stays v0', () => {
  const base = {
    producerId: 5, producerEpoch: 3, transactionTimeoutMs: 1000, state: 'CompleteCommit' as const, partitions: new Map<string, number[]>(),
    lastUpdateTimestampMs: 11, startTimestampMs: 10, previousProducerId: -1, nextProducerId: -1,
  };
  const v2 = encodeTransactionLogValue({ ...base, clientTransactionVersion: 2 });
  assert.equal(v2.readInt16BE(0), 1);
  assert.deepEqual([...v2.subarray(v2.length - 5)], [1, 2, 2, 0, 2]);
  assert.deepEqual(decodeTransactionLogValue(v2), { ...base, clientTransactionVersion: 2 });
  const v1 = encodeTransactionLogValue({ ...base, clientTransactionVersion: 0 });
  assert.equal(v1.readInt16BE(0), 0);
  assert.deepEqual(decodeTransactionLogValue(v1), { ...base, clientTransactionVersion: 0 });
});

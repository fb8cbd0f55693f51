import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  RecordFormatError,
  decodeGroupMetadataValue,
  decodeKey,
  decodeOffsetCommitValue,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataValue,
} from '../../src/group/records.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('OffsetCommitKey golden bytes: version 1, group, topic, partition', () => {
  assert.deepEqual(encodeOffsetCommitKey('g', 't', 5), hex('0001 0001 67 0001 74 00000005'));
  assert.deepEqual(decodeKey(hex('0000 0001 67 0001 74 00000005')), { type: 'offsetCommit', group: 'g', topic: 't', partition: 5 });
});

test('GroupMetadataKey golden bytes: version 2, group', () => {
  assert.deepEqual(encodeGroupMetadataKey('g'), hex('0002 0001 67'));
  assert.deepEqual(decodeKey(hex('0002 0001 67')), { type: 'groupMetadata', group: 'g' });
});

test('keys of other record types (KIP-848) decode as unknown', () => {
  assert.deepEqual(decodeKey(hex('0003 0001 67')), { type: 'unknown', version: 3 });
});

test('OffsetCommitValue golden bytes: v3, and v1 when an expire timestamp is kept', () => {
  const v3 = encodeOffsetCommitValue({ offset: 42n, leaderEpoch: 7, metadata: 'm', commitTimestamp: 1000, expireTimestamp: null });
  assert.deepEqual(v3, hex('0003 000000000000002a 00000007 0001 6d 00000000000003e8'));
  const v1 = encodeOffsetCommitValue({ offset: 42n, leaderEpoch: 7, metadata: 'm', commitTimestamp: 1000, expireTimestamp: 2000 });
  assert.deepEqual(v1, hex('0001 000000000000002a 0001 6d 00000000000003e8 00000000000007d0'));
  assert.deepEqual(decodeOffsetCommitValue(v1), { offset: 42n, leaderEpoch: -1, metadata: 'm', commitTimestamp: 1000, expireTimestamp: 2000 });
});

test('OffsetCommitValue decodes every version 0-4', () => {
  const base = { offset: 42n, metadata: 'm', commitTimestamp: 1000 };
  assert.deepEqual(decodeOffsetCommitValue(hex('0000 000000000000002a 0001 6d 00000000000003e8')), { ...base, leaderEpoch: -1, expireTimestamp: null });
  assert.deepEqual(decodeOffsetCommitValue(hex('0002 000000000000002a 0001 6d 00000000000003e8')), { ...base, leaderEpoch: -1, expireTimestamp: null });
  assert.deepEqual(decodeOffsetCommitValue(hex('0003 000000000000002a 00000007 0001 6d 00000000000003e8')), { ...base, leaderEpoch: 7, expireTimestamp: null });
  // v4 is flexible: compact string (length + 1), then an empty tagged-field section.
  assert.deepEqual(decodeOffsetCommitValue(hex('0004 000000000000002a 00000007 02 6d 00000000000003e8 00')), { ...base, leaderEpoch: 7, expireTimestamp: null });
  // ... and tolerates tagged fields it does not know.
  assert.deepEqual(decodeOffsetCommitValue(hex('0004 000000000000002a 00000007 02 6d 00000000000003e8 01 05 02 aabb')), { ...base, leaderEpoch: 7, expireTimestamp: null });
});

test('GroupMetadataValue decodes v0 (no rebalance timeout: the session timeout stands in)', () => {
  const v0 = hex(
    '0000 0008 636f6e73756d6572 00000001 0005 72616e6765 0002 6d31' +
      '00000001 0002 6d31 0001 63 0001 68 00002710 00000002 0102 00000001 03',
  );
  assert.deepEqual(decodeGroupMetadataValue(v0), {
    protocolType: 'consumer',
    generation: 1,
    protocol: 'range',
    leader: 'm1',
    currentStateTimestamp: -1,
    members: [{ memberId: 'm1', groupInstanceId: null, clientId: 'c', clientHost: 'h', rebalanceTimeout: 10000, sessionTimeout: 10000, subscription: hex('0102'), assignment: hex('03') }],
  });
});

test('GroupMetadataValue decodes flexible v4 with a static member and null protocol fields', () => {
  const v4 = hex(
    '0004 09 636f6e73756d6572 00000002 00 00 00000000000003e8' +
      '02 03 6d31 03 6931 02 63 02 68 00007530 00002710 03 0102 02 03 00' +
      '00',
  );
  assert.deepEqual(decodeGroupMetadataValue(v4), {
    protocolType: 'consumer',
    generation: 2,
    protocol: null,
    leader: null,
    currentStateTimestamp: 1000,
    members: [{ memberId: 'm1', groupInstanceId: 'i1', clientId: 'c', clientHost: 'h', rebalanceTimeout: 30000, sessionTimeout: 10000, subscription: hex('0102'), assignment: hex('03') }],
  });
});

test('truncated or unknown-version values are one RecordFormatError', () => {
  const full = encodeOffsetCommitValue({ offset: 1n, leaderEpoch: 0, metadata: 'abc', commitTimestamp: 1, expireTimestamp: null });
  for (let cut = 0; cut < full.length; cut++) assert.throws(() => decodeOffsetCommitValue(full.subarray(0, cut)), RecordFormatError);
  assert.throws(() => decodeOffsetCommitValue(hex('0009 00')), RecordFormatError);
  assert.throws(() => decodeGroupMetadataValue(hex('0005')), RecordFormatError);
});

const text = fc.string({ unit: 'grapheme', maxLength: 20 });
const nullableText = fc.option(text, { nil: null });
const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const timestamp = fc.integer({ min: -1, max: 2 ** 50 });

test('OffsetCommitValue round-trips (property)', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), int32, text, timestamp, fc.option(timestamp, { nil: null }), (offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp) => {
      const value = { offset, leaderEpoch: expireTimestamp === null ? leaderEpoch : -1, metadata, commitTimestamp, expireTimestamp };
      assert.deepEqual(decodeOffsetCommitValue(encodeOffsetCommitValue(value)), value);
    }),
    { numRuns: 300 },
  );
});

test('GroupMetadataValue round-trips (property)', () => {
  const member = fc.record({
    memberId: text,
    groupInstanceId: nullableText,
    clientId: text,
    clientHost: text,
    rebalanceTimeout: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    sessionTimeout: int32,
    subscription: bytes,
    assignment: bytes,
  });
  const value = fc.record({
    protocolType: text,
    generation: int32,
    protocol: nullableText,
    leader: nullableText,
    currentStateTimestamp: timestamp,
    members: fc.array(member, { maxLength: 5 }),
  });
  fc.assert(
    fc.property(value, (v: GroupMetadataValue) => {
      // fast-check builds prototype-less records; compare as plain objects.
      const plain = { ...v, members: v.members.map((m) => ({ ...m })) };
      assert.deepEqual(decodeGroupMetadataValue(encodeGroupMetadataValue(v)), plain);
    }),
    { numRuns: 300 },
  );
});

test('keys round-trip (property)', () => {
  fc.assert(
    fc.property(text, text, fc.integer({ min: 0, max: 2 ** 31 - 1 }), (group, topic, partition) => {
      assert.deepEqual(decodeKey(encodeOffsetCommitKey(group, topic, partition)), { type: 'offsetCommit', group, topic, partition });
      assert.deepEqual(decodeKey(encodeGroupMetadataKey(group)), { type: 'groupMetadata', group });
    }),
    { numRuns: 200 },
  );
});

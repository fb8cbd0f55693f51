import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAssignment, encodeAssignment, encodeSubscription, subscriptionTopics } from '../../src/group/consumer-protocol.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('subscription topics are read from every version, v0 to v3 and beyond', () => {
  assert.deepEqual(subscriptionTopics(encodeSubscription(['a', 'bc'])), ['a', 'bc']);
  // v1: topics, user data (null), owned partitions [("a", [0])]
  const v1 = hex('0001 00000001 0001 61 ffffffff 00000001 0001 61 00000001 00000000');
  assert.deepEqual(subscriptionTopics(v1), ['a']);
  // v3 adds the generation and rack id after owned partitions; v9 (unknown) is parsed the same way.
  const v3 = hex('0003 00000001 0001 61 ffffffff 00000000 00000005 0002 7231');
  assert.deepEqual(subscriptionTopics(v3), ['a']);
  assert.deepEqual(subscriptionTopics(hex('0009 00000000')), []);
});

test('bytes that are not a consumer subscription give null', () => {
  assert.equal(subscriptionTopics(Buffer.alloc(0)), null);
  assert.equal(subscriptionTopics(hex('ffff')), null);
  assert.equal(subscriptionTopics(hex('0000 00000005 0001 61')), null);
  assert.equal(subscriptionTopics(hex('0000 7fffffff')), null);
});

test('assignments round-trip; an empty buffer is no partitions', () => {
  const assigned = [{ topic: 't', partitions: [0, 3, 7] }, { topic: 'u', partitions: [] }];
  assert.deepEqual(decodeAssignment(encodeAssignment(assigned)), assigned);
  assert.deepEqual(encodeAssignment([{ topic: 't', partitions: [1] }]), hex('0000 00000001 0001 74 00000001 00000001 ffffffff'));
  assert.deepEqual(decodeAssignment(Buffer.alloc(0)), []);
});

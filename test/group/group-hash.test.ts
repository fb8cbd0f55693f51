import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { javaStringHashCode, kafkaAbs, partitionForGroup } from '../../src/group/group-hash.js';

// Values of java.lang.String.hashCode() as the JVM computes them.
const JAVA_HASH_CODES: [string, number][] = [
  ['', 0],
  ['a', 97],
  ['Aa', 2112],
  ['BB', 2112],
  ['hello', 99162322],
  ['Hello World', -862545276],
  ['polygenelubricants', -2147483648],
  ['my-consumer-group', 1513705513],
  ['\u00e9t\u00e9', 227742],
  ['\u{1F600}', 1772899], // one code point, two UTF-16 code units
];

test('javaStringHashCode matches java.lang.String.hashCode over UTF-16 code units', () => {
  for (const [value, expected] of JAVA_HASH_CODES) assert.equal(javaStringHashCode(value), expected, JSON.stringify(value));
});

test('kafkaAbs is Utils.abs: Integer.MIN_VALUE maps to 0, not toPositive', () => {
  assert.equal(kafkaAbs(-2147483648), 0);
  assert.equal(kafkaAbs(-1), 1);
  assert.equal(kafkaAbs(-862545276), 862545276);
  assert.equal(kafkaAbs(5), 5);
});

test('partitionForGroup = Utils.abs(hashCode) % n, as Kafka places groups', () => {
  assert.equal(partitionForGroup('polygenelubricants', 50), 0);
  assert.equal(partitionForGroup('Hello World', 50), 862545276 % 50);
  assert.equal(partitionForGroup('my-consumer-group', 50), 1513705513 % 50);
  assert.equal(partitionForGroup('', 50), 0);
  assert.equal(partitionForGroup('hello', 7), 99162322 % 7);
});

test('partitionForGroup is always within [0, n)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.integer({ min: 1, max: 1000 }), (groupId, n) => {
      const p = partitionForGroup(groupId, n);
      return Number.isInteger(p) && p >= 0 && p < n;
    }),
    { numRuns: 500 },
  );
});

test('partitionForGroup rejects a non-positive partition count', () => {
  assert.throws(() => partitionForGroup('g', 0));
});

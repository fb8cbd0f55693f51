import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderEpochCache } from '../../src/storage/leader-epoch-cache.js';

function cache(entries: Array<[number, number]>): LeaderEpochCache {
  const c = new LeaderEpochCache();
  for (const [epoch, start] of entries) c.assign(epoch, start);
  return c;
}

test('endOffsetFor follows KIP-101/279: largest epoch ≤ requested, end = next epoch start or LEO', () => {
  const c = cache([[1, 0], [3, 10], [5, 20]]);
  assert.deepEqual(c.endOffsetFor(5, 30), { leaderEpoch: 5, endOffset: 30 });
  assert.deepEqual(c.endOffsetFor(3, 30), { leaderEpoch: 3, endOffset: 20 });
  assert.deepEqual(c.endOffsetFor(4, 30), { leaderEpoch: 3, endOffset: 20 });
  assert.deepEqual(c.endOffsetFor(2, 30), { leaderEpoch: 1, endOffset: 10 });
  assert.deepEqual(c.endOffsetFor(0, 30), { leaderEpoch: 0, endOffset: 0 });
  assert.deepEqual(c.endOffsetFor(6, 30), { leaderEpoch: -1, endOffset: -1 });
  assert.deepEqual(c.endOffsetFor(-1, 30), { leaderEpoch: -1, endOffset: -1 });
});

test('assign supersedes entries with a larger epoch or start offset; same epoch is a no-op', () => {
  const c = cache([[1, 0], [3, 10]]);
  c.assign(3, 15);
  assert.deepEqual(c.all(), [{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 10 }]);
  c.assign(2, 5);
  assert.deepEqual(c.all(), [{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 5 }]);
});

test('truncation from the end and from the start', () => {
  const c = cache([[1, 0], [3, 10], [5, 20]]);
  c.truncateFromEnd(20);
  assert.deepEqual(c.all().map((e) => e.epoch), [1, 3]);
  c.truncateFromStart(12);
  assert.deepEqual(c.all(), [{ epoch: 3, startOffset: 12 }]);
});

test('checkpoint format round-trips and damaged files are rejected', () => {
  const c = cache([[1, 0], [3, 10]]);
  const text = c.serialize();
  assert.equal(text, '0\n2\n1 0\n3 10\n');
  assert.deepEqual(LeaderEpochCache.parse(text)?.all(), c.all());
  for (const bad of ['', '0\n3\n1 0\n', '0\n1\nx 0\n', '1\n0\n', '0\n2\n3 0\n1 5\n', '0\n1\n1 0\ngarbage']) {
    assert.equal(LeaderEpochCache.parse(bad), undefined, JSON.stringify(bad));
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RaftLog } from '../../../src/raft/core/log.js';
import type { Entry, Snapshot } from '../../../src/raft/core/types.js';

const conf = { voters: [1, 2, 3], learners: [] };
const empty: Snapshot = { metadata: { index: 0, term: 0, confState: conf }, data: new Uint8Array() };

function entries(terms: number[], first = 1): Entry[] {
  return terms.map((term, i) => ({ index: first + i, term, type: 'normal', data: new Uint8Array([i]) }));
}

test('maybeAppend ignores duplicates and truncates only at a real conflict', () => {
  const log = new RaftLog(empty, entries([1, 1, 2, 2]), 0);
  assert.equal(log.maybeAppend(1, 1, 0, entries([1, 2], 2)), 3, 'a duplicate prefix keeps the suffix');
  assert.equal(log.lastIndex(), 4);
  assert.equal(log.maybeAppend(2, 1, 2, entries([3], 3)), 3);
  assert.equal(log.lastIndex(), 3);
  assert.equal(log.term(3), 3);
  assert.equal(log.commitIndex, 2);
  assert.equal(log.maybeAppend(3, 9, 3, []), undefined, 'mismatched prevTerm is rejected');
});

test('findConflictByTerm skips a whole term', () => {
  const log = new RaftLog(empty, entries([1, 1, 2, 2, 2, 4]), 0);
  assert.equal(log.findConflictByTerm(6, 3), 5);
  assert.equal(log.findConflictByTerm(6, 1), 2);
  assert.equal(log.findConflictByTerm(6, 0), 0);
});

test('truncation below the stable point makes the new entries unstable again', () => {
  const log = new RaftLog(empty, entries([1, 1, 1]), 0);
  assert.equal(log.stableIndex, 3);
  log.append(entries([2], 2));
  assert.equal(log.stableIndex, 1);
  assert.deepEqual(log.unstableEntries().map((e) => e.index), [2]);
});

test('compaction keeps terms reachable at the snapshot index and restore replaces everything', () => {
  const log = new RaftLog(empty, entries([1, 1, 2]), 3);
  log.appliedTo(3);
  log.compact(2, new Uint8Array([9]));
  assert.equal(log.firstIndex(), 3);
  assert.equal(log.term(2), 1);
  assert.equal(log.term(1), undefined);
  log.restore({ metadata: { index: 10, term: 5, confState: conf }, data: new Uint8Array() });
  assert.equal(log.lastIndex(), 10);
  assert.equal(log.commitIndex, 10);
  assert.ok(log.unstableSnapshot !== undefined);
});

test('a persisted commitIndex beyond the persisted log is refused loudly', () => {
  assert.throws(() => new RaftLog(empty, entries([1]), 5), /beyond lastIndex/);
});

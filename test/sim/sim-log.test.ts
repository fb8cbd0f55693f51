import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimLog } from '../../src/sim/sim-log.js';

function log(...runs: [epoch: number, count: number][]): SimLog {
  const l = new SimLog();
  for (const [epoch, count] of runs) l.append(epoch, count);
  return l;
}

test('commonPrefix finds where two logs diverge by leader epoch', () => {
  assert.equal(log([0, 5], [1, 3]).commonPrefix(log([0, 5], [1, 3])), 8);
  assert.equal(log([0, 5], [1, 3]).commonPrefix(log([0, 5], [2, 3])), 5);
  assert.equal(log([0, 5], [1, 3]).commonPrefix(log([0, 4])), 4);
  assert.equal(log([0, 5]).commonPrefix(log([0, 3], [1, 2])), 3);
  assert.equal(log([1, 2]).commonPrefix(log([0, 2])), 0);
  assert.equal(new SimLog().commonPrefix(log([0, 2])), 0);
});

test('truncate, copyFrom and hasPrefix follow a follower catching up', () => {
  const leader = log([0, 5], [2, 4]);
  const follower = log([0, 5], [1, 3]);
  follower.truncate(follower.commonPrefix(leader));
  assert.equal(follower.length, 5);
  follower.copyFrom(leader, 2);
  assert.equal(follower.commonPrefix(leader), 7);
  follower.copyFrom(leader, 10);
  assert.equal(follower.length, 9);
  assert.ok(follower.hasPrefix(SimLog.copyOf(leader, 9)));
  assert.ok(!log([0, 5]).hasPrefix(SimLog.copyOf(leader, 6)));
});

/** The chaos schedule (issue #23): one seed, one schedule; the partition shapes cut the links they name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionCut, planFaults, shuffled } from './schedule.js';

const TIMEOUTS = { sessionTimeoutMs: 9_000, replicaLagTimeMaxMs: 10_000 };

test('a seed decides the whole schedule; pauses outlast the session and lag timeouts', () => {
  const a = planFaults(42, ['kill', 'pause', 'partition', 'loss'], 200, TIMEOUTS);
  assert.deepEqual(a, planFaults(42, ['kill', 'pause', 'partition', 'loss'], 200, TIMEOUTS));
  assert.notDeepEqual(a, planFaults(43, ['kill', 'pause', 'partition', 'loss'], 200, TIMEOUTS));
  assert.deepEqual(new Set(a.map((f) => f.kind)), new Set(['kill', 'pause', 'partition', 'loss']));
  for (const f of a.filter((x) => x.kind === 'pause')) assert.ok(f.durationMs > 10_000, `pause ${f.durationMs} ms`);
  assert.deepEqual(new Set(planFaults(7, ['kill'], 50, TIMEOUTS).map((f) => f.kind)), new Set(['kill']));
});

test('shuffled is a permutation decided by the pick', () => {
  assert.deepEqual(shuffled([1, 2, 3, 4, 5], 0.25), shuffled([1, 2, 3, 4, 5], 0.25));
  assert.deepEqual([...shuffled([1, 2, 3, 4, 5], 0.7)].sort(), [1, 2, 3, 4, 5]);
});

const links = (cut: ReadonlyArray<readonly [number, number]>): string[] => cut.map(([a, b]) => `${a}>${b}`).sort();

test('partition shapes: isolate the leader, majority/minority, bridge, one-way', () => {
  assert.deepEqual(links(partitionCut('isolate-leader', [1, 2, 3], 2, true)), ['1>2', '2>1', '2>3', '3>2']);
  assert.deepEqual(links(partitionCut('majority-minority', [3, 1, 2], 0, true)), ['1>3', '2>3', '3>1', '3>2']);
  assert.deepEqual(links(partitionCut('majority-minority', [5, 4, 1, 2, 3], 0, true)),
    ['1>4', '1>5', '2>4', '2>5', '3>4', '3>5', '4>1', '4>2', '4>3', '5>1', '5>2', '5>3']);
  // bridge: node 2 reaches both sides; 1 and 3 cannot reach each other.
  assert.deepEqual(links(partitionCut('bridge', [2, 1, 3], 0, true)), ['1>3', '3>1']);
  assert.deepEqual(links(partitionCut('one-way', [1, 2, 3], 0, true)), ['1>2', '1>3']);
  assert.deepEqual(links(partitionCut('one-way', [1, 2, 3], 0, false)), ['2>1', '3>1']);
});

test('schedules recorded before the delay fault existed replay unchanged (seed 1: the CI run)', () => {
  // The first five faults of seed 1 as the harness drew them before delay was added (docs/chaos.md's runs).
  const first = planFaults(1, ['kill', 'pause', 'partition', 'loss'], 5, TIMEOUTS).map((f) => [f.kind, f.target, f.shape, f.durationMs, f.gapMs]);
  assert.deepEqual(first, [['partition', 'leader', 'one-way', 10041, 7810], ['pause', 'leader', 'isolate-leader', 14111, 2926],
    ['kill', 'leader', 'one-way', 3419, 3769], ['pause', 'controller', 'isolate-leader', 19163, 6542], ['partition', 'random', 'isolate-leader', 11908, 5733]]);
});

test('delay faults: a shaped rate of 64..512 kbit/s and a queueing bound of 200..2000 ms, decided by the seed', () => {
  const d = planFaults(5, ['delay'], 200, TIMEOUTS);
  assert.deepEqual(d, planFaults(5, ['delay'], 200, TIMEOUTS));
  for (const f of d) {
    assert.equal(f.kind, 'delay');
    assert.ok(f.delayRateKbit >= 64 && f.delayRateKbit <= 512, `rate ${f.delayRateKbit}`);
    assert.ok(f.delayMaxMs >= 200 && f.delayMaxMs <= 2_000, `bound ${f.delayMaxMs}`);
    assert.ok(f.durationMs >= 10_000 && f.durationMs < 25_000);
  }
  assert.ok(new Set(d.map((f) => f.delayRateKbit)).size > 50, 'rates vary');
});

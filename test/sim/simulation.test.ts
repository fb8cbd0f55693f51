import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUG_NAMES } from '../../src/raft/core/types.js';
import { runSimulation } from '../../src/sim/simulation.js';

test('200 seeds of 3- and 5-voter clusters with observers and faults keep every invariant and stay live', () => {
  const failures: string[] = [];
  const sizes = new Set<number>();
  for (let seed = 1; seed <= 200; seed++) {
    const result = runSimulation({ seed });
    sizes.add(result.voters);
    if (!result.ok) failures.push(`seed ${seed}: ${result.failure}`);
  }
  assert.deepEqual(failures, []);
  assert.deepEqual([...sizes].sort(), [3, 5]);
});

test('a seed replays exactly: same events, same outcome', () => {
  const lines: string[] = [];
  const first = runSimulation({ seed: 42, trace: (line) => lines.push(line) });
  const again = runSimulation({ seed: 42 });
  assert.deepEqual(again, first);
  assert.ok(first.events > 1000 && lines.length > 100);
  assert.ok(first.stats.crashes > 0 && first.stats.partitions > 0);
});

test('a failing seed replays to the same failure at the same event', () => {
  const bugs = new Set(['vote-twice'] as const);
  let seed = 1;
  while (seed < 1000 && runSimulation({ seed, bugs }).ok) seed++;
  const first = runSimulation({ seed, bugs });
  assert.equal(first.ok, false);
  assert.deepEqual(runSimulation({ seed, bugs }), first);
});

for (const bug of BUG_NAMES) {
  test(`the checker catches the injected bug ${bug} within 1000 seeds`, () => {
    let caughtAt = 0;
    for (let seed = 1; seed <= 1000 && caughtAt === 0; seed++) {
      if (!runSimulation({ seed, bugs: new Set([bug]) }).ok) caughtAt = seed;
    }
    assert.ok(caughtAt > 0, `${bug} went undetected`);
  });
}

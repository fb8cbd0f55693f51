import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REPLICATION_BUG_NAMES, runReplicationSimulation } from '../../../src/sim/replication/simulation.js';

test('replication simulation: 100 seeds under crashes, partitions, loss and reordering keep every invariant', () => {
  for (let seed = 1; seed <= 100; seed++) {
    const result = runReplicationSimulation({ seed });
    assert.ok(result.ok, `seed ${seed}: ${result.failure} (replay: npm run sim:replication -- --seed ${seed} --verbose)`);
  }
});

test('replication simulation: a seed replays exactly', () => {
  const a = runReplicationSimulation({ seed: 42 });
  const b = runReplicationSimulation({ seed: 42 });
  assert.deepEqual(a, b);
});

for (const bug of REPLICATION_BUG_NAMES) {
  test(`replication simulation: the checker catches the injected bug ${bug}`, () => {
    for (let seed = 1; seed <= 1000; seed++) {
      if (!runReplicationSimulation({ seed, bugs: new Set([bug]) }).ok) return;
    }
    assert.fail(`${bug} survived 1000 seeds`);
  });
}

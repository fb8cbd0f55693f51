import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONTROLLER_BUG_NAMES } from '../../src/controller/partition-change.js';
import { runControllerSimulation } from '../../src/sim/controller-sim.js';

test('30 seeds of the controller over simulated Raft keep every invariant and converge', () => {
  const failures: string[] = [];
  const totals = { fencings: 0, elections: 0, isrChanges: 0, controllerChanges: 0, controlledShutdowns: 0, pauses: 0 };
  for (let seed = 1; seed <= 30; seed++) {
    const result = runControllerSimulation({ seed });
    if (!result.ok) failures.push(`seed ${seed}: ${result.failure}`);
    for (const name of Object.keys(totals) as (keyof typeof totals)[]) totals[name] += result.stats[name];
  }
  assert.deepEqual(failures, []);
  // The faults reach the controller: every kind of decision happened.
  for (const [name, count] of Object.entries(totals)) assert.ok(count > 0, `${name} = 0`);
});

test('a controller seed replays exactly', () => {
  const lines: string[] = [];
  const first = runControllerSimulation({ seed: 7, trace: (line) => lines.push(line) });
  const again = runControllerSimulation({ seed: 7 });
  assert.deepEqual(again, first);
  assert.ok(lines.some((line) => line.includes('controller active')));
});

for (const bug of CONTROLLER_BUG_NAMES) {
  test(`injected controller bug ${bug} is caught`, () => {
    let caught: string | undefined;
    for (let seed = 1; seed <= 40 && caught === undefined; seed++) {
      const result = runControllerSimulation({ seed, bugs: new Set([bug]) });
      if (!result.ok) caught = result.failure;
    }
    assert.ok(caught !== undefined, `${bug} survived 40 seeds`);
    assert.match(caught, /SafetyViolation/);
  });
}

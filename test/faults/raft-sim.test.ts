/**
 * CI's long simulation runs: 1,000 seeds must pass, and every injected bug must be caught within
 * 1,000 seeds (the same commands a developer runs: npm run sim -- --seeds 1000 / --inject-bug all).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

function sim(args: string[]): { status: number | null; stdout: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/sim/cli.ts', ...args], { encoding: 'utf8', timeout: 15 * 60_000 });
  return { status: result.status, stdout: result.stdout };
}

test('npm run sim -- --seeds 1000 passes', () => {
  const { status, stdout } = sim(['--seeds', '1000']);
  assert.equal(status, 0, stdout);
  assert.match(stdout, /seeds: 1000 \(first 1\) passed: 1000 failed: 0 events: \d+/);
});

test('npm run sim -- --inject-bug all catches every bug', () => {
  const { status, stdout } = sim(['--inject-bug', 'all']);
  assert.equal(status, 0, stdout);
  assert.match(stdout, /all \d+ injected bugs caught/);
});

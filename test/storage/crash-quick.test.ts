/** Quick variant of test/faults/storage-crash.test.ts: 30 SIGKILLs of an appending child. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCrashRounds } from '../faults/storage-crash-harness.js';
import { tempDir } from './helpers.js';

// The bound is a hang guard (each round has its own 30 s one in the harness), not a speed check: the 30 rounds
// each start a child through tsx, and under load (~20 on 2 cores, or CI's npm test at TEST_CONCURRENCY=4 beside
// other agents: 79 s) they once ran past the former 120 s.
test('storage survives 30 SIGKILLs with every acknowledged batch intact', { timeout: 300_000 }, async (t) => {
  const seed = Date.now() % 100_000;
  const { dir, cleanup } = tempDir('runnel-crash-');
  try {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const result = await runCrashRounds(dataDir, 30, seed);
    assert.deepEqual(result.failures, [], `seed ${seed}`);
    assert.ok(result.acknowledged > 0);
    t.diagnostic(`rounds ${result.rounds}, SIGKILLs ${result.kills}, acknowledged batches verified ${result.acknowledged}`);
  } finally {
    cleanup();
  }
});

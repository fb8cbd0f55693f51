/** Quick variant of test/faults/storage-crash.test.ts: 30 SIGKILLs of an appending child. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCrashRounds } from '../faults/storage-crash-harness.js';
import { tempDir } from './helpers.js';

test('storage survives 30 SIGKILLs with every acknowledged batch intact', { timeout: 120_000 }, async (t) => {
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

/**
 * Storage crash test (DESIGN §4 durability): ≥ 500 SIGKILLs of an appending child in fsync mode; after
 * each restart every acknowledged batch must be present byte for byte and the log valid.
 * STORAGE_CRASH_KILLS (default 500) and STORAGE_CRASH_SEED configure it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCrashRounds } from './storage-crash-harness.js';
import { tempDir } from '../storage/helpers.js';

const kills = Number(process.env.STORAGE_CRASH_KILLS ?? 500);
const seed = Number(process.env.STORAGE_CRASH_SEED ?? Date.now() % 100_000);

test(`storage survives ${kills} SIGKILLs with every acknowledged batch intact (seed ${seed})`, { timeout: 3_600_000 }, async (t) => {
  const { dir, cleanup } = tempDir('runnel-crash-');
  try {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const result = await runCrashRounds(dataDir, kills, seed);
    assert.deepEqual(result.failures, []);
    assert.ok(result.kills >= kills);
    assert.ok(result.acknowledged > 0);
    t.diagnostic(`rounds ${result.rounds}, SIGKILLs ${result.kills}, acknowledged batches verified ${result.acknowledged}`);
  } finally {
    cleanup();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simpleBatch } from './batch-builder.js';
import { openLog, tempDir } from './helpers.js';

test('truncateTo at the log end drops an epoch entry that starts there (a leader that never appended), and it stays dropped after reopening', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const log = await openLog(dir);
    await log.append(simpleBatch(3, 10), 0).durable;
    // Became leader of epoch 1 (Partition.makeLeader assigns it at the log end), then lost leadership.
    log.leaderEpochCache.assign(1, log.logEndOffset);
    assert.equal(log.latestEpoch(), 1);
    await log.truncateTo(log.logEndOffset);
    assert.equal(log.latestEpoch(), 0);
    assert.equal(log.logEndOffset, 3);
    await log.close();
    const reopened = await openLog(dir);
    assert.equal(reopened.latestEpoch(), 0);
    await reopened.close();
  } finally {
    cleanup();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/common/clock.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { StorageError } from '../../src/storage/errors.js';
import { simpleBatch } from './batch-builder.js';
import { readAll, tempDir } from './helpers.js';

const NOW = 1_700_000_000_000;

test('log manager creates, reloads (clean and unclean) and deletes partition logs', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const clock = new ManualClock(NOW);
    const manager = await LogManager.open({ dataDir: dir, clock });
    const log = await manager.createLog('orders', 0, 'AAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(await manager.createLog('orders', 0), log);
    const other = await manager.createLog('orders', 1);
    log.append(simpleBatch(3, 10), 0);
    other.append(simpleBatch(1, 10), 0);
    log.updateHighWatermark(3);
    assert.ok(existsSync(join(dir, 'wal', 'orders', '0', '00000000000000000000.log')));
    await manager.close();
    assert.ok(existsSync(join(dir, 'storage-clean-shutdown')));

    const reopened = await LogManager.open({ dataDir: dir, clock });
    assert.ok(!existsSync(join(dir, 'storage-clean-shutdown')));
    const again = reopened.getLog('orders', 0);
    assert.ok(again);
    assert.equal(again.logEndOffset, 3);
    assert.equal(again.highWatermark, 3);
    assert.equal(again.topicId, 'AAAAAAAAAAAAAAAAAAAAAA');
    again.append(simpleBatch(2, 10), 0);
    await again.flush();
    await reopened.writeCheckpoints();
    // No close: the next open is a crash recovery.
    const crashed = await LogManager.open({ dataDir: dir, clock });
    assert.equal(crashed.getLog('orders', 0)?.logEndOffset, 5);
    await crashed.deleteLog('orders', 0);
    assert.equal(crashed.getLog('orders', 0), undefined);
    assert.ok(!existsSync(join(dir, 'wal', 'orders', '0')));
    await assert.rejects(crashed.createLog('bad/name', 0), StorageError);
    await crashed.close();
  } finally {
    cleanup();
  }
});

test('topic config changes apply at runtime and drive retention', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const clock = new ManualClock(NOW);
    const manager = await LogManager.open({ dataDir: dir, clock, defaults: { 'segment.bytes': 300 } });
    const log = await manager.createLog('events', 0);
    for (let i = 0; i < 10; i++) log.append(simpleBatch(1, 150, i, NOW), 0);
    log.updateHighWatermark(log.logEndOffset);
    assert.equal(await manager.runRetentionOnce(), 0);
    manager.setTopicConfig('events', { 'retention.bytes': 400, 'segment.bytes': 300 });
    assert.equal(log.config.retentionBytes, 400);
    assert.ok((await manager.runRetentionOnce()) > 0);
    assert.ok(log.logStartOffset > 0);
    assert.equal((await readAll(log)).length, log.logEndOffset - log.logStartOffset);
    assert.throws(() => manager.setTopicConfig('events', { 'retention.ms': 'soon' }), StorageError);
    await manager.close();
  } finally {
    cleanup();
  }
});

test('open descriptors stay bounded across many partitions', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const manager = await LogManager.open({ dataDir: dir, openFilesMax: 16 });
    const logs = [];
    for (let p = 0; p < 200; p++) logs.push(await manager.createLog('wide', p));
    for (const log of logs) log.append(simpleBatch(1, 10), 0);
    await Promise.all(logs.map((l) => l.flush()));
    assert.ok(manager.openFileCount <= 16, `${manager.openFileCount}`);
    for (const log of logs) assert.equal((await log.read(0, 1000)).records.length, 1);
    assert.ok(manager.openFileCount <= 16);
    await manager.close();
    const reopened = await LogManager.open({ dataDir: dir, openFilesMax: 16 });
    assert.equal(reopened.allLogs().length, 200);
    assert.ok(reopened.openFileCount <= 16);
    await reopened.close();
  } finally {
    cleanup();
  }
});

test('the background retention loop deletes expired segments by the injected clock', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const clock = new ManualClock(NOW);
    const manager = await LogManager.open({ dataDir: dir, clock, retentionCheckIntervalMs: 5, checkpointIntervalMs: 5, defaults: { 'segment.bytes': 300, 'retention.ms': 60_000 } });
    const log = await manager.createLog('aging', 0);
    for (let i = 0; i < 6; i++) log.append(simpleBatch(1, 150, i, NOW), 0);
    log.updateHighWatermark(log.logEndOffset);
    manager.startBackgroundTasks();
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(log.logStartOffset, 0, 'nothing expired yet');
    clock.advance(120_000);
    for (let i = 0; i < 200 && log.logStartOffset === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(log.logStartOffset, log.logEndOffset);
    await manager.close();
  } finally {
    cleanup();
  }
});

test('an acknowledged deleteRecords survives a crash (the log start offset is checkpointed before it resolves)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const clock = new ManualClock(NOW);
    const manager = await LogManager.open({ dataDir: dir, clock });
    const log = await manager.createLog('orders', 0);
    for (let i = 0; i < 10; i++) log.append(simpleBatch(1, 10, i), 0);
    await log.flush();
    log.updateHighWatermark(10);
    assert.equal(await log.deleteRecords(4), 4);
    // No close and no checkpoint timer: the next open is a crash recovery.
    const crashed = await LogManager.open({ dataDir: dir, clock });
    assert.equal(crashed.getLog('orders', 0)?.logStartOffset, 4);
    await crashed.close();
    await manager.close().catch(() => undefined);
  } finally {
    cleanup();
  }
});

/**
 * Issue 26, defect 4 on a real full disk: a tmpfs of a few MiB mounted for the test (needs root and
 * mount; skipped otherwise, with the reason). The broker's data directory lives on it; a filler file takes
 * the rest of the space.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';
import { call } from '../broker/kafka-test-client.js';
import { createTopic, listOffset, produce, startHarness, type Harness } from '../broker/standalone-harness.js';
import { recordBatch, simpleBatch } from './batches.js';

const MOUNT_BYTES = 8 * 1024 * 1024;

async function withTmpfs(body: (dir: string) => Promise<void>): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root: cannot mount a tmpfs';
  const dir = await mkdtemp(join(tmpdir(), 'runnel-full-disk-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${MOUNT_BYTES}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    await rmdir(dir);
    return `mount failed: ${mounted.stderr.trim()}`;
  }
  try {
    await body(dir);
  } finally {
    spawnSync('umount', ['-l', dir]);
    await rmdir(dir).catch(() => undefined);
  }
  return undefined;
}

/** Writes zeros until the file system says ENOSPC. */
async function fillDisk(path: string): Promise<void> {
  const handle = await open(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (let written = 0; written <= MOUNT_BYTES; written += chunk.length) {
      try {
        await handle.write(chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw error;
      }
    }
    // The last partial block: tmpfs accepts small writes up to the last page.
    for (let i = 0; i < 64; i++) await handle.write(Buffer.alloc(1024)).catch(() => undefined);
  } finally {
    await handle.close();
  }
}

function bigBatch(value: Buffer): Buffer {
  return recordBatch(Array.from({ length: 4 }, (_, i) => ({ value, timestampDelta: i })));
}

async function fetchFrom(h: Harness, topic: string, offset: bigint) {
  const response = await call(h.client, ApiKey.Fetch, 4, {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{
      topic, topicId: ZERO_UUID, partitions: [{
        partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n,
        partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID, highWatermark: 0x7fffffffffffffffn,
      }],
    }],
    forgottenTopicsData: [], rackId: '',
  });
  const p = response.body.responses[0]?.partitions[0];
  assert.ok(p !== undefined);
  return p;
}

test('a full disk fails partitions until a restart (issue 26 defect 4): in-flight produces get error 56 at once, service resumes once space is freed', { timeout: 120_000 }, async (t) => {
  const skipped = await withTmpfs(async (mount) => {
    const h = await startHarness({}, join(mount, 'data'));
    try {
      await createTopic(h, 'disk');
      const before = await produce(h, 'disk', 0, simpleBatch(10), { acks: -1 });
      assert.equal(before.errorCode, ErrorCode.NONE);
      const filler = join(mount, 'filler');
      await fillDisk(filler);

      // acks=-1 with a long timeout: the write fails, the answer must not wait for timeout_ms.
      const started = performance.now();
      const big = Buffer.alloc(64 * 1024, 7);
      const failed = await produce(h, 'disk', 0, bigBatch(big), { acks: -1, timeoutMs: 30_000 });
      const waitedMs = performance.now() - started;
      assert.equal(failed.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
      assert.ok(waitedMs < 5_000, `answered after ${Math.round(waitedMs)} ms`);
      const again = await produce(h, 'disk', 0, bigBatch(big), { acks: 1 });
      assert.equal(again.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);

      await rm(filler);
      // The partition recovers by itself: a retrying producer succeeds within seconds, no restart.
      let recovered: Awaited<ReturnType<typeof produce>> | undefined;
      const freedAt = performance.now();
      const deadline = performance.now() + 10_000;
      while (performance.now() < deadline) {
        recovered = await produce(h, 'disk', 0, simpleBatch(5), { acks: -1 });
        if (recovered.errorCode === ErrorCode.NONE) break;
        assert.equal(recovered.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(recovered?.errorCode, ErrorCode.NONE, 'produce works again after the space is freed');
      t.diagnostic(`acks=-1 produce answered 56 after ${Math.round(waitedMs)} ms (timeout_ms 30000); ` +
        `produce succeeded again ${Math.round(performance.now() - freedAt)} ms after the space was freed`);
      // Nothing acknowledged was lost; the failed batches were cut (never acknowledged).
      assert.equal(recovered?.baseOffset, 10n);
      assert.equal((await listOffset(h, 'disk', 0, -1n)).offset, 15n);
      const fetched = await fetchFrom(h, 'disk', 0n);
      assert.equal(fetched.errorCode, ErrorCode.NONE);
      assert.equal(fetched.highWatermark, 15n);

      // And across a clean restart.
      const restarted = await h.restart();
      try {
        assert.equal((await listOffset(restarted, 'disk', 0, -1n)).offset, 15n);
        assert.equal((await produce(restarted, 'disk', 0, simpleBatch(1), { acks: -1 })).errorCode, ErrorCode.NONE);
      } finally {
        await restarted.close();
      }
    } catch (error) {
      await h.close().catch(() => undefined);
      throw error;
    }
  });
  if (skipped !== undefined) t.skip(skipped);
});

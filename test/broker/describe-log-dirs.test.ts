import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { statfs } from 'node:fs/promises';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { simpleBatch } from '../replication/batches.js';
import { call } from './kafka-test-client.js';
import { createTopic, produce, startHarness, type Harness } from './standalone-harness.js';

async function describe(h: Harness, version: number, topics: Array<{ topic: string; partitions: number[] }> | null) {
  const { body, trailingBytes } = await call(h.client, ApiKey.DescribeLogDirs, version, { topics });
  assert.equal(trailingBytes, 0);
  return body;
}

function sizes(result: { topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; partitionSize: bigint; offsetLag: bigint; isFutureKey: boolean }> }> }) {
  const out: Record<string, bigint> = {};
  for (const t of result.topics) {
    for (const p of t.partitions) {
      assert.equal(p.offsetLag, 0n);
      assert.equal(p.isFutureKey, false);
      out[`${t.name}-${p.partitionIndex}`] = p.partitionSize;
    }
  }
  return out;
}

test('DescribeLogDirs v4: every hosted partition with its size, the data dir and its file system', async () => {
  const h = await startHarness();
  try {
    await createTopic(h, 'a', 2);
    await createTopic(h, 'b', 1);
    const batch = simpleBatch(5);
    assert.equal((await produce(h, 'a', 1, batch)).errorCode, ErrorCode.NONE);
    assert.equal((await produce(h, 'a', 1, batch)).errorCode, ErrorCode.NONE);
    const body = await describe(h, 4, null);
    assert.equal(body.errorCode, ErrorCode.NONE);
    assert.equal(body.results.length, 1);
    const [dir] = body.results;
    assert.ok(dir);
    assert.equal(dir.errorCode, ErrorCode.NONE);
    assert.equal(dir.logDir, resolve(h.dataDir));
    assert.deepEqual(sizes(dir), { 'a-0': 0n, 'a-1': BigInt(2 * batch.length), 'b-0': 0n });
    const fileSystem = await statfs(h.dataDir, { bigint: true });
    assert.equal(dir.totalBytes, fileSystem.blocks * fileSystem.bsize);
    assert.ok(dir.usableBytes > 0n && dir.usableBytes <= dir.totalBytes);
  } finally {
    await h.close();
  }
});

test('DescribeLogDirs: only the partitions asked for; unknown ones are left out', async () => {
  const h = await startHarness();
  try {
    await createTopic(h, 'a', 3);
    await createTopic(h, 'b', 1);
    const asked = await describe(h, 4, [{ topic: 'a', partitions: [2, 0, 7] }, { topic: 'nope', partitions: [0] }, { topic: 'a', partitions: [1] }]);
    assert.deepEqual(Object.keys(sizes(asked.results[0] as never)).sort(), ['a-0', 'a-1', 'a-2']);
    assert.deepEqual((asked.results[0] as { topics: Array<{ partitions: Array<{ partitionIndex: number }> }> }).topics[0]?.partitions.map((p) => p.partitionIndex), [0, 1, 2]);
    const none = await describe(h, 4, []);
    assert.deepEqual(none.results[0]?.topics, []);
    assert.equal(none.results[0]?.errorCode, ErrorCode.NONE);
  } finally {
    await h.close();
  }
});

test('DescribeLogDirs v0-v3 answer in their own layouts; sizes survive a restart', async () => {
  let h = await startHarness();
  try {
    await createTopic(h, 't', 1);
    const batch = simpleBatch(3);
    assert.equal((await produce(h, 't', 0, batch)).errorCode, ErrorCode.NONE);
    for (const version of [0, 1, 2, 3]) {
      const body = await describe(h, version, [{ topic: 't', partitions: [0] }]);
      assert.deepEqual(sizes(body.results[0] as never), { 't-0': BigInt(batch.length) }, `v${version}`);
      assert.equal(body.results[0]?.logDir, resolve(h.dataDir));
    }
    h = await h.restart();
    const body = await describe(h, 4, null);
    assert.deepEqual(sizes(body.results[0] as never), { 't-0': BigInt(batch.length) });
  } finally {
    await h.close();
  }
});

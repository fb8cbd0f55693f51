import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { simpleBatch } from '../replication/batches.js';
import { call, decodeResponseFrame, requestFrame } from './kafka-test-client.js';
import { RawClient } from '../network/raw-client.js';
import { createTopic, listOffset, produce, startHarness, type Harness } from './standalone-harness.js';

const TOPIC = 'idem';

async function newProducerId(h: Harness): Promise<number> {
  const response = await call(h.client, ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1, enable2Pc: false, keepPreparedTxn: false });
  assert.equal(response.body.errorCode, ErrorCode.NONE);
  return Number(response.body.producerId);
}

function batch(producerId: number, epoch: number, sequence: number, count = 3): Buffer {
  return simpleBatch(count, { producerId, producerEpoch: epoch, baseSequence: sequence });
}

async function logEnd(h: Harness): Promise<bigint> {
  return (await listOffset(h, TOPIC, 0, -1n)).offset;
}

async function snapshotFiles(dataDir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 4) return;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, depth + 1);
      else if (entry.name.endsWith('.snapshot')) found.push(path);
    }
  };
  await walk(dataDir, 0);
  return found;
}

test('a retried produce (same sequence) gets the original offsets and writes nothing', async () => {
  const h = await startHarness();
  try {
    await createTopic(h, TOPIC);
    const pid = await newProducerId(h);
    for (const acks of [-1, 1]) {
      const sequence = acks === -1 ? 0 : 3;
      const first = await produce(h, TOPIC, 0, batch(pid, 0, sequence), { acks });
      assert.equal(first.errorCode, ErrorCode.NONE);
      const retry = await produce(h, TOPIC, 0, batch(pid, 0, sequence), { acks });
      assert.equal(retry.errorCode, ErrorCode.NONE);
      assert.equal(retry.baseOffset, first.baseOffset);
      assert.equal(retry.logStartOffset, 0n);
    }
    assert.equal(await logEnd(h), 6n);
  } finally {
    await h.close();
  }
});

test('Produce answers OUT_OF_ORDER_SEQUENCE_NUMBER for a gap and INVALID_PRODUCER_EPOCH for an older epoch, writing nothing', async () => {
  const h = await startHarness();
  try {
    await createTopic(h, TOPIC);
    const pid = await newProducerId(h);
    assert.equal((await produce(h, TOPIC, 0, batch(pid, 1, 0))).errorCode, ErrorCode.NONE);
    const gap = await produce(h, TOPIC, 0, batch(pid, 1, 7));
    assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(gap.baseOffset, -1n);
    assert.match(gap.errorMessage ?? '', /Out of order sequence number/);
    assert.equal((await produce(h, TOPIC, 0, batch(pid, 0, 3))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal((await produce(h, TOPIC, 0, batch(pid, 2, 3))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    // Epoch bump at sequence 0 (what the Java client does after an OutOfOrderSequence, KIP-360).
    assert.equal((await produce(h, TOPIC, 0, batch(pid, 2, 0))).errorCode, ErrorCode.NONE);
    assert.equal(await logEnd(h), 6n);
  } finally {
    await h.close();
  }
});

test('five in-flight requests of one producer pipelined on one connection are checked in order; all retried are duplicates', async () => {
  const h = await startHarness();
  try {
    await createTopic(h, TOPIC);
    const pid = await newProducerId(h);
    // Written back to back before any answer: the broker sees five requests in flight, as max.in.flight 5.
    let correlationId = 10_000;
    const send = async () => {
      const index = h.client.frames.length;
      for (let i = 0; i < 5; i++) {
        h.client.write(requestFrame(ApiKey.Produce, 9, correlationId++, {
          transactionalId: null, acks: 1, timeoutMs: 5000,
          topicData: [{ name: TOPIC, topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: 0, records: batch(pid, 0, i * 3) }] }],
        }));
      }
      const frames = await h.client.waitFrames(index + 5);
      return frames.slice(index, index + 5).map((frame) => {
        const p = decodeResponseFrame(ApiKey.Produce, 9, frame).body.responses[0]?.partitionResponses[0];
        assert.ok(p !== undefined);
        return p;
      });
    };
    const first = await send();
    assert.deepEqual(first.map((p) => [p.errorCode, p.baseOffset]), [0, 3, 6, 9, 12].map((o) => [ErrorCode.NONE, BigInt(o)]));
    const retried = await send();
    assert.deepEqual(retried.map((p) => [p.errorCode, p.baseOffset]), first.map((p) => [p.errorCode, p.baseOffset]));
    assert.equal(await logEnd(h), 15n);
  } finally {
    await h.close();
  }
});

test('duplicates are still detected after a clean restart (snapshot) and after a crash without snapshot (rebuild from the log)', async () => {
  let h = await startHarness();
  try {
    await createTopic(h, TOPIC);
    const pid = await newProducerId(h);
    const first = await produce(h, TOPIC, 0, batch(pid, 0, 0));
    const second = await produce(h, TOPIC, 0, batch(pid, 0, 3));
    h = await h.restart();
    assert.ok((await snapshotFiles(h.dataDir)).length > 0);
    assert.equal((await produce(h, TOPIC, 0, batch(pid, 0, 3))).baseOffset, second.baseOffset);
    // Crash-like: drop every snapshot, so the reopened partition must replay its log.
    const dataDir = h.dataDir;
    h.client.destroy();
    await h.broker.close();
    for (const file of await snapshotFiles(dataDir)) await unlink(file);
    h = await startHarness({}, dataDir);
    assert.equal((await produce(h, TOPIC, 0, batch(pid, 0, 0))).baseOffset, first.baseOffset);
    assert.equal((await produce(h, TOPIC, 0, batch(pid, 0, 3))).baseOffset, second.baseOffset);
    assert.equal((await produce(h, TOPIC, 0, batch(pid, 0, 9))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal((await produce(h, TOPIC, 0, batch(pid, 0, 6))).baseOffset, 6n);
    assert.equal(await logEnd(h), 9n);
  } finally {
    await h.close();
  }
});

test('a retry that arrives while its original is not yet durable is answered only once the high watermark covers it', async () => {
  // fsync mode with a long flush window: the original stays below the high watermark for a while.
  const h = await startHarness({ 'log.flush.window.ms': '300' });
  const other = await RawClient.connect(h.broker.port);
  try {
    await createTopic(h, TOPIC);
    const pid = await newProducerId(h);
    const partition = h.broker.services.replicaManager.partition(TOPIC, 0);
    assert.ok(partition !== undefined);
    await produce(h, TOPIC, 0, batch(pid, 0, 0), { acks: 1 });
    for (const acks of [1, -1]) {
      const sequence = acks === 1 ? 3 : 6;
      const original = produce(h, TOPIC, 0, batch(pid, 0, sequence), { acks });
      const retry = await call(other, ApiKey.Produce, 9, {
        transactionalId: null, acks, timeoutMs: 5000,
        topicData: [{ name: TOPIC, topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: 0, records: batch(pid, 0, sequence) }] }],
      });
      const answer = retry.body.responses[0]?.partitionResponses[0];
      assert.equal(answer?.errorCode, ErrorCode.NONE);
      assert.ok(partition.highWatermark >= sequence + 3, `high watermark ${partition.highWatermark} when the retry was answered`);
      assert.equal(answer?.baseOffset, (await original).baseOffset);
    }
    assert.equal(await logEnd(h), 9n);
  } finally {
    other.destroy();
    await h.close();
  }
});

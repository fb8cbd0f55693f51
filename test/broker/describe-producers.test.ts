import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { simpleBatch } from '../replication/batches.js';
import { call } from './kafka-test-client.js';
import { createTopic, produce, startHarness, type Harness } from './standalone-harness.js';

async function initProducerId(h: Harness): Promise<number> {
  const { body } = await call(h.client, ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1, enable2Pc: false, keepPreparedTxn: false });
  assert.equal(body.errorCode, ErrorCode.NONE);
  return Number(body.producerId);
}

async function describe(h: Harness, topics: Array<{ name: string; partitionIndexes: number[] }>) {
  const { body, trailingBytes } = await call(h.client, ApiKey.DescribeProducers, 0, { topics });
  assert.equal(trailingBytes, 0);
  return body;
}

test('DescribeProducers: each idempotent producer with its epoch, last sequence and last timestamp', async () => {
  let h = await startHarness();
  try {
    await createTopic(h, 't', 2);
    const [first, second] = [await initProducerId(h), await initProducerId(h)];
    const base = Date.now() - 10_000;
    assert.equal((await produce(h, 't', 0, simpleBatch(3, { producerId: first, producerEpoch: 0, baseSequence: 0, baseTimestamp: base }))).errorCode, ErrorCode.NONE);
    assert.equal((await produce(h, 't', 0, simpleBatch(4, { producerId: first, producerEpoch: 0, baseSequence: 3, baseTimestamp: base + 100 }))).errorCode, ErrorCode.NONE);
    assert.equal((await produce(h, 't', 0, simpleBatch(2, { producerId: second, producerEpoch: 0, baseSequence: 0, baseTimestamp: base + 200 }))).errorCode, ErrorCode.NONE);
    // Not idempotent: no producer state.
    assert.equal((await produce(h, 't', 0, simpleBatch(2, { baseTimestamp: base + 300 }))).errorCode, ErrorCode.NONE);
    const expected = [
      { producerId: BigInt(first), producerEpoch: 0, lastSequence: 6, lastTimestamp: BigInt(base + 103), coordinatorEpoch: -1, currentTxnStartOffset: -1n },
      { producerId: BigInt(second), producerEpoch: 0, lastSequence: 1, lastTimestamp: BigInt(base + 201), coordinatorEpoch: -1, currentTxnStartOffset: -1n },
    ];
    const byId = (a: { producerId: bigint }, b: { producerId: bigint }) => Number(a.producerId - b.producerId);
    const body = await describe(h, [{ name: 't', partitionIndexes: [0, 1] }]);
    assert.deepEqual(body.topics.map((t) => t.name), ['t']);
    const [p0, p1] = body.topics[0]?.partitions ?? [];
    assert.equal(p0?.errorCode, ErrorCode.NONE);
    assert.deepEqual([...(p0?.activeProducers ?? [])].sort(byId), expected);
    assert.deepEqual(p1, { partitionIndex: 1, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers: [] });
    // The state is the partition's producer snapshot + log: the same after a restart.
    h = await h.restart();
    const again = await describe(h, [{ name: 't', partitionIndexes: [0] }]);
    assert.deepEqual([...(again.topics[0]?.partitions[0]?.activeProducers ?? [])].sort(byId), expected);
  } finally {
    await h.close();
  }
});

test('DescribeProducers: unknown topics and partitions are UNKNOWN_TOPIC_OR_PARTITION; a topic named twice is answered once', async () => {
  const h = await startHarness();
  try {
    await createTopic(h, 't', 1);
    const body = await describe(h, [
      { name: 't', partitionIndexes: [0] }, { name: 'nope', partitionIndexes: [0] }, { name: 't', partitionIndexes: [5, -1] },
    ]);
    assert.deepEqual(body.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]), [
      ['t', [[0, ErrorCode.NONE], [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [-1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      ['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
  } finally {
    await h.close();
  }
});

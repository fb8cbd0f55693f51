import { test } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { call, requestFrame } from './kafka-test-client.js';
import { createTopic, listOffset, produce, startHarness, type Harness, withHarness } from './standalone-harness.js';
import { recordBatch, simpleBatch } from '../replication/batches.js';
import { poisonBatches } from '../protocol/poison-batches.js';


async function setTopicConfig(h: Harness, topic: string, name: string, value: string): Promise<void> {
  await h.node.metadataLog!.append([{ type: 'Config', resourceType: 'topic', resourceName: topic, name, value }]);
  await h.broker.services.replicaManager.whenIdle();
}

test('acks=1 and acks=-1 append and answer base offsets; the high watermark follows', async () => {
  await withHarness({}, async (h) => {
    await createTopic(h, 'orders');
    const first = await produce(h, 'orders', 0, simpleBatch(3), { acks: 1 });
    assert.equal(first.errorCode, ErrorCode.NONE);
    assert.equal(first.baseOffset, 0n);
    assert.equal(first.logAppendTimeMs, -1n);
    assert.equal(first.logStartOffset, 0n);
    const second = await produce(h, 'orders', 0, simpleBatch(2), { acks: -1 });
    assert.equal(second.errorCode, ErrorCode.NONE);
    assert.equal(second.baseOffset, 3n);
    // acks=-1 answered → the HW covers the batch.
    assert.equal((await listOffset(h, 'orders', 0, -1n)).offset, 5n);
    const hosted = h.broker.services.replicaManager.partition('orders', 0);
    assert.equal(hosted?.highWatermark, 5);
    assert.equal(hosted?.logEndOffset, 5);
  });
});

test('acks=0 sends no response; a later request is answered and sees the append', async () => {
  await withHarness({}, async (h) => {
    await createTopic(h, 'fire');
    h.client.write(requestFrame(ApiKey.Produce, 9, 4242, {
      transactionalId: null, acks: 0, timeoutMs: 1000,
      topicData: [{ name: 'fire', topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: 0, records: simpleBatch(4) }] }],
    }));
    let latest = -1n;
    let listOffsetsSent = 0;
    for (let attempt = 0; attempt < 200 && latest !== 4n; attempt++) {
      listOffsetsSent++;
      latest = (await listOffset(h, 'fire', 0, -1n)).offset;
      if (latest !== 4n) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(latest, 4n);
    // Regression (issue #27): this once compared frames.length with itself. Every frame received
    // answers a ListOffsets; one more would be an answer to the acks=0 produce.
    assert.equal(h.client.frames.length, listOffsetsSent, 'no frame for the acks=0 request');
    for (const frame of h.client.frames) assert.notEqual(frame.readInt32BE(0), 4242);
  });
});

test('acks=0 with an error closes the connection (Kafka CloseConnectionAction)', async () => {
  await withHarness({}, async (h) => {
    h.client.write(requestFrame(ApiKey.Produce, 9, 1, {
      transactionalId: null, acks: 0, timeoutMs: 1000,
      topicData: [{ name: 'nope', topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: 0, records: simpleBatch(1) }] }],
    }));
    await h.client.waitClosed();
  });
});

test('invalid acks: INVALID_REQUIRED_ACKS for every partition, nothing written', async () => {
  await withHarness({}, async (h) => {
    await createTopic(h, 't', 2);
    const response = await call(h.client, ApiKey.Produce, 11, {
      transactionalId: null, acks: 2, timeoutMs: 1000,
      topicData: [{ name: 't', topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: 0, records: simpleBatch(1) }, { index: 1, records: simpleBatch(1) }] }],
    });
    const codes = response.body.responses[0]?.partitionResponses.map((p) => p.errorCode);
    assert.deepEqual(codes, [ErrorCode.INVALID_REQUIRED_ACKS, ErrorCode.INVALID_REQUIRED_ACKS]);
    assert.equal(h.broker.services.replicaManager.partition('t', 0)?.logEndOffset, 0);
  });
});

test('unknown topic and unknown partition: UNKNOWN_TOPIC_OR_PARTITION; produce does not auto-create', async () => {
  await withHarness({}, async (h) => {
    await createTopic(h, 'known');
    assert.equal((await produce(h, 'unknown', 0, simpleBatch(1))).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await produce(h, 'known', 7, simpleBatch(1))).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(h.broker.services.metadataLoader.image.topicIdsByName.has('unknown'), false);
  });
});

test('min.insync.replicas above the ISR: NOT_ENOUGH_REPLICAS for acks=-1 only (broker and topic level)', async () => {
  await withHarness({ 'min.insync.replicas': '2' }, async (h) => {
    await createTopic(h, 'strict');
    const all = await produce(h, 'strict', 0, simpleBatch(1), { acks: -1 });
    assert.equal(all.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
    assert.equal(all.baseOffset, -1n);
    assert.equal((await produce(h, 'strict', 0, simpleBatch(1), { acks: 1 })).errorCode, ErrorCode.NONE);
    await setTopicConfig(h, 'strict', 'min.insync.replicas', '1');
    assert.equal((await produce(h, 'strict', 0, simpleBatch(1), { acks: -1 })).errorCode, ErrorCode.NONE);
  });
});

test('record validation errors, each leaving the partition untouched', async () => {
  await withHarness({}, async (h) => {
    await createTopic(h, 'v');
    const corrupt = simpleBatch(2);
    corrupt[corrupt.length - 1] ^= 0xff;
    const oldMagic = simpleBatch(1);
    oldMagic.writeInt8(1, 16);
    const badCount = simpleBatch(2);
    badCount.writeInt32BE(5, 57);
    badCount.writeUInt32BE(crc32c(badCount.subarray(21)) >>> 0, 17);
    const cases: Array<[string, Buffer | null, number, number?]> = [
      ['crc', corrupt, ErrorCode.CORRUPT_MESSAGE],
      ['magic 1', oldMagic, ErrorCode.INVALID_RECORD],
      ['two batches', Buffer.concat([simpleBatch(1), simpleBatch(1)]), ErrorCode.INVALID_RECORD],
      ['empty', Buffer.alloc(0), ErrorCode.INVALID_RECORD],
      ['null records', null, ErrorCode.INVALID_RECORD],
      ['truncated', simpleBatch(3).subarray(0, 70), ErrorCode.INVALID_RECORD],
      ['control batch', simpleBatch(1, { control: true }), ErrorCode.INVALID_RECORD],
      ['producer id without sequence', simpleBatch(1, { producerId: 7, producerEpoch: 0, baseSequence: -1 }), ErrorCode.INVALID_RECORD],
      ['records count', badCount, ErrorCode.INVALID_RECORD],
      ['zstd before v7', simpleBatch(1, { compression: 4 }), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 6],
    ];
    for (const [name, records, expected, version] of cases) {
      const answer = await produce(h, 'v', 0, records, { version: version ?? 11 });
      assert.equal(answer.errorCode, expected, name);
      assert.equal(answer.baseOffset, -1n, name);
    }
    assert.equal(h.broker.services.replicaManager.partition('v', 0)?.logEndOffset, 0);
    assert.equal((await produce(h, 'v', 0, simpleBatch(1, { compression: 4 }), { version: 7 })).errorCode, ErrorCode.NONE);
  });
});

test('max.message.bytes → MESSAGE_TOO_LARGE; timestamps out of range → INVALID_TIMESTAMP', async () => {
  await withHarness({}, async (h) => {
    await createTopic(h, 'limits');
    await setTopicConfig(h, 'limits', 'max.message.bytes', '200');
    const big = recordBatch([{ key: null, value: Buffer.alloc(500, 1) }]);
    assert.equal((await produce(h, 'limits', 0, big)).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    await setTopicConfig(h, 'limits', 'message.timestamp.before.max.ms', '60000');
    const old = simpleBatch(1, { baseTimestamp: Date.now() - 3_600_000 });
    assert.equal((await produce(h, 'limits', 0, old)).errorCode, ErrorCode.INVALID_TIMESTAMP);
    assert.equal(h.broker.services.replicaManager.partition('limits', 0)?.logEndOffset, 0);
  });
});

test('transactional batches: no transactional id → TRANSACTIONAL_ID_AUTHORIZATION_FAILED; with one but no transaction → refused by verification', async () => {
  await withHarness({}, async (h) => {
    await createTopic(h, 'tx');
    const batch = () => simpleBatch(1, { transactional: true, producerId: 1, producerEpoch: 0, baseSequence: 0 });
    assert.equal((await produce(h, 'tx', 0, batch())).errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    // No transaction coordinator yet (no __transaction_state): Kafka's COORDINATOR_NOT_AVAILABLE reaches
    // the producer as the retriable NOT_ENOUGH_REPLICAS.
    assert.equal((await produce(h, 'tx', 0, batch(), { transactionalId: 'app' })).errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
    // Once the coordinator runs, an id it does not know is INVALID_PRODUCER_ID_MAPPING.
    await h.broker.services.txnCoordinator.findCoordinators(['app']);
    await waitFor(() => h.broker.services.txnCoordinator.coordinates('app'));
    assert.equal((await produce(h, 'tx', 0, batch(), { transactionalId: 'app' })).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    // A transactional id with plain batches is accepted (Kafka only checks transactional records).
    assert.equal((await produce(h, 'tx', 0, simpleBatch(1), { transactionalId: 'app' })).errorCode, ErrorCode.NONE);
    assert.equal(h.broker.services.replicaManager.partition('tx', 0)?.logEndOffset, 1);
  });
});

test('internal topics refuse client writes with INVALID_TOPIC_EXCEPTION', async () => {
  await withHarness({}, async (h) => {
    await createTopic(h, '__consumer_offsets');
    assert.equal((await produce(h, '__consumer_offsets', 0, simpleBatch(1))).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  });
});

test('multi-partition request: partial failure, good partitions written, bad ones untouched', async () => {
  await withHarness({}, async (h) => {
    await createTopic(h, 'a', 2);
    const corrupt = simpleBatch(2);
    corrupt[corrupt.length - 1] ^= 0x01;
    const response = await call(h.client, ApiKey.Produce, 11, {
      transactionalId: null, acks: -1, timeoutMs: 5000,
      topicData: [
        { name: 'a', topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: 0, records: simpleBatch(3) }, { index: 1, records: corrupt }] },
        { name: 'missing', topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: 0, records: simpleBatch(1) }] },
      ],
    });
    const [a, missing] = response.body.responses;
    assert.deepEqual(a?.partitionResponses.map((p) => [p.index, p.errorCode, p.baseOffset]), [
      [0, ErrorCode.NONE, 0n], [1, ErrorCode.CORRUPT_MESSAGE, -1n],
    ]);
    assert.equal(missing?.partitionResponses[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const rm = h.broker.services.replicaManager;
    assert.equal(rm.partition('a', 0)?.logEndOffset, 3);
    assert.equal(rm.partition('a', 1)?.logEndOffset, 0);
  });
});

test('compacted topics need keys, in every codec; keyed batches are stored as sent', async () => {
  await withHarness({}, async (h) => {
    await createTopic(h, 'compacted');
    await setTopicConfig(h, 'compacted', 'cleanup.policy', 'compact');
    const codecs: Array<[string, number, boolean?]> = [['none', 0], ['gzip', 1], ['snappy', 2], ['snappy xerial', 2, true], ['lz4', 3], ['zstd', 4]];
    let expectedOffset = 0n;
    for (const [name, compression, xerial] of codecs) {
      const keyless = recordBatch([{ key: Buffer.from('k'), value: Buffer.from('1') }, { key: null, value: Buffer.from('2') }], { compression, xerial });
      const refused = await produce(h, 'compacted', 0, keyless);
      assert.equal(refused.errorCode, ErrorCode.INVALID_RECORD, name);
      assert.deepEqual(refused.recordErrors.map((e) => e.batchIndex), [1], name);
      assert.match(refused.errorMessage ?? '', /Compacted topic cannot accept message without key/);
      const keyed = recordBatch([{ key: Buffer.from('k'), value: Buffer.from('1') }, { key: Buffer.from('j'), value: null }], { compression, xerial });
      const accepted = await produce(h, 'compacted', 0, keyed);
      assert.equal(accepted.errorCode, ErrorCode.NONE, name);
      assert.equal(accepted.baseOffset, expectedOffset, name);
      expectedOffset += 2n;
    }
    const log = h.broker.services.replicaManager.partition('compacted', 0)?.log;
    const stored = await log?.read(0, 1 << 20);
    assert.equal(stored?.records.length, codecs.length);
    assert.equal((stored?.records[1] as Buffer).readInt16BE(21) & 7, 1, 'gzip batch kept compressed');
  });
});

test('poison batches accepted (issue 26 defect 1): CRC-valid batches with malformed records get INVALID_RECORD, nothing written', async () => {
  await withHarness({}, async (h) => {
    await createTopic(h, 'poison');
    const log = h.broker.services.replicaManager.partition('poison', 0)?.log;
    for (const { name, batch } of poisonBatches()) {
      const answer = await produce(h, 'poison', 0, batch);
      assert.equal(answer.errorCode, ErrorCode.INVALID_RECORD, name);
      assert.equal(answer.baseOffset, -1n, name);
      assert.ok((answer.errorMessage ?? '').length > 0, `${name}: error_message says why`);
      assert.deepEqual(answer.recordErrors, [], name);
      assert.equal(log?.logEndOffset, 0, `${name}: nothing written`);
    }
    // The partition stays writable and readable: a good batch lands at offset 0.
    const good = await produce(h, 'poison', 0, simpleBatch(2, { compression: 4 }));
    assert.equal(good.errorCode, ErrorCode.NONE);
    assert.equal(good.baseOffset, 0n);
  });
});

test('LogAppendTime topics answer logAppendTimeMs', async () => {
  await withHarness({}, async (h) => {
    await createTopic(h, 'lat');
    await setTopicConfig(h, 'lat', 'message.timestamp.type', 'LogAppendTime');
    const before = Date.now();
    const answer = await produce(h, 'lat', 0, simpleBatch(2, { baseTimestamp: 1000 }));
    assert.equal(answer.errorCode, ErrorCode.NONE);
    assert.ok(Number(answer.logAppendTimeMs) >= before);
  });
});

// acks=-1 with an ISR follower that does not fetch: test/replication/replication-cluster.test.ts.

test('restart keeps topics, ids and data (clean shutdown, reopened data dir)', async () => {
  let h = await startHarness();
  try {
    const topicId = await createTopic(h, 'durable', 2);
    await produce(h, 'durable', 1, simpleBatch(5), { acks: -1 });
    h = await h.restart();
    const rm = h.broker.services.replicaManager;
    assert.equal(rm.partition('durable', 1)?.topicId, topicId);
    assert.equal(rm.partition('durable', 1)?.logEndOffset, 5);
    assert.equal((await listOffset(h, 'durable', 1, -1n)).offset, 5n);
    assert.equal((await produce(h, 'durable', 1, simpleBatch(1))).baseOffset, 5n);
    assert.equal(h.broker.services.metadataLoader.image.brokers.get(1)?.port, h.broker.port);
  } finally {
    await h.close();
  }
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Real clients with idempotence on: KafkaJS (`idempotent: true`) and @platformatic/kafka. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { Producer, ProduceAcks } from '@platformatic/kafka';
import type { RecordBatchHeader } from '../../src/protocol/record-batch.js';
import { createTopic, startHarness, type Harness } from './standalone-harness.js';

const RECORDS = 500;

async function headers(h: Harness, topic: string): Promise<RecordBatchHeader[]> {
  const partition = h.broker.services.replicaManager.partition(topic, 0);
  assert.ok(partition !== undefined);
  const out: RecordBatchHeader[] = [];
  for await (const header of partition.log.batchHeaders(0)) out.push(header);
  return out;
}

/** One producer id, epoch 0, sequences 0.. contiguous across the batches, exactly `records` records. */
function assertIdempotentLog(batches: RecordBatchHeader[], records: number): void {
  assert.ok(batches.length > 0);
  const producerIds = new Set(batches.map((b) => b.producerId));
  assert.equal(producerIds.size, 1);
  assert.ok((batches[0] as RecordBatchHeader).producerId >= 0);
  let nextSequence = 0;
  for (const batch of batches) {
    assert.equal(batch.producerEpoch, 0);
    assert.equal(batch.baseSequence, nextSequence);
    nextSequence += batch.recordsCount;
  }
  assert.equal(nextSequence, records);
}

test('KafkaJS idempotent producer: InitProducerId, sequenced batches, every record once', async () => {
  const h = await startHarness();
  const kafka = new Kafka({ brokers: [`127.0.0.1:${h.broker.port}`], clientId: 'runnel-idempotent', logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await createTopic(h, 'kafkajs-idem');
    await producer.connect();
    for (let i = 0; i < RECORDS; i += 50) {
      await producer.send({
        topic: 'kafkajs-idem',
        messages: Array.from({ length: 50 }, (_, j) => ({ key: `k${i + j}`, value: `v${i + j}`, partition: 0 })),
      });
    }
    assertIdempotentLog(await headers(h, 'kafkajs-idem'), RECORDS);
  } finally {
    await producer.disconnect();
    await h.close();
  }
});

test('@platformatic/kafka idempotent producer: every record once, sequenced', async () => {
  const h = await startHarness();
  const producer = new Producer({
    clientId: 'runnel-idempotent', bootstrapBrokers: [`127.0.0.1:${h.broker.port}`], idempotent: true, acks: ProduceAcks.ALL,
    strict: true, retries: 3,
  });
  try {
    await createTopic(h, 'platformatic-idem');
    for (let i = 0; i < RECORDS; i += 50) {
      await producer.send({
        messages: Array.from({ length: 50 }, (_, j) => ({
          topic: 'platformatic-idem', partition: 0, key: Buffer.from(`k${i + j}`), value: Buffer.from(`v${i + j}`),
        })),
      });
    }
    assertIdempotentLog(await headers(h, 'platformatic-idem'), RECORDS);
  } finally {
    await producer.close();
    await h.close();
  }
});

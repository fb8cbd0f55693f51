/**
 * Transactions end to end with a real client (KafkaJS's transactional producer): committed records are
 * visible at read_committed, aborted ones only at read_uncommitted; sendOffsets commits the group's
 * offsets with the transaction; a second producer with the same transactional id fences the first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { startHarness } from './standalone-harness.js';

const TOPIC = 'txn-kafkajs';

async function readAll(kafka: Kafka, groupId: string, readUncommitted: boolean, expected: number, timeoutMs = 20_000): Promise<string[]> {
  const consumer: Consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 100 });
  const values: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => { done = resolve; });
  await consumer.run({
    eachMessage: async ({ message }) => {
      values.push(message.value?.toString() ?? '');
      if (values.length >= expected) done();
    },
  });
  // Anything beyond `expected` would arrive in the same fetches: give it a moment after the last.
  await Promise.race([finished, new Promise((r) => setTimeout(r, timeoutMs))]);
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  return values;
}

test('KafkaJS transactions: commit visible at read_committed, abort only at read_uncommitted, offsets and fencing', async () => {
  const h = await startHarness();
  const broker = h.broker;
  const kafka = new Kafka({ brokers: [broker.bootstrapServers], clientId: 'runnel-txn', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ transactionalId: 'txn-kafkajs-1', idempotent: true, maxInFlightRequests: 1 });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }] });
    await producer.connect();

    const committed = await producer.transaction();
    await committed.send({ topic: TOPIC, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `c${i}` })) });
    await committed.sendOffsets({ consumerGroupId: 'txn-offsets', topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: '7' }] }] });
    await committed.commit();

    const aborted = await producer.transaction();
    await aborted.send({ topic: TOPIC, messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `a${i}` })) });
    await aborted.sendOffsets({ consumerGroupId: 'txn-offsets', topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: '99' }] }] });
    await aborted.abort();

    const again = await producer.transaction();
    await again.send({ topic: TOPIC, messages: [{ key: 'k', value: 'c10' }] });
    await again.commit();

    const readCommitted = await readAll(kafka, 'rc', false, 11);
    assert.deepEqual([...readCommitted].sort(), [...Array.from({ length: 10 }, (_, i) => `c${i}`), 'c10'].sort());
    const readUncommitted = await readAll(kafka, 'ru', true, 16);
    assert.equal(readUncommitted.length, 16);
    assert.equal(readUncommitted.filter((v) => v.startsWith('a')).length, 5);

    const offsets = await admin.fetchOffsets({ groupId: 'txn-offsets', topics: [TOPIC] });
    assert.equal(offsets[0]?.partitions.find((p) => p.partition === 0)?.offset, '7', 'the aborted transaction did not move the offset');

    // A new producer with the same id fences the old one.
    const successor = kafka.producer({ transactionalId: 'txn-kafkajs-1', idempotent: true, maxInFlightRequests: 1 });
    await successor.connect();
    const zombie = await producer.transaction();
    // KafkaJS sends InitProducerId when the first transaction begins.
    const successorTxn = await successor.transaction();
    let zombieError: unknown;
    try {
      await zombie.send({ topic: TOPIC, messages: [{ value: 'zombie' }] });
      await zombie.commit();
    } catch (err) {
      zombieError = err;
    }
    assert.ok(zombieError !== undefined, 'the fenced producer cannot commit');
    await successorTxn.send({ topic: TOPIC, messages: [{ key: 'k', value: 'c11' }] });
    await successorTxn.commit();
    await successor.disconnect();
    const final = await readAll(kafka, 'rc-final', false, 12);
    assert.ok(final.includes('c11') && !final.includes('zombie'));

    const listed = broker.services.txnCoordinator.list([], [], -1);
    assert.equal(listed.transactions.length, 1);
    assert.equal(listed.transactions[0]?.transactionalId, 'txn-kafkajs-1');
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect();
    await h.close();
  }
});

/**
 * Real clients against Fetch: what a KafkaJS producer wrote is read back by @platformatic/kafka's
 * low-level fetch (v17, topic ids), by kcat (librdkafka, when installed) and by a KafkaJS consumer
 * in a group.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import { Consumer } from '@platformatic/kafka';
import { startHarness, type Harness } from './standalone-harness.js';

const run = promisify(execFile);

interface FetchedPartition {
  errorCode: number;
  records?: { firstOffset: bigint; records: { offsetDelta: number; key: Buffer | null; value: Buffer | null }[] }[];
}
interface FetchedResponse {
  responses: { partitions: FetchedPartition[] }[];
}
const MESSAGES = 600;

async function withHarness(body: (h: Harness, bootstrap: string) => Promise<void>): Promise<void> {
  const h = await startHarness();
  try {
    await body(h, `127.0.0.1:${h.broker.port}`);
  } finally {
    await h.close();
  }
}

/** Writes MESSAGES keyed messages to partition 0 of `topic` with KafkaJS, in a few batches and codecs. */
async function produceWithKafkaJS(bootstrap: string, topic: string): Promise<void> {
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'fetch-clients', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const codecs = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.None];
    const perBatch = MESSAGES / codecs.length;
    for (const [batch, compression] of codecs.entries()) {
      await producer.send({
        topic, acks: -1, compression,
        messages: Array.from({ length: perBatch }, (_, i) => {
          const n = batch * perBatch + i;
          return { partition: 0, key: `k${n}`, value: `value-${n}-${'x'.repeat(n % 50)}`, headers: { n: String(n) } };
        }),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

function expectedValue(n: number): string {
  return `value-${n}-${'x'.repeat(n % 50)}`;
}

test('@platformatic/kafka fetch (v17, topic ids) reads back what KafkaJS produced', async () => {
  await withHarness(async (h, bootstrap) => {
    await produceWithKafkaJS(bootstrap, 'pk');
    const topicId = h.broker.services.metadata.topicByName('pk')?.topicId;
    assert.ok(topicId);
    const consumer = new Consumer({ groupId: 'unused', clientId: 'fetch-clients', bootstrapBrokers: [bootstrap] });
    try {
      const seen: string[] = [];
      let offset = 0n;
      for (let round = 0; round < 50 && seen.length < MESSAGES; round++) {
        const response: FetchedResponse = await consumer.fetch({
          node: h.broker.nodeId, maxWaitTime: 100, minBytes: 1, maxBytes: 1 << 20,
          topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, partitionMaxBytes: 64 << 10 }] }],
        });
        const partition: FetchedPartition | undefined = response.responses[0]?.partitions[0];
        assert.equal(partition?.errorCode, 0);
        for (const batch of partition?.records ?? []) {
          for (const record of batch.records) {
            const recordOffset = batch.firstOffset + BigInt(record.offsetDelta);
            if (recordOffset < offset) continue;
            assert.equal(recordOffset, BigInt(seen.length));
            seen.push(`${record.key?.toString()}=${record.value?.toString()}`);
            offset = recordOffset + 1n;
          }
        }
      }
      assert.equal(seen.length, MESSAGES);
      seen.forEach((entry, n) => assert.equal(entry, `k${n}=${expectedValue(n)}`));
    } finally {
      await consumer.close(true);
    }
  });
});

test('kcat (librdkafka, Fetch v11) reads back what KafkaJS produced', async (t) => {
  const kcat = await run('which', ['kcat']).then(() => true, () => false);
  if (!kcat) {
    t.skip('kcat is not installed');
    return;
  }
  await withHarness(async (_h, bootstrap) => {
    await produceWithKafkaJS(bootstrap, 'kc');
    const { stdout } = await run('kcat', ['-b', bootstrap, '-C', '-t', 'kc', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %k=%s\\n'], { timeout: 30_000 });
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, MESSAGES);
    lines.forEach((line, n) => assert.equal(line, `${n} k${n}=${expectedValue(n)}`));
  });
});

// Consumer groups are served (they once were not, and this test skipped itself; issue #27 removed the
// skip, which could no longer be taken).
test('a KafkaJS consumer reads back what a KafkaJS producer wrote', async () => {
  await withHarness(async (_h, bootstrap) => {
    await produceWithKafkaJS(bootstrap, 'kjs');
    const kafka = new Kafka({ brokers: [bootstrap], clientId: 'fetch-clients', logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'fetch-clients', maxWaitTimeInMs: 100 });
    const seen: string[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: 'kjs', fromBeginning: true });
      let resolveDone: () => void = () => undefined;
      const done = new Promise<void>((resolve) => { resolveDone = resolve; });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(`${message.offset} ${message.key?.toString()}=${message.value?.toString()} ${message.headers?.n?.toString()}`);
          if (seen.length === MESSAGES) resolveDone();
        },
      });
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`only ${seen.length} messages`)), 30_000).unref());
      await Promise.race([done, timeout]);
    } finally {
      await consumer.disconnect();
    }
    assert.equal(seen.length, MESSAGES);
    seen.forEach((entry, n) => assert.equal(entry, `${n} k${n}=${expectedValue(n)} ${n}`));
  });
});

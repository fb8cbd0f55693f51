/**
 * KafkaJS 2.2.4 at read_committed, two probes run against Runnel (in-process) or Apache Kafka
 * (scripts/kafka/kafka.ts), for issue #24's open item "KafkaJS reads nothing of a topic whose
 * partitions start with an aborted transaction":
 * 1. snappy: an aborted then a committed transaction, snappy-compressed (franz-go's default), read by a
 *    consumer without and then with a snappy codec registered.
 * 2. interleaved: producer A begins (offset 0), producer B begins (1), B aborts, A aborts, A commits one
 *    record. KafkaJS's filterAbortedMessages assumes the aborted list sorted by first offset.
 *
 *   node --import tsx scripts/interop/kafkajs-read-committed-probe.ts runnel|kafka
 */
import kafkajs from 'kafkajs';
import snappy from 'snappy';
import { startHarness } from '../../test/broker/standalone-harness.js';
import { startKafka } from '../kafka/kafka.js';

const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = kafkajs;
type KafkaClient = InstanceType<typeof Kafka>;

async function read(kafka: KafkaClient, topic: string, groupId: string, waitMs = 5000): Promise<{ values: string[]; crashes: string[] }> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const values: string[] = [];
  const crashes: string[] = [];
  consumer.on(consumer.events.CRASH, (e) => crashes.push(String((e.payload as { error?: Error }).error?.message)));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value?.toString() ?? ''); } });
  await new Promise((r) => setTimeout(r, waitMs));
  await consumer.disconnect();
  return { values, crashes };
}

async function snappyProbe(kafka: KafkaClient): Promise<string> {
  const topic = 'probe-snappy';
  const original = CompressionCodecs[CompressionTypes.Snappy];
  const codec = (): { compress: (e: { buffer: Buffer }) => Promise<Buffer>; decompress: (b: Buffer) => Promise<Buffer> } => ({
    compress: async (e) => snappy.compressSync(e.buffer),
    decompress: async (b) => snappy.uncompressSync(b) as Buffer,
  });
  CompressionCodecs[CompressionTypes.Snappy] = codec;
  const producer = kafka.producer({ transactionalId: 'probe-snappy', idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const aborted = await producer.transaction();
  await aborted.send({ topic, compression: CompressionTypes.Snappy, messages: Array.from({ length: 5 }, (_, i) => ({ value: `a${i}` })) });
  await aborted.abort();
  const committed = await producer.transaction();
  await committed.send({ topic, compression: CompressionTypes.Snappy, messages: Array.from({ length: 10 }, (_, i) => ({ value: `c${i}` })) });
  await committed.commit();
  await producer.disconnect();
  CompressionCodecs[CompressionTypes.Snappy] = original;
  const without = await read(kafka, topic, 'probe-snappy-without');
  CompressionCodecs[CompressionTypes.Snappy] = codec;
  const withCodec = await read(kafka, topic, 'probe-snappy-with');
  return `snappy: without a codec ${without.values.length} records (${without.crashes[0] ?? 'no crash'}); with a codec ${withCodec.values.length} [${withCodec.values.join(',')}]`;
}

async function interleavedProbe(kafka: KafkaClient): Promise<string> {
  const topic = 'probe-interleaved';
  const a = kafka.producer({ transactionalId: 'probe-a', idempotent: true, maxInFlightRequests: 1 });
  const b = kafka.producer({ transactionalId: 'probe-b', idempotent: true, maxInFlightRequests: 1 });
  await a.connect();
  await b.connect();
  const early = await a.transaction();
  await early.send({ topic, messages: [{ value: 'a-aborted' }] });
  const late = await b.transaction();
  await late.send({ topic, messages: [{ value: 'b-aborted' }] });
  await late.abort();
  await early.abort();
  const committed = await a.transaction();
  await committed.send({ topic, messages: [{ value: 'committed' }] });
  await committed.commit();
  await a.disconnect();
  await b.disconnect();
  const { values } = await read(kafka, topic, 'probe-interleaved');
  return `interleaved: read_committed ${values.length} [${values.join(',')}]`;
}

async function main(): Promise<void> {
  const which = process.argv[2];
  if (which !== 'runnel' && which !== 'kafka') throw new Error('usage: kafkajs-read-committed-probe.ts runnel|kafka');
  const runnel = which === 'runnel' ? await startHarness() : undefined;
  const apache = which === 'kafka' ? await startKafka({ nodes: 1 }) : undefined;
  const bootstrap = runnel?.broker.bootstrapServers ?? apache?.bootstrapServers ?? '';
  try {
    const kafka = new Kafka({ brokers: [bootstrap], clientId: 'probe', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'probe-snappy', numPartitions: 1 }, { topic: 'probe-interleaved', numPartitions: 1 }] });
    await admin.disconnect();
    console.log(`${which}: ${await interleavedProbe(kafka)}`);
    console.log(`${which}: ${await snappyProbe(kafka)}`);
  } finally {
    await runnel?.close();
    await apache?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

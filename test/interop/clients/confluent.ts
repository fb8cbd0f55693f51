// Interop client: @confluentinc/kafka-javascript (librdkafka 2.x compiled from the npm package's bundled
// source, linked against Debian's zlib/OpenSSL/zstd/lz4: CKJS_LINKING=dynamic, see scripts/interop/setup.sh).
// It lives in ~/.cache/runnel/interop/confluent-js, outside the project's node_modules, so it is loaded
// dynamically. Usage: node --import tsx test/interop/clients/confluent.ts <bootstrap> <scenario>
// Its KafkaJS-compatible admin has no config API: `configs` is reported as skipped.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { main, check, records, replicationFactor, topicName, recordValue, sleep, PARTITIONS, TS0, Unsupported, type Expected } from './common.js';

const CLIENT = 'confluent-js';
const cache = process.env.RUNNEL_INTEROP_CACHE ?? join(homedir(), '.cache', 'runnel', 'interop');
const require = createRequire(join(cache, 'confluent-js', 'package.json'));
const ckjs = require('@confluentinc/kafka-javascript') as any;
const { Kafka, CompressionTypes, logLevel } = ckjs.KafkaJS;

function kafka(bootstrap: string): any {
  return new Kafka({ kafkaJS: { brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, clientId: 'runnel-interop-confluent' } });
}

async function withAdmin<T>(bootstrap: string, fn: (a: any) => Promise<T>): Promise<T> {
  const admin = kafka(bootstrap).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

async function createTopic(a: any, topic: string, partitions: number): Promise<void> {
  await a.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: replicationFactor() }] });
}

function header(h: Record<string, unknown> | undefined, k: string): string | undefined {
  const v = h?.[k];
  return v === undefined ? undefined : String(Buffer.isBuffer(v) ? v.toString() : v);
}

async function metadata(bootstrap: string): Promise<string> {
  const producer = new ckjs.Producer({ 'bootstrap.servers': bootstrap, 'socket.timeout.ms': 10000 });
  await new Promise<void>((resolve, reject) => {
    producer.on('event.error', reject);
    producer.connect({ timeout: 15000 }, (err: Error | null) => (err ? reject(err) : resolve()));
  });
  try {
    const md = await new Promise<any>((resolve, reject) =>
      producer.getMetadata({ timeout: 15000 }, (err: Error | null, m: any) => (err ? reject(err) : resolve(m))));
    check(md.brokers.length > 0, 'no brokers');
    return `brokers=${md.brokers.length} origin=${md.orig_broker_id}`;
  } finally {
    await new Promise<void>((r) => producer.disconnect(() => r()));
  }
}

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
// acks=0 never comes first: a broker answers a produce to a partition it does not lead yet (right after
// CreateTopics) by closing an acks=0 connection, silently dropping the records (Kafka behaves so too).
const ACKS = [1, -1, 0];

async function produceConsume(bootstrap: string): Promise<string> {
  const n = records();
  const topic = topicName('pc', CLIENT);
  await withAdmin(bootstrap, (a) => createTopic(a, topic, PARTITIONS));
  const k = kafka(bootstrap);
  const expected: Expected[][] = Array.from({ length: PARTITIONS }, () => []);
  const per = Math.ceil(n / (CODECS.length * ACKS.length));
  let i = 0;
  for (const codec of CODECS) {
    for (const acks of ACKS) {
      const compression = codec === 'none' ? CompressionTypes.None : codec;
      const producer = k.producer({ kafkaJS: { acks, compression, idempotent: false, allowAutoTopicCreation: false } });
      await producer.connect();
      const segEnd = Math.min(n, i + per);
      while (i < segEnd) {
        const messages = [];
        for (let j = 0; j < 200 && i < segEnd; j++, i++) {
          const value = recordValue(i, codec, String(acks));
          const p = i % PARTITIONS;
          messages.push({ key: `k${i}`, value, partition: p, headers: { idx: String(i), client: CLIENT } });
          expected[p]!.push({ key: `k${i}`, value, idx: String(i) });
        }
        await producer.send({ topic, messages });
      }
      await producer.flush({ timeout: 20000 });
      // acks=0: delivery is reported once the request is handed to the network thread; give the
      // last request time to leave the socket before disconnect() closes it.
      if (acks === 0) await sleep(500);
      await producer.disconnect();
    }
  }
  const got: Array<Array<{ offset: string; key: string; value: string; idx?: string; client?: string }>> = Array.from({ length: PARTITIONS }, () => []);
  let total = 0;
  const consumer = k.consumer({ kafkaJS: { groupId: `pc-reader-${topic}`, fromBeginning: true, autoCommit: false } });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  await consumer.run({
    eachMessage: async ({ partition, message }: any) => {
      got[partition]!.push({
        offset: String(message.offset), key: message.key?.toString() ?? '', value: message.value?.toString() ?? '',
        idx: header(message.headers, 'idx'), client: header(message.headers, 'client'),
      });
      total++;
    },
  });
  // Bounded: 60 s overall, and give up after 15 s without a new record.
  const deadline = Date.now() + 60_000;
  let lastTotal = -1;
  let lastProgress = Date.now();
  while (total < n && Date.now() < deadline && Date.now() - lastProgress < 15_000) {
    if (total !== lastTotal) { lastTotal = total; lastProgress = Date.now(); }
    await sleep(100);
  }
  await consumer.disconnect();
  for (let p = 0; p < PARTITIONS; p++) {
    const exp = expected[p]!;
    const g = got[p]!;
    check(g.length === exp.length, `partition ${p}: read ${g.length} of ${exp.length}`);
    for (let o = 0; o < exp.length; o++) {
      const r = g[o]!;
      const e = exp[o]!;
      check(r.offset === String(o), `partition ${p}: offset ${r.offset} expected ${o}`);
      check(r.key === e.key, `partition ${p} offset ${o}: key ${r.key} expected ${e.key}`);
      check(r.value === e.value, `partition ${p} offset ${o}: value mismatch`);
      check(r.idx === e.idx && r.client === CLIENT, `partition ${p} offset ${o}: headers mismatch`);
    }
  }
  return `records=${n} codecs=${CODECS.join(',')} acks=0,1,-1 partitions=${PARTITIONS}`;
}

async function produceTen(bootstrap: string, topic: string): Promise<void> {
  const producer = kafka(bootstrap).producer({ kafkaJS: { acks: -1 } });
  await producer.connect();
  for (let i = 0; i < 10; i++) {
    await producer.send({ topic, messages: [{ key: `k${i}`, value: `v${i}`, partition: 0, timestamp: String(TS0 + i * 1000) }] });
  }
  await producer.disconnect();
}

async function listOffsets(bootstrap: string): Promise<string> {
  const topic = topicName('lo', CLIENT);
  return withAdmin(bootstrap, async (a) => {
    await createTopic(a, topic, 1);
    await produceTen(bootstrap, topic);
    const [o] = await a.fetchTopicOffsets(topic);
    check(o?.low === '0', `earliest=${o?.low}`);
    check(o.high === '10', `latest=${o.high}`);
    const [t] = await a.fetchTopicOffsetsByTimestamp(topic, TS0 + 4500);
    check(String(t?.offset) === '5', `byTimestamp(ts0+4500)=${t?.offset} expected 5`);
    return 'earliest=0 latest=10 byTimestamp=5';
  });
}

async function deleteRecords(bootstrap: string): Promise<string> {
  const topic = topicName('dr', CLIENT);
  return withAdmin(bootstrap, async (a) => {
    await createTopic(a, topic, 1);
    await produceTen(bootstrap, topic);
    const res = await a.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
    const low = res?.[0]?.lowWatermark;
    check(String(low) === '4', `lowWatermark=${low}`);
    const [o] = await a.fetchTopicOffsets(topic);
    check(o?.low === '4', `earliest after delete=${o?.low}`);
    return 'lowWatermark=4 earliest=4';
  });
}

async function group(bootstrap: string): Promise<string> {
  return groupWith(bootstrap, 'grp', 'classic');
}

/**
 * consumer-848 with librdkafka's KIP-848 consumer (`group.protocol=consumer`): the broker assigns, so
 * session.timeout.ms and the assignment strategy are not the client's to set.
 */
async function consumer848(bootstrap: string): Promise<string> {
  return groupWith(bootstrap, 'c848', 'consumer');
}

async function groupWith(bootstrap: string, scenario: string, protocol: 'classic' | 'consumer'): Promise<string> {
  const topic = topicName(scenario, CLIENT);
  const groupId = `g-${topic}`;
  const parts = 6;
  const perPartition = 100;
  await withAdmin(bootstrap, (a) => createTopic(a, topic, parts));
  const k = kafka(bootstrap);
  const seen = new Map<string, number>();
  const owners = new Map<number, Set<number>>();
  const consumers = [0, 1, 2].map(() => (protocol === 'classic'
    ? k.consumer({ kafkaJS: { groupId, fromBeginning: true, autoCommit: false, sessionTimeout: 15000 } })
    : k.consumer({ 'group.protocol': 'consumer', kafkaJS: { groupId, fromBeginning: true, autoCommit: false } })));
  for (const [m, c] of consumers.entries()) {
    await c.connect();
    await c.subscribe({ topics: [topic] });
    await c.run({
      eachMessage: async ({ partition, message }: any) => {
        const v = message.value?.toString() ?? '';
        seen.set(v, (seen.get(v) ?? 0) + 1);
        if (!owners.has(partition)) owners.set(partition, new Set());
        owners.get(partition)!.add(m);
        await c.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
      },
    });
  }
  let deadline = Date.now() + 45_000;
  const sizes = (): number[] => consumers.map((c) => c.assignment().length as number);
  const stable = (): boolean => sizes().every((s) => s > 0) && sizes().reduce((a, b) => a + b, 0) === parts;
  while (Date.now() < deadline && !stable()) await sleep(200);
  await sleep(500);
  const split = sizes().join('/');
  if (!stable()) {
    await Promise.all(consumers.map((c) => c.disconnect()));
    throw new Error(`group never stable within 45 s (split ${split})`);
  }
  const producer = k.producer({ kafkaJS: { acks: -1 } });
  await producer.connect();
  for (let p = 0; p < parts; p++) {
    await producer.send({ topic, messages: Array.from({ length: perPartition }, (_, j) => ({ key: 'k', value: `p${p}-${j}`, partition: p })) });
  }
  await producer.disconnect();
  const expected = parts * perPartition;
  deadline = Date.now() + 60_000;
  while (seen.size < expected && Date.now() < deadline) await sleep(100);
  await sleep(500);
  await Promise.all(consumers.map((c) => c.disconnect()));
  check(seen.size === expected, `consumed ${seen.size} distinct of ${expected} (split ${split})`);
  for (const [v, count] of seen) check(count === 1, `${v} consumed ${count} times`);
  for (const [p, o] of owners) check(o.size === 1, `partition ${p} consumed by ${[...o].join(',')}`);
  check(!split.split('/').includes('0'), `not split across 3 members: ${split}`);
  return withAdmin(bootstrap, async (a) => {
    const offs = await a.fetchOffsets({ groupId, topics: [topic] });
    const ps = offs[0]?.partitions ?? [];
    check(ps.length === parts, `committed offsets for ${ps.length} partitions`);
    for (const p of ps) check(String(p.offset) === String(perPartition), `committed offset partition ${p.partition} = ${p.offset}`);
    return `${expected} records exactly once, split ${split}, committed ${perPartition} per partition`;
  });
}

/** Every value of the topic from the start (a fresh group) until `want` or 20 s, then 1 s more. */
async function readValues(bootstrap: string, topic: string, isolation: 'read_committed' | 'read_uncommitted', want: number): Promise<string[]> {
  const consumer = kafka(bootstrap).consumer({
    kafkaJS: { groupId: `${topic}-read-${isolation}`, fromBeginning: true }, 'isolation.level': isolation,
  });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ eachMessage: async ({ message }: any) => { values.push(message.value?.toString() ?? ''); } });
    const deadline = Date.now() + 30_000;
    while (values.length < want && Date.now() < deadline) await sleep(100);
    await sleep(1000);
  } finally {
    await consumer.disconnect();
  }
  return values;
}

/**
 * SCENARIOS.md transactions with librdkafka's transactional producer: commit 100 (+ the group offset 42,
 * sent with a consumer's group metadata as librdkafka requires), abort 50 (+ offset 99), commit 100.
 */
async function transactions(bootstrap: string): Promise<string> {
  const topic = topicName('txn', CLIENT);
  const groupId = `${topic}-group`;
  await withAdmin(bootstrap, (a) => createTopic(a, topic, PARTITIONS));
  const k = kafka(bootstrap);
  const producer = k.producer({ kafkaJS: { transactionalId: topic, idempotent: true, maxInFlightRequests: 1 } });
  const groupConsumer = k.consumer({ kafkaJS: { groupId } });
  await producer.connect();
  await groupConsumer.connect();
  try {
    const steps: [string, number, number, boolean, number | undefined][] = [['c', 0, 100, true, 42], ['a', 0, 50, false, 99], ['c', 100, 200, true, undefined]];
    for (const [prefix, from, to, commit, offset] of steps) {
      const txn = await producer.transaction();
      const messages = [];
      for (let i = from; i < to; i++) messages.push({ key: `k${i}`, value: `${prefix}${i}`, partition: i % PARTITIONS });
      await txn.send({ topic, messages });
      if (offset !== undefined) await txn.sendOffsets({ consumer: groupConsumer, topics: [{ topic, partitions: [{ partition: 0, offset: String(offset) }] }] });
      if (commit) await txn.commit();
      else await txn.abort();
    }
  } finally {
    await producer.disconnect();
    await groupConsumer.disconnect();
  }
  const committed = await readValues(bootstrap, topic, 'read_committed', 200);
  const distinct = new Set(committed);
  check(committed.length === 200 && distinct.size === 200 && [...distinct].every((v) => v.startsWith('c')),
    `read_committed: ${committed.length} records, ${distinct.size} distinct, aborted seen ${committed.filter((v) => v.startsWith('a')).length}`);
  const all = await readValues(bootstrap, topic, 'read_uncommitted', 250);
  check(all.length === 250, `read_uncommitted: ${all.length} records`);
  return withAdmin(bootstrap, async (a) => {
    const offs = await a.fetchOffsets({ groupId, topics: [topic] });
    const p0 = offs[0]?.partitions.find((p: any) => p.partition === 0)?.offset;
    check(String(p0) === '42', `group offset after the aborted sendOffsets: ${p0}`);
    return 'read_committed 200/200 once each, read_uncommitted 250, group offset 42';
  });
}

await main(CLIENT, {
  metadata, 'produce-consume': produceConsume, 'list-offsets': listOffsets, transactions,
  configs: async () => { throw new Unsupported('the KafkaJS-compatible admin of @confluentinc/kafka-javascript has no config API'); },
  'delete-records': deleteRecords, group, 'consumer-848': consumer848,
});

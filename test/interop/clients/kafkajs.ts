// Interop client: KafkaJS. Usage: tsx test/interop/clients/kafkajs.ts <bootstrap> <scenario>
// KafkaJS ships gzip only; snappy (xerial-framed on read), lz4 (frame format) and zstd are registered
// here with the codecs the project already depends on.
import kafkajs, { type Admin, type IHeaders } from 'kafkajs';
import snappy from 'snappy';
import lz4 from 'lz4-napi';
import zstd from 'zstd-napi';
import { main, check, records, replicationFactor, topicName, recordValue, sleep, PARTITIONS, TS0, type Expected } from './common.js';

const CLIENT = 'kafkajs';
const { Kafka, logLevel, CompressionTypes, CompressionCodecs, ConfigResourceTypes } = kafkajs;

function snappyDecode(buf: Buffer): Buffer {
  // xerial framing: 0x82 "SNAPPY" 0x00, version, compatible version, then [int32 length][chunk]...
  if (buf.length > 16 && buf[0] === 0x82 && buf.subarray(1, 7).toString() === 'SNAPPY') {
    const parts: Buffer[] = [];
    let o = 16;
    for (let n = 0; o + 4 <= buf.length && n < 1_000_000; n++) {
      const len = buf.readInt32BE(o);
      parts.push(snappy.uncompressSync(buf.subarray(o + 4, o + 4 + len)) as Buffer);
      o += 4 + len;
    }
    return Buffer.concat(parts);
  }
  return snappy.uncompressSync(buf) as Buffer;
}

interface Encoder { buffer: Buffer }
CompressionCodecs[CompressionTypes.Snappy] = () => ({
  compress: async (e: Encoder) => snappy.compressSync(e.buffer),
  decompress: async (b: Buffer) => snappyDecode(b),
});
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (e: Encoder) => lz4.compressFrameSync(e.buffer),
  decompress: async (b: Buffer) => lz4.decompressFrameSync(b),
});
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: async (e: Encoder) => zstd.compress(e.buffer),
  decompress: async (b: Buffer) => zstd.decompress(b),
});

function kafka(bootstrap: string): InstanceType<typeof Kafka> {
  return new Kafka({
    clientId: 'runnel-interop-kafkajs',
    brokers: bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 5, initialRetryTime: 200 },
  });
}

async function withAdmin<T>(bootstrap: string, fn: (a: Admin) => Promise<T>): Promise<T> {
  const admin = kafka(bootstrap).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

async function createTopic(a: Admin, topic: string, partitions: number): Promise<void> {
  await a.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: replicationFactor() }], waitForLeaders: true });
}

function header(h: IHeaders | undefined, k: string): string | undefined {
  const v = h?.[k];
  return v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString() : String(v);
}

async function metadata(bootstrap: string): Promise<string> {
  return withAdmin(bootstrap, async (a) => {
    const c = await a.describeCluster();
    check(c.brokers.length > 0, 'no brokers');
    return `brokers=${c.brokers.length} clusterId=${c.clusterId} controller=${c.controller}`;
  });
}

const CODECS: Array<[string, kafkajs.CompressionTypes]> = [
  ['none', CompressionTypes.None], ['gzip', CompressionTypes.GZIP], ['snappy', CompressionTypes.Snappy],
  ['lz4', CompressionTypes.LZ4], ['zstd', CompressionTypes.ZSTD],
];
// acks=0 never comes first: a broker answers a produce to a partition it does not lead yet (right after
// CreateTopics) by closing an acks=0 connection, silently dropping the records (Kafka behaves so too).
const ACKS: Array<[string, number]> = [['1', 1], ['-1', -1], ['0', 0]];

async function produceConsume(bootstrap: string): Promise<string> {
  const n = records();
  const topic = topicName('pc', CLIENT);
  await withAdmin(bootstrap, (a) => createTopic(a, topic, PARTITIONS));
  const k = kafka(bootstrap);
  const producer = k.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const expected: Expected[][] = Array.from({ length: PARTITIONS }, () => []);
  const per = Math.ceil(n / (CODECS.length * ACKS.length));
  let i = 0;
  for (const [codec, ctype] of CODECS) {
    for (const [acksName, acks] of ACKS) {
      const segEnd = Math.min(n, i + per);
      // Sequential sends of up to 200 records each keep per-partition order for acks=0 as well.
      while (i < segEnd) {
        const messages = [];
        for (let j = 0; j < 200 && i < segEnd; j++, i++) {
          const value = recordValue(i, codec, acksName);
          const p = i % PARTITIONS;
          messages.push({ key: `k${i}`, value, partition: p, headers: { idx: String(i), client: CLIENT } });
          expected[p]!.push({ key: `k${i}`, value, idx: String(i) });
        }
        await producer.send({ topic, acks, compression: ctype, messages });
      }
    }
  }
  await sleep(300);
  await producer.disconnect();

  const consumer = k.consumer({ groupId: `pc-reader-${topic}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: Array<Array<{ offset: string; key: string; value: string; idx?: string; client?: string }>> = Array.from({ length: PARTITIONS }, () => []);
  let total = 0;
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      got[partition]!.push({
        offset: message.offset, key: message.key?.toString() ?? '', value: message.value?.toString() ?? '',
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
  return `records=${n} codecs=${CODECS.map((c) => c[0]).join(',')} acks=0,1,-1 partitions=${PARTITIONS}`;
}

async function produceTen(bootstrap: string, topic: string): Promise<void> {
  const producer = kafka(bootstrap).producer();
  await producer.connect();
  for (let i = 0; i < 10; i++) {
    await producer.send({ topic, acks: -1, messages: [{ key: `k${i}`, value: `v${i}`, partition: 0, timestamp: String(TS0 + i * 1000) }] });
  }
  await producer.disconnect();
}

async function listOffsets(bootstrap: string): Promise<string> {
  const topic = topicName('lo', CLIENT);
  return withAdmin(bootstrap, async (a) => {
    await createTopic(a, topic, 1);
    await produceTen(bootstrap, topic);
    const [o] = await a.fetchTopicOffsets(topic);
    check(o !== undefined && o.low === '0', `earliest=${o?.low}`);
    check(o.high === '10', `latest=${o.high}`);
    const [t] = await a.fetchTopicOffsetsByTimestamp(topic, TS0 + 4500);
    check(t?.offset === '5', `byTimestamp(ts0+4500)=${t?.offset} expected 5`);
    return 'earliest=0 latest=10 byTimestamp=5';
  });
}

async function configs(bootstrap: string): Promise<string> {
  const topic = topicName('cfg', CLIENT);
  return withAdmin(bootstrap, async (a) => {
    await createTopic(a, topic, 1);
    await a.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '123456789' }] }] });
    let value: string | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const d = await a.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }] });
      value = d.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
      if (value === '123456789') break;
      await sleep(200);
    }
    check(value === '123456789', `retention.ms=${value} after alter`);
    return 'retention.ms=123456789 (alterConfigs + describeConfigs)';
  });
}

async function deleteRecords(bootstrap: string): Promise<string> {
  const topic = topicName('dr', CLIENT);
  return withAdmin(bootstrap, async (a) => {
    await createTopic(a, topic, 1);
    await produceTen(bootstrap, topic);
    // KafkaJS quirk: deleteTopicRecords looks the leader up in the admin's broker pool, which only
    // holds the seed broker until some call refreshes metadata (else KafkaJSBrokerNotFound).
    await a.fetchTopicMetadata({ topics: [topic] });
    await a.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
    const [o] = await a.fetchTopicOffsets(topic);
    check(o?.low === '4', `earliest after delete=${o?.low}`);
    check(o.high === '10', `latest after delete=${o.high}`);
    return 'earliest=4 latest=10 after deleteTopicRecords(offset 4)';
  });
}

async function group(bootstrap: string): Promise<string> {
  const topic = topicName('grp', CLIENT);
  const groupId = `g-${topic}`;
  const parts = 6;
  const perPartition = 100;
  await withAdmin(bootstrap, (a) => createTopic(a, topic, parts));
  const k = kafka(bootstrap);
  const seen = new Map<string, number>();
  const owners = new Map<number, Set<number>>();
  const assigned: number[][] = [[], [], []];
  const consumers = [0, 1, 2].map(() => k.consumer({ groupId, maxWaitTimeInMs: 200, sessionTimeout: 15000, rebalanceTimeout: 20000 }));
  for (const [m, c] of consumers.entries()) {
    c.on(c.events.GROUP_JOIN, (e) => { assigned[m] = (e.payload.memberAssignment[topic] ?? []) as number[]; });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const v = message.value?.toString() ?? '';
        seen.set(v, (seen.get(v) ?? 0) + 1);
        if (!owners.has(partition)) owners.set(partition, new Set());
        owners.get(partition)!.add(m);
        await c.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      },
    });
  }
  // Wait for a stable 3-way split before producing, so a rebalance cannot deliver a record twice.
  let deadline = Date.now() + 45_000;
  const stable = (): boolean => assigned.every((a) => a.length > 0) && assigned.flat().length === parts;
  while (Date.now() < deadline && !stable()) await sleep(200);
  await sleep(500);
  const split = assigned.map((a) => a.length).join('/');
  if (!stable()) {
    await Promise.all(consumers.map((c) => c.disconnect()));
    throw new Error(`group never stable within 45 s (split ${split})`);
  }
  const producer = k.producer();
  await producer.connect();
  for (let p = 0; p < parts; p++) {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: perPartition }, (_, j) => ({ key: 'k', value: `p${p}-${j}`, partition: p })) });
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
  check(assigned.every((a) => a.length > 0), `not split across 3 members: ${split}`);
  return withAdmin(bootstrap, async (a) => {
    const offs = await a.fetchOffsets({ groupId, topics: [topic] });
    for (const p of offs[0]?.partitions ?? []) check(p.offset === String(perPartition), `committed offset partition ${p.partition} = ${p.offset}`);
    check((offs[0]?.partitions.length ?? 0) === parts, 'committed offsets missing');
    return `${expected} records exactly once, split ${split}, committed ${perPartition} per partition`;
  });
}

/** Every value of the topic from the start (a fresh group) until `want` or 20 s, then 1 s more. */
async function readValues(bootstrap: string, topic: string, readUncommitted: boolean, want: number): Promise<string[]> {
  const consumer = kafka(bootstrap).consumer({ groupId: `${topic}-read-${readUncommitted ? 'u' : 'c'}`, readUncommitted, maxWaitTimeInMs: 200 });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value?.toString() ?? ''); } });
    const deadline = Date.now() + 20_000;
    while (values.length < want && Date.now() < deadline) await sleep(100);
    await sleep(1000);
  } finally {
    await consumer.disconnect();
  }
  return values;
}

/** SCENARIOS.md transactions: commit 100 (+ group offset 42), abort 50 (+ offset 99), commit 100. */
async function transactions(bootstrap: string): Promise<string> {
  const topic = topicName('txn', CLIENT);
  const groupId = `${topic}-group`;
  await withAdmin(bootstrap, (a) => createTopic(a, topic, PARTITIONS));
  const producer = kafka(bootstrap).producer({ transactionalId: topic, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const steps: [string, number, number, boolean, number | undefined][] = [['c', 0, 100, true, 42], ['a', 0, 50, false, 99], ['c', 100, 200, true, undefined]];
    for (const [prefix, from, to, commit, offset] of steps) {
      const txn = await producer.transaction();
      const messages = [];
      for (let i = from; i < to; i++) messages.push({ key: `k${i}`, value: `${prefix}${i}`, partition: i % PARTITIONS });
      await txn.send({ topic, messages });
      if (offset !== undefined) await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: String(offset) }] }] });
      if (commit) await txn.commit();
      else await txn.abort();
    }
  } finally {
    await producer.disconnect();
  }
  const committed = await readValues(bootstrap, topic, false, 200);
  const distinct = new Set(committed);
  check(committed.length === 200 && distinct.size === 200 && [...distinct].every((v) => v.startsWith('c')),
    `read_committed: ${committed.length} records, ${distinct.size} distinct, aborted seen ${committed.filter((v) => v.startsWith('a')).length}`);
  const all = await readValues(bootstrap, topic, true, 250);
  check(all.length === 250, `read_uncommitted: ${all.length} records`);
  return withAdmin(bootstrap, async (a) => {
    const offs = await a.fetchOffsets({ groupId, topics: [topic] });
    const p0 = offs[0]?.partitions.find((p) => p.partition === 0)?.offset;
    check(p0 === '42', `group offset after the aborted sendOffsets: ${p0}`);
    return 'read_committed 200/200 once each, read_uncommitted 250, group offset 42';
  });
}

await main(CLIENT, {
  metadata, 'produce-consume': produceConsume, 'list-offsets': listOffsets, configs, 'delete-records': deleteRecords, group, transactions,
});

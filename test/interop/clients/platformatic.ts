// Interop client: @platformatic/kafka. Usage: tsx test/interop/clients/platformatic.ts <bootstrap> <scenario>
import {
  Admin, Producer, Consumer, stringSerializers, stringDeserializers,
  ConfigResourceTypes, IncrementalAlterConfigOperationTypes, type CompressionAlgorithmValue,
} from '@platformatic/kafka';
import { main, check, records, replicationFactor, topicName, recordValue, sleep, PARTITIONS, TS0, type Expected } from './common.js';

const CLIENT = 'platformatic';

function base(bootstrap: string): { clientId: string; bootstrapBrokers: string[]; timeout: number; retries: number } {
  return { clientId: 'runnel-interop-platformatic', bootstrapBrokers: bootstrap.split(','), timeout: 15000, retries: 5 };
}

async function withAdmin<T>(bootstrap: string, fn: (a: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(base(bootstrap));
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

async function createTopic(a: Admin, topic: string, partitions: number): Promise<void> {
  await a.createTopics({ topics: [topic], partitions, replicas: replicationFactor() });
  // Wait until every partition's leader serves it (ListOffsets answers without error). Producing
  // earlier meets NOT_LEADER_OR_FOLLOWER, which this client handles badly: it re-sends the whole
  // multi-partition request (duplicating the partitions that were written) or fails parsing the
  // KIP-951 response ("Out of bounds"). Seen against Kafka and Runnel alike.
  const deadline = Date.now() + 15_000;
  for (let attempt = 0; attempt < 150 && Date.now() < deadline; attempt++) {
    try {
      await a.listOffsets({ topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, timestamp: -1n })) }] });
      return;
    } catch {
      await sleep(100);
    }
  }
}

function headerOf(h: Map<string, string>, k: string): string | undefined {
  return h.get(k);
}

async function metadata(bootstrap: string): Promise<string> {
  return withAdmin(bootstrap, async (a) => {
    const md = await a.metadata({ topics: [] });
    check(md.brokers.size > 0, 'no brokers');
    return `brokers=${md.brokers.size} clusterId=${md.id} controller=${md.controllerId}`;
  });
}

// zstd needs node:zlib zstd (Node 22+): on Node 20 the client refuses it (PLT_KFK_UNSUPPORTED_COMPRESSION).
const CODECS: CompressionAlgorithmValue[] = Number(process.versions.node.split('.')[0]) >= 22
  ? ['none', 'gzip', 'snappy', 'lz4', 'zstd'] : ['none', 'gzip', 'snappy', 'lz4'];
// acks=0 never comes first: a broker answers a produce to a partition it does not lead yet (right after
// CreateTopics) by closing an acks=0 connection, silently dropping the records (Kafka behaves so too).
const ACKS = [1, -1, 0];

type Got = { offset: bigint; key: string; value: string; idx?: string; client?: string };

async function readAll(bootstrap: string, topic: string, groupId: string, want: number): Promise<Got[][]> {
  const consumer = new Consumer({ ...base(bootstrap), groupId, deserializers: stringDeserializers, maxWaitTime: 300 });
  const got: Got[][] = Array.from({ length: PARTITIONS }, () => []);
  let total = 0;
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
  stream.on('data', (m) => {
    got[m.partition]!.push({ offset: m.offset, key: m.key, value: m.value, idx: headerOf(m.headers, 'idx'), client: headerOf(m.headers, 'client') });
    total++;
  });
  // Bounded: 60 s overall, and give up after 15 s without a new record.
  const deadline = Date.now() + 60_000;
  let lastTotal = -1;
  let lastProgress = Date.now();
  while (total < want && Date.now() < deadline && Date.now() - lastProgress < 15_000) {
    if (total !== lastTotal) { lastTotal = total; lastProgress = Date.now(); }
    await sleep(100);
  }
  await stream.close();
  await consumer.close(true);
  return got;
}

async function produceConsume(bootstrap: string): Promise<string> {
  const n = records();
  const topic = topicName('pc', CLIENT);
  await withAdmin(bootstrap, (a) => createTopic(a, topic, PARTITIONS));
  const expected: Expected[][] = Array.from({ length: PARTITIONS }, () => []);
  const per = Math.ceil(n / (CODECS.length * ACKS.length));
  let i = 0;
  for (const codec of CODECS) {
    for (const acks of ACKS) {
      // One producer per segment (like the other clients). retries: 0: a retried non-idempotent
      // produce can duplicate a batch, which would look like a broker bug.
      const producer = new Producer({ ...base(bootstrap), retries: 0, serializers: stringSerializers });
      const segEnd = Math.min(n, i + per);
      while (i < segEnd) {
        const messages = [];
        for (let j = 0; j < 200 && i < segEnd; j++, i++) {
          const value = recordValue(i, codec, String(acks));
          const p = i % PARTITIONS;
          messages.push({ topic, key: `k${i}`, value, partition: p, headers: { idx: String(i), client: CLIENT } });
          expected[p]!.push({ key: `k${i}`, value, idx: String(i) });
        }
        const result = await producer.send({ messages, acks, compression: codec, idempotent: false });
        // acks=0: a node whose socket buffer is full is reported unwritable; let it drain.
        if ((result.unwritableNodes?.length ?? 0) > 0) await sleep(50);
      }
      if (acks === 0) await sleep(300);
      await producer.close();
    }
  }
  const got = await readAll(bootstrap, topic, `pc-reader-${topic}`, n);
  for (let p = 0; p < PARTITIONS; p++) {
    const exp = expected[p]!;
    const g = got[p]!;

    if (g.length !== exp.length && process.env.INTEROP_DEBUG) {
      const keys = g.map((x) => `${x.offset}:${x.key}`);
      const dup = keys.filter((k, j) => keys.indexOf(k) !== j);
      console.error('dups', dup.length, dup.slice(0, 5), 'max offset', g.at(-1)?.offset);
      const first = g.findIndex((x, j) => x.key !== exp[j]?.key);
      console.error('first mismatch at', first, g.slice(first - 1, first + 2).map((x) => x.key), exp.slice(first - 1, first + 2).map((x) => x.key));
    }
    check(g.length === exp.length, `partition ${p}: read ${g.length} of ${exp.length}`);
    for (let o = 0; o < exp.length; o++) {
      const r = g[o]!;
      const e = exp[o]!;
      check(r.offset === BigInt(o), `partition ${p}: offset ${r.offset} expected ${o}`);
      check(r.key === e.key, `partition ${p} offset ${o}: key ${r.key} expected ${e.key}`);
      check(r.value === e.value, `partition ${p} offset ${o}: value mismatch`);
      check(r.idx === e.idx && r.client === CLIENT, `partition ${p} offset ${o}: headers mismatch`);
    }
  }
  return `records=${n} codecs=${CODECS.join(',')} acks=0,1,-1 partitions=${PARTITIONS}`;
}

async function produceTen(bootstrap: string, topic: string): Promise<void> {
  const producer = new Producer({ ...base(bootstrap), serializers: stringSerializers });
  for (let i = 0; i < 10; i++) {
    await producer.send({ acks: -1, messages: [{ topic, key: `k${i}`, value: `v${i}`, partition: 0, timestamp: BigInt(TS0 + i * 1000) }] });
  }
  await producer.close();
}

async function offsetAt(a: Admin, topic: string, timestamp: bigint): Promise<bigint> {
  const r = await a.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp }] }] });
  const o = r[0]?.partitions[0]?.offset;
  check(o !== undefined, 'no ListOffsets answer for partition 0');
  return o;
}

async function listOffsets(bootstrap: string): Promise<string> {
  const topic = topicName('lo', CLIENT);
  return withAdmin(bootstrap, async (a) => {
    await createTopic(a, topic, 1);
    await produceTen(bootstrap, topic);
    const earliest = await offsetAt(a, topic, -2n);
    const latest = await offsetAt(a, topic, -1n);
    const byTs = await offsetAt(a, topic, BigInt(TS0 + 4500));
    check(earliest === 0n && latest === 10n && byTs === 5n, `earliest=${earliest} latest=${latest} byTimestamp=${byTs}, expected 0/10/5`);
    return 'earliest=0 latest=10 byTimestamp=5';
  });
}

async function configs(bootstrap: string): Promise<string> {
  const topic = topicName('cfg', CLIENT);
  return withAdmin(bootstrap, async (a) => {
    await createTopic(a, topic, 1);
    await a.incrementalAlterConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic,
      configs: [{ name: 'retention.ms', configOperation: IncrementalAlterConfigOperationTypes.SET, value: '123456789' }] }] });
    let value: string | null | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const d = await a.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ['retention.ms'] }] });
      value = d[0]?.configs.find((c) => c.name === 'retention.ms')?.value;
      if (value === '123456789') break;
      await sleep(200);
    }
    check(value === '123456789', `retention.ms=${value} after alter`);
    return 'retention.ms=123456789 (incrementalAlterConfigs + describeConfigs)';
  });
}

async function deleteRecords(bootstrap: string): Promise<string> {
  const topic = topicName('dr', CLIENT);
  return withAdmin(bootstrap, async (a) => {
    await createTopic(a, topic, 1);
    await produceTen(bootstrap, topic);
    const r = await a.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 0, offset: 4n }] }] });
    const low = r[0]?.partitions[0]?.lowWatermark;
    check(low === 4n, `lowWatermark=${low}`);
    const earliest = await offsetAt(a, topic, -2n);
    check(earliest === 4n, `earliest after delete=${earliest}`);
    return 'lowWatermark=4 earliest=4';
  });
}

async function group(bootstrap: string): Promise<string> {
  const topic = topicName('grp', CLIENT);
  const groupId = `g-${topic}`;
  const parts = 6;
  const perPartition = 100;
  await withAdmin(bootstrap, (a) => createTopic(a, topic, parts));
  const seen = new Map<string, number>();
  const owners = new Map<number, Set<number>>();
  const assigned: number[] = [0, 0, 0];
  const consumers = [0, 1, 2].map(() => new Consumer({ ...base(bootstrap), groupId, deserializers: stringDeserializers, maxWaitTime: 300, sessionTimeout: 15000, heartbeatInterval: 1000 }));
  const streams = [];
  for (const [m, c] of consumers.entries()) {
    c.on('consumer:group:join', (payload) => {
      assigned[m] = (payload.assignments ?? []).filter((x) => x.topic === topic).reduce((acc, x) => acc + x.partitions.length, 0);
    });
    const stream = await c.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    stream.on('data', (msg) => {
      seen.set(msg.value, (seen.get(msg.value) ?? 0) + 1);
      if (!owners.has(msg.partition)) owners.set(msg.partition, new Set());
      owners.get(msg.partition)!.add(m);
      void msg.commit();
    });
    streams.push(stream);
  }
  let deadline = Date.now() + 45_000;
  const stable = (): boolean => assigned.every((a) => a > 0) && assigned.reduce((a, b) => a + b, 0) === parts;
  while (Date.now() < deadline && !stable()) await sleep(200);
  await sleep(500);
  const split = assigned.join('/');
  if (!stable()) {
    for (const s of streams) await s.close();
    await Promise.all(consumers.map((c) => c.close(true)));
    throw new Error(`group never stable within 45 s (split ${split})`);
  }
  const producer = new Producer({ ...base(bootstrap), serializers: stringSerializers });
  for (let p = 0; p < parts; p++) {
    await producer.send({ acks: -1, messages: Array.from({ length: perPartition }, (_, j) => ({ topic, key: 'k', value: `p${p}-${j}`, partition: p })) });
  }
  await producer.close();
  const expected = parts * perPartition;
  deadline = Date.now() + 60_000;
  while (seen.size < expected && Date.now() < deadline) await sleep(100);
  await sleep(1000);
  for (const s of streams) await s.close();
  await Promise.all(consumers.map((c) => c.close(true)));
  check(seen.size === expected, `consumed ${seen.size} distinct of ${expected} (split ${split})`);
  for (const [v, count] of seen) check(count === 1, `${v} consumed ${count} times`);
  for (const [p, o] of owners) check(o.size === 1, `partition ${p} consumed by ${[...o].join(',')}`);
  check(assigned.every((a) => a > 0), `not split across 3 members: ${split}`);
  return withAdmin(bootstrap, async (a) => {
    const offs = await a.listConsumerGroupOffsets({ groups: [groupId] });
    const ps = offs[0]?.topics.find((t) => t.name === topic)?.partitions ?? [];
    check(ps.length === parts, `committed offsets for ${ps.length} partitions`);
    for (const p of ps) check(p.committedOffset === BigInt(perPartition), `committed offset partition ${p.partitionIndex} = ${p.committedOffset}`);
    return `${expected} records exactly once, split ${split}, committed ${perPartition} per partition`;
  });
}

await main(CLIENT, {
  metadata, 'produce-consume': produceConsume, 'list-offsets': listOffsets, configs, 'delete-records': deleteRecords, group,
});

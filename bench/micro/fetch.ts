/**
 * Fetch micro-benchmark: `node --import tsx bench/micro/fetch.ts [--bootstrap host:port] [--messages N]`.
 * A KafkaJS producer writes N messages of 100 bytes (batches of 500, acks=1) to a one-partition topic;
 * then one consumer connection reads them back from offset 0 with Fetch v12 in an incremental session
 * (the Java consumer's pattern: full fetch, then epochs 1, 2, … naming only the partition whose offset
 * moved), max_bytes 50 MiB, partition_max_bytes 1 MiB, counting records from batch headers.
 * Without --bootstrap the broker runs in this process (one event loop for both sides: a lower bound).
 * Prints the machine (STYLE.md 15). No assertion on timing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import { startBroker } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';
import type { FetchRequest } from '../../src/protocol/generated/fetch.js';
import { RawClient } from '../../test/network/raw-client.js';
import { decodeResponseFrame, requestFrame } from '../../test/broker/kafka-test-client.js';

function arg(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const messages = Number(arg('--messages') ?? 100_000);
const batchMessages = 500;
const topic = `fetch-bench-${Date.now()}`;

async function produce(bootstrap: string): Promise<number> {
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'fetch-bench', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = Buffer.alloc(100, 0x61);
  const startedMs = performance.now();
  for (let sent = 0; sent < messages; sent += batchMessages) {
    const count = Math.min(batchMessages, messages - sent);
    await producer.send({
      topic, acks: 1, compression: CompressionTypes.None,
      messages: Array.from({ length: count }, () => ({ value })),
    });
  }
  const elapsedMs = performance.now() - startedMs;
  await producer.disconnect();
  return elapsedMs;
}

function fetchBody(fetchOffset: bigint, sessionId: number, sessionEpoch: number, includePartition: boolean): FetchRequest {
  return {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 500, minBytes: 1, maxBytes: 50 << 20, isolationLevel: 0, sessionId, sessionEpoch,
    topics: includePartition ? [{
      topic, topicId: ZERO_UUID, partitions: [{
        partition: 0, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n,
        partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID, highWatermark: 0x7fffffffffffffffn,
      }],
    }] : [],
    forgottenTopicsData: [], rackId: '',
  };
}

/** Records and bytes in a records blob (whole v2 batches), from their headers. */
function countRecords(records: Buffer): { records: number; lastOffset: bigint } {
  let count = 0;
  let lastOffset = -1n;
  for (let position = 0; position + 61 <= records.length;) {
    const batchLength = records.readInt32BE(position + 8) + 12;
    count += records.readInt32BE(position + 57);
    lastOffset = records.readBigInt64BE(position) + BigInt(records.readInt32BE(position + 23));
    position += batchLength;
  }
  return { records: count, lastOffset };
}

async function consume(port: number): Promise<{ elapsedMs: number; bytes: number; fetches: number }> {
  const client = await RawClient.connect(port);
  let offset = 0n;
  let consumed = 0;
  let bytes = 0;
  let fetches = 0;
  let sessionId = 0;
  let sessionEpoch = 0;
  let moved = true;
  const startedMs = performance.now();
  for (let round = 0; round < 1_000_000 && consumed < messages; round++) {
    const index = client.frames.length;
    client.write(requestFrame(ApiKey.Fetch, 12, round + 1, fetchBody(offset, sessionId, sessionEpoch, moved)));
    const frames = await client.waitFrames(index + 1, 10_000);
    const response = decodeResponseFrame(ApiKey.Fetch, 12, frames[index] as Buffer).body;
    client.frames.length = 0;
    fetches++;
    if (response.errorCode !== 0) throw new Error(`fetch error ${response.errorCode}`);
    if (sessionEpoch === 0) sessionId = response.sessionId;
    sessionEpoch = sessionId === 0 ? 0 : sessionEpoch + 1;
    moved = sessionId === 0;
    const records = response.responses[0]?.partitions[0]?.records ?? null;
    if (records === null || records.length === 0) continue;
    const counted = countRecords(records);
    consumed += counted.records;
    bytes += records.length;
    offset = counted.lastOffset + 1n;
    moved = true;
  }
  const elapsedMs = performance.now() - startedMs;
  client.destroy();
  return { elapsedMs, bytes, fetches };
}

async function main(): Promise<void> {
  const external = arg('--bootstrap');
  const dataDir = external === undefined ? await mkdtemp(join(tmpdir(), 'runnel-fetch-bench-')) : undefined;
  const broker = dataDir === undefined ? undefined : await startBroker({ dataDir, port: 0 });
  const bootstrap = external ?? (broker?.bootstrapServers as string);
  const port = Number(bootstrap.split(':').pop());
  try {
    const produceMs = await produce(bootstrap);
    const fetched = await consume(port);
    const cpu = cpus()[0]?.model ?? 'unknown cpu';
    process.stdout.write(`machine: ${platform()} ${release()}, ${cpus().length} × ${cpu}, node ${process.version}\n`);
    process.stdout.write(`broker: ${external === undefined ? 'in-process (shared event loop)' : `external ${external}`}\n`);
    process.stdout.write(`produce (KafkaJS, acks=1, ${batchMessages}/batch): ${messages} msgs in ${produceMs.toFixed(0)} ms = ${Math.round(messages / (produceMs / 1000))} msgs/s\n`);
    process.stdout.write(
      `fetch (v12 incremental session): ${messages} msgs, ${(fetched.bytes / 1048576).toFixed(1)} MiB in ${fetched.elapsedMs.toFixed(0)} ms `
      + `= ${Math.round(messages / (fetched.elapsedMs / 1000))} msgs/s, ${(fetched.bytes / 1048576 / (fetched.elapsedMs / 1000)).toFixed(1)} MiB/s, ${fetched.fetches} fetches\n`,
    );
  } finally {
    await broker?.close();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  }
}

await main();

/**
 * Acknowledged records are written exactly once under CPU load: a non-idempotent KafkaJS producer
 * (acks -1 and 1) sends to a fresh 3-partition topic right after CreateTopics, round after round,
 * while CPU burners (child processes spinning) compete with the broker (a Runnel child process, fsync
 * durability). Each send carries records for all 3 partitions in one Produce request, so a retriable
 * error on one partition (or a request timeout) makes KafkaJS resend the whole request and duplicate the
 * partitions that had succeeded — any retriable error the broker answers shows up as extra records.
 *
 * Checks per round: every partition's end offset equals the records acknowledged for it (sends that
 * failed after KafkaJS's retries are allowed 0..n extra records and reported). Every retry KafkaJS logs
 * (WARN/ERROR through its logCreator) is collected and reported; the test fails on a duplicate or on a
 * retriable produce error.
 *
 * Env: STRESS_MS (default 60000) total produce time (rounds start until then; read-backs ≤ 40 s more), STRESS_ROUNDS (default 400) round cap,
 * STRESS_BURNERS (default 2) CPU burner processes, STRESS_PARALLEL (default 2) topics produced at once,
 * STRESS_SENDS (default 6) sends of 200 records per topic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type LogEntry } from 'kafkajs';
import { freePort, kill9, startBrokerChild, stopClean, type BrokerChild } from './standalone-broker.js';

const STRESS_MS = Number(process.env.STRESS_MS ?? '60000');
/** Read-backs start while this budget lasts; each may take up to CONSUME_TOPIC_MS. */
const CONSUME_MS = 20_000;
const CONSUME_TOPIC_MS = 20_000;
const ROUNDS = Number(process.env.STRESS_ROUNDS ?? '400');
const BURNERS = Number(process.env.STRESS_BURNERS ?? '2');
const PARALLEL = Number(process.env.STRESS_PARALLEL ?? '2');
const SENDS = Number(process.env.STRESS_SENDS ?? '6');
const CONSUME_TOPICS = Number(process.env.STRESS_CONSUME_TOPICS ?? '4');
const PARTITIONS = 3;
const PER_SEND = 200;

function burner(): ChildProcess {
  // Bounded: each burner ends by itself after the test's budget even if the finally is never reached.
  const ms = STRESS_MS + 60_000;
  return spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end) {}`], { stdio: 'ignore' });
}

/** Reads every partition of topic from 0 with a KafkaJS consumer group; returns what is wrong. */
async function consumeCheck(kafka: Kafka, admin: Admin, topic: string, deadline: number): Promise<string[]> {
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  const want = [...ends.values()].reduce((a, b) => a + b, 0);
  const got = new Map<number, number[]>();
  let total = 0;
  const consumer = kafka.consumer({ groupId: `stress-reader-${topic}`, maxWaitTimeInMs: 200 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        let list = got.get(partition);
        if (list === undefined) got.set(partition, (list = []));
        list.push(Number(message.offset));
        total++;
      },
    });
    while (total < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await consumer.disconnect();
  }
  const problems: string[] = [];
  for (const [p, end] of ends) {
    const offsets = got.get(p) ?? [];
    const inOrder = offsets.every((o, i) => o === i);
    if (offsets.length !== end || !inOrder) {
      problems.push(`${topic} partition ${p}: consumer read ${offsets.length} records of ${end}${inOrder ? '' : `, offsets not 0..n-1 in order (first out of place at ${offsets.findIndex((o, i) => o !== i)})`}`);
    }
  }
  return problems;
}

interface RoundResult {
  topic: string;
  acks: number;
  acked: number[];
  /** Records of sends that failed after KafkaJS's retries: each may or may not be in the log. */
  unknown: number[];
  failures: string[];
}

test('KafkaJS non-idempotent produce to fresh topics under CPU load: no duplicates, no retriable errors', { timeout: STRESS_MS + 120_000 }, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-stress-'));
  const burners: ChildProcess[] = [];
  let broker: BrokerChild | undefined;
  // Every KafkaJS warning/error; Metadata answers with LEADER_NOT_AVAILABLE while createTopics waits
  // for leaders are expected (a fresh topic's partitions are shown led once their logs are open) and
  // only counted.
  const retryLog: string[] = [];
  let leaderWaits = 0;
  const logCreator = () => ({ namespace, level, log }: LogEntry): void => {
    if (level > logLevel.WARN) return;
    const detail = JSON.stringify({ ...log, message: undefined, timestamp: undefined, logger: undefined });
    if (namespace === 'Connection' && /Metadata\(/.test(log.message) && /no leader for this topic-partition/.test(detail)) {
      leaderWaits++;
      return;
    }
    if (namespace === undefined && /partitioner/.test(log.message)) return;
    if (retryLog.length < 500) retryLog.push(`${log.timestamp} ${level === logLevel.ERROR ? 'ERROR' : 'WARN'} [${namespace}] ${log.message} ${detail}`);
  };
  const latencies: number[] = [];
  try {
    broker = await startBrokerChild(dataDir, await freePort());
    for (let i = 0; i < BURNERS; i++) burners.push(burner());
    const kafka = new Kafka({
      clientId: 'runnel-stress-kafkajs', brokers: [broker.bootstrap], logLevel: logLevel.WARN, logCreator,
      connectionTimeout: 5000, requestTimeout: 15000, retry: { retries: 5, initialRetryTime: 200 },
    });
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
    await producer.connect();
    const results: RoundResult[] = [];
    const started = Date.now();
    const runTopic = async (round: number, slot: number): Promise<RoundResult> => {
      const topic = `stress-${round}-${slot}-${Math.random().toString(16).slice(2, 10)}`;
      const acks = (round + slot) % 2 === 0 ? -1 : 1;
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
      const result: RoundResult = { topic, acks, acked: [0, 0, 0], unknown: [0, 0, 0], failures: [] };
      let i = 0;
      for (let s = 0; s < SENDS; s++) {
        const counts = [0, 0, 0];
        const messages = [];
        for (let j = 0; j < PER_SEND; j++, i++) {
          const p = i % PARTITIONS;
          counts[p]!++;
          messages.push({ key: `k${i}`, value: `v${i}:${'x'.repeat(90)}`, partition: p });
        }
        const sent = Date.now();
        try {
          await producer.send({ topic, acks, messages });
          latencies.push(Date.now() - sent);
          counts.forEach((c, p) => { result.acked[p]! += c; });
        } catch (e) {
          counts.forEach((c, p) => { result.unknown[p]! += c; });
          result.failures.push(`send ${s}: ${(e as Error).message}`);
        }
      }
      return result;
    };
    for (let round = 0; round < ROUNDS && Date.now() - started < STRESS_MS; round++) {
      results.push(...await Promise.all(Array.from({ length: PARALLEL }, (_, slot) => runTopic(round, slot))));
    }
    await producer.disconnect();

    const problems: string[] = [];
    for (const r of results) {
      const offsets = await admin.fetchTopicOffsets(r.topic);
      for (const o of offsets) {
        const end = Number(o.high);
        const acked = r.acked[o.partition]!;
        const unknown = r.unknown[o.partition]!;
        if (end < acked || end > acked + unknown) {
          problems.push(`${r.topic} acks=${r.acks} partition ${o.partition}: end offset ${end}, acknowledged ${acked}${unknown > 0 ? ` (+${unknown} unacknowledged)` : ''}`);
        }
      }
      for (const f of r.failures) problems.push(`${r.topic} acks=${r.acks}: ${f}`);
    }
    // A few topics are read back the way the interop scenario does (a fresh group, from the beginning):
    // every offset exactly once, in order, up to the end offset.
    const step = Math.max(1, Math.floor(results.length / CONSUME_TOPICS));
    const consumeDeadline = Date.now() + CONSUME_MS;
    let consumed = 0;
    for (let n = 0; n < results.length && n / step < CONSUME_TOPICS && Date.now() < consumeDeadline; n += step, consumed++) {
      problems.push(...await consumeCheck(kafka, admin, results[n]!.topic, Date.now() + CONSUME_TOPIC_MS));
    }
    t.diagnostic(`${consumed} topics read back with a KafkaJS consumer`);
    await admin.disconnect();
    const records = results.reduce((n, r) => n + r.acked.reduce((a, b) => a + b, 0), 0);
    latencies.sort((a, b) => a - b);
    const pct = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    t.diagnostic(`${results.length} topics, ${records} records acknowledged in ${((Date.now() - started) / 1000).toFixed(0)} s, ${BURNERS} burners; send ms p50 ${pct(0.5)} p99 ${pct(0.99)} max ${pct(1)}; ${leaderWaits} Metadata LEADER_NOT_AVAILABLE while waiting for leaders; ${retryLog.length} other KafkaJS warnings/errors`);
    for (const line of retryLog.slice(0, 30)) t.diagnostic(line);
    const retriable = retryLog.filter((l) => /\[Producer\]/.test(l));
    assert.deepEqual(problems, [], `records not written exactly once:\n${problems.slice(0, 20).join('\n')}\nKafkaJS:\n${retryLog.slice(0, 30).join('\n')}\nbroker log:\n${broker.log()}`);
    assert.deepEqual(retriable, [], `KafkaJS producer retried:\n${retriable.slice(0, 30).join('\n')}\nbroker log:\n${broker.log()}`);
  } finally {
    for (const b of burners) b.kill('SIGKILL');
    if (broker !== undefined) await stopClean(broker).catch(() => kill9(broker as BrokerChild));
    await rm(dataDir, { recursive: true, force: true });
  }
});

/**
 * Committed offsets survive kill -9: a broker in a child process, a KafkaJS consumer group consumes and
 * commits, the broker is SIGKILLed right after the commits are acknowledged, restarted on the same data
 * directory, and a new consumer of the group resumes exactly at the committed offsets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Consumer } from 'kafkajs';

const CHILD = join(fileURLToPath(new URL('.', import.meta.url)), 'group-broker-child.ts');
const TOPIC = 'payments';
const PARTITIONS = 3;
const WAIT_MS = 30_000;

function startChild(dataDir: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`broker did not start: ${err}`)); }, WAIT_MS);
    child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /READY (\d+)/.exec(out);
      if (match) { clearTimeout(timer); resolve({ child, port: Number(match[1]) }); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`broker exited ${code}: ${err}`)); });
  });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function consume(kafka: Kafka, seen: string[]): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId: 'ledger', sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({ autoCommitThreshold: 1, eachMessage: async ({ partition, message }) => { seen.push(`${partition}:${message.offset}`); } });
  return consumer;
}

async function committed(kafka: Kafka): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchOffsets({ groupId: 'ledger', topics: [TOPIC] });
    return (offsets[0]?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => p.offset);
  } finally {
    await admin.disconnect();
  }
}

test('group offsets survive kill -9 of the broker; a new consumer resumes from them', { timeout: 180_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-group-kill-'));
  let running = await startChild(dataDir);
  const clients: Array<{ disconnect(): Promise<void> }> = [];
  try {
    let kafka = new Kafka({ brokers: [`127.0.0.1:${running.port}`], clientId: 'group-kill', logLevel: logLevel.NOTHING, retry: { retries: 2 } });
    const admin = kafka.admin();
    await admin.connect();
    clients.push(admin);
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    const producer = kafka.producer();
    await producer.connect();
    clients.push(producer);
    for (let p = 0; p < PARTITIONS; p++) {
      await producer.send({ topic: TOPIC, messages: Array.from({ length: 100 }, (_, i) => ({ value: `a${i}`, partition: p })) });
    }
    const before: string[] = [];
    const consumer = await consume(kafka, before);
    clients.push(consumer);
    await waitFor('300 records consumed', () => before.length >= 300);
    await waitFor('offsets committed at 100', async () => (await committed(kafka)).every((o) => o === '100'));

    // kill -9 right after the commits were acknowledged: they must be in the log.
    await kill9(running.child);
    for (const client of clients.splice(0)) await client.disconnect().catch(() => undefined);
    running = await startChild(dataDir);
    kafka = new Kafka({ brokers: [`127.0.0.1:${running.port}`], clientId: 'group-kill', logLevel: logLevel.NOTHING });
    assert.deepEqual(await committed(kafka), ['100', '100', '100']);

    const producer2 = kafka.producer();
    await producer2.connect();
    clients.push(producer2);
    for (let p = 0; p < PARTITIONS; p++) {
      await producer2.send({ topic: TOPIC, messages: Array.from({ length: 10 }, (_, i) => ({ value: `b${i}`, partition: p })) });
    }
    const after: string[] = [];
    clients.push(await consume(kafka, after));
    await waitFor('30 new records consumed', () => after.length >= 30);
    await new Promise((r) => setTimeout(r, 500));
    const expected = [0, 1, 2].flatMap((p) => Array.from({ length: 10 }, (_, i) => `${p}:${100 + i}`));
    assert.deepEqual([...after].sort(), expected.sort(), 'resumed at the committed offsets, nothing consumed twice');
  } finally {
    for (const client of clients) await client.disconnect().catch(() => undefined);
    await kill9(running.child);
    await rm(dataDir, { recursive: true, force: true });
  }
});

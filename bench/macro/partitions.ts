/**
 * Many partitions on one broker (issue 26, defect 3): creation, responsiveness, SIGTERM, restart.
 *
 *   node --import tsx bench/macro/partitions.ts [--partitions 10000] [--per-topic 10000] [--dir /tmp/x] [--kafka]
 *
 * With --kafka the same creation, stop and restarts run against Apache Kafka (scripts/kafka) instead.
 * Runs the broker as `runnel start` (the CLI, RUNNEL_NODE_FLAGS) on a fresh data directory and reports:
 * 1. a CreateTopics request over Kafka's 10,000 partitions per request is refused (POLICY_VIOLATION);
 * 2. creating `--partitions` in topics of `--per-topic`: CreateTopics answer time, time until the last
 *    partition takes a produce (its log is open), and meanwhile the worst and median Metadata latency of
 *    a probe connection asking every 50 ms;
 * 3. a graceful stop (SIGTERM) with all of them idle;
 * 4. restart on that directory after the clean stop, then after kill -9: time to the "runnel broker
 *    started" line, its startupMs, the log-loading time and the progress lines logged meanwhile;
 * 5. SIGTERM 2 s into creating a further topic's logs: time until the process exits, then the restart
 *    that opens the rest.
 * Figures are wall clock on whatever else the machine runs; say so when quoting them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RUNNEL_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { JVM_FLAGS, javaClasspath, startKafka } from '../../scripts/kafka/kafka.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';
import { RawClient } from '../../test/network/raw-client.js';
import { call } from '../../test/broker/kafka-test-client.js';
import { simpleBatch } from '../../test/replication/batches.js';

interface Options { partitions: number; perTopic: number; dir: string | undefined; kafka: boolean }

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { partitions: 10_000, perTopic: 10_000, dir: undefined, kafka: false };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1] ?? '';
    if (argv[i] === '--kafka') {
      options.kafka = true;
      i--;
    } else if (argv[i] === '--partitions') options.partitions = Number(value);
    else if (argv[i] === '--per-topic') options.perTopic = Number(value);
    else if (argv[i] === '--dir') options.dir = value;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return options;
}

interface Started {
  child: ChildProcess;
  port: number;
  wallMs: number;
  startupMs: number;
  progressLines: number;
  lines: string[];
}

async function startBroker(dataDir: string, extra: string[] = []): Promise<Started> {
  const begun = performance.now();
  const child = spawn(process.execPath, [...RUNNEL_NODE_FLAGS, '--import', 'tsx', 'src/cli/main.ts', 'start', '--port', '0',
    '--data-dir', dataDir, '--set', 'max.broker.partitions=1000000', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let progressLines = 0;
  const reader = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
  for await (const line of reader) {
    lines.push(line);
    const entry = JSON.parse(line) as { msg: string; listener?: string; startupMs?: number };
    if (entry.msg.startsWith('loading logs') || entry.msg.startsWith('opening partitions')) progressLines++;
    if (entry.msg === 'runnel broker started') {
      clearTimeout(timer);
      reader.on('line', (l) => lines.push(l));
      return {
        child, port: Number(/:(\d+)$/.exec(entry.listener ?? '')?.[1]), wallMs: performance.now() - begun,
        startupMs: entry.startupMs ?? -1, progressLines, lines,
      };
    }
  }
  throw new Error(`broker exited before starting:\n${lines.slice(-5).join('\n')}`);
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<number> {
  const begun = performance.now();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  const timeout = setTimeout(() => child.kill('SIGKILL'), 120_000);
  await exited;
  clearTimeout(timeout);
  return performance.now() - begun;
}

async function createTopics(client: RawClient, topics: Array<{ name: string; partitions: number }>) {
  const response = await call(client, ApiKey.CreateTopics, 7, {
    topics: topics.map((t) => ({ name: t.name, numPartitions: t.partitions, replicationFactor: 1, assignments: [], configs: [] })),
    timeoutMs: 600_000, validateOnly: false,
  });
  return response.body.topics.map((t) => ({ name: t.name, errorCode: t.errorCode, errorMessage: t.errorMessage }));
}

/** Produces to the partition until its log is open here (NOT_LEADER_OR_FOLLOWER until then). */
async function produceWhenHosted(client: RawClient, topic: string, partition: number, deadlineMs: number): Promise<void> {
  while (performance.now() < deadlineMs) {
    const response = await call(client, ApiKey.Produce, 9, {
      transactionalId: null, acks: 1, timeoutMs: 30_000,
      topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: partition, records: simpleBatch(1) }] }],
    });
    const code = response.body.responses[0]?.partitionResponses[0]?.errorCode;
    if (code === ErrorCode.NONE) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${topic}-${partition} not hosted in time`);
}

/** Sends Metadata every 50 ms on its own connection; returns the latencies when stopped. */
function probeMetadata(port: number): { stop(): Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    const client = await RawClient.connect(port);
    try {
      while (running) {
        const begun = performance.now();
        await call(client, ApiKey.Metadata, 9, {
          topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
        });
        latencies.push(performance.now() - begun);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      client.destroy();
    }
  })();
  // A failure (the broker went away) is reported by stop(), not as an unhandled rejection that would
  // end this process before its finally blocks stop the broker.
  const ended = loop.then(() => undefined, (error: unknown) => error);
  return {
    async stop() {
      running = false;
      const error = await ended;
      if (error !== undefined) throw error;
      return latencies;
    },
  };
}

function summary(latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? -1);
  return `${latencies.length} probes, median ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
}

/** One restart's figures: wall time to ready, the broker's startupMs, and how long each phase took. */
function report(label: string, started: Started): void {
  const entries = started.lines.map((l) => JSON.parse(l) as { msg: string; ms?: number; logs?: number; of?: number });
  const loaded = entries.find((e) => e.msg === 'logs loaded');
  console.log(`${label}: ready after ${Math.round(started.wallMs)} ms wall, startupMs ${started.startupMs} ` +
    `(${loaded?.logs} logs loaded in ${loaded?.ms} ms), ${started.progressLines} progress lines`);
}

/**
 * The same steps against Apache Kafka (KAFKA_VERSION from scripts/kafka, one combined node, its own
 * defaults: num.recovery.threads.per.data.dir=2). Ready after a restart = a produce to the last
 * partition succeeds (Kafka logs no single "started" line a client can use).
 */
async function kafkaRun(options: Options): Promise<void> {
  const root = options.dir ?? await mkdtemp(join(tmpdir(), 'runnel-partitions-kafka-'));
  const cluster = await startKafka({ dataDir: root });
  const node = cluster.nodes[0]!;
  const topics = splitTopics(options);
  const last = topics[topics.length - 1]!;
  let child: ChildProcess | undefined;
  try {
    const client = await RawClient.connect(node.port);
    const refused = await createTopics(client, [{ name: 'too-many', partitions: 20_000 }]);
    console.log(`kafka 1. one CreateTopics of 20000 partitions: error ${refused[0]?.errorCode} (${refused[0]?.errorMessage})`);
    const probe = probeMetadata(node.port);
    const begun = performance.now();
    let answeredMs = 0;
    for (const topic of topics) {
      const [result] = await createTopics(client, [topic]);
      if (result?.errorCode !== ErrorCode.NONE) throw new Error(`create ${topic.name}: ${result?.errorCode} ${result?.errorMessage}`);
      answeredMs = performance.now() - begun;
    }
    await produceWhenHosted(client, last.name, last.partitions - 1, performance.now() + 600_000);
    console.log(`kafka 2. create ${options.partitions}: CreateTopics answered after ${Math.round(answeredMs)} ms, ` +
      `the last partition took a produce after ${Math.round(performance.now() - begun)} ms; Metadata meanwhile: ${summary(await probe.stop())}`);
    client.destroy();
    const stopping = performance.now();
    await cluster.stop();
    console.log(`kafka 3. graceful stop with ${options.partitions} idle partitions: ${Math.round(performance.now() - stopping)} ms`);
    for (const label of ['kafka 4a. restart after a clean stop', 'kafka 4b. restart after kill -9']) {
      const spawned = performance.now();
      child = spawn('java', [...JVM_FLAGS, '-cp', javaClasspath(), `-Dkafka.logs.dir=${node.dir}`,
        `-Dlog4j2.configurationFile=${join(node.dir, 'log4j2.properties')}`, 'kafka.Kafka', join(node.dir, 'server.properties')],
      { stdio: 'ignore' });
      const again = await connectWhenUp(node.port, performance.now() + 600_000);
      await produceWhenHosted(again, last.name, last.partitions - 1, performance.now() + 600_000);
      again.destroy();
      console.log(`${label}: the last partition took a produce ${Math.round(performance.now() - spawned)} ms after the JVM was spawned`);
      await stop(child, label.endsWith('clean stop') ? 'SIGKILL' : 'SIGTERM');
    }
  } finally {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await cluster.stop();
    if (options.dir === undefined) await rm(root, { recursive: true, force: true });
  }
}

async function connectWhenUp(port: number, deadlineMs: number): Promise<RawClient> {
  for (;;) {
    try {
      return await RawClient.connect(port);
    } catch (error) {
      if (performance.now() > deadlineMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function splitTopics(options: Options): Array<{ name: string; partitions: number }> {
  const topics: Array<{ name: string; partitions: number }> = [];
  for (let created = 0; created < options.partitions; created += options.perTopic) {
    topics.push({ name: `bench-${topics.length}`, partitions: Math.min(options.perTopic, options.partitions - created) });
  }
  return topics;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.kafka) return kafkaRun(options);
  const dir = options.dir ?? await mkdtemp(join(tmpdir(), 'runnel-partitions-bench-'));
  const dataDir = join(dir, 'data');
  console.log(`data ${dataDir}; ${options.partitions} partitions in topics of ${options.perTopic}`);
  let broker = await startBroker(dataDir);
  try {
    const client = await RawClient.connect(broker.port);
    const refused = await createTopics(client, [{ name: 'too-many', partitions: 20_000 }]);
    console.log(`1. one CreateTopics of 20000 partitions: error ${refused[0]?.errorCode} (${refused[0]?.errorMessage})`);

    const probe = probeMetadata(broker.port);
    const begun = performance.now();
    const topics = splitTopics(options);
    let answeredMs = 0;
    for (const topic of topics) {
      const [result] = await createTopics(client, [topic]);
      if (result?.errorCode !== ErrorCode.NONE) throw new Error(`create ${topic.name}: ${result?.errorCode} ${result?.errorMessage}`);
      answeredMs = performance.now() - begun;
    }
    const last = topics[topics.length - 1]!;
    await produceWhenHosted(client, last.name, last.partitions - 1, performance.now() + 600_000);
    const hostedMs = performance.now() - begun;
    console.log(`2. create ${options.partitions}: CreateTopics answered after ${Math.round(answeredMs)} ms, ` +
      `all logs open after ${Math.round(hostedMs)} ms; Metadata meanwhile: ${summary(await probe.stop())}`);

    client.destroy();
    const cleanStopMs = await stop(broker.child, 'SIGTERM');
    console.log(`3. graceful stop with ${options.partitions} idle partitions: ${Math.round(cleanStopMs)} ms`);

    broker = await startBroker(dataDir);
    report('4a. restart after a clean stop', broker);
    await stop(broker.child, 'SIGKILL');
    broker = await startBroker(dataDir);
    report('4b. restart after kill -9', broker);

    const again = await RawClient.connect(broker.port);
    await createTopics(again, [{ name: 'during-sigterm', partitions: Math.min(options.perTopic, 10_000) }]);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    again.destroy();
    const stopMs = await stop(broker.child, 'SIGTERM');
    console.log(`5. SIGTERM 2 s into creating ${Math.min(options.perTopic, 10_000)} more partitions: exited after ${Math.round(stopMs)} ms (code ${broker.child.exitCode})`);
    broker = await startBroker(dataDir);
    report('5a. restart after that SIGTERM (opens the rest)', broker);
    await stop(broker.child, 'SIGTERM');
  } catch (error) {
    console.log(broker.lines.slice(-5).join('\n'));
    throw error;
  } finally {
    if (broker.child.exitCode === null && broker.child.signalCode === null) broker.child.kill('SIGKILL');
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
  }
}

await main();

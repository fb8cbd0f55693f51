/**
 * Issue #21: "SIGTERM of a broker (controlled shutdown): … a producer with retries sees no more than one
 * metadata refresh's worth of NOT_LEADER_OR_FOLLOWER". Three `runnel start` processes (config/cluster
 * nodeN.properties, free ports), a 12-partition RF 3 topic, Kafka's own producer (ProducerPerformance from
 * the 4.4 tools jar, acks=all, idempotent, retries) producing at a fixed rate; each trial SIGTERMs one node,
 * restarts it and waits until it leads its preferred partitions again.
 *
 * Counting from the client's own log: the producer's Sender thread both sends requests (NetworkClient
 * DEBUG "Sending PRODUCE request … correlationId=N … to node M: {… partitions …}") and handles their
 * answers (Sender WARN "Got error produce response with correlation id N on topic-partition T-P …
 * NOT_LEADER_OR_FOLLOWER"), so its log is in the order things happened. A NOT_LEADER_OR_FOLLOWER answer
 * is in round k + 1 for its partition when its request was sent after the client had received a round-k
 * NOT_LEADER_OR_FOLLOWER for that partition (and so had asked for new metadata, or taken the new leader
 * from the answer, KIP-951). "At most one metadata refresh's worth" = every partition's errors are round 1.
 *
 *   node --import tsx bench/macro/sigterm-not-leader.ts [--trials 3] [--rate 2000] [--victims 3,2,1]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kafkaLibs } from '../../scripts/kafka/kafka.js';
import { freePorts } from '../../src/node/start-cluster.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { call } from '../../test/broker/kafka-test-client.js';
import { RawClient } from '../../test/network/raw-client.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '3' },
    rate: { type: 'string', default: '2000' },
    victims: { type: 'string', default: '3,2,1' },
    'keep-log': { type: 'string' },
  },
});
const TRIALS = Number(values.trials);
const RATE = Number(values.rate);
const VICTIMS = values.victims.split(',').map(Number);
const IDS = [1, 2, 3];
const TOPIC = 'sigterm';
const root = mkdtempSync(join(tmpdir(), 'runnel-sigterm-'));
const procs = new Map<number, ChildProcess>();
const ports = await freePorts(6);
const brokerPorts = ports.slice(0, 3);
const controllerPorts = ports.slice(3);
const bootstrap = brokerPorts.map((p) => `127.0.0.1:${p}`).join(',');

interface PartitionView { partitionIndex: number; leaderId: number; leaderEpoch: number; replicaNodes: number[] }

function start(id: number): void {
  const voters = IDS.map((v) => `${v}@127.0.0.1:${controllerPorts[v - 1]}`).join(',');
  const child = spawn(process.execPath, [
    '--import', 'tsx', 'src/cli/main.ts', 'start', '--config', `config/cluster/node${id}.properties`,
    '--set', `listeners=PLAINTEXT://127.0.0.1:${brokerPorts[id - 1]},CONTROLLER://127.0.0.1:${controllerPorts[id - 1]}`,
    '--set', `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPorts[id - 1]}`,
    '--set', `controller.quorum.voters=${voters}`,
    '--set', `log.dirs=${join(root, `node${id}`)}`,
    // Kafka's defaults for the session (9 s) and heartbeat (2 s); the preferred leaders come back within 5 s.
    '--set', 'leader.imbalance.check.interval.seconds=5',
    '--log-level', 'warn',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  procs.set(id, child);
}

async function stop(id: number, signal: NodeJS.Signals): Promise<number> {
  const child = procs.get(id);
  procs.delete(id);
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return 0;
  const started = Date.now();
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
  return Date.now() - started;
}

async function partitions(port: number): Promise<PartitionView[]> {
  const client = await RawClient.connect(port);
  try {
    const body = (await call(client, ApiKey.Metadata, 12, {
      topics: [{ name: TOPIC, topicId: '00000000-0000-0000-0000-000000000000' }],
      allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    })).body;
    return body.topics[0]!.partitions as PartitionView[];
  } finally {
    client.destroy();
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function java(mainClass: string, args: string[], log4j?: string): ChildProcess {
  const props = log4j === undefined ? ['-Dlog4j2.level=warn'] : [`-Dlog4j2.configurationFile=${log4j}`];
  return spawn('java', ['-Xmx384m', ...props, '-cp', `${kafkaLibs()}/*`, mainClass, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function collect(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

interface Rounds {
  readonly notLeaderErrors: number;
  readonly partitionsWithErrors: number;
  /** Highest round per partition with errors (1 = one metadata refresh's worth). */
  readonly maxRoundByPartition: Record<string, number>;
  readonly otherErrors: Record<string, number>;
}

/** See the header: rounds of NOT_LEADER_OR_FOLLOWER per partition, from the Sender thread's ordered log. */
function countRounds(log: string, topic: string): Rounds {
  const sentAfterRound = new Map<number, Map<string, number>>(); // correlation id → partition → round seen when sent
  const roundSeen = new Map<string, number>(); // partition → highest NOT_LEADER round received so far
  const maxRound: Record<string, number> = {};
  const other: Record<string, number> = {};
  let errors = 0;
  const partitionPattern = new RegExp(`${topic}-(\\d+)`, 'g');
  for (const line of log.split('\n')) {
    const sending = /Sending PRODUCE request with header .*?correlationId=(\d+)/.exec(line);
    if (sending !== null) {
      const at = new Map<string, number>();
      // The request prints as {acks=-1,timeout=…,partitionSizes=[<topicId>:<topic>-<partition>=<bytes>,…]}.
      for (const m of line.matchAll(partitionPattern)) at.set(m[1]!, roundSeen.get(m[1]!) ?? 0);
      sentAfterRound.set(Number(sending[1]), at);
      continue;
    }
    const failed = /Got error produce response with correlation id (\d+) on topic-partition (\S+)-(\d+),.*Error: (\w+)/.exec(line);
    if (failed === null) continue;
    const [, correlation, , partition, error] = failed;
    if (error !== 'NOT_LEADER_OR_FOLLOWER') {
      other[error!] = (other[error!] ?? 0) + 1;
      continue;
    }
    errors++;
    const before = sentAfterRound.get(Number(correlation))?.get(partition!) ?? 0;
    const round = before + 1;
    roundSeen.set(partition!, Math.max(roundSeen.get(partition!) ?? 0, round));
    maxRound[partition!] = Math.max(maxRound[partition!] ?? 0, round);
  }
  return { notLeaderErrors: errors, partitionsWithErrors: Object.keys(maxRound).length, maxRoundByPartition: maxRound, otherErrors: other };
}

async function main(): Promise<void> {
  const log4j = join(root, 'log4j2.properties');
  writeFileSync(log4j, [
    'status = error',
    'appender.err.type = Console', 'appender.err.name = err', 'appender.err.target = SYSTEM_ERR',
    'appender.err.layout.type = PatternLayout', 'appender.err.layout.pattern = %d{HH:mm:ss,SSS} %p %c{1} %m%n',
    'rootLogger.level = warn', 'rootLogger.appenderRef.err.ref = err',
    'logger.nc.name = org.apache.kafka.clients.NetworkClient', 'logger.nc.level = debug',
  ].join('\n'));
  for (const id of IDS) start(id);
  await waitFor('3 brokers', async () => {
    const client = await RawClient.connect(brokerPorts[0]!);
    try {
      const body = (await call(client, ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })).body;
      return body.brokers.length === 3;
    } finally {
      client.destroy();
    }
  });
  const created = await collect(java('org.apache.kafka.tools.TopicCommand', ['--bootstrap-server', bootstrap, '--create', '--topic', TOPIC, '--partitions', '12', '--replication-factor', '3']));
  if (created.code !== 0) throw new Error(`create: ${created.stderr}`);
  await waitFor('leaders', async () => (await partitions(brokerPorts[0]!)).every((p) => p.leaderId > 0));
  const results: unknown[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const victim = VICTIMS[trial % VICTIMS.length]!;
    const survivorPort = brokerPorts[IDS.find((id) => id !== victim)! - 1]!;
    const before = await partitions(survivorPort);
    const led = before.filter((p) => p.leaderId === victim).map((p) => p.partitionIndex);
    const records = RATE * 25;
    const producer = java('org.apache.kafka.tools.ProducerPerformance', [
      '--topic', TOPIC, '--num-records', String(records), '--throughput', String(RATE), '--record-size', '100',
      '--producer-props', `bootstrap.servers=${bootstrap}`, 'acks=all', 'enable.idempotence=true', 'linger.ms=5',
      'retries=2147483647', 'delivery.timeout.ms=120000', 'retry.backoff.ms=100',
    ], log4j);
    const output = collect(producer);
    // The JVM takes seconds to start under load: stop the victim only once it has been sent produce
    // requests for a while (the victim's partitions are in flight when it goes).
    const victimSeen = new Promise<void>((resolve) => {
      const onData = (d: Buffer): void => {
        if (!d.toString().includes(`Sending PRODUCE request`) || !d.toString().includes(`to node ${victim}:`)) return;
        producer.stderr!.off('data', onData);
        resolve();
      };
      producer.stderr!.on('data', onData);
    });
    await Promise.race([victimSeen, new Promise((r) => setTimeout(r, 60_000))]);
    await new Promise((r) => setTimeout(r, 3_000));
    const stopMs = await stop(victim, 'SIGTERM');
    const output$ = await output;
    const rounds = countRounds(output$.stderr, TOPIC);
    const summary = output$.stdout.trim().split('\n').at(-1);
    if (values['keep-log'] !== undefined) writeFileSync(`${values['keep-log']}.${trial}`, output$.stderr);
    const result = { trial, victim, ledByVictim: led, sigtermToExitMs: stopMs, producerExit: output$.code, ...rounds, producer: summary };
    console.log(JSON.stringify(result));
    results.push(result);
    start(victim);
    await waitFor('the restarted node leads its preferred partitions', async () => {
      const now = await partitions(brokerPorts[victim - 1]!);
      return now.filter((p) => p.leaderId === victim).length === before.filter((p) => p.replicaNodes[0] === victim).length;
    });
  }
}

try {
  await main();
} finally {
  for (const id of [...procs.keys()]) await stop(id, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
}

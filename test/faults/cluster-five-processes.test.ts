// Five Runnel processes: three controllers (process.roles=broker,controller, the README's node1-3 files)
// and two broker-only nodes (process.roles=broker: Raft observers that follow the metadata log without
// voting, issue #21 "5 nodes, 3 controllers + 2 broker-only, works the same"). Clients bootstrap only
// through the two broker-only nodes: Kafka's own tools create the topic and produce (VerifiableProducer,
// acks=all, idempotent), kcat (librdkafka) reads everything back. Then kill -9 of a broker-only node
// (its leaderships move after broker.session.timeout.ms with epoch + 1; produce and consume go on; it
// rejoins) and kill -9 of the active controller (another controller becomes active; topic creation through
// a broker-only node works again; no acknowledged record is lost).
// Skipped when Kafka's jars are not assembled (scripts/interop/setup.sh); CI sets RUNNEL_INTEROP_KAFKA=1.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../src/node/start-cluster.js';
import { kafkaAssembled, kafkaLibs, runProcess, type ProcessResult } from '../../scripts/kafka/kafka.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { waitFor } from '../node/wait-for.js';

const TOOL_TIMEOUT_MS = 120_000;
const enabled = process.env.RUNNEL_INTEROP_KAFKA === '1' || (process.env.RUNNEL_INTEROP_KAFKA !== '0' && kafkaAssembled());
const METADATA = { allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };
const CONTROLLERS = [1, 2, 3];
const BROKER_ONLY = [4, 5];
const ALL = [...CONTROLLERS, ...BROKER_ONLY];
const TOPIC = 'five';

interface PartitionView { partitionIndex: number; leaderId: number; leaderEpoch: number; isrNodes: number[] }

const run = (command: string, args: string[], timeoutMs = TOOL_TIMEOUT_MS): Promise<ProcessResult> => runProcess(command, args, timeoutMs);

function java(mainClass: string, args: string[]): Promise<ProcessResult> {
  return run('java', ['-Xmx256m', '-Dlog4j2.level=warn', '-cp', `${kafkaLibs()}/*`, mainClass, ...args]);
}

function ok(r: ProcessResult, what: string): string {
  assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
  return r.stdout;
}

describe('cluster: 3 controller processes + 2 broker-only processes, clients through the broker-only nodes', { skip: enabled ? false : 'Kafka jars not assembled (scripts/interop/setup.sh)' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'runnel-cluster-five-'));
  const procs = new Map<number, ChildProcess>();
  let brokerPorts: number[] = [];
  let controllerPorts: number[] = [];
  /** Every value VerifiableProducer saw acknowledged (acks=all), by value. */
  const acknowledged = new Set<string>();
  let batch = 0;

  const port = (id: number): number => brokerPorts[id - 1]!;
  const bootstrapOf = (ids: number[]): string => ids.map((id) => `127.0.0.1:${port(id)}`).join(',');

  const start = (id: number): void => {
    const voters = CONTROLLERS.map((v) => `${v}@127.0.0.1:${controllerPorts[v - 1]}`).join(',');
    const controller = CONTROLLERS.includes(id);
    const args = [
      '--import', 'tsx', 'src/cli/main.ts', 'start', '--config', 'config/cluster/node1.properties',
      '--set', `node.id=${id}`,
      '--set', `process.roles=${controller ? 'broker,controller' : 'broker'}`,
      '--set', controller
        ? `listeners=PLAINTEXT://127.0.0.1:${port(id)},CONTROLLER://127.0.0.1:${controllerPorts[id - 1]}`
        : `listeners=PLAINTEXT://127.0.0.1:${port(id)}`,
      '--set', `advertised.listeners=PLAINTEXT://127.0.0.1:${port(id)}`,
      '--set', `controller.quorum.voters=${voters}`,
      '--set', `log.dirs=${join(root, `node${id}`)}`,
      '--set', 'broker.session.timeout.ms=4000', '--set', 'broker.heartbeat.interval.ms=500',
      '--log-level', 'warn',
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    procs.set(id, child);
  };
  const stop = async (id: number, signal: NodeJS.Signals): Promise<void> => {
    const child = procs.get(id);
    if (child === undefined) return;
    procs.delete(id);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  const metadata = async (id: number, topics: string[] | null = null) => {
    const client = await RawClient.connect(port(id));
    try {
      return (await call(client, ApiKey.Metadata, 12, {
        ...METADATA, topics: topics === null ? null : topics.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })),
      })).body;
    } finally {
      client.destroy();
    }
  };
  const partitions = async (id: number): Promise<PartitionView[]> => (await metadata(id, [TOPIC])).topics[0]!.partitions as PartitionView[];

  /** Produces count records (acks=all, idempotent) through the given nodes; every one must be acknowledged. */
  const produce = async (through: number[], count: number): Promise<void> => {
    const prefix = ++batch;
    const out = ok(await java('org.apache.kafka.tools.VerifiableProducer', [
      '--bootstrap-server', bootstrapOf(through), '--topic', TOPIC, '--max-messages', String(count), '--acks', '-1',
      '--value-prefix', String(prefix), '--command-config', join(root, 'producer.properties'),
    ]), 'VerifiableProducer');
    let acked = 0;
    for (const line of out.split('\n')) {
      if (!line.startsWith('{')) continue;
      const event = JSON.parse(line) as { name: string; value?: string };
      if (event.name === 'producer_send_success' && event.value !== undefined) {
        acknowledged.add(event.value);
        acked++;
      }
    }
    assert.equal(acked, count, `batch ${prefix}: ${acked}/${count} acknowledged\n${out.slice(-2000)}`);
  };

  /** Reads the whole topic through the given nodes (kcat, librdkafka) and checks every acknowledged value is there. */
  const consumeAll = async (through: number[]): Promise<void> => {
    const r = await run('kcat', ['-C', '-b', bootstrapOf(through), '-t', TOPIC, '-o', 'beginning', '-e', '-q', '-f', '%s\n',
      '-X', 'topic.metadata.refresh.interval.ms=1000'], 90_000);
    const seen = new Set(ok(r, 'kcat -C').split('\n').filter((v) => v !== ''));
    const missing = [...acknowledged].filter((v) => !seen.has(v));
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} of ${acknowledged.size} acknowledged records not read back`);
  };

  const activeController = async (through: number): Promise<number> => {
    const id = (await metadata(through)).controllerId as number;
    assert.ok(CONTROLLERS.includes(id), `controller id ${id} is one of the voters`);
    return id;
  };

  before(async () => {
    const ports = await freePorts(8);
    brokerPorts = ports.slice(0, 5);
    controllerPorts = ports.slice(5);
    const { writeFileSync } = await import('node:fs');
    // Retries through leader moves; delivery.timeout.ms bounds one produce batch.
    writeFileSync(join(root, 'producer.properties'), 'enable.idempotence=true\nretries=2147483647\ndelivery.timeout.ms=60000\nrequest.timeout.ms=5000\nretry.backoff.ms=100\n');
    for (const id of ALL) start(id);
    await waitFor('5 brokers in Metadata from a broker-only node', async () => ((await metadata(4)).brokers.length === 5 ? true : undefined), 180_000);
  });

  after(async () => {
    for (const id of [...procs.keys()]) await stop(id, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('a topic created through a broker-only node has leaders on all five; records produced and read back through the broker-only nodes', { timeout: TOOL_TIMEOUT_MS * 3 }, async () => {
    ok(await java('org.apache.kafka.tools.TopicCommand', ['--bootstrap-server', bootstrapOf(BROKER_ONLY), '--create', '--topic', TOPIC,
      '--partitions', '10', '--replication-factor', '3']), 'kafka-topics --create');
    const parts = await waitFor('every partition led', async () => {
      const now = await partitions(5);
      return now.length === 10 && now.every((p) => p.leaderId > 0) ? now : undefined;
    });
    const counts = new Map<number, number>();
    for (const p of parts) counts.set(p.leaderId, (counts.get(p.leaderId) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), ALL, `leaders ${JSON.stringify([...counts])}`);
    await produce(BROKER_ONLY, 2000);
    await consumeAll(BROKER_ONLY);
  });

  it('kill -9 of a broker-only node: its leaderships move with epoch + 1, clients go on through the other, it rejoins', { timeout: 300_000 }, async () => {
    const victim = 5;
    const before = await partitions(4);
    const led = before.filter((p) => p.leaderId === victim);
    assert.ok(led.length > 0, 'the broker-only node leads partitions');
    await stop(victim, 'SIGKILL');
    const moved = await waitFor('leaders moved off the killed broker-only node', async () => {
      const now = await partitions(4);
      return now.every((p) => p.leaderId !== victim && p.leaderId > 0) ? now : undefined;
    });
    for (const p of led) {
      const after = moved.find((q) => q.partitionIndex === p.partitionIndex)!;
      assert.ok(after.leaderEpoch > p.leaderEpoch, `partition ${p.partitionIndex}: epoch ${p.leaderEpoch} → ${after.leaderEpoch}`);
      assert.ok(p.isrNodes.includes(after.leaderId), `partition ${p.partitionIndex}: new leader ${after.leaderId} was in the ISR ${p.isrNodes}`);
    }
    await produce([4], 1000);
    await consumeAll([4]);
    start(victim);
    await waitFor('the restarted broker-only node serves 5 brokers', async () => ((await metadata(victim)).brokers.length === 5 ? true : undefined), 180_000);
    await waitFor('the restarted node is back in an ISR', async () => ((await partitions(4)).some((p) => p.isrNodes.includes(victim)) ? true : undefined), 120_000);
  });

  it('kill -9 of the active controller: another controller becomes active, topic creation through a broker-only node works, nothing acknowledged is lost', { timeout: 300_000 }, async (t) => {
    const controller = await activeController(4);
    const survivor = CONTROLLERS.find((id) => id !== controller)!;
    await stop(controller, 'SIGKILL');
    const killedAt = Date.now();
    // A surviving voter's Metadata names the controller from its own Raft state: how long the quorum
    // took to elect (Raft election timeout 500-1000 ms, then PreVote and a vote round).
    const next = await waitFor('another active controller', async () => {
      const id = (await metadata(survivor)).controllerId as number;
      return id !== controller && CONTROLLERS.includes(id) ? id : undefined;
    }, 60_000, 50);
    t.diagnostic(`a new controller (${next}) named by node ${survivor} ${Date.now() - killedAt} ms after kill -9 of ${controller}`);
    await waitFor('a broker-only node to name it', async () => ((await metadata(4)).controllerId === next ? true : undefined));
    t.diagnostic(`broker-only node 4 names it ${Date.now() - killedAt} ms after the kill`);
    await waitFor('topic creation through a broker-only node after the controller loss', async () => {
      const r = await java('org.apache.kafka.tools.TopicCommand', ['--bootstrap-server', bootstrapOf(BROKER_ONLY), '--create', '--if-not-exists',
        '--topic', 'after-failover', '--partitions', '3', '--replication-factor', '3']);
      return r.code === 0 ? true : undefined;
    }, 120_000);
    await waitFor('leaders moved off the killed controller', async () => {
      const now = await partitions(5);
      return now.every((p) => p.leaderId !== controller && p.leaderId > 0) ? true : undefined;
    });
    await produce(BROKER_ONLY, 1000);
    await consumeAll(BROKER_ONLY);
    assert.equal((await partitions(4)).length, 10, 'committed metadata is kept');
    start(controller);
    await waitFor('the restarted controller serves 5 brokers', async () => ((await metadata(controller)).brokers.length === 5 ? true : undefined), 180_000);
  });
});

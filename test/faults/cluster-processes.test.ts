// A three-node Runnel cluster as three `runnel start --config nodeN.properties` processes (the README's
// files, ports rewritten to free ones), driven by clients we did not write: Apache Kafka's own tools
// (AdminClient inside: kafka-broker-api-versions, kafka-topics, kafka-metadata-quorum, kafka-leader-election),
// kcat (librdkafka) and kafka-python. Then the failures the cluster issue names: kill -9 of the active
// controller, kill -9 of a broker (its leaderships move after broker.session.timeout.ms, epoch + 1) and
// its restart, SIGTERM (controlled shutdown moves leaderships before the process exits).
// Skipped when Kafka's jars are not assembled (scripts/interop/setup.sh); CI sets RUNNEL_INTEROP_KAFKA=1.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePorts } from '../../src/node/start-cluster.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaAssembled, runKafkaTool, type ProcessResult } from '../../scripts/kafka/kafka.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { waitFor } from '../node/wait-for.js';

const TOOL_TIMEOUT_MS = 90_000;
const enabled = process.env.RUNNEL_INTEROP_KAFKA === '1' || (process.env.RUNNEL_INTEROP_KAFKA !== '0' && kafkaAssembled());
const PYTHON = join(process.env.RUNNEL_INTEROP_CACHE ?? join(homedir(), '.cache', 'runnel', 'interop'), 'venv', 'bin', 'python');
const METADATA = { allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };

type ToolResult = ProcessResult;
const tool = (mainClass: string, args: string[]): Promise<ToolResult> => runKafkaTool(mainClass, args, TOOL_TIMEOUT_MS);

function ok(r: ToolResult, what: string): string {
  assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
  return r.stdout;
}

describe('cluster: three runnel processes from properties files', { skip: enabled ? false : 'Kafka jars not assembled (scripts/interop/setup.sh)' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'runnel-cluster-procs-'));
  const ids = [1, 2, 3];
  const procs = new Map<number, ChildProcess>();
  let brokerPorts: number[] = [];
  let controllerPorts: number[] = [];
  let bootstrap = '';

  const start = (id: number): void => {
    const i = id - 1;
    const voters = ids.map((v) => `${v}@127.0.0.1:${controllerPorts[v - 1]}`).join(',');
    const args = [
      '--import', 'tsx', 'src/cli/main.ts', 'start', '--config', `config/cluster/node${id}.properties`,
      '--set', `listeners=PLAINTEXT://127.0.0.1:${brokerPorts[i]},CONTROLLER://127.0.0.1:${controllerPorts[i]}`,
      '--set', `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPorts[i]}`,
      '--set', `controller.quorum.voters=${voters}`,
      '--set', `log.dirs=${join(root, `node${id}`)}`,
      '--set', 'broker.session.timeout.ms=4000', '--set', 'broker.heartbeat.interval.ms=500',
      '--set', 'leader.imbalance.check.interval.seconds=2',
      '--log-level', 'info',
    ];
    const child = spawn(process.execPath, args, { stdio: ["ignore", process.env.DBG ? "inherit" : "ignore", "inherit"] });
    child.on("exit", (c, s) => { if (process.env.DBG) console.error(`node ${id} exited`, c, s); });
    procs.set(id, child);
  };
  const stop = async (id: number, signal: NodeJS.Signals): Promise<void> => {
    const child = procs.get(id);
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    procs.delete(id);
  };
  const metadata = async (port: number, topics: string[] | null = null) => {
    const client = await RawClient.connect(port);
    try {
      return (await call(client, ApiKey.Metadata, 12, {
        ...METADATA, topics: topics === null ? null : topics.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })),
      })).body;
    } finally {
      client.destroy();
    }
  };
  const anyLive = (): number => brokerPorts[[...procs.keys()][0]! - 1]!;

  before(async () => {
    const ports = await freePorts(6);
    brokerPorts = ports.slice(0, 3);
    controllerPorts = ports.slice(3);
    bootstrap = brokerPorts.map((p) => `127.0.0.1:${p}`).join(',');
    for (const id of ids) start(id);
    await waitFor('3 brokers in Metadata', async () => ((await metadata(brokerPorts[0]!)).brokers.length === 3 ? true : undefined), 120_000);
  });

  after(async () => {
    for (const id of [...procs.keys()]) await stop(id, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('kcat, kafka-python and the Java AdminClient list three brokers', { timeout: TOOL_TIMEOUT_MS * 2 }, async () => {
    const kcat = spawnSync('kcat', ['-b', bootstrap, '-L', '-m', '10'], { encoding: 'utf8', timeout: 30_000 });
    assert.match(kcat.stdout, / 3 brokers:/, kcat.stderr);
    if (existsSync(PYTHON)) {
      const py = spawnSync(PYTHON, ['-c', `from kafka import KafkaAdminClient\nc = KafkaAdminClient(bootstrap_servers='${bootstrap}')\nprint(len(c.describe_cluster()['brokers']))`], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(py.stdout.trim(), '3', py.stderr);
    }
    const out = ok(await tool('org.apache.kafka.tools.BrokerApiVersionsCommand', ['--bootstrap-server', bootstrap]), 'BrokerApiVersionsCommand');
    assert.equal(out.match(/\(id: \d+ rack/g)?.length, 3, out);
  });

  it('kafka-topics creates 12 partitions RF 3 with leaders spread 4/4/4 and describes them', { timeout: TOOL_TIMEOUT_MS * 2 }, async () => {
    ok(await tool('org.apache.kafka.tools.TopicCommand', ['--bootstrap-server', bootstrap, '--create', '--topic', 'spread', '--partitions', '12', '--replication-factor', '3']), 'create');
    const out = ok(await tool('org.apache.kafka.tools.TopicCommand', ['--bootstrap-server', bootstrap, '--describe', '--topic', 'spread']), 'describe');
    const leaders = [...out.matchAll(/Leader: (\d+)/g)].map((m) => m[1]);
    assert.equal(leaders.length, 12, out);
    const counts = new Map<string, number>();
    for (const l of leaders) counts.set(l!, (counts.get(l!) ?? 0) + 1);
    assert.deepEqual([...counts.values()].sort(), [4, 4, 4], out);
  });

  it('kafka-metadata-quorum describe --status and --replication', { timeout: TOOL_TIMEOUT_MS * 2 }, async () => {
    const status = ok(await tool('org.apache.kafka.tools.MetadataQuorumCommand', ['--bootstrap-server', bootstrap, 'describe', '--status']), 'status');
    assert.match(status, /LeaderId:\s+[123]/, status);
    assert.match(status, /CurrentVoters:\s+\[/, status);
    const replication = ok(await tool('org.apache.kafka.tools.MetadataQuorumCommand', ['--bootstrap-server', bootstrap, 'describe', '--replication']), 'replication');
    assert.equal(replication.match(/Leader|Follower/g)?.length, 3, replication);
  });

  it('kafka-leader-election --election-type preferred --all-topic-partitions', { timeout: TOOL_TIMEOUT_MS * 2 }, async () => {
    const r = await tool('org.apache.kafka.tools.LeaderElectionCommand', ['--bootstrap-server', bootstrap, '--election-type', 'preferred', '--all-topic-partitions']);
    // Exit 0 when elections succeeded or none was needed (Kafka prints "Valid replica already elected").
    assert.ok(r.code === 0 || /already elected|not needed/i.test(r.stdout + r.stderr), `${r.code}: ${r.stdout}${r.stderr}`);
  });

  it('kill -9 of a broker: its leaderships move with epoch + 1; restarted, it rejoins and takes its preferred leaderships back', { timeout: 180_000 }, async () => {
    const before = await metadata(brokerPorts[0]!, ['spread']);
    const victim = 2;
    const led = before.topics[0]!.partitions.filter((p: { leaderId: number }) => p.leaderId === victim);
    assert.ok(led.length > 0);
    await stop(victim, 'SIGKILL');
    const moved = await waitFor('leaders moved off the killed broker', async () => {
      const now = await metadata(brokerPorts[0]!, ['spread']);
      const parts = now.topics[0]!.partitions;
      return parts.every((p: { leaderId: number }) => p.leaderId !== victim && p.leaderId >= 0) ? now : undefined;
    });
    for (const p of led) {
      const after = moved.topics[0]!.partitions.find((q: { partitionIndex: number }) => q.partitionIndex === p.partitionIndex)!;
      assert.ok(after.leaderEpoch > p.leaderEpoch, `partition ${p.partitionIndex}: epoch ${p.leaderEpoch} → ${after.leaderEpoch}`);
    }
    start(victim);
    await waitFor('the restarted broker leads its preferred partitions again', async () => {
      const now = await metadata(brokerPorts[0]!, ['spread']);
      return now.brokers.length === 3 && now.topics[0]!.partitions.filter((p: { leaderId: number }) => p.leaderId === victim).length === led.length ? true : undefined;
    }, 120_000);
  });

  it('kill -9 of the active controller: another becomes active and topic creation works again', { timeout: 180_000 }, async () => {
    const body = await metadata(anyLive());
    const controller = body.controllerId as number;
    assert.ok(ids.includes(controller));
    await stop(controller, 'SIGKILL');
    const survivor = ids.find((id) => id !== controller)!;
    await waitFor('topic creation after controller loss', async () => {
      const r = await tool('org.apache.kafka.tools.TopicCommand', ['--bootstrap-server', `127.0.0.1:${brokerPorts[survivor - 1]}`, '--create', '--if-not-exists', '--topic', 'after-failover', '--partitions', '3', '--replication-factor', '2']);
      return r.code === 0 ? true : undefined;
    }, 120_000);
    const now = await metadata(brokerPorts[survivor - 1]!, ['spread']);
    assert.ok(now.controllerId !== controller && now.controllerId >= 0);
    assert.equal(now.topics[0]!.partitions.length, 12, 'committed metadata is kept');
    start(controller);
    // Up again means its own listener answers with the three brokers (a survivor's Metadata can still list
    // the killed broker's old registration until its session times out).
    await waitFor('the restarted node serves with 3 brokers', async () => ((await metadata(brokerPorts[controller - 1]!)).brokers.length === 3 ? true : undefined), 120_000);
  });

  it('SIGTERM: the controlled shutdown moves the leaderships before the process exits', { timeout: 180_000 }, async () => {
    const victim = 3;
    await waitFor('broker 3 leads something', async () => {
      const now = await metadata(brokerPorts[victim - 1]!, ['spread']);
      return now.topics[0]!.partitions.some((p: { leaderId: number }) => p.leaderId === victim) ? true : undefined;
    }, 120_000);
    await stop(victim, 'SIGTERM');
    const exitedAt = Date.now();
    // The controller committed the new leaders before it let the broker exit; another broker applies them on
    // its next metadata fetch (and, when the victim was the active controller, after a new Raft leader
    // re-commits them). Within 3 s, under the 4 s broker.session.timeout.ms, so a session-timeout fencing
    // cannot explain the move: nothing is led by the victim any more.
    const ledByVictim = async () => (await metadata(brokerPorts[0]!, ['spread'])).topics[0]!.partitions
      .filter((p: { leaderId: number }) => p.leaderId === victim).map((p: { partitionIndex: number }) => p.partitionIndex) as number[];
    await waitFor('the survivors see no leadership on the stopped broker', async () => ((await ledByVictim()).length === 0 ? true : undefined), 3_000)
      .catch(async (err) => { assert.deepEqual(await ledByVictim(), [], String(err)); });
    assert.ok(Date.now() - exitedAt < 4_000, 'seen before a session timeout could have fenced it');
    start(victim);
  });
});


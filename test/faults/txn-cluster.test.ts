/**
 * Transactions on a three-node cluster (three `runnel start` processes, test/faults/replication-cluster.ts):
 * the transaction coordinator of an id is one node, the partitions of its transactions are led by all
 * three, so the markers travel as WriteTxnMarkers to the other leaders (src/txn/marker-channel.ts) and
 * the first batch to a partition led away from the coordinator is verified with AddPartitionsToTxn
 * verify_only over the inter-broker listener (KIP-890 part 1).
 * 1. The interop `transactions` scenario (commit 100, abort 50, commit 100 on 3 partitions; read_committed
 *    exactly the 200 committed records, read_uncommitted 250; transactional offsets; franz-go adds a
 *    GroupTransactSession copy, Java a fencing check) from franz-go, Java, librdkafka (confluent-js),
 *    kafka-python and KafkaJS — each one that is built.
 * 2. franz-go's GroupTransactSession consume-transform-produce loop while the node coordinating its
 *    transactional id is SIGKILLed mid-run and restarted: the coordinator's partition moves, the new
 *    coordinator loads it and resolves the transaction the kill left open; the checker (read_committed)
 *    finds every input's output exactly once and nothing else.
 * Skipped without the franz-go program (scripts/interop/setup.sh). STANDALONE_SEED=<n> replays the kill
 * moment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { CLIENTS, runScenario, type ScenarioResult } from '../interop/clients.js';
import { prng, seedFromEnv } from './standalone-broker.js';
import { createTopic, eventually, partitionStates, startProcessCluster, type ProcessCluster } from './replication-cluster.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';

const INPUTS = Number(process.env.TXN_CLUSTER_INPUTS ?? '6000');
const RUN_MS = 300_000;
const PARTITIONS = 3;
const CLUSTER_PROPERTIES = {
  'transaction.state.log.replication.factor': '3',
  'transaction.state.log.min.isr': '2',
  'transaction.state.log.num.partitions': '5',
  'offsets.topic.num.partitions': '5',
};

/** The node FindCoordinator (key type transaction) names for the id, asked of a live node. */
async function transactionCoordinator(port: number, transactionalId: string): Promise<number | undefined> {
  const client = await RawClient.connect(port);
  try {
    const r = await call(client, ApiKey.FindCoordinator, 4, { key: '', keyType: 1, coordinatorKeys: [transactionalId] });
    const c = r.body.coordinators[0];
    return c !== undefined && c.errorCode === ErrorCode.NONE ? c.nodeId : undefined;
  } finally {
    client.destroy();
  }
}

function kafka(bootstrap: string): Kafka {
  return new Kafka({ brokers: bootstrap.split(','), clientId: 'txn-cluster', logLevel: logLevel.NOTHING, retry: { retries: 10 } });
}

test('transactions across a 3-node cluster: markers to every leader, verification with a remote coordinator, kill -9 of the coordinator', { timeout: RUN_MS + 300_000 }, async (t) => {
  const franz = CLIENTS.find((c) => c.name === 'franz-go');
  const missing = franz?.missing() ?? 'no franz-go client';
  if (missing !== '') { t.skip(missing); return; }
  const seed = seedFromEnv();
  const killAfterMs = 1_500 + Math.floor(prng(seed)() * 2_500);
  t.diagnostic(`seed ${seed} (STANDALONE_SEED=${seed} replays): kill ${killAfterMs} ms into the loop`);
  const root = await mkdtemp(join(tmpdir(), 'runnel-txn-cluster-'));
  let cluster: ProcessCluster | undefined;
  try {
    cluster = await startProcessCluster(root, 3, CLUSTER_PROPERTIES);
    const bootstrap = cluster.bootstrap;
    const port = cluster.nodes[0]!.port;

    // 1. Commit and abort with partitions led by every node.
    for (const name of ['franz-go', 'java', 'confluent-js', 'kafka-python', 'kafkajs']) {
      const client = CLIENTS.find((c) => c.name === name);
      if (client === undefined || client.missing() !== '') { t.diagnostic(`${name}: not built, skipped`); continue; }
      const result = await runScenario(client, bootstrap, 'transactions', 240_000);
      t.diagnostic(`${name} transactions: ${result.ok ? 'pass' : 'FAIL'} in ${result.ms} ms: ${result.detail}`);
      assert.ok(result.ok, `${name} transactions scenario on the cluster: ${result.detail}`);
    }

    // 2. Consume-transform-produce across kill -9 of the coordinator's node.
    for (const topic of ['ctp-in', 'ctp-out']) assert.equal(await createTopic(port, topic, PARTITIONS, 3, {}), ErrorCode.NONE);
    await eventually('ctp-out leaders', async () => (await partitionStates(port, 'ctp-out')).every((p) => p.leader > 0));
    const leaders = (await partitionStates(port, 'ctp-out')).map((p) => p.leader);
    t.diagnostic(`ctp-out leaders ${leaders.join(', ')}`);
    assert.equal(new Set(leaders).size, PARTITIONS, 'the output partitions are led by three different nodes');
    const producer = kafka(bootstrap).producer({ idempotent: true });
    await producer.connect();
    for (let i = 0; i < INPUTS; i += 500) {
      await producer.send({ topic: 'ctp-in', messages: Array.from({ length: Math.min(500, INPUTS - i) }, (_, j) => ({ key: `k${i + j}`, value: `in${i + j}` })) });
    }
    await producer.disconnect();

    const loop: Promise<ScenarioResult> = runScenario(franz as NonNullable<typeof franz>, bootstrap, 'ctp-loop', RUN_MS, {
      CTP_IN: 'ctp-in', CTP_OUT: 'ctp-out', CTP_GROUP: 'ctp-group', CTP_TXN: 'ctp-txn', CTP_INPUTS: String(INPUTS),
      INTEROP_SCENARIO_TIMEOUT_S: String(Math.floor(RUN_MS / 1000) - 10),
    });
    let finished: ScenarioResult | undefined;
    void loop.then((r) => { finished = r; });
    let coordinator: number | undefined;
    await eventually('a coordinator for ctp-txn', async () => (coordinator = await transactionCoordinator(port, 'ctp-txn')) !== undefined);
    await new Promise((r) => setTimeout(r, killAfterMs));
    assert.equal(finished, undefined, 'the loop finished before the kill: make it longer (TXN_CLUSTER_INPUTS)');
    const victim = coordinator as number;
    await cluster.kill9(victim);
    t.diagnostic(`kill -9 of node ${victim} (coordinator of ctp-txn) ${killAfterMs} ms into the loop`);
    const survivor = cluster.nodes.find((n) => n.id !== victim)!.port;
    await eventually('another coordinator for ctp-txn', async () => {
      const now = await transactionCoordinator(survivor, 'ctp-txn');
      return now !== undefined && now !== victim;
    }, 90_000);
    t.diagnostic(`new coordinator ${await transactionCoordinator(survivor, 'ctp-txn')}`);
    await cluster.start(victim);
    t.diagnostic(`node ${victim} restarted`);

    const result = await loop;
    t.diagnostic(`ctp-loop: ${result.detail}`);
    assert.ok(result.ok, `ctp-loop: ${result.detail}`);
    const check = await runScenario(franz as NonNullable<typeof franz>, bootstrap, 'ctp-check', 120_000, { CTP_OUT: 'ctp-out', CTP_INPUTS: String(INPUTS) });
    t.diagnostic(`franz-go check: ${check.detail}`);
    assert.ok(check.ok, `franz-go read_committed check: ${check.detail}`);
  } catch (e) {
    for (const n of cluster?.nodes ?? []) t.diagnostic(`node ${n.id} log tail: ${n.log.slice(-8000)}`);
    throw e;
  } finally {
    await cluster?.close();
    await rm(root, { recursive: true, force: true });
  }
});

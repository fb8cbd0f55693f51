/**
 * Exactly-once across kill -9 of the transaction coordinator's broker: a franz-go GroupTransactSession
 * (test/interop/go, `ctp-loop`) copies every input record to an output topic, committing its group
 * offsets inside each transaction, while the standalone broker — coordinator of the transaction, the
 * group and every partition — is SIGKILLed at seeded random moments and restarted on the same data
 * directory and port. Checker (franz-go `ctp-check`): at read_committed every input's output is present
 * exactly once and nothing else; outputs of aborted attempts (visible at read_uncommitted) never are.
 * (KafkaJS 2.2.4's read_committed consumer was tried as a second checker and read nothing of this topic:
 * not because its partitions start with an aborted transaction, but because franz-go compresses with
 * snappy by default and KafkaJS has no snappy codec unless one is registered — its consumer fails on
 * every batch, against Kafka 4.4 too; test/broker/transactions-kafkajs.test.ts reads such a topic with a
 * codec registered.) Seed: STANDALONE_SEED=<n> replays the
 * kill schedule. Skipped without the franz-go program (scripts/interop/setup.sh).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { CLIENTS, runScenario, type ScenarioResult } from '../interop/clients.js';
import { freePort, kill9, prng, seedFromEnv, startBrokerChild, type BrokerChild } from './standalone-broker.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';

/** Per partition of ctp-out: high watermark, last stable offset and the open transactions (for failure messages). */
async function partitionStates(port: number): Promise<string> {
  const client = await RawClient.connect(port);
  try {
    const out: string[] = [];
    for (const isolationLevel of [0, 1]) {
      const r = await call(client, ApiKey.ListOffsets, 7, {
        replicaId: -1, isolationLevel, timeoutMs: 0,
        topics: [{ name: 'ctp-out', partitions: [0, 1, 2].map((p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 })) }],
      });
      out.push(`${isolationLevel === 0 ? 'HW' : 'LSO'} ${r.body.topics[0]?.partitions.map((p) => `${p.partitionIndex}:${p.offset}`).join(' ')}`);
    }
    const producers = await call(client, ApiKey.DescribeProducers, 0, { topics: [{ name: 'ctp-out', partitionIndexes: [0, 1, 2] }] });
    for (const p of producers.body.topics[0]?.partitions ?? []) {
      out.push(`p${p.partitionIndex} producers ${p.activeProducers.map((a) => `${a.producerId}/${a.producerEpoch} txnStart ${a.currentTxnStartOffset} coordEpoch ${a.coordinatorEpoch}`).join('; ')}`);
    }
    const txn = await call(client, ApiKey.DescribeTransactions, 0, { transactionalIds: ['ctp-txn'] });
    const d = txn.body.transactionStates[0];
    out.push(`ctp-txn ${d?.transactionState} ${d?.producerId}/${d?.producerEpoch} error ${d?.errorCode} partitions ${JSON.stringify(d?.topics)}`);
    return out.join(' | ');
  } finally {
    client.destroy();
  }
}

const INPUTS = Number(process.env.TXN_KILL_INPUTS ?? '3000');
const KILLS = Number(process.env.TXN_KILL_COUNT ?? '3');
const RUN_MS = 240_000;
const PARTITIONS = 3;

function kafka(bootstrap: string): Kafka {
  return new Kafka({ brokers: [bootstrap], clientId: 'txn-kill', logLevel: logLevel.NOTHING, retry: { retries: 10 } });
}

test('consume-transform-produce (franz-go GroupTransactSession) across kill -9 of the coordinator: every output exactly once at read_committed', { timeout: RUN_MS + 120_000 }, async (t) => {
  const franz = CLIENTS.find((c) => c.name === 'franz-go');
  const missing = franz?.missing() ?? 'no franz-go client';
  if (missing !== '') { t.skip(missing); return; }
  const seed = seedFromEnv();
  const random = prng(seed);
  const gapsMs = Array.from({ length: KILLS }, () => 1500 + Math.floor(random() * 2500));
  t.diagnostic(`seed ${seed} (STANDALONE_SEED=${seed} replays): kills ${gapsMs.join(', ')} ms apart`);
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-txn-kill-'));
  const port = await freePort();
  let broker: BrokerChild | undefined;
  try {
    broker = await startBrokerChild(dataDir, port);
    const admin = kafka(broker.bootstrap).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'ctp-in', numPartitions: PARTITIONS }, { topic: 'ctp-out', numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka(broker.bootstrap).producer({ idempotent: true });
    await producer.connect();
    for (let i = 0; i < INPUTS; i += 500) {
      await producer.send({ topic: 'ctp-in', messages: Array.from({ length: Math.min(500, INPUTS - i) }, (_, j) => ({ key: `k${i + j}`, value: `in${i + j}` })) });
    }
    await producer.disconnect();

    const loop: Promise<ScenarioResult> = runScenario(franz as NonNullable<typeof franz>, broker.bootstrap, 'ctp-loop', RUN_MS, {
      CTP_IN: 'ctp-in', CTP_OUT: 'ctp-out', CTP_GROUP: 'ctp-group', CTP_TXN: 'ctp-txn', CTP_INPUTS: String(INPUTS),
      INTEROP_SCENARIO_TIMEOUT_S: String(Math.floor(RUN_MS / 1000) - 10),
    });
    let finished: ScenarioResult | undefined;
    void loop.then((r) => { finished = r; });
    let kills = 0;
    for (const gap of gapsMs) {
      await new Promise((r) => setTimeout(r, gap));
      if (finished !== undefined) break;
      await kill9(broker);
      kills++;
      broker = await startBrokerChild(dataDir, port);
      t.diagnostic(`kill ${kills} after ${gap} ms, restarted`);
    }
    const result = await loop;
    assert.ok(result.ok, `ctp-loop: ${result.detail}`);
    t.diagnostic(`ctp-loop: ${result.detail}`);
    assert.ok(kills >= 1, 'the loop finished before the first kill: make it longer (TXN_KILL_INPUTS)');

    t.diagnostic(`partitions: ${await partitionStates(port)}`);
    const check = await runScenario(franz as NonNullable<typeof franz>, broker.bootstrap, 'ctp-check', 120_000, { CTP_OUT: 'ctp-out', CTP_INPUTS: String(INPUTS) });
    t.diagnostic(`franz-go check: ${check.detail}`);
    assert.ok(check.ok, `franz-go read_committed check: ${check.detail}`);
    t.diagnostic(`kills ${kills}; ${check.detail}`);
  } catch (e) {
    if (broker) t.diagnostic(`broker log tail: ${broker.log().slice(-2000)}`);
    t.diagnostic(`partitions at the failure: ${await partitionStates(port).catch((err: unknown) => String(err))}`);
    throw e;
  } finally {
    if (broker) await kill9(broker);
    await rm(dataDir, { recursive: true, force: true });
  }
});

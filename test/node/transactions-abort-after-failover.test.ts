/**
 * A transaction open when its coordinator's node dies ends ABORTED (in-process three-node cluster,
 * startCluster + killNode): a transactional producer commits one transaction over partitions led by the
 * three nodes, writes a second without ending it, and the coordinator's node is killed (no controlled
 * shutdown). The `__transaction_state` partition moves to a surviving replica, whose coordinator loads
 * the transaction as Ongoing. Either a new producer with the same transactional.id (InitProducerId)
 * fences the old epoch and the new coordinator aborts the open transaction with markers on every
 * partition's (possibly new) leader (Kafka's TransactionCoordinator.handleInitProducerId → abort of an
 * ongoing transaction), or nobody comes back and the new coordinator's timeout check aborts it
 * (abortTimedOutTransactions). Asserted: the open records are visible at read_uncommitted and never at read_committed,
 * every surviving replica indexes the abort (`.txnindex`) for the old producer id, the last stable
 * offset reaches the high watermark on every partition, and the killed node, restarted, indexes the abort
 * it missed from the new leaders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startCluster, type RunningCluster } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';
import { waitFor } from './wait-for.js';

const TOPIC = 'failover-out';
const TXN_ID = 'failover-txn';
const PARTITIONS = 3;
const started = Date.now();
/** Progress on stderr (TXN_FAILOVER_LOG=1): where a hung run stopped. */
function step(what: string): void {
  if (process.env.TXN_FAILOVER_LOG === '1') process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${what}\n`);
}
const METADATA = { allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };

function portOf(cluster: RunningCluster, nodeId: number): number {
  return Number(cluster.bootstrapServers.split(',')[nodeId - 1]!.split(':')[1]);
}

/** Calls one API on a node's client listener. */
async function ask<T>(port: number, fn: (client: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.connect(port);
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

async function findCoordinator(port: number): Promise<number> {
  const found = await ask(port, (c) => call(c, ApiKey.FindCoordinator, 4, { key: '', keyType: 1, coordinatorKeys: [TXN_ID] }));
  const coordinator = found.body.coordinators[0];
  if (coordinator?.errorCode !== ErrorCode.NONE) throw new Error(`FindCoordinator: ${coordinator?.errorCode}`);
  return coordinator.nodeId;
}

async function describeTransaction(port: number): Promise<{ state: string; producerId: number; producerEpoch: number }> {
  const described = await ask(port, (c) => call(c, ApiKey.DescribeTransactions, 0, { transactionalIds: [TXN_ID] }));
  const state = described.body.transactionStates[0];
  if (state === undefined || state.errorCode !== ErrorCode.NONE) throw new Error(`DescribeTransactions: ${state?.errorCode}`);
  return { state: state.transactionState, producerId: Number(state.producerId), producerEpoch: state.producerEpoch };
}

async function leaders(port: number): Promise<number[] | undefined> {
  const t = (await ask(port, (c) => call(c, ApiKey.Metadata, 12, { ...METADATA, topics: [{ name: TOPIC, topicId: '00000000-0000-0000-0000-000000000000' }] }))).body.topics[0];
  const ids = t?.partitions.sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => p.leaderId) ?? [];
  return ids.length === PARTITIONS && ids.every((id) => id > 0) ? ids : undefined;
}

async function readValues(kafka: Kafka, readUncommitted: boolean, want: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `check-${readUncommitted ? 'ru' : 'rc'}-${want}`, readUncommitted, maxWaitTimeInMs: 100 });
  consumer.on(consumer.events.CRASH, (e) => step(`consumer crash: ${String((e.payload as { error?: Error }).error?.message)}`));
  consumer.on(consumer.events.GROUP_JOIN, () => step('consumer joined its group'));
  await consumer.connect();
  step('consumer connected');
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const values: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => { values.push(String(message.value)); } });
  step('consumer running');
  try {
    await waitFor(`${want} records at read_${readUncommitted ? 'uncommitted' : 'committed'}`, async () => (values.length >= want ? true : undefined), 90_000);
    await new Promise((r) => setTimeout(r, 1000)); // anything beyond `want` would come in the same fetches
  } finally {
    await consumer.disconnect();
  }
  return values;
}

/** How the open transaction ends once its coordinator's node is gone. */
type Ending = 'new producer' | 'timeout';

async function abortAfterFailover(ending: Ending): Promise<void> {
  const cluster = await startCluster({
    nodes: 3,
    'transaction.state.log.replication.factor': 3, 'transaction.state.log.min.isr': 2, 'transaction.state.log.num.partitions': 3,
    'offsets.topic.num.partitions': 3,
    // Kafka's default is 10 s; the timeout case waits for it after the transaction's own 10 s.
    'transaction.abort.timed.out.transaction.cleanup.interval.ms': 1000,
  });
  const kafka = new Kafka({ brokers: cluster.bootstrapServers.split(','), clientId: 'txn-failover', logLevel: logLevel.NOTHING, retry: { retries: 30 } });
  let killed: number | undefined;
  try {
    const anyPort = portOf(cluster, 1);
    await waitFor('three brokers', async () => ((await ask(anyPort, (c) => call(c, ApiKey.Metadata, 12, { ...METADATA, topics: [] }))).body.brokers.length === 3 ? true : undefined));
    step('cluster up');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true });
    await admin.disconnect();
    await waitFor(`leaders of ${TOPIC}`, () => leaders(anyPort));

    const send = async (txn: { send: (r: { topic: string; messages: { partition: number; value: string }[] }) => Promise<unknown> }, prefix: string, count: number): Promise<void> => {
      await txn.send({ topic: TOPIC, messages: Array.from({ length: count }, (_, i) => ({ partition: i % PARTITIONS, value: `${prefix}${i}` })) });
    };
    step('topic created');
    const first = kafka.producer({ transactionalId: TXN_ID, idempotent: true, maxInFlightRequests: 1, transactionTimeout: ending === 'timeout' ? 10_000 : 60_000 });
    await first.connect();
    const committed = await first.transaction();
    await send(committed, 'c', 30);
    await committed.commit();
    const open = await first.transaction();
    await send(open, 'o', 15); // acks=-1: on every in-sync replica before the kill

    step('open transaction written');
    const coordinator = await findCoordinator(anyPort);
    const before = await describeTransaction(portOf(cluster, coordinator));
    assert.equal(before.state, 'Ongoing');
    killed = coordinator;
    await cluster.killNode(coordinator);
    step(`killed node ${coordinator}`);
    // The old producer is a zombie now: its client keeps no connection worth waiting for.
    await first.disconnect().catch(() => undefined);

    const survivor = cluster.nodeIds.find((id) => id !== killed) as number;
    const newCoordinator = await waitFor('a new transaction coordinator', async () => {
      const id = await findCoordinator(portOf(cluster, survivor));
      return id !== killed ? id : undefined;
    }, 120_000);

    step(`new coordinator ${newCoordinator}`);
    if (ending === 'new producer') {
      // InitProducerId with the same transactional.id fences the old epoch; the open transaction is aborted.
      const second = kafka.producer({ transactionalId: TXN_ID, idempotent: true, maxInFlightRequests: 1 });
      await second.connect();
      const after = await second.transaction();
      step('second producer initialised');
      await send(after, 'd', 30);
      await after.commit();
      await second.disconnect();
      step('second producer committed');
    } else {
      // Nobody comes back: the new coordinator's timeout check fences the epoch and aborts (Kafka's
      // abortTimedOutTransactions), 10 s after the transaction began.
      await waitFor('CompleteAbort by the transaction timeout', async () => {
        const state = await describeTransaction(portOf(cluster, newCoordinator));
        return state.state === 'CompleteAbort' ? true : undefined;
      }, 120_000);
      step('aborted by its timeout');
    }
    const described = await describeTransaction(portOf(cluster, newCoordinator));
    assert.equal(described.producerId, before.producerId, 'same producer id, a later epoch');
    assert.ok(described.producerEpoch > before.producerEpoch, `epoch ${described.producerEpoch} > ${before.producerEpoch}`);

    const partitionLeaders = await waitFor('leaders on the survivors', async () => {
      const ids = await leaders(portOf(cluster, survivor));
      return ids !== undefined && !ids.includes(killed as number) ? ids : undefined;
    }, 120_000);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      // The last stable offset reaches the high watermark: nothing is left open.
      await waitFor(`LSO = HW on ${TOPIC}-${partition}`, async () => {
        const offsets: number[] = [];
        for (const isolationLevel of [0, 1]) {
          const r = await ask(portOf(cluster, partitionLeaders[partition]!), (c) => call(c, ApiKey.ListOffsets, 7, {
            replicaId: -1, isolationLevel, timeoutMs: 0,
            topics: [{ name: TOPIC, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }],
          }));
          offsets.push(Number(r.body.topics[0]?.partitions[0]?.offset));
        }
        return offsets[0] === offsets[1] && offsets[0]! > 0 ? true : undefined;
      });
      // Every surviving replica indexed the abort of the old epoch's transaction (its own `.txnindex`).
      for (const id of cluster.nodeIds.filter((n) => n !== killed)) {
        const hosted = cluster.node(id)?.broker?.services.replicaManager.partition(TOPIC, partition);
        assert.ok(hosted !== undefined, `node ${id} hosts ${TOPIC}-${partition}`);
        const aborted = await waitFor(`the abort on node ${id}, ${TOPIC}-${partition}`, async () => {
          const found = await hosted.abortedTransactions(0, hosted.logEndOffset);
          return found.length > 0 ? found : undefined;
        });
        assert.deepEqual(aborted.map((t) => t.producerId), [before.producerId], `node ${id}, ${TOPIC}-${partition}`);
      }
    }

    step('LSO = HW, aborts indexed');

    // The killed node comes back (KafkaJS clients otherwise spend their retries on its address): it
    // catches up from the new leaders and indexes the abort it missed while it was down.
    await cluster.startNode(killed);
    const restarted = killed;
    killed = undefined;
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const aborted = await waitFor(`the abort on restarted node ${restarted}, ${TOPIC}-${partition}`, async () => {
        const hosted = cluster.node(restarted)?.broker?.services.replicaManager.partition(TOPIC, partition);
        const found = await hosted?.abortedTransactions(0, hosted.logEndOffset);
        return found !== undefined && found.length > 0 ? found : undefined;
      }, 120_000);
      assert.deepEqual(aborted.map((t) => t.producerId), [before.producerId], `restarted node ${restarted}, ${TOPIC}-${partition}`);
    }
    step(`node ${restarted} restarted and caught up`);
    const committedCount = ending === 'new producer' ? 60 : 30;
    const readCommitted = await readValues(kafka, false, committedCount);
    assert.equal(readCommitted.length, committedCount, `read_committed: ${readCommitted.length}`);
    assert.equal(readCommitted.filter((v) => v.startsWith('o')).length, 0, 'no record of the aborted transaction at read_committed');
    assert.equal(new Set(readCommitted).size, committedCount, 'each committed record once');
    const readUncommitted = await readValues(kafka, true, committedCount + 15);
    assert.equal(readUncommitted.length, committedCount + 15, `read_uncommitted: ${readUncommitted.length}`);
    assert.equal(readUncommitted.filter((v) => v.startsWith('o')).length, 15, 'the aborted records are in the log');
  } finally {
    await cluster.close();
  }
}

test('a transaction open when its coordinator\'s node is killed ends ABORTED: fenced by a new producer, invisible at read_committed, LSO past it', { timeout: 300_000 }, () => abortAfterFailover('new producer'));

test('a transaction open when its coordinator\'s node is killed ends ABORTED by its timeout at the new coordinator when no producer comes back', { timeout: 300_000 }, () => abortAfterFailover('timeout'));

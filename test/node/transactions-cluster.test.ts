/**
 * Transactions on an in-process three-node cluster (startCluster): one transactional id is coordinated by
 * one node while its partitions are led by all three, so the commit and abort markers reach two of them
 * as WriteTxnMarkers over the inter-broker listener (src/txn/marker-channel.ts) and the produce path of
 * the non-coordinating leaders verifies the first batch with the remote coordinator (AddPartitionsToTxn
 * verify_only, KIP-890 part 1). A read_committed consumer sees exactly the committed records; the
 * coordinator's DescribeTransactions says CompleteCommit / CompleteAbort only once every marker is in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { startCluster } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';
import { waitFor } from './wait-for.js';

const PARTITIONS = 3;
const METADATA = { allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };

test('a transaction over partitions led by three nodes commits and aborts with markers on every leader; read_committed sees exactly the committed records', { timeout: 240_000 }, async () => {
  const logger = process.env.TXN_CLUSTER_LOG === '1' ? pino({ level: 'debug' }) : undefined;
  const cluster = await startCluster({
    nodes: 3, logger,
    'transaction.state.log.replication.factor': 3, 'transaction.state.log.num.partitions': 3, 'offsets.topic.num.partitions': 3,
  });
  const kafka = new Kafka({ brokers: cluster.bootstrapServers.split(','), clientId: 'txn-cluster', logLevel: logLevel.NOTHING, retry: { retries: 20 } });
  const port = Number(cluster.bootstrapServers.split(',')[0]!.split(':')[1]);
  const client = await RawClient.connect(port);
  try {
    await waitFor('three brokers', async () => ((await call(client, ApiKey.Metadata, 12, { ...METADATA, topics: [] })).body.brokers.length === 3 ? true : undefined));
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'txn-out', numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true });
    await admin.disconnect();
    const leaders = await waitFor('leaders of txn-out', async () => {
      const t = (await call(client, ApiKey.Metadata, 12, { ...METADATA, topics: [{ name: 'txn-out', topicId: '00000000-0000-0000-0000-000000000000' }] })).body.topics[0];
      const ids = t?.partitions.map((p) => p.leaderId) ?? [];
      return ids.length === PARTITIONS && ids.every((id) => id > 0) ? ids : undefined;
    });
    assert.equal(new Set(leaders).size, PARTITIONS, `partitions led by three nodes (leaders ${leaders.join(', ')})`);

    const producer = kafka.producer({ transactionalId: 'cluster-txn', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const send = async (prefix: string, count: number, commit: boolean): Promise<void> => {
      const txn = await producer.transaction();
      await txn.send({ topic: 'txn-out', messages: Array.from({ length: count }, (_, i) => ({ partition: i % PARTITIONS, key: `k${i}`, value: `${prefix}${i}` })) });
      await (commit ? txn.commit() : txn.abort());
    };
    await send('c', 30, true);
    await send('a', 15, false);
    await send('d', 30, true);
    await producer.disconnect();

    const coordinator = (await call(client, ApiKey.FindCoordinator, 4, { key: '', keyType: 1, coordinatorKeys: ['cluster-txn'] })).body.coordinators[0];
    assert.equal(coordinator?.errorCode, ErrorCode.NONE);
    const coordinatorClient = await RawClient.connect(coordinator!.port);
    try {
      // EndTxn is answered once PrepareCommit is durable; CompleteCommit follows when every marker is in.
      await waitFor('CompleteCommit', async () => {
        const described = (await call(coordinatorClient, ApiKey.DescribeTransactions, 0, { transactionalIds: ['cluster-txn'] })).body.transactionStates[0];
        return described?.transactionState === 'CompleteCommit' ? true : undefined;
      }, 30_000);
    } finally {
      coordinatorClient.destroy();
    }

    // Every partition's last stable offset reaches its high watermark: no transaction is left open.
    for (let partition = 0; partition < PARTITIONS; partition++) {
      await waitFor(`LSO = HW on txn-out-${partition}`, async () => {
        const offsets = [];
        for (const isolationLevel of [0, 1]) {
          const leaderPort = Number(cluster.bootstrapServers.split(',')[leaders[partition]! - 1]!.split(':')[1]);
          const c = await RawClient.connect(leaderPort);
          try {
            const r = await call(c, ApiKey.ListOffsets, 7, {
              replicaId: -1, isolationLevel, timeoutMs: 0,
              topics: [{ name: 'txn-out', partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }],
            });
            offsets.push(Number(r.body.topics[0]?.partitions[0]?.offset));
          } finally {
            c.destroy();
          }
        }
        return offsets[0] === offsets[1] ? true : undefined;
      });
    }

    for (const isolationLevel of ['committed', 'uncommitted'] as const) {
      const consumer = kafka.consumer({ groupId: `check-${isolationLevel}`, readUncommitted: isolationLevel === 'uncommitted' });
      await consumer.connect();
      await consumer.subscribe({ topic: 'txn-out', fromBeginning: true });
      const values: string[] = [];
      const want = isolationLevel === 'committed' ? 60 : 75;
      await consumer.run({ eachMessage: async ({ message }) => { values.push(String(message.value)); } });
      await waitFor(`${want} records at read_${isolationLevel}`, async () => (values.length >= want ? true : undefined));
      await new Promise((r) => setTimeout(r, 500));
      await consumer.disconnect();
      assert.equal(values.length, want, `read_${isolationLevel}: ${values.length} records`);
      if (isolationLevel === 'committed') {
        assert.equal(values.filter((v) => v.startsWith('a')).length, 0, 'no aborted record at read_committed');
        assert.equal(new Set(values).size, 60, 'each committed record once');
      }
    }
  } finally {
    client.destroy();
    await cluster.close();
  }
});

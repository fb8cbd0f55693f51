/**
 * Transactions v2 (KIP-890 part 2) on an in-process three-node cluster with transaction.version=2: the
 * partitions of one transaction are led by all three nodes while one node coordinates the id, so the
 * produce on the two other leaders adds its partition with AddPartitionsToTxn v5 without verify_only to
 * the coordinator (the implicit add), the markers go out as WriteTxnMarkers v2 at the bumped epoch, and
 * the next transaction runs at the epoch EndTxn v5 handed back. Raw protocol, so every step is checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';
import { simpleBatch } from '../replication/batches.js';
import { waitFor } from './wait-for.js';
import { initTransactionalProducer } from './txn-cluster-helpers.js';

const PARTITIONS = 3;
const TXN = 'tv2-cluster';
const METADATA = { allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };

test('transactions v2 across three leaders: implicit adds from non-coordinating leaders, EndTxn v5 epoch bumps, markers at the bumped epoch, LSO = HW after', { timeout: 240_000 }, async () => {
  const cluster = await startCluster({
    nodes: 3, 'transaction.version': 2,
    'transaction.state.log.replication.factor': 3, 'transaction.state.log.num.partitions': 3, 'offsets.topic.num.partitions': 3,
  });
  const ports = cluster.bootstrapServers.split(',').map((a) => Number(a.split(':')[1]));
  const clients = await Promise.all(ports.map((p) => RawClient.connect(p)));
  const byNode = (nodeId: number): RawClient => clients[nodeId - 1] as RawClient;
  try {
    const first = clients[0] as RawClient;
    await waitFor('three brokers', async () => ((await call(first, ApiKey.Metadata, 12, { ...METADATA, topics: [] })).body.brokers.length === 3 ? true : undefined));
    const created = await call(first, ApiKey.CreateTopics, 7, {
      topics: [{ name: 'tv2-out', numPartitions: PARTITIONS, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false,
    });
    assert.equal(created.body.topics[0]?.errorCode, ErrorCode.NONE);
    const leaders = await waitFor('leaders of tv2-out', async () => {
      const t = (await call(first, ApiKey.Metadata, 12, { ...METADATA, topics: [{ name: 'tv2-out', topicId: ZERO_UUID }] })).body.topics[0];
      const ids = [...(t?.partitions ?? [])].sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => p.leaderId);
      return ids.length === PARTITIONS && ids.every((id) => id > 0) ? ids : undefined;
    });
    assert.equal(new Set(leaders).size, PARTITIONS, `partitions led by three nodes (leaders ${leaders.join(', ')})`);
    const { coordinatorId, coordinator, init } = await initTransactionalProducer(first, byNode, TXN);
    const producerId = init.producerId;

    const produceAll = async (epoch: number, prefix: string): Promise<void> => {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const leader = byNode(leaders[partition] as number);
        const code = await waitFor(`produce to tv2-out-${partition}`, async () => {
          const r = await call(leader, ApiKey.Produce, 12, {
            transactionalId: TXN, acks: -1, timeoutMs: 10_000,
            topicData: [{ name: 'tv2-out', topicId: ZERO_UUID, partitionData: [{ index: partition, records: simpleBatch(5, { producerId: Number(producerId), producerEpoch: epoch, baseSequence: 0, transactional: true }) }] }],
          });
          const errorCode = r.body.responses[0]?.partitionResponses[0]?.errorCode;
          return errorCode === ErrorCode.NOT_ENOUGH_REPLICAS || errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER ? undefined : errorCode;
        });
        assert.equal(code, ErrorCode.NONE, `${prefix}: produce to tv2-out-${partition} (leader ${leaders[partition]}, coordinator ${coordinatorId})`);
      }
    };
    const end = async (epoch: number, committed: boolean) => waitFor('EndTxn v5', async () => {
      const r = (await call(coordinator, ApiKey.EndTxn, 5, { transactionalId: TXN, producerId, producerEpoch: epoch, committed })).body;
      return r.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS ? undefined : r;
    });
    const described = async () => (await call(coordinator, ApiKey.DescribeTransactions, 0, { transactionalIds: [TXN] })).body.transactionStates[0];

    const e = init.producerEpoch;
    await produceAll(e, 'first transaction');
    const ongoing = await described();
    assert.deepEqual([ongoing?.transactionState, ongoing?.topics[0]?.partitions.length], ['Ongoing', PARTITIONS]);
    const committed = await end(e, true);
    assert.deepEqual([committed.errorCode, committed.producerId, committed.producerEpoch], [ErrorCode.NONE, producerId, e + 1]);
    await waitFor('CompleteCommit', async () => ((await described())?.transactionState === 'CompleteCommit' ? true : undefined), 30_000);

    await produceAll(e + 1, 'second transaction');
    const aborted = await end(e + 1, false);
    assert.deepEqual([aborted.errorCode, aborted.producerEpoch], [ErrorCode.NONE, e + 2]);
    await waitFor('CompleteAbort', async () => ((await described())?.transactionState === 'CompleteAbort' ? true : undefined), 30_000);

    for (let partition = 0; partition < PARTITIONS; partition++) {
      const leader = byNode(leaders[partition] as number);
      const offsets: number[] = [];
      for (const isolationLevel of [0, 1]) {
        const r = await call(leader, ApiKey.ListOffsets, 7, {
          replicaId: -1, isolationLevel, timeoutMs: 0,
          topics: [{ name: 'tv2-out', partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }],
        });
        offsets.push(Number(r.body.topics[0]?.partitions[0]?.offset));
      }
      // 5 + marker + 5 + marker, all stable.
      assert.deepEqual(offsets, [12, 12], `tv2-out-${partition}: HW and LSO`);
      // A late batch of the first transaction is fenced by the bumped epoch in the markers.
      const late = await call(leader, ApiKey.Produce, 12, {
        transactionalId: TXN, acks: -1, timeoutMs: 10_000,
        topicData: [{ name: 'tv2-out', topicId: ZERO_UUID, partitionData: [{ index: partition, records: simpleBatch(1, { producerId: Number(producerId), producerEpoch: e, baseSequence: 5, transactional: true }) }] }],
      });
      assert.equal(late.body.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    }
  } finally {
    for (const c of clients) c.destroy();
    await cluster.close();
  }
});

/**
 * transaction.version as a finalized feature on an in-process three-node cluster formed at level 0: UpdateFeatures sent to a node that is not the active controller travels the controller
 * channel, the FeatureLevel record reaches every node, and without a restart
 * - ApiVersions on every node finalizes 2 (what Kafka 4 clients switch on),
 * - the produce path of every leader adds partitions implicitly (Produce v12 without AddPartitionsToTxn),
 * - a transaction begun under transactions v1 still ends as v1 (no epoch bump), the next one runs as v2
 *   (EndTxn v5 bumps the epoch),
 * and a safe downgrade to 0 turns the implicit add off again everywhere. Raw protocol, every step checked.
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
import { initTransactionalProducer, recordEndTxnVersions } from './txn-cluster-helpers.js';

const PARTITIONS = 3;
const TOPIC = 'tv-upgrade';
const TXN = 'tv-upgrade-txn';
const METADATA = { allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };

test('transaction.version upgrade and downgrade through UpdateFeatures take effect on every node without a restart; a running v1 transaction ends as v1', { timeout: 240_000 }, async () => {
  const cluster = await startCluster({
    nodes: 3, 'transaction.version': 0, 'transaction.state.log.replication.factor': 3, 'transaction.state.log.num.partitions': 3, 'offsets.topic.num.partitions': 3,
  });
  const ports = cluster.bootstrapServers.split(',').map((a) => Number(a.split(':')[1]));
  const clients = await Promise.all(ports.map((p) => RawClient.connect(p)));
  const byNode = (nodeId: number): RawClient => clients[nodeId - 1] as RawClient;
  // Every EndTxn a coordinator serves, with the transaction version it was taken as.
  const ends = recordEndTxnVersions(cluster);
  try {
    const first = clients[0] as RawClient;
    await waitFor('three brokers', async () => ((await call(first, ApiKey.Metadata, 12, { ...METADATA, topics: [] })).body.brokers.length === 3 ? true : undefined));
    const finalizedEverywhere = (level: number | undefined) => waitFor(`transaction.version ${level ?? 0} finalized on every node`, async () => {
      for (const c of clients) {
        const body = (await call(c, ApiKey.ApiVersions, 4, { clientSoftwareName: 'test', clientSoftwareVersion: '1', clusterId: null, nodeId: -1 })).body;
        if (body.finalizedFeatures.find((f) => f.name === 'transaction.version')?.maxVersionLevel !== level) return undefined;
      }
      return true;
    }, 30_000);
    await finalizedEverywhere(undefined);

    const created = await call(first, ApiKey.CreateTopics, 7, {
      topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false,
    });
    assert.equal(created.body.topics[0]?.errorCode, ErrorCode.NONE);
    const leaders = await waitFor(`leaders of ${TOPIC}`, async () => {
      const t = (await call(first, ApiKey.Metadata, 12, { ...METADATA, topics: [{ name: TOPIC, topicId: ZERO_UUID }] })).body.topics[0];
      const ids = [...(t?.partitions ?? [])].sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => p.leaderId);
      return ids.length === PARTITIONS && ids.every((id) => id > 0) ? ids : undefined;
    });
    const { coordinatorId, coordinator, init } = await initTransactionalProducer(first, byNode, TXN);
    const producerId = init.producerId;
    const e = init.producerEpoch;
    const produce = async (version: number, partition: number, epoch: number, baseSequence: number): Promise<number | undefined> => waitFor(`produce v${version} to ${TOPIC}-${partition}`, async () => {
      const r = await call(byNode(leaders[partition] as number), ApiKey.Produce, version, {
        transactionalId: TXN, acks: -1, timeoutMs: 10_000,
        topicData: [{ name: TOPIC, topicId: ZERO_UUID, partitionData: [{ index: partition, records: simpleBatch(2, { producerId: Number(producerId), producerEpoch: epoch, baseSequence, transactional: true }) }] }],
      });
      const errorCode = r.body.responses[0]?.partitionResponses[0]?.errorCode;
      return errorCode === ErrorCode.NOT_ENOUGH_REPLICAS || errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER ? undefined : errorCode;
    });
    const described = async () => (await call(coordinator, ApiKey.DescribeTransactions, 0, { transactionalIds: [TXN] })).body.transactionStates[0];
    const updateFeatures = async (level: number, upgradeType: number) => {
      // A node that is not the active controller: the update travels the controller channel.
      const via = cluster.nodeIds.find((id) => cluster.node(id)?.controller?.isActive !== true) as number;
      const r = (await call(byNode(via), ApiKey.UpdateFeatures, 2, {
        timeoutMs: 30_000, validateOnly: false, featureUpdates: [{ feature: 'transaction.version', maxVersionLevel: level, allowDowngrade: false, upgradeType }],
      })).body;
      assert.deepEqual([r.errorCode, r.errorMessage], [ErrorCode.NONE, null], `UpdateFeatures transaction.version=${level} via node ${via}`);
    };

    // At 0, Produce v12 only verifies (KIP-890 part 1): a partition not added is refused on any leader.
    const remote = leaders.findIndex((l) => l !== coordinatorId);
    assert.equal(await produce(12, remote, e, 0), ErrorCode.TRANSACTION_ABORTABLE);
    assert.equal((await described())?.transactionState, 'Empty');

    // A transactions v1 transaction is running (explicit AddPartitionsToTxn v3) when the level changes.
    const added = (await call(coordinator, ApiKey.AddPartitionsToTxn, 3, {
      transactions: [], v3AndBelowTransactionalId: TXN, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: e,
      v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }],
    })).body;
    assert.equal(added.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode, ErrorCode.NONE);
    assert.equal(await produce(11, 0, e, 0), ErrorCode.NONE);

    await updateFeatures(2, 1);
    await finalizedEverywhere(2);

    // The v1 transaction ends as v1: EndTxn v4, no epoch bump.
    const v1End = await waitFor('EndTxn v4', async () => {
      const r = (await call(coordinator, ApiKey.EndTxn, 4, { transactionalId: TXN, producerId, producerEpoch: e, committed: true })).body;
      return r.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS ? undefined : r;
    });
    assert.equal(v1End.errorCode, ErrorCode.NONE);
    const afterV1 = await waitFor('CompleteCommit', async () => {
      const d = await described();
      return d?.transactionState === 'CompleteCommit' ? d : undefined;
    }, 30_000);
    assert.equal(afterV1.producerEpoch, e, 'a v1 transaction keeps its epoch');

    // The next transaction is v2 on every leader: Produce v12 adds its partition (remote adds included).
    for (let partition = 0; partition < PARTITIONS; partition++) {
      assert.equal(await produce(12, partition, e, partition === 0 ? 2 : 0), ErrorCode.NONE, `implicit add on ${TOPIC}-${partition} (leader ${leaders[partition]}, coordinator ${coordinatorId})`);
    }
    const ongoing = await described();
    assert.deepEqual([ongoing?.transactionState, ongoing?.topics[0]?.partitions.length], ['Ongoing', PARTITIONS]);
    const v2End = await waitFor('EndTxn v5', async () => {
      const r = (await call(coordinator, ApiKey.EndTxn, 5, { transactionalId: TXN, producerId, producerEpoch: e, committed: true })).body;
      return r.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS ? undefined : r;
    });
    assert.deepEqual([v2End.errorCode, v2End.producerId, v2End.producerEpoch], [ErrorCode.NONE, producerId, e + 1]);
    await waitFor('CompleteCommit at e + 1', async () => ((await described())?.transactionState === 'CompleteCommit' ? true : undefined), 30_000);
    assert.deepEqual(ends, [0, 2], 'the v1 transaction ended as v1, the next as v2');

    // Safe downgrade to 0: the implicit add is off again on every leader.
    await updateFeatures(0, 2);
    await finalizedEverywhere(undefined);
    assert.equal(await produce(12, remote, e + 1, 0), ErrorCode.TRANSACTION_ABORTABLE);
  } finally {
    for (const c of clients) c.destroy();
    await cluster.close();
  }
});

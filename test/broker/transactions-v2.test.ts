// Transactions v2 (KIP-890 part 2) over the socket on one node formed at transaction.version 2: ApiVersions
// finalizes the feature; Produce v12 adds its partition to the transaction itself (no AddPartitionsToTxn),
// TxnOffsetCommit v5 adds the group's offsets partition (no AddOffsetsToTxn); EndTxn v5 bumps the epoch
// and hands it back; the markers carry it, so the previous epoch is fenced on the partition; a late batch
// of an ended transaction cannot open a new one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';
import { call } from './kafka-test-client.js';
import { createTopic, type Harness, withHarness } from './standalone-harness.js';
import { simpleBatch } from '../replication/batches.js';
import { RawClient } from '../network/raw-client.js';

const TXN = 'tv2-app';
const RETRIABLE: number[] = [ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR];
const PROPS = {
  'transaction.version': '2', 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '3',
  'transaction.state.log.num.partitions': '3',
};


async function retrying<T>(attempt: () => Promise<T>, retriable: (t: T) => boolean): Promise<T> {
  let result = await attempt();
  for (let i = 0; i < 200 && retriable(result); i++) {
    await new Promise((r) => setTimeout(r, 25));
    result = await attempt();
  }
  return result;
}

async function initProducer(h: Harness): Promise<{ producerId: bigint; producerEpoch: number }> {
  await retrying(async () => (await call(h.client, ApiKey.FindCoordinator, 4, { key: '', keyType: 1, coordinatorKeys: [TXN] })).body.coordinators[0],
    (c) => c?.errorCode !== ErrorCode.NONE);
  const { body } = await retrying(() => call(h.client, ApiKey.InitProducerId, 5, {
    transactionalId: TXN, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1, enable2Pc: false, keepPreparedTxn: false,
  }), (r) => r.body.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || r.body.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(body.errorCode, ErrorCode.NONE);
  return { producerId: body.producerId, producerEpoch: body.producerEpoch };
}

async function produce(h: Harness, version: number, topic: string, producerId: bigint, producerEpoch: number, baseSequence: number, count = 2, client: RawClient = h.client): Promise<number> {
  const { body } = await call(client, ApiKey.Produce, version, {
    transactionalId: TXN, acks: -1, timeoutMs: 5000,
    topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: 0, records: simpleBatch(count, { producerId: Number(producerId), producerEpoch, baseSequence, transactional: true }) }] }],
  });
  return body.responses[0]?.partitionResponses[0]?.errorCode ?? -1;
}

async function endTxn(h: Harness, version: number, producerId: bigint, producerEpoch: number, committed: boolean) {
  return (await retrying(() => call(h.client, ApiKey.EndTxn, version, { transactionalId: TXN, producerId, producerEpoch, committed }),
    (r) => r.body.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS)).body;
}

function describe(h: Harness) {
  return h.broker.services.txnCoordinator.inspect(TXN);
}

test('ApiVersions finalizes transaction.version 2 when the cluster was formed at 2 (Kafka 4 clients switch on it), and leaves it out at 0', async () => {
  const ask = async (h: Harness) => (await call(h.client, ApiKey.ApiVersions, 4, {
    clientSoftwareName: 'test', clientSoftwareVersion: '1', clusterId: null, nodeId: -1,
  })).body;
  await withHarness(PROPS, async (h) => {
    const body = await ask(h);
    assert.deepEqual(body.finalizedFeatures.find((f) => f.name === 'transaction.version')?.maxVersionLevel, 2);
    const versions = new Map(body.apiKeys.map((k) => [k.apiKey, k.maxVersion]));
    assert.deepEqual([versions.get(ApiKey.EndTxn), versions.get(ApiKey.TxnOffsetCommit), versions.get(ApiKey.WriteTxnMarkers)], [5, 5, 2]);
  });
  await withHarness({ 'transaction.version': '0' }, async (h) => {
    assert.equal((await ask(h)).finalizedFeatures.find((f) => f.name === 'transaction.version'), undefined);
  });
});

test('Produce v12 adds the partition implicitly; EndTxn v5 bumps the epoch; the old epoch is fenced; the next transaction starts at sequence 0', async () => {
  await withHarness(PROPS, async (h) => {
    await createTopic(h, 'tv2');
    const { producerId, producerEpoch: e } = await initProducer(h);
    // No AddPartitionsToTxn: the produce adds t-0 itself.
    assert.equal(await retrying(() => produce(h, 12, 'tv2', producerId, e, 0), (code) => code === ErrorCode.NOT_ENOUGH_REPLICAS), ErrorCode.NONE);
    assert.deepEqual([describe(h)?.state, [...(describe(h)?.partitions.get('tv2') ?? [])], describe(h)?.clientTransactionVersion], ['Ongoing', [0], 2]);
    assert.equal(await produce(h, 12, 'tv2', producerId, e, 2), ErrorCode.NONE);
    const committed = await endTxn(h, 5, producerId, e, true);
    assert.deepEqual([committed.errorCode, committed.producerId, committed.producerEpoch], [ErrorCode.NONE, producerId, e + 1]);
    // A retry of the same EndTxn after completion is answered with the same id and epoch.
    const completed = await retrying(async () => describe(h)?.state, (s) => s !== 'CompleteCommit');
    assert.equal(completed, 'CompleteCommit');
    const retried = await endTxn(h, 5, producerId, e, true);
    assert.deepEqual([retried.errorCode, retried.producerEpoch], [ErrorCode.NONE, e + 1]);
    // The marker carried e + 1: a late batch of the ended transaction is fenced, not a new transaction.
    assert.equal(await produce(h, 12, 'tv2', producerId, e, 4), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(describe(h)?.state, 'CompleteCommit');
    // The next transaction at e + 1 from sequence 0; aborted this time.
    assert.equal(await retrying(() => produce(h, 12, 'tv2', producerId, e + 1, 0, 3), (code) => code === ErrorCode.NOT_ENOUGH_REPLICAS), ErrorCode.NONE);
    const aborted = await endTxn(h, 5, producerId, e + 1, false);
    assert.deepEqual([aborted.errorCode, aborted.producerEpoch], [ErrorCode.NONE, e + 2]);
    const partition = h.broker.services.replicaManager.partition('tv2', 0);
    assert.ok(partition);
    await retrying(async () => describe(h)?.state, (s) => s !== 'CompleteAbort');
    // 4 + 1 marker + 3 + 1 marker; everything is stable again.
    assert.equal(partition.logEndOffset, 9);
  });
});

test('TxnOffsetCommit v5 adds the group\'s __consumer_offsets partition to the transaction (no AddOffsetsToTxn)', async () => {
  await withHarness(PROPS, async (h) => {
    await createTopic(h, 'in');
    await retrying(async () => (await call(h.client, ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: ['g'] })).body.coordinators[0],
      (c) => c?.errorCode !== ErrorCode.NONE);
    const { producerId, producerEpoch: e } = await initProducer(h);
    const commit = await retrying(() => call(h.client, ApiKey.TxnOffsetCommit, 5, {
      transactionalId: TXN, groupId: 'g', producerId, producerEpoch: e, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: 'in', topicId: ZERO_UUID, partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: '' }] }],
    }), (r) => RETRIABLE.includes(r.body.topics[0]?.partitions[0]?.errorCode ?? -1));
    assert.equal(commit.body.topics[0]?.partitions[0]?.errorCode, ErrorCode.NONE);
    assert.deepEqual([...(describe(h)?.partitions.keys() ?? [])], ['__consumer_offsets']);
    // An old epoch is fenced by the coordinator before anything is written.
    const fenced = await call(h.client, ApiKey.TxnOffsetCommit, 5, {
      transactionalId: TXN, groupId: 'g', producerId, producerEpoch: e - 1, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: 'in', topicId: ZERO_UUID, partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: '' }] }],
    });
    assert.equal(fenced.body.topics[0]?.partitions[0]?.errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal((await endTxn(h, 5, producerId, e, true)).errorCode, ErrorCode.NONE);
    const fetched = await retrying(async () => (await call(h.client, ApiKey.OffsetFetch, 8, {
      groupId: '', topics: [], requireStable: true,
      groups: [{ groupId: 'g', memberId: null, memberEpoch: -1, topics: [{ name: 'in', topicId: ZERO_UUID, partitionIndexes: [0] }] }],
    })).body.groups[0]?.topics[0]?.partitions[0], (p) => p?.committedOffset !== 42n);
    assert.equal(fetched?.committedOffset, 42n);
  });
});

test('with transaction.version 0, Produce v12 only verifies: a partition not added is refused (KIP-890 part 1)', async () => {
  await withHarness({ 'transaction.state.log.num.partitions': '3', 'transaction.version': '0' }, async (h) => {
    await createTopic(h, 'tv0');
    const { producerId, producerEpoch: e } = await initProducer(h);
    assert.equal(await produce(h, 12, 'tv0', producerId, e, 0), ErrorCode.TRANSACTION_ABORTABLE);
    assert.equal(describe(h)?.state, 'Empty');
  });
});

test('regression: two in-flight produces of one producer to a partition not yet in the transaction append in arrival order (the first one\'s implicit add waits for the previous transaction\'s markers)', async () => {
  // Kafka Streams found it: right after EndTxn v5 the producer pipelines the next transaction's batches;
  // the first request's add met CONCURRENT_TRANSACTIONS and slept, the second's add succeeded, and its
  // batch (sequence 989) reached the partition before sequence 0 → OUT_OF_ORDER_SEQUENCE_NUMBER.
  // A flush window keeps the previous transaction's markers in flight for a while, and the retry window
  // is long enough to outlast them.
  await withHarness({ ...PROPS, 'log.flush.window.ms': '100', 'add.partitions.to.txn.retry.backoff.max.ms': '5000' }, async (h) => {
    await createTopic(h, 'order');
    const { producerId, producerEpoch: e } = await initProducer(h);
    // The test client has one request in flight per connection, so the second request takes another.
    const other = await RawClient.connect(h.broker.port);
    try {
      for (let round = 0; round < 10; round++) {
        const epoch = e + round;
        // Round 0 starts from Empty; every later round right after the previous EndTxn, markers in flight.
        // The second request comes half a retry backoff later, so the two adds' retries interleave.
        const [first, second] = await Promise.all([
          produce(h, 12, 'order', producerId, epoch, 0),
          new Promise((r) => setTimeout(r, 10)).then(() => produce(h, 12, 'order', producerId, epoch, 2, 2, other)),
        ]);
        assert.deepEqual([first, second], [ErrorCode.NONE, ErrorCode.NONE], `round ${round}`);
        const ended = await endTxn(h, 5, producerId, epoch, true);
        assert.deepEqual([ended.errorCode, ended.producerEpoch], [ErrorCode.NONE, epoch + 1]);
      }
    } finally {
      other.destroy();
    }
  });
});

test('regression: an implicit add refused while the previous transaction ends is tried again as soon as it has ended, not a whole add.partitions.to.txn.retry.backoff.ms later', async () => {
  // Kafka Streams on one node under transactions v2: each transaction's first produce came right after
  // EndTxn v5, met the previous transaction's markers (CONCURRENT_TRANSACTIONS) and slept a fixed backoff
  // (Produce 20 ms mean vs 6 ms under v1). A flush window keeps the markers in flight for a while; a
  // backoff far above it shows whether the retry waited for the end of the transaction or for the timer.
  await withHarness({ ...PROPS, 'log.flush.window.ms': '300', 'add.partitions.to.txn.retry.backoff.ms': '4000', 'add.partitions.to.txn.retry.backoff.max.ms': '30000' }, async (h) => {
    await createTopic(h, 'settle');
    const { producerId, producerEpoch: e } = await initProducer(h);
    let endingSeen = 0;
    for (let round = 0; round < 4; round++) {
      const epoch = e + round;
      if (round > 0 && describe(h)?.state === 'PrepareCommit') endingSeen++;
      const started = Date.now();
      assert.equal(await produce(h, 12, 'settle', producerId, epoch, 0), ErrorCode.NONE, `round ${round}`);
      const ms = Date.now() - started;
      assert.ok(ms < 3000, `round ${round}: the produce took ${ms} ms, as if it slept out the 4000 ms backoff`);
      const ended = await endTxn(h, 5, producerId, epoch, true);
      assert.deepEqual([ended.errorCode, ended.producerEpoch], [ErrorCode.NONE, epoch + 1]);
    }
    // The previous transaction was still ending when its successor's first produce came (else the test
    // would not exercise the wait).
    assert.ok(endingSeen >= 1, 'no produce met the previous transaction still ending');
  });
});

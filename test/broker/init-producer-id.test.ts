import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { PRODUCER_ID_BLOCK_SIZE } from '../../src/controller/producer-ids.js';
import { call } from './kafka-test-client.js';
import { startHarness, type Harness } from './standalone-harness.js';

async function initProducerId(h: Harness, version: number, fields: { transactionalId?: string | null; producerId?: bigint; producerEpoch?: number } = {}) {
  const response = await call(h.client, ApiKey.InitProducerId, version, {
    transactionalId: fields.transactionalId ?? null,
    transactionTimeoutMs: 60_000,
    producerId: fields.producerId ?? -1n,
    producerEpoch: fields.producerEpoch ?? -1,
    enable2Pc: false,
    keepPreparedTxn: false,
  });
  return response.body;
}

test('ApiVersions advertises InitProducerId v0-5', async () => {
  const h = await startHarness();
  try {
    const response = await call(h.client, ApiKey.ApiVersions, 3, { clientSoftwareName: 'runnel-test', clientSoftwareVersion: '1', clusterId: null, nodeId: -1 });
    const api = response.body.apiKeys.find((k) => k.apiKey === ApiKey.InitProducerId);
    assert.deepEqual(api && { min: api.minVersion, max: api.maxVersion }, { min: 0, max: 5 });
  } finally {
    await h.close();
  }
});

test('every version hands out distinct producer ids with epoch 0; ids never repeat across restarts', async () => {
  let h = await startHarness();
  try {
    const seen = new Set<bigint>();
    for (let version = 0; version <= 5; version++) {
      const body = await initProducerId(h, version);
      assert.equal(body.errorCode, ErrorCode.NONE);
      assert.equal(body.producerEpoch, 0);
      assert.ok(!seen.has(body.producerId));
      seen.add(body.producerId);
    }
    assert.deepEqual([...seen], [0n, 1n, 2n, 3n, 4n, 5n]);
    h = await h.restart();
    const after = await initProducerId(h, 4);
    assert.equal(after.errorCode, ErrorCode.NONE);
    // The rest of the first block is skipped: the next block starts where the committed one ended.
    assert.equal(after.producerId, BigInt(PRODUCER_ID_BLOCK_SIZE));
    assert.equal(h.broker.services.metadataLoader.image.nextProducerId, 2 * PRODUCER_ID_BLOCK_SIZE);
  } finally {
    await h.close();
  }
});

test('concurrent requests across a block boundary get distinct ids from consecutive blocks', async () => {
  const h = await startHarness();
  try {
    const ids = await Promise.all(Array.from({ length: PRODUCER_ID_BLOCK_SIZE + 50 }, () => h.broker.services.producerIds.generateProducerId()));
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(Math.max(...ids), PRODUCER_ID_BLOCK_SIZE + 49);
    assert.equal(h.broker.services.metadataLoader.image.nextProducerId, 2 * PRODUCER_ID_BLOCK_SIZE);
  } finally {
    await h.close();
  }
});

test('KIP-360 (v3+): an idempotent producer that sends its id and epoch gets a new id, as Kafka', async () => {
  const h = await startHarness();
  try {
    const first = await initProducerId(h, 3);
    const again = await initProducerId(h, 3, { producerId: first.producerId, producerEpoch: first.producerEpoch });
    assert.equal(again.errorCode, ErrorCode.NONE);
    assert.notEqual(again.producerId, first.producerId);
    assert.equal(again.producerEpoch, 0);
    // Only one of the pair given: KafkaApis answers INVALID_REQUEST.
    assert.equal((await initProducerId(h, 3, { producerId: 5n })).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await initProducerId(h, 5, { producerEpoch: 2 })).errorCode, ErrorCode.INVALID_REQUEST);
  } finally {
    await h.close();
  }
});

test('transactional ids: empty → INVALID_REQUEST; before the coordinator runs NOT_COORDINATOR; then an id and epochs that bump', async () => {
  const h = await startHarness();
  try {
    const empty = await initProducerId(h, 2, { transactionalId: '' });
    assert.equal(empty.errorCode, ErrorCode.INVALID_REQUEST);
    const early = await initProducerId(h, 3, { transactionalId: 'txn-1' });
    assert.equal(early.errorCode, ErrorCode.NOT_COORDINATOR, 'clients find the coordinator first (FindCoordinator creates __transaction_state)');
    await h.broker.services.txnCoordinator.findCoordinators(['txn-1']);
    let first = await initProducerId(h, 0, { transactionalId: 'txn-1' });
    for (let i = 0; i < 100 && first.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS; i++) {
      await new Promise((r) => setTimeout(r, 20));
      first = await initProducerId(h, 0, { transactionalId: 'txn-1' });
    }
    assert.equal(first.errorCode, ErrorCode.NONE);
    assert.equal(first.producerEpoch, 0);
    const second = await initProducerId(h, 5, { transactionalId: 'txn-1', producerId: first.producerId, producerEpoch: 0 });
    assert.deepEqual([second.errorCode, second.producerId, second.producerEpoch], [ErrorCode.NONE, first.producerId, 1]);
    // KIP-360: retrying the bump that made epoch 1 (naming epoch 0) gets epoch 1 again; any other epoch is
    // fenced (v3 answers INVALID_PRODUCER_EPOCH).
    const retry = await initProducerId(h, 3, { transactionalId: 'txn-1', producerId: first.producerId, producerEpoch: 0 });
    assert.deepEqual([retry.errorCode, retry.producerEpoch], [ErrorCode.NONE, 1]);
    const stale = await initProducerId(h, 3, { transactionalId: 'txn-1', producerId: first.producerId, producerEpoch: 7 });
    assert.equal(stale.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    // A new instance (no id and epoch) bumps and forgets the epoch before (prepareIncrementProducerEpoch):
    // the instance it replaced cannot come back by naming it.
    const third = await initProducerId(h, 5, { transactionalId: 'txn-1' });
    assert.deepEqual([third.errorCode, third.producerEpoch], [ErrorCode.NONE, 2]);
    const replaced = await initProducerId(h, 3, { transactionalId: 'txn-1', producerId: first.producerId, producerEpoch: 1 });
    assert.equal(replaced.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    const staleV4 = await initProducerId(h, 4, { transactionalId: 'txn-1', producerId: first.producerId + 1n, producerEpoch: 1 });
    assert.equal(staleV4.errorCode, ErrorCode.PRODUCER_FENCED);
  } finally {
    await h.close();
  }
});

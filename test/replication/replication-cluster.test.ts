/**
 * Replication on an in-process 3-broker cluster (one shared metadata log and controller): followers
 * fetch from the leader over the brokers' listeners, the HW follows the ISR, acks=-1 waits for it, and
 * every replica's bytes equal the leader's up to the HW.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import { startMemoryCluster } from '../cluster/memory-cluster.js';
import { RawClient } from '../network/raw-client.js';
import { simpleBatch } from './batches.js';
import { checkByteIdentity } from './byte-identity.js';
import { changePartition, createTopic, hosted, leaderOf, produceTo, restartBroker, waitFor } from './cluster-helpers.js';

test('followers replicate the leader\'s bytes; acks=-1 answers once the ISR has them; HW = min over the ISR', async () => {
  const cluster = await startMemoryCluster(3, { 'replica.fetch.wait.max.ms': '200' });
  const client = { current: undefined as RawClient | undefined };
  try {
    await createTopic(cluster, 'r', 1, 3, { 'min.insync.replicas': '2' });
    const leader = leaderOf(cluster, 'r', 0);
    client.current = await RawClient.connect(leader.port);
    let expectedEnd = 0;
    for (let i = 0; i < 20; i++) {
      const answer = await produceTo(client.current, 'r', 0, simpleBatch(5), { acks: -1 });
      assert.equal(answer.errorCode, ErrorCode.NONE);
      assert.equal(Number(answer.baseOffset), expectedEnd);
      expectedEnd += 5;
      // acks=-1 answered: every ISR member acknowledged the batch, so the HW covers it.
      assert.ok(hosted(leader, 'r', 0).highWatermark >= expectedEnd);
    }
    for (const broker of cluster.brokers) {
      await waitFor(`replica ${broker.nodeId} at ${expectedEnd}`, () => hosted(broker, 'r', 0).logEndOffset === expectedEnd);
    }
    const acks1 = await produceTo(client.current, 'r', 0, simpleBatch(3), { acks: 1 });
    assert.equal(acks1.errorCode, ErrorCode.NONE);
    expectedEnd += 3;
    await waitFor('HW at the log end', () => hosted(leader, 'r', 0).highWatermark === expectedEnd);
    for (const broker of cluster.brokers) {
      // The ISR is still all three and the followers learn the HW in their next fetch answers.
      assert.deepEqual([...hosted(broker, 'r', 0).isr].sort(), [1, 2, 3]);
      await waitFor(`replica ${broker.nodeId} HW`, () => hosted(broker, 'r', 0).highWatermark === expectedEnd);
    }
    const followers = cluster.brokers.filter((b) => b !== leader).map((b) => ({ nodeId: b.nodeId, dataDir: b.services.config['log.dirs'] }));
    const report = await checkByteIdentity('r', 0, expectedEnd, { nodeId: leader.nodeId, dataDir: leader.services.config['log.dirs'] }, followers);
    assert.deepEqual(report.mismatches, []);
    assert.ok(report.comparedBytes > 0);
  } finally {
    client.current?.destroy();
    await cluster.close();
  }
});

test('acks=-1 times out with REQUEST_TIMED_OUT while an ISR follower is down; acks=1 does not wait for it', async () => {
  const cluster = await startMemoryCluster(2, { 'replica.fetch.wait.max.ms': '100' });
  let client: RawClient | undefined;
  try {
    await createTopic(cluster, 'slow', 1, 2);
    const leader = leaderOf(cluster, 'slow', 0);
    const follower = cluster.brokers.find((b) => b !== leader);
    assert.ok(follower);
    await follower.close();
    client = await RawClient.connect(leader.port);
    const acksAll = await produceTo(client, 'slow', 0, simpleBatch(1), { acks: -1, timeoutMs: 100 });
    assert.equal(acksAll.errorCode, ErrorCode.REQUEST_TIMED_OUT);
    assert.equal(leader.services.delayedProduce.size, 0);
    assert.equal(hosted(leader, 'slow', 0).highWatermark, 0);
    const acksOne = await produceTo(client, 'slow', 0, simpleBatch(1), { acks: 1, timeoutMs: 100 });
    assert.equal(acksOne.errorCode, ErrorCode.NONE);
    assert.equal(Number(acksOne.baseOffset), 1);
  } finally {
    client?.destroy();
    await cluster.close();
  }
});

test('a former leader truncates its unreplicated tail to the divergence point (DivergingEpoch) and converges byte for byte', async () => {
  const cluster = await startMemoryCluster(3, { 'replica.fetch.wait.max.ms': '100', 'replica.fetch.backoff.ms': '50' });
  let client: RawClient | undefined;
  try {
    const topicId = await createTopic(cluster, 'd', 1, 3);
    const first = leaderOf(cluster, 'd', 0);
    const [b, c] = cluster.brokers.filter((x) => x !== first) as [typeof first, typeof first];
    client = await RawClient.connect(first.port);
    for (let i = 0; i < 2; i++) assert.equal((await produceTo(client, 'd', 0, simpleBatch(5), { acks: -1 })).errorCode, ErrorCode.NONE);
    // Both followers stop; the leader takes acks=1 writes no one else has (offsets 10..14, epoch 0).
    const bId = b.nodeId;
    const cId = c.nodeId;
    await b.close();
    await c.close();
    assert.equal((await produceTo(client, 'd', 0, simpleBatch(5), { acks: 1 })).errorCode, ErrorCode.NONE);
    client.destroy();
    const firstId = first.nodeId;
    await first.close();
    // The controller elects b from the ISR; b and c come back and b leads epoch 1 from its end, 10.
    const newLeader = await restartBroker(cluster, bId);
    await restartBroker(cluster, cId);
    await changePartition(cluster, topicId, 0, { leader: bId, isr: [bId, cId] });
    assert.equal(hosted(newLeader, 'd', 0).leaderEpoch, 1);
    assert.equal(hosted(newLeader, 'd', 0).logEndOffset, 10);
    client = await RawClient.connect(newLeader.port);
    assert.equal(Number((await produceTo(client, 'd', 0, simpleBatch(3), { acks: -1 })).baseOffset), 10);
    // The old leader returns as a follower: its epoch-0 offsets 10..14 diverge from epoch 1 at 10.
    const old = await restartBroker(cluster, firstId);
    await waitFor('old leader converged', () => hosted(old, 'd', 0).logEndOffset === 13 && hosted(old, 'd', 0).log.latestEpoch() === 1);
    await changePartition(cluster, topicId, 0, { isr: [bId, cId, firstId] });
    assert.equal((await produceTo(client, 'd', 0, simpleBatch(2), { acks: -1 })).errorCode, ErrorCode.NONE);
    for (const broker of cluster.brokers) await waitFor(`replica ${broker.nodeId} at 15`, () => hosted(broker, 'd', 0).highWatermark === 15);
    const dirs = cluster.brokers.filter((x) => x !== newLeader).map((x) => ({ nodeId: x.nodeId, dataDir: x.services.config['log.dirs'] }));
    const report = await checkByteIdentity('d', 0, 15, { nodeId: bId, dataDir: newLeader.services.config['log.dirs'] }, dirs);
    assert.deepEqual(report.mismatches, []);
  } finally {
    client?.destroy();
    await cluster.close();
  }
});

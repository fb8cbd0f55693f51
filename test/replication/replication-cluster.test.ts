/**
 * Replication on an in-process 3-broker cluster (one shared metadata log and controller): followers
 * fetch from the leader over the brokers' listeners, the HW follows the ISR, acks=-1 waits for it, and
 * every replica's bytes equal the leader's up to the HW.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topicByName } from '../../src/metadata/image.js';
import { MetadataLoader } from '../../src/metadata/loader.js';
import { RECOVERING } from '../../src/metadata/records.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { startMemoryCluster } from '../cluster/memory-cluster.js';
import { RawClient } from '../network/raw-client.js';
import { recordBatch, simpleBatch } from './batches.js';
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
    await follower.kill(); // down without a controlled shutdown
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
    await b.kill(); // down without a controlled shutdown
    await c.kill(); // down without a controlled shutdown
    assert.equal((await produceTo(client, 'd', 0, simpleBatch(5), { acks: 1 })).errorCode, ErrorCode.NONE);
    client.destroy();
    const firstId = first.nodeId;
    await first.kill(); // down without a controlled shutdown
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

test('KIP-704: after an unclean election the partition is RECOVERING with the ISR just the new leader; a follower catches up (losing the old leader\'s tail) and the leader\'s expansion reports RECOVERED', async () => {
  const cluster = await startMemoryCluster(3, { 'replica.fetch.wait.max.ms': '100', 'replica.fetch.backoff.ms': '50' });
  const loader = new MetadataLoader(cluster.metadataLog);
  const partition = () => topicByName(loader.image, 'u')!.partitions[0]!;
  let client: RawClient | undefined;
  try {
    const topicId = await createTopic(cluster, 'u', 1, 3);
    const first = leaderOf(cluster, 'u', 0);
    const [b, c] = cluster.brokers.filter((x) => x !== first) as [typeof first, typeof first];
    const [bId, cId] = [b.nodeId, c.nodeId];
    client = await RawClient.connect(first.port);
    assert.equal((await produceTo(client, 'u', 0, simpleBatch(5), { acks: -1 })).errorCode, ErrorCode.NONE);
    await waitFor('c has the first 5', () => hosted(c, 'u', 0).logEndOffset === 5);
    await b.kill();
    await c.kill();
    // Only the old leader ever has offsets 5..9; it dies too.
    assert.equal((await produceTo(client, 'u', 0, simpleBatch(5), { acks: 1 })).errorCode, ErrorCode.NONE);
    client.destroy();
    await first.kill();
    // The controller's unclean election, as PartitionChangeBuilder writes it: b leads, ISR [b], RECOVERING.
    const newLeader = await restartBroker(cluster, bId);
    await changePartition(cluster, topicId, 0, { leader: bId, isr: [bId], leaderRecoveryState: RECOVERING });
    assert.equal(partition().leaderRecoveryState, RECOVERING);
    assert.deepEqual([...hosted(newLeader, 'u', 0).isr], [bId]);
    client = await RawClient.connect(newLeader.port);
    assert.equal(Number((await produceTo(client, 'u', 0, simpleBatch(2), { acks: 1 })).baseOffset), 5);
    // c returns, catches up with the new leader; the leader proposes [b, c] as RECOVERED; the controller
    // commits both in one change.
    const back = await restartBroker(cluster, cId);
    await waitFor('ISR expanded and RECOVERED', () => partition().isr.length === 2 && partition().leaderRecoveryState === undefined, 10_000);
    assert.deepEqual([...partition().isr].sort(), [bId, cId].sort());
    assert.deepEqual([...hosted(newLeader, 'u', 0).isr].sort(), [bId, cId].sort());
    await waitFor('c at the new leader\'s end', () => hosted(back, 'u', 0).logEndOffset === 7);
    assert.equal((await produceTo(client, 'u', 0, simpleBatch(1), { acks: -1 })).errorCode, ErrorCode.NONE);
  } finally {
    client?.destroy();
    await cluster.close();
  }
});

test('ISR shrinks when followers stop fetching (via AlterPartition): acks=-1 gets NOT_ENOUGH_REPLICAS, acks=1 works; a follower back expands it and acks=-1 works again', async () => {
  const cluster = await startMemoryCluster(3, {
    'replica.fetch.wait.max.ms': '100', 'replica.fetch.backoff.ms': '50', 'replica.lag.time.max.ms': '600', 'min.insync.replicas': '2',
  });
  let client: RawClient | undefined;
  try {
    await createTopic(cluster, 'isr', 1, 3);
    const leader = leaderOf(cluster, 'isr', 0);
    client = await RawClient.connect(leader.port);
    assert.equal((await produceTo(client, 'isr', 0, simpleBatch(2), { acks: -1 })).errorCode, ErrorCode.NONE);
    const [b, c] = cluster.brokers.filter((x) => x !== leader) as [typeof leader, typeof leader];
    const bId = b.nodeId;
    await b.kill(); // down without a controlled shutdown
    await c.kill(); // down without a controlled shutdown
    // acks=1 never waits on followers.
    const acksOne = await produceTo(client, 'isr', 0, simpleBatch(3), { acks: 1 });
    assert.equal(acksOne.errorCode, ErrorCode.NONE);
    assert.equal(Number(acksOne.baseOffset), 2);
    // Both followers are now behind and silent for replica.lag.time.max.ms (a follower at the leader's end
    // stays in sync however long it is silent — Kafka's isCaughtUp; the controller's session fencing is
    // what removes a dead one then): the leader proposes ISR = [leader]; the controller commits it.
    await waitFor('ISR shrunk to the leader', () => hosted(leader, 'isr', 0).isr.length === 1, 10_000);
    assert.deepEqual([...hosted(leader, 'isr', 0).isr], [leader.nodeId]);
    const refused = await produceTo(client, 'isr', 0, simpleBatch(1), { acks: -1 });
    assert.equal(refused.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
    assert.equal((await produceTo(client, 'isr', 0, simpleBatch(1), { acks: 1 })).errorCode, ErrorCode.NONE);
    // One follower comes back, catches up, and is added back: acks=-1 works again.
    const back = await restartBroker(cluster, bId);
    await waitFor('ISR expanded', () => hosted(leader, 'isr', 0).isr.length === 2, 10_000);
    assert.equal(hosted(back, 'isr', 0).logEndOffset, 6);
    const accepted = await produceTo(client, 'isr', 0, simpleBatch(1), { acks: -1 });
    assert.equal(accepted.errorCode, ErrorCode.NONE);
    assert.equal(Number(accepted.baseOffset), 6);
    await waitFor('follower HW', () => hosted(back, 'isr', 0).highWatermark === 7);
  } finally {
    client?.destroy();
    await cluster.close();
  }
});

test('a follower that was down catches up megabytes across segments with replica.fetch.max.bytes above segment.bytes, byte for byte', async () => {
  const cluster = await startMemoryCluster(2, {
    'replica.fetch.wait.max.ms': '50', 'replica.fetch.backoff.ms': '50', 'replica.fetch.max.bytes': String(8 << 20), 'replica.fetch.response.max.bytes': String(8 << 20),
  });
  let client: RawClient | undefined;
  try {
    await createTopic(cluster, 'small', 1, 2, { 'segment.bytes': String(1 << 20) });
    const leader = leaderOf(cluster, 'small', 0);
    const followerId = cluster.brokers.find((b) => b !== leader)!.nodeId;
    await cluster.brokers.find((b) => b !== leader)!.kill(); // down without a controlled shutdown
    client = await RawClient.connect(leader.port);
    const big = Buffer.alloc(100_000, 7);
    for (let i = 0; i < 30; i++) {
      const batch = recordBatch(Array.from({ length: 10 }, (_, j) => ({ key: Buffer.from(`k${j}`), value: big.subarray(0, 10_000), timestampDelta: j })));
      assert.equal((await produceTo(client, 'small', 0, batch, { acks: 1 })).errorCode, ErrorCode.NONE);
    }
    const follower = await restartBroker(cluster, followerId);
    await waitFor('follower caught up', () => hosted(follower, 'small', 0).logEndOffset === 300);
    // The leader's HW passes 300 only once the follower acknowledged (in fsync mode: flushed) it.
    await waitFor('leader HW', () => hosted(leader, 'small', 0).highWatermark === 300);
    assert.ok(hosted(follower, 'small', 0).log.segmentBaseOffsets().length > 1);
    const report = await checkByteIdentity('small', 0, 300, { nodeId: leader.nodeId, dataDir: leader.services.config['log.dirs'] }, [{ nodeId: followerId, dataDir: follower.services.config['log.dirs'] }]);
    assert.deepEqual(report.mismatches, []);
  } finally {
    client?.destroy();
    await cluster.close();
  }
});

/** KIP-392: rack-aware preferred read replica at the leader; consumers read from a follower below its HW. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RACK_AWARE_REPLICA_SELECTOR } from '../../src/replication/replica-manager.js';
import { startMemoryCluster } from '../cluster/memory-cluster.js';
import { RawClient } from '../network/raw-client.js';
import { simpleBatch } from './batches.js';
import { consumerFetch, createTopic, hosted, leaderOf, produceTo, restartBroker, waitFor } from './cluster-helpers.js';

test('the leader names a follower in the consumer\'s rack as preferred read replica, and the follower serves the records below its HW', async () => {
  const cluster = await startMemoryCluster(3, { 'replica.fetch.wait.max.ms': '50', 'replica.selector.class': RACK_AWARE_REPLICA_SELECTOR });
  const clients: RawClient[] = [];
  try {
    for (const id of [1, 2, 3]) await restartBroker(cluster, id, { 'broker.rack': `rack-${id}` });
    const topicId = await createTopic(cluster, 'f', 1, 3);
    const leader = leaderOf(cluster, 'f', 0);
    const follower = cluster.brokers.find((b) => b !== leader)!;
    const toLeader = await RawClient.connect(leader.port);
    clients.push(toLeader);
    assert.equal((await produceTo(toLeader, 'f', 0, simpleBatch(4), { acks: -1 })).errorCode, ErrorCode.NONE);
    await waitFor('follower HW', () => hosted(follower, 'f', 0).highWatermark === 4);
    // Same rack as the leader, or no rack: the leader serves.
    const own = await consumerFetch(toLeader, topicId, 0, 0, `rack-${leader.nodeId}`);
    assert.equal(own.preferredReadReplica, -1);
    assert.ok((own.records?.length ?? 0) > 0);
    // The follower's rack: no records, the follower's id.
    const redirected = await consumerFetch(toLeader, topicId, 0, 0, `rack-${follower.nodeId}`);
    assert.equal(redirected.errorCode, ErrorCode.NONE);
    assert.equal(redirected.preferredReadReplica, follower.nodeId);
    assert.equal(redirected.records?.length ?? 0, 0);
    const toFollower = await RawClient.connect(follower.port);
    clients.push(toFollower);
    const fromFollower = await consumerFetch(toFollower, topicId, 0, 0, `rack-${follower.nodeId}`);
    assert.equal(fromFollower.errorCode, ErrorCode.NONE);
    assert.equal(Number(fromFollower.highWatermark), 4);
    assert.deepEqual(fromFollower.records, own.records);
  } finally {
    for (const c of clients) c.destroy();
    await cluster.close();
  }
});

/**
 * min.insync.replicas across process kills (issue #22): five combined nodes (so the Raft quorum survives
 * two of them down), a topic with RF 3 on nodes 1-3 and min.insync.replicas=2. With two of its replicas
 * killed (-9) and acks=1 records leaving them behind, the leader shrinks the ISR to itself after
 * replica.lag.time.max.ms (AlterPartition; or the controller fences them first): acks=-1 gets
 * NOT_ENOUGH_REPLICAS, acks=1 still works. One replica back: it catches up, rejoins
 * the ISR, and acks=-1 works again; afterwards every replica's bytes equal the leader's below the HW.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '../../src/protocol/errors.js';
import { simpleBatch } from '../replication/batches.js';
import { checkTopicIdentity, createTopic, eventually, partitionStates, produceOnce, startProcessCluster, type ProcessCluster } from './replication-cluster.js';

const TOPIC = 'min-isr';

test('2 of 3 replicas down: acks=-1 NOT_ENOUGH_REPLICAS, acks=1 works; one back: acks=-1 works again', { timeout: 600_000 }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'runnel-min-isr-'));
  let cluster: ProcessCluster | undefined;
  try {
    cluster = await startProcessCluster(root, 5, { 'broker.session.timeout.ms': '6000', 'broker.heartbeat.interval.ms': '1000', 'replica.lag.time.max.ms': '5000' });
    const c = cluster;
    const port = c.node(1).port;
    assert.equal(await createTopic(port, TOPIC, 1, 3, { 'min.insync.replicas': '2' }, [[1, 2, 3]]), ErrorCode.NONE);
    await eventually('partition led by 1 with ISR 3', async () => {
      const [s] = await partitionStates(port, TOPIC);
      return s !== undefined && s.leader >= 0 && s.isr.length === 3;
    });
    const leader = (await partitionStates(port, TOPIC))[0]!.leader;
    const [down1, down2] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    const leaderPort = c.node(leader).port;
    assert.equal((await produceOnce(leaderPort, TOPIC, 0, simpleBatch(5), -1)).errorCode, ErrorCode.NONE);
    await c.kill9(down1);
    await c.kill9(down2);
    // acks=1 never waits on followers; these records also leave the dead followers behind, so the leader
    // proposes them out of the ISR after replica.lag.time.max.ms (or the controller fences them first).
    const acksOne = await produceOnce(leaderPort, TOPIC, 0, simpleBatch(3), 1);
    assert.equal(acksOne.errorCode, ErrorCode.NONE);
    assert.equal(Number(acksOne.baseOffset), 5);
    await eventually('ISR shrunk to the leader', async () => (await partitionStates(leaderPort, TOPIC))[0]?.isr.length === 1, 120_000);
    const refused = await produceOnce(leaderPort, TOPIC, 0, simpleBatch(1), -1);
    assert.equal(refused.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
    assert.equal((await produceOnce(leaderPort, TOPIC, 0, simpleBatch(1), 1)).errorCode, ErrorCode.NONE);
    await c.start(down1);
    await eventually('ISR back to 2', async () => (await partitionStates(leaderPort, TOPIC))[0]?.isr.length === 2, 120_000);
    const accepted = await produceOnce(leaderPort, TOPIC, 0, simpleBatch(2), -1);
    assert.equal(accepted.errorCode, ErrorCode.NONE);
    assert.equal(Number(accepted.baseOffset), 9);
    await c.start(down2);
    await eventually('ISR back to 3', async () => (await partitionStates(leaderPort, TOPIC))[0]?.isr.length === 3, 120_000);
    const reports = await checkTopicIdentity(c, TOPIC);
    assert.deepEqual(reports.flatMap((r) => r.mismatches), []);
    t.diagnostic(`leader ${leader}; killed ${down1}, ${down2}; byte identity below HW ${reports[0]?.highWatermark}: ${reports[0]?.comparedBytes} B`);
  } catch (e) {
    if (cluster !== undefined) for (const n of cluster.nodes) t.diagnostic(`node ${n.id} log tail: ${n.log.slice(-1500)}`);
    throw e;
  } finally {
    await cluster?.close();
    await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
});

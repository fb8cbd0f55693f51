/**
 * Group coordinator failover across processes (issue #22): a 3-process Runnel cluster, `__consumer_offsets`
 * with RF 3; a consumer group commits offsets on every partition of an RF 3 topic; the node that
 * coordinates the group (the leader of its `__consumer_offsets` partition) is killed with SIGKILL and not
 * restarted. Then: another node becomes the coordinator (the partition's new leader loads it), the committed
 * offsets are served unchanged, and a consumer joining the group resumes exactly at them and reads every
 * later record once. Finally the killed node restarts and the topic's replicas are byte-identical below the HW.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';
import { checkTopicIdentity, createTopic, eventually, partitionStates, startProcessCluster, type ProcessCluster } from './replication-cluster.js';

const TOPIC = 'coordinator-failover';
const GROUP = 'coordinator-failover-group';
const PARTITIONS = 3;
const PER_PARTITION = 100;
const COMMITTED = 40;
const RUN_MS = 240_000;

/** The node FindCoordinator (key type group) names for the group, asked of a live node. */
async function groupCoordinator(port: number): Promise<number | undefined> {
  const client = await RawClient.connect(port);
  try {
    const r = await call(client, ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: [GROUP] });
    const c = r.body.coordinators[0];
    return c !== undefined && c.errorCode === ErrorCode.NONE ? c.nodeId : undefined;
  } finally {
    client.destroy();
  }
}

test('3 nodes: kill -9 of the group coordinator\'s node; the group moves and resumes at its committed offsets', { timeout: RUN_MS }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'runnel-coordinator-'));
  let cluster: ProcessCluster | undefined;
  const kafka = (c: ProcessCluster, brokers = c.bootstrap): InstanceType<typeof Kafka> =>
    new Kafka({ brokers: brokers.split(','), clientId: 'coordinator-failover', logLevel: logLevel.NOTHING, retry: { retries: 20, maxRetryTime: 5_000 } });
  try {
    cluster = await startProcessCluster(root, 3, { 'offsets.topic.num.partitions': '3', 'group.initial.rebalance.delay.ms': '0' });
    const c = cluster;
    assert.equal(await createTopic(c.nodes[0]!.port, TOPIC, PARTITIONS, 3, { 'min.insync.replicas': '2' }), 0);
    await eventually('every partition led with ISR 3', async () => {
      const states = await partitionStates(c.nodes[0]!.port, TOPIC);
      return states.length === PARTITIONS && states.every((s) => s.leader >= 0 && s.isr.length === 3);
    });
    const producer = kafka(c).producer({ idempotent: true });
    await producer.connect();
    for (let p = 0; p < PARTITIONS; p++) {
      await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: PER_PARTITION }, (_, i) => ({ partition: p, value: `${p}:${i}` })) });
    }
    await producer.disconnect();

    // Offsets committed through the coordinator (OffsetCommit of an empty group), acks=-1 in __consumer_offsets.
    const admin = kafka(c).admin();
    await admin.connect();
    await admin.setOffsets({ groupId: GROUP, topic: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, offset: String(COMMITTED) })) });
    await admin.disconnect();
    let coordinator: number | undefined;
    await eventually('a coordinator for the group', async () => (coordinator = await groupCoordinator(c.nodes[0]!.port)) !== undefined);
    const victim = coordinator as number;
    await c.kill9(victim);
    const survivors = c.nodes.filter((n) => n.id !== victim);
    t.diagnostic(`kill -9 of node ${victim}, coordinator of ${GROUP}`);
    let moved: number | undefined;
    await eventually('another node coordinates the group', async () => {
      moved = await groupCoordinator(survivors[0]!.port).catch(() => undefined);
      return moved !== undefined && moved !== victim;
    }, 120_000);
    t.diagnostic(`new coordinator: node ${moved}`);
    const bootstrap = survivors.map((n) => `127.0.0.1:${n.port}`).join(',');

    const admin2 = kafka(c, bootstrap).admin();
    await admin2.connect();
    let fetched: Array<{ partition: number; offset: string }> = [];
    await eventually('committed offsets served by the new coordinator', async () => {
      fetched = (await admin2.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }).catch(() => []))[0]?.partitions ?? [];
      return fetched.length === PARTITIONS;
    }, 60_000);
    await admin2.disconnect();
    assert.deepEqual(fetched.map((f) => f.offset).sort(), Array(PARTITIONS).fill(String(COMMITTED)), 'the committed offsets survive');

    // A consumer of the group starts at the committed offsets and reads every later record once.
    const consumer = kafka(c, bootstrap).consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    const seen = new Map<number, number[]>();
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => { (seen.get(partition) ?? seen.set(partition, []).get(partition)!).push(Number(message.offset)); },
    });
    const want = PER_PARTITION - COMMITTED;
    await eventually('the consumer read every record after the committed offsets', async () =>
      [...Array(PARTITIONS).keys()].every((p) => (seen.get(p)?.length ?? 0) >= want), 120_000);
    await consumer.disconnect();
    for (let p = 0; p < PARTITIONS; p++) {
      assert.deepEqual(seen.get(p), Array.from({ length: want }, (_, i) => COMMITTED + i), `partition ${p}: offsets ${COMMITTED}..${PER_PARTITION - 1} once, in order`);
    }

    await c.start(victim);
    await eventually('ISR 3 again after the restart', async () => {
      const states = await partitionStates(c.node(victim).port, TOPIC);
      return states.length === PARTITIONS && states.every((s) => s.isr.length === 3);
    }, 120_000);
    const reports = await checkTopicIdentity(c, TOPIC);
    for (const r of reports) assert.deepEqual(r.mismatches, [], `partition ${r.partition}: replicas differ below HW ${r.highWatermark}`);
  } catch (e) {
    if (cluster !== undefined) for (const n of cluster.nodes) t.diagnostic(`node ${n.id} log tail: ${n.log.slice(-1500)}`);
    throw e;
  } finally {
    await cluster?.close();
    await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/config.js';
import { LocalMetadataLog } from '../../src/metadata/local-metadata-log.js';
import { MetadataLoader } from '../../src/metadata/loader.js';
import type { MetadataRecord } from '../../src/metadata/records.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { LocalReplicaManager } from '../../src/replication/replica-manager.js';
import { topicCreationRecords } from '../../src/controller/topic-records.js';
import type { HostedPartition } from '../../src/replication/types.js';
import { simpleBatch } from './batches.js';

const TOPIC_A = '11111111-1111-4111-8111-111111111111';
const TOPIC_B = '22222222-2222-4222-8222-222222222222';

interface Node {
  dataDir: string;
  metadataLog: LocalMetadataLog;
  logs: LogManager;
  replicaManager: LocalReplicaManager;
  apply(records: MetadataRecord[]): Promise<void>;
  close(): Promise<void>;
}

async function openNode(dataDir: string, properties: Record<string, string> = {}): Promise<Node> {
  const config = resolveConfig({ overrides: Object.entries(properties) }).config;
  const metadataLog = await LocalMetadataLog.open(dataDir);
  const loader = new MetadataLoader(metadataLog);
  const logs = await LogManager.open({ dataDir });
  const replicaManager = await LocalReplicaManager.start({ nodeId: 1, config, logManager: logs, loader });
  return {
    dataDir, metadataLog, logs, replicaManager,
    async apply(records) {
      await metadataLog.append(records);
      await replicaManager.whenIdle();
    },
    async close() {
      await replicaManager.close();
      await logs.close();
      await metadataLog.close();
    },
  };
}

const register = (brokerId: number): MetadataRecord => ({
  type: 'RegisterBroker', brokerId, brokerEpoch: 0, host: 'localhost', port: 9092 + brokerId, rack: null, fenced: false,
});

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

test('deltas: create hosts only partitions assigned here; config, leadership and removal follow the image', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-rm-'));
  const node = await openNode(dataDir);
  try {
    const replicas = node.replicaManager;
    const advanced: HostedPartition[] = [];
    replicas.onPartitionAdvanced((p) => advanced.push(p));
    await node.apply([register(1), register(2)]);
    await node.apply(topicCreationRecords('a', TOPIC_A, 4, 1, [1, 2]));
    // Round-robin placement: partitions 0 and 2 on broker 1.
    assert.deepEqual(replicas.partitions().map((p) => p.partition).sort(), [0, 2]);
    const p0 = replicas.partition('a', 0);
    assert.ok(p0);
    assert.equal(replicas.partitionByTopicId(TOPIC_A, 0), p0);
    assert.deepEqual([p0.isLeader, p0.leaderEpoch, p0.isr, p0.log.topicId], [true, 0, [1], TOPIC_A]);
    assert.equal(replicas.leaderPartition('a', 1, -1).ok, false);
    assert.deepEqual(replicas.leaderPartition('a', 1, -1), { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    assert.deepEqual(replicas.leaderPartition('a', 9, -1), { ok: false, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    assert.deepEqual(replicas.leaderPartition('a', 0, 1), { ok: false, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH });

    await node.apply([{ type: 'Config', resourceType: 'topic', resourceName: 'a', name: 'retention.ms', value: '1234' }]);
    assert.equal(p0.log.config.retentionMs, 1234);

    // The leader moves away: epoch bumps, this node is no longer leader, stale epochs are fenced.
    await node.apply([{ type: 'PartitionChange', topicId: TOPIC_A, partitionId: 0, leader: 2, isr: [2, 1], replicas: [1, 2] }]);
    assert.deepEqual([p0.isLeader, p0.leaderEpoch, p0.leaderId], [false, 1, 2]);
    assert.deepEqual(replicas.leaderPartition('a', 0, 0), { ok: false, errorCode: ErrorCode.FENCED_LEADER_EPOCH });
    assert.deepEqual(replicas.leaderPartition('a', 0, 1), { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    // And back: the leader-epoch cache starts the new epoch at the log end.
    await node.apply([{ type: 'PartitionChange', topicId: TOPIC_A, partitionId: 0, leader: 1, isr: [1] }]);
    assert.deepEqual([p0.isLeader, p0.leaderEpoch], [true, 2]);
    assert.deepEqual(p0.log.endOffsetForEpoch(2), { leaderEpoch: 2, endOffset: 0 });

    const dir = p0.log.dir;
    assert.equal(await exists(dir), true);
    advanced.length = 0;
    await node.apply([{ type: 'RemoveTopic', topicId: TOPIC_A }]);
    assert.equal(replicas.partition('a', 0), undefined);
    assert.equal(replicas.partitions().length, 0);
    assert.equal(await exists(dir), false);
    assert.ok(advanced.includes(p0), 'parked waiters hear about the removal');
  } finally {
    await node.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('high watermark: durable end in fsync mode, log end in none mode; listeners fire', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-rm-'));
  const node = await openNode(dataDir, { 'log.flush.window.ms': '0' });
  try {
    await node.apply([register(1), ...topicCreationRecords('a', TOPIC_A, 1, 1, [1]), ...topicCreationRecords('b', TOPIC_B, 1, 1, [1])]);
    await node.apply([{ type: 'Config', resourceType: 'topic', resourceName: 'b', name: 'durability.mode', value: 'none' }]);
    const replicas = node.replicaManager;
    const a = replicas.partition('a', 0) as HostedPartition;
    const b = replicas.partition('b', 0) as HostedPartition;
    const appendedA = replicas.appendRecordsToLeader(a, simpleBatch(3));
    assert.equal(a.logEndOffset, 3);
    assert.equal(a.highWatermark, 0, 'fsync mode: not visible before it is durable');
    await appendedA.durable;
    assert.equal(a.highWatermark, 3);
    replicas.appendRecordsToLeader(b, simpleBatch(2));
    assert.equal(b.highWatermark, 2, 'none mode: visible at once');
  } finally {
    await node.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('restart: logs reopen with their topic ids; logs of topics removed meanwhile are deleted; a recreated name gets a fresh log', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-rm-'));
  let node = await openNode(dataDir);
  try {
    await node.apply([register(1), ...topicCreationRecords('a', TOPIC_A, 1, 1, [1]), ...topicCreationRecords('b', TOPIC_B, 1, 1, [1])]);
    const a = node.replicaManager.partition('a', 0) as HostedPartition;
    await node.replicaManager.appendRecordsToLeader(a, simpleBatch(2)).durable;
    await node.close();
    // While "down": topic b is removed and topic a is recreated under a new id (written without a replica manager).
    const log = await LocalMetadataLog.open(dataDir);
    await log.append([{ type: 'RemoveTopic', topicId: TOPIC_B }, { type: 'RemoveTopic', topicId: TOPIC_A }]);
    await log.append(topicCreationRecords('a', '33333333-3333-4333-8333-333333333333', 1, 1, [1]));
    await log.close();
    node = await openNode(dataDir);
    assert.equal(node.replicaManager.partition('b', 0), undefined);
    assert.equal(node.logs.getLog('b', 0), undefined);
    const recreated = node.replicaManager.partition('a', 0);
    assert.equal(recreated?.topicId, '33333333-3333-4333-8333-333333333333');
    assert.equal(recreated?.logEndOffset, 0);
  } finally {
    await node.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

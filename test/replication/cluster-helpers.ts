/** Helpers for replication tests on an in-process cluster (test/cluster/memory-cluster.ts). */
import { MetadataLoader } from '../../src/metadata/loader.js';
import type { LeaderRecoveryState } from '../../src/metadata/records.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { Broker } from '../../src/broker/broker.js';
import type { RunnelConfig } from '../../src/config/config.js';
import type { HostedPartition } from '../../src/replication/types.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';
import type { MemoryCluster } from '../cluster/memory-cluster.js';

export async function createTopic(cluster: MemoryCluster, name: string, partitions: number, replicationFactor: number, configs: Record<string, string> = {}): Promise<string> {
  const outcome = await cluster.controller.send({
    type: 'createTopic', validateOnly: false,
    topic: { name, numPartitions: partitions, replicationFactor, assignments: [], configs: Object.entries(configs).map(([n, v]) => ({ name: n, value: v })) },
  }, 5000);
  if (!outcome.ok) throw new Error(`create ${name}: ${JSON.stringify(outcome)}`);
  for (const broker of cluster.brokers) await broker.services.replicaManager.whenIdle();
  return outcome.value.topicId;
}

/** Polls until check() is true; fails after timeoutMs (every wait in a test is bounded). */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function hosted(broker: Broker, topic: string, partition: number): HostedPartition {
  const p = broker.services.replicaManager.partition(topic, partition);
  if (p === undefined) throw new Error(`${topic}-${partition} not hosted on ${broker.nodeId}`);
  return p;
}

export function leaderOf(cluster: MemoryCluster, topic: string, partition: number): Broker {
  const leader = cluster.brokers.find((b) => b.services.replicaManager.partition(topic, partition)?.isLeader === true);
  if (leader === undefined) throw new Error(`no leader for ${topic}-${partition}`);
  return leader;
}

export async function produceTo(
  client: RawClient, topic: string, partition: number, records: Buffer, options: { acks?: number; timeoutMs?: number } = {},
) {
  const response = await call(client, ApiKey.Produce, 11, {
    transactionalId: null, acks: options.acks ?? -1, timeoutMs: options.timeoutMs ?? 5000,
    topicData: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: partition, records }] }],
  });
  const p = response.body.responses[0]?.partitionResponses[0];
  if (p === undefined) throw new Error('no partition response');
  return p;
}

/** Closes a broker of the cluster and starts it again on the same data directory (clean restart). */
export async function restartBroker(cluster: MemoryCluster, nodeId: number, overrides: Partial<RunnelConfig> = {}): Promise<Broker> {
  const index = cluster.brokers.findIndex((b) => b.nodeId === nodeId);
  const old = cluster.brokers[index];
  if (old === undefined) throw new Error(`no broker ${nodeId}`);
  await old.close();
  const broker = await Broker.start({
    config: { ...old.services.config, ...overrides }, clusterId: old.clusterId, cluster: { loader: new MetadataLoader(cluster.metadataLog), controller: cluster.controller },
  });
  cluster.brokers[index] = broker;
  return broker;
}

/** Stands in for the controller's election / ISR decision: one committed PartitionChange record. */
export async function changePartition(
  cluster: MemoryCluster, topicId: string, partition: number, change: { leader?: number; isr?: number[]; leaderRecoveryState?: LeaderRecoveryState },
): Promise<void> {
  await cluster.metadataLog.append([{ type: 'PartitionChange', topicId, partitionId: partition, ...change }]);
  for (const broker of cluster.brokers) await broker.services.replicaManager.whenIdle();
}

/** A consumer Fetch (v17: topic ids, rack) of one partition; returns the partition's answer. */
export async function consumerFetch(client: RawClient, topicId: string, partition: number, fetchOffset: number, rackId = '', version = 17) {
  const response = await call(client, ApiKey.Fetch, version, {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20,
    isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: '', topicId, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(fetchOffset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: '00000000-0000-0000-0000-000000000000', highWatermark: -1n }] }],
    forgottenTopicsData: [], rackId,
  });
  const p = response.body.responses[0]?.partitions[0];
  if (p === undefined) throw new Error(`no partition in fetch answer (error ${response.body.errorCode})`);
  return p;
}

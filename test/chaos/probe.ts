/**
 * What the chaos harness asks the cluster (over Kafka's wire, from the harness's namespace): which brokers
 * are registered, each partition's leader / ISR / replicas, the active controller (DescribeQuorum), and a
 * partition's log start offset and high watermark (ListOffsets). Every call is bounded: a paused node
 * accepts the TCP connection (the kernel does) but never answers.
 */
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';

const CALL_TIMEOUT_MS = 5_000;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export interface Endpoint { readonly host: string; readonly port: number }

async function withClient<T>(at: Endpoint, fn: (client: RawClient) => Promise<T>): Promise<T> {
  let client: RawClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from ${at.host}:${at.port} within ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      (async () => {
        client = await RawClient.connect(at.port, at.host);
        return fn(client);
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    client?.destroy();
  }
}

export async function brokerIds(at: Endpoint): Promise<number[]> {
  return withClient(at, async (client) => (await call(client, ApiKey.Metadata, 12, {
    topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  })).body.brokers.map((b) => b.nodeId).sort((a, b) => a - b));
}

export interface PartitionState { partition: number; leader: number; leaderEpoch: number; isr: number[]; replicas: number[] }

export async function partitionStates(at: Endpoint, topic: string): Promise<PartitionState[]> {
  return withClient(at, async (client) => {
    const body = (await call(client, ApiKey.Metadata, 12, {
      topics: [{ topicId: ZERO_UUID, name: topic }], allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    })).body;
    const t = body.topics[0];
    if (t === undefined || t.errorCode !== ErrorCode.NONE) return [];
    return t.partitions
      .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, isr: [...p.isrNodes].sort(), replicas: [...p.replicaNodes].sort() }))
      .sort((a, b) => a.partition - b.partition);
  });
}

/** The Raft leader of the metadata quorum (the active controller), -1 when there is none. */
export async function activeController(at: Endpoint): Promise<number> {
  return withClient(at, async (client) => {
    const body = (await call(client, ApiKey.DescribeQuorum, 1, {
      topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }],
    })).body;
    const p = body.topics[0]?.partitions[0];
    return p === undefined || p.errorCode !== ErrorCode.NONE ? -1 : p.leaderId;
  });
}

export async function createTopic(at: Endpoint, name: string, partitions: number, replicationFactor: number, configs: Record<string, string>): Promise<number> {
  return withClient(at, async (client) => {
    const body = (await call(client, ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions: partitions, replicationFactor, assignments: [], configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
      timeoutMs: 30_000, validateOnly: false,
    })).body;
    return body.topics[0]?.errorCode ?? -1;
  });
}

/** ListOffsets as a consumer (read_uncommitted): timestamp -2 = log start offset, -1 = high watermark. */
export async function listOffset(at: Endpoint, topic: string, partition: number, timestamp: -1n | -2n): Promise<number> {
  return withClient(at, async (client) => {
    const body = (await call(client, ApiKey.ListOffsets, 7, {
      replicaId: -1, isolationLevel: 0, timeoutMs: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }],
    })).body;
    const p = body.topics[0]?.partitions[0];
    if (p === undefined || p.errorCode !== ErrorCode.NONE) throw new Error(`ListOffsets ${topic}-${partition}: error ${p?.errorCode}`);
    return Number(p.offset);
  });
}

/**
 * ListOffsets (API 2), versions 0-11 (Partition.fetchOffsetForTimestamp, UnifiedLog.fetchOffsetByTimestamp).
 *
 * Per partition, after the leader check with CurrentLeaderEpoch fencing (v4+, KIP-320:
 * FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH / NOT_LEADER_OR_FOLLOWER / UNKNOWN_TOPIC_OR_PARTITION):
 * - -1 LATEST: the last fetchable offset — the high watermark for a consumer (replica id -1) at
 *   READ_UNCOMMITTED, the last stable offset at READ_COMMITTED (held back by open transactions),
 *   the log end for a follower or the debug replica id -2; with the partition's current leader epoch.
 * - -2 EARLIEST and -4 EARLIEST_LOCAL (KIP-405; no tiered storage, so the same): the log start offset,
 *   with the epoch of the leader-epoch entry holding it.
 * - -3 MAX_TIMESTAMP (KIP-734): the record with the largest timestamp.
 * - -5 LATEST_TIERED (KIP-1005): without tiered storage Kafka answers offset -1, epoch -1.
 * - -6 EARLIEST_PENDING_UPLOAD (KIP-1023, v11): the first offset not yet copied to remote storage; with
 *   no tiered storage there is none, so offset -1, epoch -1 as for -5.
 * - t ≥ 0: the first offset whose timestamp is ≥ t.
 * -3 and t ≥ 0 only count offsets below the last fetchable offset; none → offset -1, timestamp -1.
 * - A consumer's -1 on a new leader whose HW is still below the start of its leader epoch:
 *   OFFSET_NOT_AVAILABLE (retriable; KIP-207, Partition.fetchOffsetForTimestamp).
 * - v0 (old_style_offsets): one offset in the array (max_num_offsets ≥ 1), none when nothing matches;
 *   Kafka's segment-boundary listing for v0 is not reproduced.
 * - v1+: a partition listed twice gets INVALID_REQUEST (both entries), as KafkaApis does.
 * timeout_ms (v10, remote-storage lookups) has nothing to wait for.
 * Not implemented: tiered storage, ACLs.
 */
import {
  decodeListOffsetsRequest,
  encodeListOffsetsResponse,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
} from '../../protocol/generated/list-offsets.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { HostedPartition, PartitionLookup } from '../../replication/types.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

type RequestPartition = ListOffsetsRequest['topics'][number]['partitions'][number];
type ResponsePartition = ListOffsetsResponse['topics'][number]['partitions'][number];

export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;
export const EARLIEST_LOCAL_TIMESTAMP = -4;
export const LATEST_TIERED_TIMESTAMP = -5;
export const EARLIEST_PENDING_UPLOAD_TIMESTAMP = -6;
const CONSUMER_REPLICA_ID = -1;
const DEBUGGING_REPLICA_ID = -2;
const READ_COMMITTED = 1;

export const listOffsetsHandler: ApiHandler<ListOffsetsRequest, ListOffsetsResponse> = {
  apiKey: ApiKey.ListOffsets,
  name: 'ListOffsets',
  minVersion: 0,
  maxVersion: 11,
  decode: decodeListOffsetsRequest,
  encode: encodeListOffsetsResponse,
  handle: handleListOffsets,
};

interface Found {
  readonly offset: number;
  readonly timestamp: number;
  readonly leaderEpoch: number;
}

async function handleListOffsets(context: RequestContext<ListOffsetsRequest>): Promise<ListOffsetsResponse> {
  const { request, apiVersion } = context;
  const duplicates = apiVersion >= 1 ? duplicatePartitions(request) : new Set<string>();
  const topics = [];
  for (const topic of request.topics) {
    const partitions: ResponsePartition[] = [];
    for (const partition of topic.partitions) {
      const key = `${topic.name}\u0000${partition.partitionIndex}`;
      partitions.push(duplicates.has(key)
        ? errorPartition(partition.partitionIndex, ErrorCode.INVALID_REQUEST)
        : await listPartition(context, topic.name, partition));
    }
    topics.push({ name: topic.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
}

function duplicatePartitions(request: ListOffsetsRequest): Set<string> {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const topic of request.topics) {
    for (const partition of topic.partitions) {
      const key = `${topic.name}\u0000${partition.partitionIndex}`;
      if (seen.has(key)) duplicates.add(key);
      seen.add(key);
    }
  }
  return duplicates;
}

async function listPartition(context: RequestContext<ListOffsetsRequest>, topic: string, requested: RequestPartition): Promise<ResponsePartition> {
  const { request, apiVersion, services } = context;
  const currentLeaderEpoch = apiVersion >= 4 ? requested.currentLeaderEpoch : -1;
  const lookup = request.replicaId === DEBUGGING_REPLICA_ID
    ? anyReplica(services.replicaManager.partition(topic, requested.partitionIndex), currentLeaderEpoch)
      ?? services.replicaManager.leaderPartition(topic, requested.partitionIndex, currentLeaderEpoch)
    : services.replicaManager.leaderPartition(topic, requested.partitionIndex, currentLeaderEpoch);
  if (!lookup.ok) return errorPartition(requested.partitionIndex, lookup.errorCode);
  const partition = lookup.partition;
  const lastFetchableOffset = request.replicaId === CONSUMER_REPLICA_ID
    ? (request.isolationLevel === READ_COMMITTED ? lastStableOffset(partition) : partition.highWatermark)
    : partition.logEndOffset;
  // Partition.fetchOffsetForTimestamp (KIP-207): a new leader whose HW has not reached the start of its
  // epoch cannot give a consumer a latest offset that will not go back.
  if (request.replicaId === CONSUMER_REPLICA_ID && Number(requested.timestamp) === LATEST_TIMESTAMP
    && partition.leaderEpochStartOffset > partition.highWatermark) {
    return errorPartition(requested.partitionIndex, ErrorCode.OFFSET_NOT_AVAILABLE);
  }
  let found: Found | undefined;
  try {
    found = await offsetFor(partition, Number(requested.timestamp), lastFetchableOffset);
  } catch (err) {
    const errorCode = (err as { errorCode?: unknown }).errorCode;
    if (typeof errorCode !== 'number') throw err;
    return errorPartition(requested.partitionIndex, errorCode);
  }
  if (apiVersion === 0) {
    return {
      partitionIndex: requested.partitionIndex, errorCode: ErrorCode.NONE,
      oldStyleOffsets: found === undefined || found.offset < 0 || requested.maxNumOffsets < 1 ? [] : [BigInt(found.offset)],
      timestamp: -1n, offset: -1n, leaderEpoch: -1,
    };
  }
  return {
    partitionIndex: requested.partitionIndex,
    errorCode: ErrorCode.NONE,
    oldStyleOffsets: [],
    timestamp: BigInt(found?.timestamp ?? -1),
    offset: BigInt(found?.offset ?? -1),
    leaderEpoch: apiVersion >= 4 ? found?.leaderEpoch ?? -1 : -1,
  };
}

/** The debug replica id may read from any replica (fetchOnlyFromLeader = false), epoch still checked. */
function anyReplica(partition: HostedPartition | undefined, currentLeaderEpoch: number): PartitionLookup | undefined {
  if (partition === undefined || partition.isLeader) return undefined;
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch < partition.leaderEpoch) return { ok: false, errorCode: ErrorCode.FENCED_LEADER_EPOCH };
  if (currentLeaderEpoch > partition.leaderEpoch) return { ok: false, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH };
  return { ok: true, partition };
}

/** The high watermark held back by the oldest open transaction (UnifiedLog.lastStableOffset). */
function lastStableOffset(partition: HostedPartition): number {
  return partition.lastStableOffset;
}

async function offsetFor(partition: HostedPartition, timestamp: number, lastFetchableOffset: number): Promise<Found | undefined> {
  switch (timestamp) {
    case LATEST_TIMESTAMP:
      return { offset: lastFetchableOffset, timestamp: -1, leaderEpoch: partition.leaderEpoch };
    case EARLIEST_TIMESTAMP:
    case EARLIEST_LOCAL_TIMESTAMP: {
      const logStartOffset = partition.logStartOffset;
      return { offset: logStartOffset, timestamp: -1, leaderEpoch: epochAt(partition, logStartOffset) };
    }
    case LATEST_TIERED_TIMESTAMP:
    case EARLIEST_PENDING_UPLOAD_TIMESTAMP:
      return { offset: -1, timestamp: -1, leaderEpoch: -1 };
    case MAX_TIMESTAMP:
      return belowLastFetchable(await partition.log.maxTimestampAndOffset(), lastFetchableOffset);
    default:
      if (timestamp < 0) return undefined;
      return belowLastFetchable(await partition.log.offsetForTimestamp(timestamp), lastFetchableOffset);
  }
}

function belowLastFetchable(found: Found | undefined, lastFetchableOffset: number): Found | undefined {
  return found !== undefined && found.offset < lastFetchableOffset ? found : undefined;
}

/** The epoch of the leader-epoch entry covering offset (LeaderEpochFileCache.epochForOffset), else -1. */
function epochAt(partition: HostedPartition, offset: number): number {
  let epoch = -1;
  for (const entry of partition.log.leaderEpochCache.all()) {
    if (entry.startOffset > offset) break;
    epoch = entry.epoch;
  }
  return epoch;
}

function errorPartition(partitionIndex: number, errorCode: number): ResponsePartition {
  return {
    partitionIndex, errorCode, oldStyleOffsets: [],
    timestamp: -1n, offset: -1n, leaderEpoch: -1,
  };
}

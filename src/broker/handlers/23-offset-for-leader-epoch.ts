/**
 * OffsetForLeaderEpoch (API 23), versions 0-4 (KIP-101, KIP-279, KIP-320; Partition.lastOffsetForLeaderEpoch).
 *
 * Per partition: the largest leader epoch ≤ the requested one and its end offset (the start of the next
 * epoch, or the log end for the latest), from the log's leader-epoch cache; no such epoch → epoch -1,
 * offset -1 (UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET) with no error, as Kafka answers.
 * Who may be answered: replica id ≥ 0 (a follower, v3+) and consumers (-1) only by the leader; the debug
 * id -2 — also what v0-2 requests mean, having no replica id — by any replica (fetchOnlyFromLeader false).
 * CurrentLeaderEpoch (v2+) fences: older → FENCED_LEADER_EPOCH, newer → UNKNOWN_LEADER_EPOCH; unknown
 * partition → UNKNOWN_TOPIC_OR_PARTITION; not leader → NOT_LEADER_OR_FOLLOWER; all with -1/-1.
 * Not implemented: ACLs (a follower's CLUSTER_ACTION check).
 */
import {
  decodeOffsetForLeaderEpochRequest,
  encodeOffsetForLeaderEpochResponse,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
} from '../../protocol/generated/offset-for-leader-epoch.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { PartitionLookup } from '../../replication/types.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

type RequestPartition = OffsetForLeaderEpochRequest['topics'][number]['partitions'][number];
type ResponsePartition = OffsetForLeaderEpochResponse['topics'][number]['partitions'][number];

const DEBUGGING_REPLICA_ID = -2;

export const offsetForLeaderEpochHandler: ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = {
  apiKey: ApiKey.OffsetForLeaderEpoch,
  name: 'OffsetForLeaderEpoch',
  minVersion: 0,
  maxVersion: 4,
  decode: decodeOffsetForLeaderEpochRequest,
  encode: encodeOffsetForLeaderEpochResponse,
  handle: handleOffsetForLeaderEpoch,
};

function handleOffsetForLeaderEpoch(context: RequestContext<OffsetForLeaderEpochRequest>): OffsetForLeaderEpochResponse {
  const { request, apiVersion } = context;
  const replicaId = apiVersion >= 3 ? request.replicaId : DEBUGGING_REPLICA_ID;
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((p) => endOffset(context, topic.topic, p, replicaId)),
    })),
  };
}

function endOffset(
  context: RequestContext<OffsetForLeaderEpochRequest>, topic: string, requested: RequestPartition, replicaId: number,
): ResponsePartition {
  const currentLeaderEpoch = context.apiVersion >= 2 ? requested.currentLeaderEpoch : -1;
  const lookup = lookupPartition(context, topic, requested.partition, currentLeaderEpoch, replicaId !== DEBUGGING_REPLICA_ID);
  if (!lookup.ok) return { errorCode: lookup.errorCode, partition: requested.partition, leaderEpoch: -1, endOffset: -1n };
  const answer = lookup.partition.log.endOffsetForEpoch(requested.leaderEpoch);
  return {
    errorCode: ErrorCode.NONE,
    partition: requested.partition,
    leaderEpoch: answer.leaderEpoch,
    endOffset: BigInt(answer.endOffset),
  };
}

function lookupPartition(
  context: RequestContext<OffsetForLeaderEpochRequest>, topic: string, partition: number, currentLeaderEpoch: number, onlyLeader: boolean,
): PartitionLookup {
  const replicaManager = context.services.replicaManager;
  const hosted = replicaManager.partition(topic, partition);
  if (onlyLeader || hosted === undefined || hosted.isLeader) return replicaManager.leaderPartition(topic, partition, currentLeaderEpoch);
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch < hosted.leaderEpoch) return { ok: false, errorCode: ErrorCode.FENCED_LEADER_EPOCH };
  if (currentLeaderEpoch > hosted.leaderEpoch) return { ok: false, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH };
  return { ok: true, partition: hosted };
}

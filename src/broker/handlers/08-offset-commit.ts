/**
 * OffsetCommit (API 8), versions 0-9, classic groups and groups without membership (assign(), admin).
 *
 * The offsets are records of the group's `__consumer_offsets` partition; the answer is sent once they
 * are durable (persist before send). Versions: v0 carries no generation or member (only an Empty or
 * new group accepts it); v1 adds them and a per-partition commit timestamp, which is ignored (the
 * broker stamps its own time, as Kafka does since 2.1); v2-4 carry retention_time_ms (-1: the broker's
 * offsets.retention.minutes); v6+ the committed leader epoch (KIP-320); v7+ group.instance.id (KIP-345).
 * v9 (KIP-848) is served with classic semantics: the generation field is the classic generation.
 * Per partition: UNKNOWN_TOPIC_OR_PARTITION for a topic the metadata does not know (KafkaApis),
 * OFFSET_METADATA_TOO_LARGE past offset.metadata.max.bytes. Not implemented: TxnOffsetCommit.
 */
import {
  decodeOffsetCommitRequest,
  encodeOffsetCommitResponse,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
} from '../../protocol/generated/offset-commit.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const offsetCommitHandler: ApiHandler<OffsetCommitRequest, OffsetCommitResponse> = {
  apiKey: ApiKey.OffsetCommit,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 9,
  decode: decodeOffsetCommitRequest,
  encode: encodeOffsetCommitResponse,
  handle: handleOffsetCommit,
};

async function handleOffsetCommit(context: RequestContext<OffsetCommitRequest>): Promise<OffsetCommitResponse> {
  const { request, apiVersion, services } = context;
  const body = await services.groupCoordinator.offsetCommit({
    groupId: request.groupId,
    generationId: apiVersion >= 1 ? request.generationIdOrMemberEpoch : -1,
    memberId: apiVersion >= 1 ? request.memberId : '',
    groupInstanceId: apiVersion >= 7 ? request.groupInstanceId : null,
    retentionTimeMs: apiVersion >= 2 && apiVersion <= 4 ? Number(request.retentionTimeMs) : -1,
    topics: request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        committedOffset: p.committedOffset,
        committedLeaderEpoch: apiVersion >= 6 ? p.committedLeaderEpoch : -1,
        committedMetadata: p.committedMetadata,
      })),
    })),
  });
  return { throttleTimeMs: 0, topics: body.topics };
}

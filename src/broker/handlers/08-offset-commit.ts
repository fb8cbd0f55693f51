/**
 * OffsetCommit (API 8), versions 0-10, classic groups and groups without membership (assign(), admin).
 *
 * The offsets are records of the group's `__consumer_offsets` partition; the answer is sent once they
 * are durable (persist before send). Versions: v0 carries no generation or member (only an Empty or
 * new group accepts it); v1 adds them and a per-partition commit timestamp, which is ignored (the
 * broker stamps its own time, as Kafka does since 2.1); v2-4 carry retention_time_ms (-1: the broker's
 * offsets.retention.minutes); v6+ the committed leader epoch (KIP-320); v7+ group.instance.id (KIP-345).
 * v9 (KIP-848): for a classic group the generation field is the classic generation; for a consumer group
 * it is the member epoch, checked as Kafka 4.4 does (src/group/coordinator.ts validateConsumerCommit:
 * UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH, an older epoch accepted for partitions held since (KIP-1251),
 * UNSUPPORTED_VERSION for a consumer-protocol member below v9).
 * Per partition: UNKNOWN_TOPIC_OR_PARTITION for a topic the metadata does not know (KafkaApis),
 * OFFSET_METADATA_TOO_LARGE past offset.metadata.max.bytes. v10 (KIP-848) names topics by id only: an id
 * the metadata does not know gets UNKNOWN_TOPIC_ID on each of its partitions and the others are committed
 * (KafkaApis.handleOffsetCommitRequest); the answer carries the ids back. Not implemented: TxnOffsetCommit.
 */
import {
  decodeOffsetCommitRequest,
  encodeOffsetCommitResponse,
  type OffsetCommitRequest,
  type OffsetCommitRequestTopic,
  type OffsetCommitResponse,
  type OffsetCommitResponseTopic,
} from '../../protocol/generated/offset-commit.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/codec-support.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const offsetCommitHandler: ApiHandler<OffsetCommitRequest, OffsetCommitResponse> = {
  apiKey: ApiKey.OffsetCommit,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 10,
  decode: decodeOffsetCommitRequest,
  encode: encodeOffsetCommitResponse,
  handle: handleOffsetCommit,
};

/** First version that names topics by id (KIP-848). */
const TOPIC_IDS_VERSION = 10;

async function handleOffsetCommit(context: RequestContext<OffsetCommitRequest>): Promise<OffsetCommitResponse> {
  const { request, apiVersion, services } = context;
  if (apiVersion < TOPIC_IDS_VERSION) {
    const body = await commit(context, request.topics);
    return { throttleTimeMs: 0, topics: body.topics.map((t) => ({ ...t, topicId: ZERO_UUID })) };
  }
  const image = services.metadataLoader.image;
  const known: OffsetCommitRequestTopic[] = [];
  const unknown: OffsetCommitResponseTopic[] = [];
  for (const t of request.topics) {
    const name = image.topicsById.get(t.topicId)?.name;
    if (name === undefined) {
      unknown.push({ name: '', topicId: t.topicId, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_ID })) });
    } else {
      known.push({ ...t, name });
    }
  }
  const body = known.length === 0 ? { topics: [] } : await commit(context, known);
  const idByName = (name: string) => image.topicIdsByName.get(name) ?? ZERO_UUID;
  return { throttleTimeMs: 0, topics: [...body.topics.map((t) => ({ ...t, name: '', topicId: idByName(t.name) })), ...unknown] };
}

function commit(context: RequestContext<OffsetCommitRequest>, topics: readonly OffsetCommitRequestTopic[]) {
  const { request, apiVersion, services } = context;
  return services.groupCoordinator.offsetCommit({
    groupId: request.groupId,
    generationId: apiVersion >= 1 ? request.generationIdOrMemberEpoch : -1,
    memberId: apiVersion >= 1 ? request.memberId : '',
    groupInstanceId: apiVersion >= 7 ? request.groupInstanceId : null,
    retentionTimeMs: apiVersion >= 2 && apiVersion <= 4 ? Number(request.retentionTimeMs) : -1,
    apiVersion,
    topics: topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        committedOffset: p.committedOffset,
        committedLeaderEpoch: apiVersion >= 6 ? p.committedLeaderEpoch : -1,
        committedMetadata: p.committedMetadata,
      })),
    })),
  });
}

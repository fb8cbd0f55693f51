/**
 * OffsetFetch (API 9), versions 0-10.
 *
 * v0-7 ask for one group; v8+ batch groups (KIP-709), each answered on its own (NOT_COORDINATOR for a
 * group led elsewhere, COORDINATOR_LOAD_IN_PROGRESS while its partition loads). `topics: null` (v2+)
 * means every partition the group has committed. A partition without a committed offset answers offset
 * -1, metadata "". v7+ require_stable (KIP-447): a partition with a commit not yet durable answers
 * UNSTABLE_OFFSET_COMMIT (the only pending commits here are this coordinator's own; there is no
 * TxnOffsetCommit). Group-level errors: v2-7 in the top-level error_code, v0-1 in every requested
 * partition (OffsetFetchRequest.getErrorResponse). v9's member id and epoch (KIP-848) are not checked
 * for classic groups, as in Kafka; for a consumer group they must name a member and its current epoch
 * (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH; ILLEGAL_GENERATION for a classic member of it) unless they are
 * null and -1 (admin tools), as ConsumerGroup.validateOffsetFetch. v10 (KIP-848) names topics by id: an id the metadata does not know
 * answers UNKNOWN_TOPIC_ID on each requested partition; with `topics: null` every committed topic comes
 * back with its id, and one the metadata no longer has (deleted) is left out, as it has no id to send.
 */
import {
  decodeOffsetFetchRequest,
  encodeOffsetFetchResponse,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  type OffsetFetchResponseGroup,
  type OffsetFetchResponseTopics,
} from '../../protocol/generated/offset-fetch.js';
import { ZERO_UUID } from '../../protocol/codec-support.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { OffsetFetchResponseGroup as GroupResult } from '../../group/types.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const offsetFetchHandler: ApiHandler<OffsetFetchRequest, OffsetFetchResponse> = {
  apiKey: ApiKey.OffsetFetch,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 10,
  decode: decodeOffsetFetchRequest,
  encode: encodeOffsetFetchResponse,
  handle: handleOffsetFetch,
};

function handleOffsetFetch(context: RequestContext<OffsetFetchRequest>): OffsetFetchResponse {
  const { request, apiVersion, services } = context;
  const requireStable = apiVersion >= 7 && request.requireStable;
  if (apiVersion >= TOPIC_IDS_VERSION) return fetchByTopicId(context, requireStable);
  if (apiVersion >= 8) {
    const { groups } = services.groupCoordinator.offsetFetch({
      groups: request.groups.map((g) => ({ groupId: g.groupId, memberId: apiVersion >= 9 ? g.memberId : null, memberEpoch: apiVersion >= 9 ? g.memberEpoch : -1, topics: g.topics })),
      requireStable,
    });
    return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE, groups: groups.map(withoutTopicIds) };
  }
  const topics = apiVersion >= 2 ? request.topics : request.topics ?? [];
  const { groups } = services.groupCoordinator.offsetFetch({ groups: [{ groupId: request.groupId, topics }], requireStable });
  const group = groups[0] as GroupResult;
  if (apiVersion >= 2 || group.errorCode === ErrorCode.NONE) {
    return { throttleTimeMs: 0, topics: group.topics, errorCode: group.errorCode, groups: [] };
  }
  // v0-1 have no group-level error field: every requested partition carries it.
  const failed = (topics ?? []).map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((partitionIndex) => ({
      partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: group.errorCode,
    })),
  }));
  return { throttleTimeMs: 0, topics: failed, errorCode: ErrorCode.NONE, groups: [] };
}

/** First version that names topics by id (KIP-848). */
const TOPIC_IDS_VERSION = 10;

function withoutTopicIds(group: GroupResult): OffsetFetchResponseGroup {
  return { ...group, topics: group.topics.map((t) => ({ ...t, topicId: ZERO_UUID })) };
}

function fetchByTopicId(context: RequestContext<OffsetFetchRequest>, requireStable: boolean): OffsetFetchResponse {
  const image = context.services.metadataLoader.image;
  const unknownByGroup: OffsetFetchResponseTopics[][] = [];
  const groups = context.request.groups.map((g) => {
    const unknown: OffsetFetchResponseTopics[] = [];
    unknownByGroup.push(unknown);
    const member = { memberId: g.memberId, memberEpoch: g.memberEpoch };
    if (g.topics === null) return { groupId: g.groupId, ...member, topics: null };
    const topics: { name: string; partitionIndexes: number[] }[] = [];
    for (const t of g.topics) {
      const name = image.topicsById.get(t.topicId)?.name;
      if (name !== undefined) topics.push({ name, partitionIndexes: t.partitionIndexes });
      else unknown.push({ name: '', topicId: t.topicId, partitions: t.partitionIndexes.map((partitionIndex) => ({
        partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
      })) });
    }
    return { groupId: g.groupId, ...member, topics };
  });
  const result = context.services.groupCoordinator.offsetFetch({ groups, requireStable });
  return {
    throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE,
    groups: result.groups.map((group, i) => {
      const topics: OffsetFetchResponseTopics[] = [];
      for (const t of group.topics) {
        const topicId = image.topicIdsByName.get(t.name);
        if (topicId !== undefined) topics.push({ ...t, name: '', topicId });
      }
      // A group-level error leaves the topics empty, as Kafka's answer does.
      if (group.errorCode === ErrorCode.NONE) topics.push(...(unknownByGroup[i] ?? []));
      return { groupId: group.groupId, errorCode: group.errorCode, topics };
    }),
  };
}

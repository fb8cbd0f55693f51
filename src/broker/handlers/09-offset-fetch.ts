/**
 * OffsetFetch (API 9), versions 0-9.
 *
 * v0-7 ask for one group; v8+ batch groups (KIP-709), each answered on its own (NOT_COORDINATOR for a
 * group led elsewhere, COORDINATOR_LOAD_IN_PROGRESS while its partition loads). `topics: null` (v2+)
 * means every partition the group has committed. A partition without a committed offset answers offset
 * -1, metadata "". v7+ require_stable (KIP-447): a partition with a commit not yet durable answers
 * UNSTABLE_OFFSET_COMMIT (the only pending commits here are this coordinator's own; there is no
 * TxnOffsetCommit). Group-level errors: v2-7 in the top-level error_code, v0-1 in every requested
 * partition (OffsetFetchRequest.getErrorResponse). v9's member id and epoch (KIP-848) are not checked
 * for classic groups, as in Kafka.
 */
import {
  decodeOffsetFetchRequest,
  encodeOffsetFetchResponse,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
} from '../../protocol/generated/offset-fetch.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { OffsetFetchResponseGroup } from '../../group/types.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const offsetFetchHandler: ApiHandler<OffsetFetchRequest, OffsetFetchResponse> = {
  apiKey: ApiKey.OffsetFetch,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 9,
  decode: decodeOffsetFetchRequest,
  encode: encodeOffsetFetchResponse,
  handle: handleOffsetFetch,
};

function handleOffsetFetch(context: RequestContext<OffsetFetchRequest>): OffsetFetchResponse {
  const { request, apiVersion, services } = context;
  const requireStable = apiVersion >= 7 && request.requireStable;
  if (apiVersion >= 8) {
    const { groups } = services.groupCoordinator.offsetFetch({
      groups: request.groups.map((g) => ({ groupId: g.groupId, topics: g.topics })),
      requireStable,
    });
    return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE, groups };
  }
  const topics = apiVersion >= 2 ? request.topics : request.topics ?? [];
  const { groups } = services.groupCoordinator.offsetFetch({ groups: [{ groupId: request.groupId, topics }], requireStable });
  const group = groups[0] as OffsetFetchResponseGroup;
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

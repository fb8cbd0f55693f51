/**
 * Heartbeat (API 12), versions 0-4, classic groups, and the classic members of a KIP-848 consumer group
 * after an online conversion (src/group/consumer-coordinator.ts).
 *
 * Keeps a member's session alive and tells it when a rebalance started (REBALANCE_IN_PROGRESS) or it
 * is fenced (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID). v3+ carry group.instance.id.
 * Answered at once; nothing is persisted.
 */
import {
  decodeHeartbeatRequest,
  encodeHeartbeatResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from '../../protocol/generated/heartbeat.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const heartbeatHandler: ApiHandler<HeartbeatRequest, HeartbeatResponse> = {
  apiKey: ApiKey.Heartbeat,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 4,
  decode: decodeHeartbeatRequest,
  encode: encodeHeartbeatResponse,
  handle: handleHeartbeat,
};

function handleHeartbeat(context: RequestContext<HeartbeatRequest>): HeartbeatResponse {
  const { request, apiVersion, services } = context;
  const body = services.groupCoordinator.heartbeat({
    groupId: request.groupId,
    generationId: request.generationId,
    memberId: request.memberId,
    groupInstanceId: apiVersion >= 3 ? request.groupInstanceId : null,
  });
  return { throttleTimeMs: 0, ...body };
}

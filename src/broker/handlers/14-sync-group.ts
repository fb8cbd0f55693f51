/**
 * SyncGroup (API 14), versions 0-5, classic groups, and the classic members of a KIP-848 consumer group
 * after an online conversion (src/group/consumer-coordinator.ts).
 *
 * The leader's assignment is persisted (one group metadata record) before any member gets its share;
 * followers wait for it, bounded by the rebalance timeout. v3+ carry group.instance.id (KIP-345); v5+
 * carry the protocol type and name, checked against the group's (INCONSISTENT_GROUP_PROTOCOL), and
 * return them (KIP-559).
 */
import {
  decodeSyncGroupRequest,
  encodeSyncGroupResponse,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from '../../protocol/generated/sync-group.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const syncGroupHandler: ApiHandler<SyncGroupRequest, SyncGroupResponse> = {
  apiKey: ApiKey.SyncGroup,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 5,
  decode: decodeSyncGroupRequest,
  encode: encodeSyncGroupResponse,
  handle: handleSyncGroup,
};

async function handleSyncGroup(context: RequestContext<SyncGroupRequest>): Promise<SyncGroupResponse> {
  const { request, apiVersion, services } = context;
  const body = await services.groupCoordinator.syncGroup({
    groupId: request.groupId,
    generationId: request.generationId,
    memberId: request.memberId,
    groupInstanceId: apiVersion >= 3 ? request.groupInstanceId : null,
    protocolType: apiVersion >= 5 ? request.protocolType : null,
    protocolName: apiVersion >= 5 ? request.protocolName : null,
    assignments: request.assignments,
  });
  return { throttleTimeMs: 0, ...body };
}

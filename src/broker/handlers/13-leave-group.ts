/**
 * LeaveGroup (API 13), versions 0-5, classic groups, and the classic members of a KIP-848 consumer group
 * after an online conversion (src/group/consumer-coordinator.ts).
 *
 * v0-2: one member_id, whose error is the top-level error when the group-level one is NONE. v3+: a
 * batch of members identified by member id and/or group.instance.id, each with its own error (KIP-345;
 * an admin removing static members sends an empty member id); v5+ carry a reason (KIP-800). Answered at
 * once; the rebalance the departure starts runs in the background.
 */
import {
  decodeLeaveGroupRequest,
  encodeLeaveGroupResponse,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
} from '../../protocol/generated/leave-group.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const leaveGroupHandler: ApiHandler<LeaveGroupRequest, LeaveGroupResponse> = {
  apiKey: ApiKey.LeaveGroup,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 5,
  decode: decodeLeaveGroupRequest,
  encode: encodeLeaveGroupResponse,
  handle: handleLeaveGroup,
};

function handleLeaveGroup(context: RequestContext<LeaveGroupRequest>): LeaveGroupResponse {
  const { request, apiVersion, services } = context;
  const members = apiVersion >= 3
    ? request.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: apiVersion >= 5 ? m.reason : null }))
    : [{ memberId: request.memberId, groupInstanceId: null, reason: null }];
  const body = services.groupCoordinator.leaveGroup({ groupId: request.groupId, members });
  if (apiVersion >= 3) return { throttleTimeMs: 0, errorCode: body.errorCode, members: body.members };
  const memberError = body.members[0]?.errorCode ?? ErrorCode.NONE;
  return { throttleTimeMs: 0, errorCode: body.errorCode !== ErrorCode.NONE ? body.errorCode : memberError, members: [] };
}

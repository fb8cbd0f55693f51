/**
 * JoinGroup (API 11), versions 0-9, classic groups (src/group: the core decides, the runtime persists).
 *
 * Versions: v0 has no rebalance timeout (the session timeout is used); v4+ get MEMBER_ID_REQUIRED on a
 * first join without member id (KIP-394); v5+ carry group.instance.id (static membership, KIP-345);
 * v7+ return the protocol type and a nullable protocol name (v0-6: "" for none, as KafkaApis sends);
 * v8+ carry a reason; v9 lets a rejoining static leader skip the assignment (KIP-814). The response
 * waits for the rebalance (bounded by the rebalance timeout) and, for a static member's rejoin, for
 * its group metadata record to be durable. clientHost is the peer address as Kafka prints it ("/ip").
 * A JoinGroup to a KIP-848 consumer group with members makes the member a classic member of it
 * (online conversion, src/group/consumer-coordinator.ts classicJoin): answered at once with its member
 * epoch as the generation and no leader; SyncGroup then hands it its assignment.
 */
import {
  decodeJoinGroupRequest,
  encodeJoinGroupResponse,
  type JoinGroupRequest,
  type JoinGroupResponse,
} from '../../protocol/generated/join-group.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const joinGroupHandler: ApiHandler<JoinGroupRequest, JoinGroupResponse> = {
  apiKey: ApiKey.JoinGroup,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 9,
  decode: decodeJoinGroupRequest,
  encode: encodeJoinGroupResponse,
  handle: handleJoinGroup,
};

async function handleJoinGroup(context: RequestContext<JoinGroupRequest>): Promise<JoinGroupResponse> {
  const { request, apiVersion, header, connection, services } = context;
  const body = await services.groupCoordinator.joinGroup({
    groupId: request.groupId,
    sessionTimeoutMs: request.sessionTimeoutMs,
    rebalanceTimeoutMs: apiVersion >= 1 ? request.rebalanceTimeoutMs : -1,
    memberId: request.memberId,
    groupInstanceId: apiVersion >= 5 ? request.groupInstanceId : null,
    protocolType: request.protocolType,
    protocols: request.protocols,
    reason: apiVersion >= 8 ? request.reason : null,
    requireKnownMemberId: apiVersion >= 4,
    supportSkippingAssignment: apiVersion >= 9,
    clientId: header.clientId ?? '',
    clientHost: `/${connection.remoteAddress}`,
  });
  return {
    throttleTimeMs: 0,
    ...body,
    protocolName: apiVersion >= 7 ? body.protocolName : body.protocolName ?? '',
    skipAssignment: apiVersion >= 9 && body.skipAssignment,
  };
}

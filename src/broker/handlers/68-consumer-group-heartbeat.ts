/**
 * ConsumerGroupHeartbeat (API 68, KIP-848), versions 0-1: the next-generation consumer group protocol
 * (`group.protocol=consumer` in the Java client). The group coordinator core does the work
 * (src/group/consumer-coordinator.ts): join at epoch 0, leave at -1 (-2 for a static member), heartbeat
 * at the member's epoch; server-side assignors uniform and range; incremental reconciliation with member
 * epochs; regular-expression subscriptions resolved on the broker; records in `__consumer_offsets` in
 * Kafka's formats, the answer sent once they are durable.
 * v0 lets the coordinator choose the member id when the request's is empty; v1 (KIP-1082) requires the
 * client to choose it (INVALID_REQUEST otherwise) and adds SubscribedTopicRegex.
 * Errors: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS, INVALID_REQUEST, UNKNOWN_MEMBER_ID,
 * FENCED_MEMBER_EPOCH, UNSUPPORTED_ASSIGNOR, INVALID_REGULAR_EXPRESSION, GROUP_MAX_SIZE_REACHED,
 * GROUP_ID_NOT_FOUND for a classic group with members (it is not converted).
 */
import {
  decodeConsumerGroupHeartbeatRequest,
  encodeConsumerGroupHeartbeatResponse,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
} from '../../protocol/generated/consumer-group-heartbeat.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const consumerGroupHeartbeatHandler: ApiHandler<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse> = {
  apiKey: ApiKey.ConsumerGroupHeartbeat,
  name: 'ConsumerGroupHeartbeat',
  minVersion: 0,
  maxVersion: 1,
  decode: decodeConsumerGroupHeartbeatRequest,
  encode: encodeConsumerGroupHeartbeatResponse,
  handle: handleConsumerGroupHeartbeat,
};

async function handleConsumerGroupHeartbeat(context: RequestContext<ConsumerGroupHeartbeatRequest>): Promise<ConsumerGroupHeartbeatResponse> {
  const { request, apiVersion, header, connection, services } = context;
  const body = await services.groupCoordinator.consumerGroupHeartbeat({
    apiVersion,
    groupId: request.groupId,
    memberId: request.memberId,
    memberEpoch: request.memberEpoch,
    instanceId: request.instanceId,
    rackId: request.rackId,
    rebalanceTimeoutMs: request.rebalanceTimeoutMs,
    subscribedTopicNames: request.subscribedTopicNames,
    subscribedTopicRegex: apiVersion >= 1 ? request.subscribedTopicRegex : null,
    serverAssignor: request.serverAssignor,
    topicPartitions: request.topicPartitions,
    clientId: header.clientId ?? '',
    clientHost: `/${connection.remoteAddress}`,
  });
  return { throttleTimeMs: 0, ...body };
}

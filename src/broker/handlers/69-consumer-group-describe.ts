/**
 * ConsumerGroupDescribe (API 69, KIP-848), versions 0-1: `kafka-consumer-groups.sh --describe` and
 * Admin.describeConsumerGroups for consumer groups. Per group: its state (Empty, Assigning, Reconciling,
 * Stable), group and assignment epochs, the assignor in use, and each member with its subscription,
 * current assignment and target assignment (src/group/consumer-coordinator.ts). A group that does not
 * exist, or is a classic group, gets GROUP_ID_NOT_FOUND. v1 adds MemberType (KIP-1099): 1 for a member
 * using the consumer protocol, 0 for a classic member of a converted group. Authorized operations: with no authorizer every group operation
 * (READ, DELETE, DESCRIBE) is allowed, reported when asked for.
 */
import {
  decodeConsumerGroupDescribeRequest,
  encodeConsumerGroupDescribeResponse,
  type ConsumerGroupDescribeRequest,
  type ConsumerGroupDescribeResponse,
} from '../../protocol/generated/consumer-group-describe.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';
import { authorizedOperationsOmitted } from './acl-operations.js';

/** READ (3), DELETE (6), DESCRIBE (8): AclEntry.supportedOperations(GROUP). */
const groupAuthorizedOperationsAll = (1 << 3) | (1 << 6) | (1 << 8);
/** ConsumerGroupDescribeResponse MemberType: 0 = classic protocol member, 1 = consumer protocol member. */
const CLASSIC_MEMBER_TYPE = 0;
const CONSUMER_MEMBER_TYPE = 1;

export const consumerGroupDescribeHandler: ApiHandler<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse> = {
  apiKey: ApiKey.ConsumerGroupDescribe,
  name: 'ConsumerGroupDescribe',
  minVersion: 0,
  maxVersion: 1,
  decode: decodeConsumerGroupDescribeRequest,
  encode: encodeConsumerGroupDescribeResponse,
  handle: handleConsumerGroupDescribe,
};

function handleConsumerGroupDescribe(context: RequestContext<ConsumerGroupDescribeRequest>): ConsumerGroupDescribeResponse {
  const { request, services } = context;
  const groups = services.groupCoordinator.consumerGroupDescribe(request.groupIds).map((g) => ({
    ...g,
    members: g.members.map(({ usesClassicProtocol, ...m }) => ({
      ...m,
      assignment: { topicPartitions: m.assignment },
      targetAssignment: { topicPartitions: m.targetAssignment },
      memberType: usesClassicProtocol ? CLASSIC_MEMBER_TYPE : CONSUMER_MEMBER_TYPE,
    })),
    authorizedOperations: request.includeAuthorizedOperations && g.errorCode === ErrorCode.NONE ? groupAuthorizedOperationsAll : authorizedOperationsOmitted,
  }));
  return { throttleTimeMs: 0, groups };
}

/**
 * DescribeGroups (API 15), versions 0-5, classic groups.
 *
 * Each group is answered on its own: NOT_COORDINATOR when led elsewhere, COORDINATOR_LOAD_IN_PROGRESS
 * while loading, and a group that does not exist is state "Dead" with no members and error NONE (as
 * Kafka answers up to v5). Member
 * metadata and assignment are the bytes the members sent; protocol_data is the chosen assignor while
 * the group is Stable. v3+ may ask for authorized operations (KIP-430): with no authorizer every group
 * operation (READ, DELETE, DESCRIBE) is allowed. v4+ show group.instance.id.
 */
import {
  decodeDescribeGroupsRequest,
  encodeDescribeGroupsResponse,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
} from '../../protocol/generated/describe-groups.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { authorizedOperationsOmitted } from './acl-operations.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

/** READ (3), DELETE (6), DESCRIBE (8): AclEntry.supportedOperations(GROUP). */
const groupAuthorizedOperationsAll = (1 << 3) | (1 << 6) | (1 << 8);

export const describeGroupsHandler: ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse> = {
  apiKey: ApiKey.DescribeGroups,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 5,
  decode: decodeDescribeGroupsRequest,
  encode: encodeDescribeGroupsResponse,
  handle: handleDescribeGroups,
};

function handleDescribeGroups(context: RequestContext<DescribeGroupsRequest>): DescribeGroupsResponse {
  const { request, apiVersion, services } = context;
  const includeOperations = apiVersion >= 3 && request.includeAuthorizedOperations;
  const groups = services.groupCoordinator.describeGroups(request.groups).map((g) => ({
    ...g,
    authorizedOperations: includeOperations && g.errorCode === ErrorCode.NONE ? groupAuthorizedOperationsAll : authorizedOperationsOmitted,
  }));
  return { throttleTimeMs: 0, groups };
}

/**
 * DescribeGroups (API 15), versions 0-6, classic groups.
 *
 * Each group is answered on its own: NOT_COORDINATOR when led elsewhere, COORDINATOR_LOAD_IN_PROGRESS
 * while loading, and a group that does not exist is state "Dead" with no members and error NONE (as
 * Kafka answers up to v5). Member
 * metadata and assignment are the bytes the members sent; protocol_data is the chosen assignor while
 * the group is Stable. v3+ may ask for authorized operations (KIP-430): with no authorizer every group
 * operation (READ, DELETE, DESCRIBE) is allowed. v4+ show group.instance.id. v6 (KIP-1043) answers a
 * group that does not exist with GROUP_ID_NOT_FOUND and the message "Group <id> not found." (the text of
 * GroupMetadataManager's GroupIdNotFoundException) instead of an empty Dead group.
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

/** First version that reports a missing group as an error (KIP-1043). */
const GROUP_ID_NOT_FOUND_VERSION = 6;

export const describeGroupsHandler: ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse> = {
  apiKey: ApiKey.DescribeGroups,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 6,
  decode: decodeDescribeGroupsRequest,
  encode: encodeDescribeGroupsResponse,
  handle: handleDescribeGroups,
};

function handleDescribeGroups(context: RequestContext<DescribeGroupsRequest>): DescribeGroupsResponse {
  const { request, apiVersion, services } = context;
  const includeOperations = apiVersion >= 3 && request.includeAuthorizedOperations;
  const groups = services.groupCoordinator.describeGroups(request.groups).map((g) => {
    const missing = apiVersion >= GROUP_ID_NOT_FOUND_VERSION && g.errorCode === ErrorCode.NONE && g.groupState === 'Dead' && g.members.length === 0;
    return {
      ...g,
      errorCode: missing ? ErrorCode.GROUP_ID_NOT_FOUND : g.errorCode,
      errorMessage: missing ? `Group ${g.groupId} not found.` : null,
      authorizedOperations: includeOperations && g.errorCode === ErrorCode.NONE && !missing ? groupAuthorizedOperationsAll : authorizedOperationsOmitted,
    };
  });
  return { throttleTimeMs: 0, groups };
}
